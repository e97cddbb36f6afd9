// Kernel-level figures (issues 3 and 5) from data/kernel-level.json (bench/kernel.ts): Figure 12 (TFLOP/s bars per
// shape and method), Figure 13 (TFLOP/s lines over the m, k, n sweeps), both protocols, the speedup table, and the
// roofline of the Hopper path from data/wgmma.json (bench/wgmma.ts). Charts are Observable Plot through plot(); every
// file goes through saveFigure() so it carries its title, legend, data file and device.
import type { KernelPoint } from "../../bench/kernel.ts";
import { buildNote, type DeviceDescription, deviceLabel, listResults, readResults } from "../data.ts";
import { join } from "node:path";
import { repoRoot } from "../native/build.ts";
import { type LegendEntry, Plot, plot, saveFigure, type SvgNode } from "./render.ts";
import { type RooflineData, rooflineFromWgmmaJson } from "./roofline.ts";

/** data/kernel-level.json: current files keep the points in `rows` (lib/data.ts writeResults), older ones in `points`. */
export interface KernelLevelJson {
  provenance: {
    device?: Partial<DeviceDescription> & { name?: string; cc_major?: number; cc_minor?: number };
    commit?: string;
    date?: string;
    dtype?: string;
    synthetic?: boolean;
  };
  run?: { dtype?: string; quick?: boolean };
  rows?: KernelPoint[];
  points?: KernelPoint[];
}
export type Protocol = "paper" | "equal";

export interface Series {
  label: string;
  method: string;
  tokens: "all" | "routed";
  color: string;
}

const OURS_MMA: Series = { label: "Samoyeds SSMM mma.sp (ours, n/4 routed)", method: "samoyeds_ssmm", tokens: "routed", color: "#d62728" };
const OURS_WGMMA: Series = { label: "Samoyeds SSMM wgmma.sp (ours, sm_90a, n/4 routed)", method: "samoyeds_wgmma", tokens: "routed", color: "#9467bd" };

/** Series of a protocol (label, method, tokens it computes, colour); "+ gather" bars are the lighter shade. */
export function seriesOf(protocol: Protocol): Series[] {
  return protocol === "paper"
    ? [
      { label: "cuBLAS dense (all n)", method: "cublas", tokens: "all", color: "#7f7f7f" },
      { label: "cuSPARSELt 2:4 (all n)", method: "cusparselt", tokens: "all", color: "#1f77b4" },
      { label: "V:2:8 VENOM-style (all n)", method: "vnm", tokens: "all", color: "#2ca02c" },
      OURS_MMA,
      OURS_WGMMA,
    ]
    : [
      { label: "cuBLAS dense (pre-gathered)", method: "cublas", tokens: "routed", color: "#7f7f7f" },
      { label: "cuBLAS + gather", method: "cublas+gather", tokens: "routed", color: "#c7c7c7" },
      { label: "cuSPARSELt 2:4 (pre-gathered)", method: "cusparselt", tokens: "routed", color: "#1f77b4" },
      { label: "cuSPARSELt + gather", method: "cusparselt+gather", tokens: "routed", color: "#aec7e8" },
      { label: "V:2:8 VENOM-style (pre-gathered)", method: "vnm", tokens: "routed", color: "#2ca02c" },
      { label: "V:2:8 + gather", method: "vnm+gather", tokens: "routed", color: "#98df8a" },
      OURS_MMA,
      OURS_WGMMA,
    ];
}

export function pointsOf(j: KernelLevelJson): KernelPoint[] {
  return j.rows ?? j.points ?? [];
}

function find(pts: KernelPoint[], sel: Partial<KernelPoint>): KernelPoint | undefined {
  return pts.find((p) => Object.entries(sel).every(([k, v]) => (p as unknown as Record<string, unknown>)[k] === v));
}

/** TFLOP/s a series shows: paper protocol = each kernel's own work; equal work = the routed work for all. */
function value(p: KernelPoint | undefined, protocol: Protocol): number | undefined {
  if (!p || p.ms === undefined || p.skipped) return undefined;
  const v = protocol === "paper" ? p.tflops : p.tflops_required;
  return v !== undefined && Number.isFinite(v) ? v : undefined;
}

/** "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, ...)" from either provenance style (lib/data.ts or the raw device info). */
export function deviceOf(j: KernelLevelJson): string {
  const d = j.provenance.device;
  if (!d) return "unknown device";
  if (d.backend) return deviceLabel(d as DeviceDescription);
  return d.cc_major !== undefined ? `${d.name} (sm_${d.cc_major}${d.cc_minor})` : d.name ?? "unknown device";
}

const Y_LABEL: Record<Protocol, string> = {
  paper: "TFLOP/s, dense-equivalent (2·m·k·tokens computed)",
  equal: "TFLOP/s, dense-equivalent (2·m·k·routed tokens)",
};
const PROTOCOL_NOTE: Record<Protocol, string> = {
  paper: "paper protocol: Samoyeds on n/4 routed tokens, baselines on all n tokens; each method counts the tokens it computes",
  equal: "equal work: every method on the same n/4 routed tokens (baselines pre-gathered; '+ gather' adds the gather kernel)",
};

function notesOf(j: KernelLevelJson, protocol: Protocol, shown: Series[], pts: KernelPoint[]): string[] {
  const notes = [PROTOCOL_NOTE[protocol]];
  const dtype = j.run?.dtype ?? j.provenance.dtype ?? "f16";
  notes.push(`${dtype} operands, f32 accumulation; CUDA-graph replay, median; random weights and tokens` +
    (j.run?.quick ? "; QUICK run (fewer shapes and replays)" : "") + buildNote(j.provenance));
  if (j.provenance.synthetic) notes.unshift("SYNTHETIC EXAMPLE DATA (not a measurement)");
  if (protocol === "equal") {
    const g = pts.filter((p) => p.method === "gather" && p.ms !== undefined && !p.skipped).map((p) => p.ms!);
    if (g.length) notes.push(`gather kernel alone (n/4 rows of X): ${Math.min(...g).toFixed(4)} to ${Math.max(...g).toFixed(4)} ms over these shapes`);
  }
  // series with no measured point at all: say why instead of drawing nothing
  for (const s of seriesOf(protocol).filter((s) => !shown.includes(s))) {
    const reason = pts.find((p) => p.method === s.method && p.tokens === s.tokens && p.skipped)?.skipped;
    const line = `not measured: ${s.label}: ${reason}`;
    if (reason) notes.push(line.length > 120 ? line.slice(0, 117) + "..." : line);
  }
  return notes;
}

function legendOf(series: Series[], symbol: LegendEntry["symbol"]): LegendEntry[] {
  return series.map((s) => ({ label: s.label, color: s.color, symbol }));
}

/** A figure ready for saveFigure(): the Plot chart and its frame (title, legend, notes). */
export interface KernelFigure {
  name: string;
  title: string;
  subtitle?: string;
  chart: SvgNode;
  legend: LegendEntry[];
  notes: string[];
}

function shapesOf(pts: KernelPoint[]): { m: number; k: number }[] {
  return [...new Map(pts.filter((p) => p.figure === "fig12").map((p) => [`${p.m}x${p.k}`, { m: p.m, k: p.k }])).values()];
}

/** Figure 12: grouped TFLOP/s bars for the paper's five (m, k) shapes at n = 4096 tokens. */
export function figure12(j: KernelLevelJson, protocol: Protocol): KernelFigure {
  const pts = pointsOf(j);
  const shapes = shapesOf(pts);
  const rows = shapes.flatMap((sh) =>
    seriesOf(protocol).map((se) => ({
      shape: `${sh.m} × ${sh.k}`,
      series: se.label,
      value: value(find(pts, { figure: "fig12", m: sh.m, k: sh.k, method: se.method, tokens: se.tokens }), protocol),
    }))
  );
  const shown = seriesOf(protocol).filter((se) => rows.some((r) => r.series === se.label && r.value !== undefined));
  const data = rows.filter((r) => shown.some((s) => s.label === r.series));
  const measured = data.filter((r) => r.value !== undefined);
  const chart = plot({
    width: Math.max(720, 110 + shapes.length * (shown.length * 17 + 24)),
    height: 440,
    marginTop: 30,
    fx: { label: "weight shape m × k (expert intermediate × hidden), n = 4096 tokens", domain: shapes.map((s) => `${s.m} × ${s.k}`), padding: 0.12 },
    x: { axis: null, domain: shown.map((s) => s.label), paddingInner: 0.08 },
    y: { label: Y_LABEL[protocol], grid: true, nice: true },
    color: { domain: shown.map((s) => s.label), range: shown.map((s) => s.color) },
    marks: [
      Plot.barY(measured, { fx: "shape", x: "series", y: "value", fill: "series" }),
      Plot.text(measured, { fx: "shape", x: "series", y: "value", text: (d: { value: number }) => d.value.toFixed(0), rotate: -90, textAnchor: "start", dy: -4, dx: 0, fontSize: 8, fill: "#333" }),
      Plot.text(data.filter((r) => r.value === undefined), { fx: "shape", x: "series", y: 0, text: () => "n/a", rotate: -90, textAnchor: "start", fontSize: 8, fill: "#999" }),
      Plot.ruleY([0]),
    ],
  });
  return {
    name: `kernel-level-fig12-${protocol}`,
    title: `Figure 12: kernel TFLOP/s at the paper's MoE shapes (${protocol === "paper" ? "paper protocol" : "equal work"})`,
    subtitle: protocol === "paper"
      ? "Samoyeds computes n/4 = 1024 routed tokens, baselines all n = 4096 (as in the paper)"
      : "every method computes the same 1024 routed tokens of 4096",
    chart,
    legend: legendOf(shown, "dot"),
    notes: notesOf(j, protocol, shown, pts),
  };
}

/** Figure 13: TFLOP/s over one sweep (m, k or n in 256..16384, the other two at 4096), log2 x axis. */
export function figure13(j: KernelLevelJson, sweep: "m" | "k" | "n", protocol: Protocol): KernelFigure {
  const pts = pointsOf(j).filter((p) => p.figure === "fig13" && p.sweep === sweep);
  const xs = [...new Set(pts.map((p) => p[sweep]))].sort((a, b) => a - b);
  const rows = seriesOf(protocol).flatMap((se) =>
    xs.map((x) => ({ x, series: se.label, value: value(find(pts, { [sweep]: x, method: se.method, tokens: se.tokens }), protocol) }))
  );
  const shown = seriesOf(protocol).filter((se) => rows.some((r) => r.series === se.label && r.value !== undefined));
  const measured = rows.filter((r) => r.value !== undefined && shown.some((s) => s.label === r.series));
  const others = (["m", "k", "n"] as const).filter((d) => d !== sweep).map((d) => `${d} = 4096`).join(", ");
  const xLabel = sweep === "m"
    ? "m (weight rows: expert intermediate size)"
    : sweep === "k"
    ? "k (hidden size)"
    : "n (all tokens; n/4 routed)";
  const chart = plot({
    width: 720,
    height: 420,
    marginRight: 30,
    x: { type: "log", base: 2, label: xLabel, ticks: xs, tickFormat: (d: number) => String(d), domain: xs.length > 1 ? [xs[0], xs[xs.length - 1]] : undefined },
    y: { label: Y_LABEL[protocol], grid: true, nice: true, zero: true },
    color: { domain: shown.map((s) => s.label), range: shown.map((s) => s.color) },
    marks: [
      Plot.line(measured, { x: "x", y: "value", stroke: "series", strokeWidth: 2 }),
      Plot.dot(measured, { x: "x", y: "value", fill: "series", r: 3 }),
      Plot.ruleY([0]),
    ],
  });
  return {
    name: `kernel-level-fig13-${sweep}-${protocol}`,
    title: `Figure 13: TFLOP/s over ${sweep} (${others}; ${protocol === "paper" ? "paper protocol" : "equal work"})`,
    chart,
    legend: legendOf(shown, "line"),
    notes: notesOf(j, protocol, shown, pts),
  };
}

export interface SpeedupRow {
  shape: string;
  ours: string;
  versus: string;
  paper?: number;
  equal?: number;
  equal_with_gather?: number;
}

/** Speedup (time ratio baseline / ours) of each of our kernels over each baseline at the Figure 12 shapes, both protocols. */
export function speedupTable(j: KernelLevelJson): SpeedupRow[] {
  const pts = pointsOf(j);
  const rows: SpeedupRow[] = [];
  const ms = (p?: KernelPoint) => (p && !p.skipped && p.ms ? p.ms : undefined);
  for (const sh of shapesOf(pts)) {
    const t = (method: string, tokens: "all" | "routed") => ms(find(pts, { figure: "fig12", m: sh.m, k: sh.k, method, tokens }));
    for (const ours of [OURS_MMA, OURS_WGMMA]) {
      const o = t(ours.method, "routed");
      if (o === undefined) continue;
      for (const base of ["cublas", "cusparselt", "vnm"]) {
        const r = (b?: number) => (b ? b / o : undefined);
        rows.push({
          shape: `${sh.m} x ${sh.k}`,
          ours: ours.method === "samoyeds_wgmma" ? "wgmma.sp" : "mma.sp",
          versus: base,
          paper: r(t(base, "all")),
          equal: r(t(base, "routed")),
          equal_with_gather: r(t(`${base}+gather`, "routed")),
        });
      }
    }
  }
  return rows;
}

export function speedupMarkdown(rows: SpeedupRow[]): string {
  const f = (v?: number) => (v === undefined ? "n/a" : `${v.toFixed(2)}x`);
  return [
    "| shape (m x k) | ours | vs | paper protocol | equal work | equal work, baseline + gather |",
    "|---|---|---|---|---|---|",
    ...rows.map((r) => `| ${r.shape} | ${r.ours} | ${r.versus} | ${f(r.paper)} | ${f(r.equal)} | ${f(r.equal_with_gather)} |`),
  ].join("\n");
}

/** Every kernel-level figure of a data file: Figure 12 and Figure 13 (m, k, n), each for both protocols. */
export function kernelLevelFigureSet(j: KernelLevelJson): KernelFigure[] {
  const out: KernelFigure[] = [];
  for (const p of ["paper", "equal"] as const) {
    out.push(figure12(j, p));
    for (const sw of ["m", "k", "n"] as const) out.push(figure13(j, sw, p));
  }
  return out;
}

/** Writes figures/kernel-level-fig12-{paper,equal} and kernel-level-fig13-{m,k,n}-{paper,equal} (.svg + .png). */
export function saveKernelLevelFigures(j: KernelLevelJson, source: string, outDir?: string): string[] {
  const device = deviceOf(j);
  const written: string[] = [];
  for (const f of kernelLevelFigureSet(j)) {
    const r = saveFigure(f.chart, { name: f.name, title: f.title, subtitle: f.subtitle, source, device, legend: f.legend, notes: f.notes, dir: outDir });
    written.push(r.svg, r.png);
  }
  return written;
}

/** Registry entry `kernel-level`: figures from data/kernel-level.json; [] (with a message) when it is absent. */
export function kernelLevelFigures(opts: { dataDir?: string; outDir?: string } = {}): string[] {
  const file = join(opts.dataDir ?? join(repoRoot, "data"), "kernel-level.json");
  const j = readResults<KernelLevelJson>(file);
  if (!j) {
    console.log("kernel-level figures: no data/kernel-level.json yet (GPU stage `kernel`: bench/kernel.ts)");
    return [];
  }
  return saveKernelLevelFigures(j, file, opts.outDir);
}

const ROOF_COLORS = ["#9467bd", "#d62728", "#7f7f7f", "#1f77b4", "#2ca02c", "#ff7f0e"];

/** Roofline chart (log-log): each ceiling is min(peak, bandwidth x intensity); achieved points coloured by kernel. */
export function rooflineChart(data: RooflineData): { chart: SvgNode; legend: LegendEntry[] } {
  const xs = data.points.map((p) => p.intensity), ys = data.points.map((p) => p.tflops);
  const xmin = Math.min(10, ...xs) / 2, xmax = Math.max(2000, ...xs) * 2;
  const tbPerS = data.bandwidthGBs / 1000; // TFLOP/s per (flop/byte)
  const roof = (peak: number, x: number) => (Number.isFinite(tbPerS) && tbPerS > 0 ? Math.min(peak, tbPerS * x) : peak);
  const grid = Array.from({ length: 121 }, (_, i) => xmin * (xmax / xmin) ** (i / 120));
  const lines = data.ceilings.flatMap((c) => grid.map((x) => ({ ceiling: c.name, x, y: roof(c.tflops, x) })));
  const labels = data.ceilings.map((c) => ({ x: xmax, y: c.tflops, text: `${c.name}: ${c.tflops.toFixed(0)}` }));
  const kernels = [...new Set(data.points.map((p) => p.kernel))];
  const ymin = Math.max(1, Math.min(...ys.filter((y) => y > 0), tbPerS * xmin || 1) / 2);
  const chart = plot({
    width: 760,
    height: 460,
    marginRight: 20,
    x: { type: "log", label: "arithmetic intensity (dense-equivalent flop per byte of minimum traffic)", domain: [xmin, xmax], grid: true },
    y: { type: "log", label: "TFLOP/s, dense-equivalent (2·m·k·selected tokens)", domain: [ymin, Math.max(...data.ceilings.map((c) => c.tflops), ...ys, 1) * 1.6], grid: true },
    color: { domain: kernels, range: kernels.map((_, i) => ROOF_COLORS[i % ROOF_COLORS.length]) },
    marks: [
      // the Samoyeds ceiling (2 x wgmma.sp: the 1:2 row selection skipped for free) is derived, hence dashed
      Plot.line(lines.filter((l) => !l.ceiling.startsWith("Samoyeds")), { x: "x", y: "y", z: "ceiling", stroke: "#555" }),
      Plot.line(lines.filter((l) => l.ceiling.startsWith("Samoyeds")), { x: "x", y: "y", z: "ceiling", stroke: "#555", strokeDasharray: "6 3" }),
      Plot.text(labels, { x: "x", y: "y", text: "text", textAnchor: "end", dy: -7, fontSize: 10, fill: "#333" }),
      ...(Number.isFinite(tbPerS) && tbPerS > 0
        ? [Plot.text([{ x: xmin * 1.3, y: tbPerS * xmin * 1.3 }], { x: "x", y: "y", text: () => `memory ${data.bandwidthGBs.toFixed(0)} GB/s`, textAnchor: "start", dy: -8, fontSize: 10, fill: "#333" })]
        : []),
      Plot.dot(data.points, { x: "intensity", y: (d: { tflops: number }) => Math.max(d.tflops, ymin), fill: "kernel", r: 3.5, fillOpacity: 0.85 }),
    ],
  });
  return { chart, legend: kernels.map((k, i) => ({ label: k, color: ROOF_COLORS[i % ROOF_COLORS.length], symbol: "dot" as const })) };
}

/** Registry entry `hopper-wgmma`: the roofline of data/wgmma.json; [] (with a message) when it is absent. */
export function wgmmaRooflineFigures(opts: { dataDir?: string; outDir?: string } = {}): string[] {
  const file = join(opts.dataDir ?? join(repoRoot, "data"), "wgmma.json");
  // deno-lint-ignore no-explicit-any
  const j = readResults<any>(file);
  if (!j) {
    console.log("hopper-wgmma figures: no data/wgmma.json yet (GPU stage `wgmma`: bench/wgmma.ts)");
    return [];
  }
  const data = rooflineFromWgmmaJson(j);
  const d = j.provenance?.device;
  const device = d?.backend ? deviceLabel(d) : d?.cc_major !== undefined ? `${d.name} (sm_${d.cc_major}${d.cc_minor})` : d?.name ?? "unknown device";
  const { chart, legend } = rooflineChart(data);
  const r = saveFigure(chart, {
    name: "hopper-wgmma-roofline",
    title: "Roofline of the SSMM kernels (Hopper wgmma.sp path)",
    subtitle: "achieved dense-equivalent TFLOP/s vs measured instruction peaks and the memory bound",
    source: file,
    device,
    legend,
    notes: [
      "TFLOP/s = 2·m·k·selected tokens / time; intensity = those flops per byte of minimum device-memory traffic",
      `ceilings measured on this device: ${data.ceilings.map((c) => `${c.name.replace(/ peak$/, "")} ${c.tflops.toFixed(0)}`).join(", ")} TFLOP/s`,
      `memory roof: copy bandwidth ${Number(data.bandwidthGBs).toFixed(0)} GB/s`,
      `${j.dtype ?? "bf16"} operands; Figure 12 shapes and Figure 13 sweeps; CUDA-graph replay, median${buildNote(j.provenance)}`,
    ],
    dir: opts.outDir,
  });
  return [r.svg, r.png];
}

/** A bench/wgmma_variants.ts file: one row per (shape, variant), all variants timed in one process. */
export interface WgmmaVariantsJson {
  // deno-lint-ignore no-explicit-any
  provenance: any;
  rows: { m: number; k: number; n_sel: number; V: number; variant: string; ms: number; tflops_dense_eq: number }[];
}

// one colour per variant (the bench has 11 with the row-raster run); the first, grey, is "default"
const VARIANT_COLORS = ["#7f7f7f", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#393b79", "#637939", "#843c39"];

/** Our figure: dense-equivalent TFLOP/s of every wgmma.sp kernel variant at the Figure 12 shapes, from one
 * variants file (the variant names are the SAMOYEDS_WGMMA_VARIANT values; "default" is the build's default). */
export function wgmmaVariantsFigure(
  j: WgmmaVariantsJson,
  labels: { name: string; title: string; subtitle: string } = {
    name: "hopper-wgmma-variants",
    title: "wgmma.sp SSMM kernel variants at the Figure 12 shapes",
    subtitle: "same process, same inputs; the pre-gather of the gathered-* variants is included in their time",
  },
): KernelFigure {
  const short = (v: string) => v.split(":")[0];
  const names = [...new Set(j.rows.map((r) => short(r.variant)))];
  const shapes = [...new Map(j.rows.map((r) => [`${r.m} × ${r.k}`, r])).keys()];
  const data = j.rows.map((r) => ({ shape: `${r.m} × ${r.k}`, series: short(r.variant), value: r.tflops_dense_eq }));
  const colors = names.map((_, i) => VARIANT_COLORS[i % VARIANT_COLORS.length]);
  const r0 = j.rows[0];
  const chart = plot({
    width: Math.max(720, 110 + shapes.length * (names.length * 17 + 24)),
    height: 420,
    marginTop: 30,
    fx: { label: `weight shape m × k; ${r0?.n_sel} selected tokens, V = ${r0?.V}`, domain: shapes, padding: 0.12 },
    x: { axis: null, domain: names, paddingInner: 0.08 },
    y: { label: "TFLOP/s, dense-equivalent (2·m·k·selected tokens)", grid: true, nice: true },
    color: { domain: names, range: colors },
    marks: [
      Plot.barY(data, { fx: "shape", x: "series", y: "value", fill: "series" }),
      Plot.text(data, { fx: "shape", x: "series", y: "value", text: (d: { value: number }) => d.value.toFixed(0), rotate: -90, textAnchor: "start", dy: -4, fontSize: 8, fill: "#333" }),
      Plot.ruleY([0]),
    ],
  });
  const described = [...new Map(j.rows.map((r) => [short(r.variant), r.variant])).values()].filter((v) => v.includes(":"));
  return {
    ...labels,
    chart,
    legend: names.map((label, i) => ({ label, color: colors[i], symbol: "dot" as const })),
    notes: [
      `bf16 operands, f32 output; CUDA-graph replay, median${buildNote(j.provenance)} (the build's default variant)`,
      ...described.map((v) => (v.length > 120 ? v.slice(0, 117) + "..." : v)),
    ],
  };
}

/** The newest file of data/wgmma-perf whose name starts with `prefix` and that has provenance and rows. */
function newestVariantsFile(dir: string, prefix: string, exclude?: RegExp): { f: string; j: WgmmaVariantsJson } | undefined {
  return listResults(prefix, dir)
    .filter((f) => !exclude?.test(f))
    .map((f) => ({ f, j: readResults<WgmmaVariantsJson>(f) }))
    .filter((x): x is { f: string; j: WgmmaVariantsJson } => !!x.j?.provenance?.date && Array.isArray(x.j.rows) && x.j.rows.length > 0)
    .sort((a, b) => String(a.j.provenance.date).localeCompare(String(b.j.provenance.date)))
    .at(-1);
}

/** Writes one of these A/B figures, its caption naming the data file and the device in its provenance. */
// deno-lint-ignore no-explicit-any
function saveVariantsFigure(last: { f: string; j: { provenance: any } }, f: KernelFigure, outDir?: string): string[] {
  const d = last.j.provenance?.device;
  const device = d?.backend ? deviceLabel(d) : d?.name ?? "unknown device";
  const r = saveFigure(f.chart, { name: f.name, title: f.title, subtitle: f.subtitle, source: last.f, device, legend: f.legend, notes: f.notes, dir: outDir });
  return [r.svg, r.png];
}

/** Registry: figures/hopper-wgmma-variants from the newest data/wgmma-perf/variants-*.json that has provenance (the
 * variant table at the default 4096 routed tokens; not the one-setting A/B files variants-split-*, variants-pdl-* nor the
 * other token counts, variants-n<N>-*, of bench/wgmma_variants.ts), and figures/hopper-wgmma-variants-n1024 from the
 * newest variants-n1024-*.json (the kernel-level token count, where the default's token-tile plan matters). */
export function wgmmaVariantsFigures(opts: { dataDir?: string; outDir?: string } = {}): string[] {
  const dir = join(opts.dataDir ?? join(repoRoot, "data"), "wgmma-perf");
  const last = newestVariantsFile(dir, "variants-", /variants-(split|pdl)-|-n[0-9]+-/);
  if (!last) {
    console.log("hopper-wgmma variants figure: no data/wgmma-perf/variants-*.json with provenance yet (bench/wgmma_variants.ts)");
    return [];
  }
  const out = saveVariantsFigure(last, wgmmaVariantsFigure(last.j), opts.outDir);
  const n1024 = newestVariantsFile(dir, "variants-n1024-");
  if (n1024) {
    out.push(...saveVariantsFigure(n1024, wgmmaVariantsFigure(n1024.j, {
      name: "hopper-wgmma-variants-n1024",
      title: "wgmma.sp SSMM kernel variants at the kernel-level token count",
      subtitle: "1024 routed tokens (Figure 12, equal work); default: gathered-tma-pp with 64-token tiles where 128-token tiles leave SMs idle",
    }), opts.outDir));
  }
  return out;
}

/** A bench/ssmm.ts file (the mma.sp SSMM at the Figure 12 shapes, timings of one process per dtype and shape). */
export interface SsmmJson {
  // deno-lint-ignore no-explicit-any
  provenance: any;
  V: number;
  rows: { dtype: string; m: number; k: number; n_sel: number; tokens: number; ms: Record<string, number>; tflops_dense_equiv: Record<string, number> }[];
}

// the series of the mma.sp A/B figure: bench/ssmm.ts timing names, all with half output and f32 accumulation;
// files from before session 11 have no stage A/B (their kernel ran 64-k stages throughout)
const mmaSpSeries = (stageAb: boolean): [string, string][] => [
  ["ssmm_f32acc_halfout", stageAb ? "running sums, 128-k stages (default)" : "running sums (default)"],
  ["ssmm_swap_routing_halfout", "accumulator swaps (SAMOYEDS_MMA_SP_ROUTING=swap)"],
  ...(stageAb ? [["ssmm_stage64_halfout", "running sums, 64-k stages (SAMOYEDS_MMA_SP_STAGE_K=64)"] as [string, string]] : []),
  ["cublas_gathered_halfout", "cuBLAS dense, pre-gathered tokens"],
];

/** Our figure: the mma.sp SSMM's two 1:2 row routings and (since session 11) its two pipeline-stage depths
 * (native/src/common/mma_sp_routing.h) against cuBLAS on the same tokens, dense-equivalent TFLOP/s at the Figure 12 shapes, from one bench/ssmm.ts file; undefined when the
 * file predates the routing A/B. */
export function mmaSpRoutingFigure(j: SsmmJson, dtype = "bf16"): KernelFigure | undefined {
  const rows = j.rows.filter((r) => r.dtype === dtype && r.tflops_dense_equiv?.ssmm_swap_routing_halfout !== undefined);
  if (rows.length === 0) return undefined;
  const stageAb = rows.some((r) => r.ms.ssmm_stage64_halfout !== undefined);
  const table: WgmmaVariantsJson = {
    provenance: j.provenance,
    rows: rows.flatMap((r) =>
      mmaSpSeries(stageAb).filter(([key]) => r.tflops_dense_equiv[key] !== undefined).map(([key, label]) => ({
        m: r.m, k: r.k, n_sel: r.n_sel, V: j.V, variant: label, ms: r.ms[key], tflops_dense_eq: r.tflops_dense_equiv[key],
      }))
    ),
  };
  const f = wgmmaVariantsFigure(table, {
    name: "mma-sp-routing",
    title: stageAb ? "mma.sp SSMM: routing and pipeline-stage A/Bs (1:2), same process" : "mma.sp SSMM: row-selection routing (1:2), same process",
    subtitle: `${rows[0].n_sel} of ${rows[0].tokens} tokens selected; each SSMM bar after the first changes one setting of the default`,
  });
  return {
    ...f,
    notes: [`${dtype} operands and output, f32 accumulation; CUDA-graph replay, median${buildNote(j.provenance)}`,
      "cuBLAS gets the selected tokens pre-gathered (equal work, gather excluded)"],
  };
}

/** Registry: figures/mma-sp-routing from data/ssmm.json (bench/ssmm.ts). */
export function mmaSpFigures(opts: { dataDir?: string; outDir?: string } = {}): string[] {
  const file = join(opts.dataDir ?? join(repoRoot, "data"), "ssmm.json");
  const j = readResults<SsmmJson>(file);
  const f = j && Array.isArray(j.rows) ? mmaSpRoutingFigure(j) : undefined;
  if (!j || !f) {
    console.log("mma.sp routing figure: no data/ssmm.json with the routing A/B yet (GPU stage `ssmm`: bench/ssmm.ts)");
    return [];
  }
  return saveVariantsFigure({ f: file, j }, f, opts.outDir);
}

/** The rows of an A/B file whose variants are labelled "<setting>, round N", one per setting and shape: the round
 * with the highest rate (the shortest time). */
export function bestOfRoundRows(rows: WgmmaVariantsJson["rows"]): WgmmaVariantsJson["rows"] {
  const best = new Map<string, WgmmaVariantsJson["rows"][number]>();
  for (const r of rows) {
    const variant = r.variant.replace(/, round \d+$/, "");
    const key = `${r.m} ${r.k} ${variant}`;
    const seen = best.get(key);
    if (!seen || r.tflops_dense_eq > seen.tflops_dense_eq) best.set(key, { ...r, variant });
  }
  return [...best.values()];
}

/** Registry: figures/hopper-wgmma-split, hopper-wgmma-pdl, hopper-wgmma-persist and hopper-wgmma-probe-loads, the launch-setting A/Bs and the loads-only probe of the
 * default variant at the kernel-level token count (newest data/wgmma-perf/variants-{split,pdl,persist,probe-loads}-n1024-*.json;
 * bench/wgmma_variants.ts --split / --pdl / --persist / --probe-loads). */
export function wgmmaLaunchAbFigures(opts: { dataDir?: string; outDir?: string } = {}): string[] {
  const dir = join(opts.dataDir ?? join(repoRoot, "data"), "wgmma-perf");
  const out: string[] = [];
  const figures = [
    {
      prefix: "variants-split-n1024-",
      name: "hopper-wgmma-split",
      title: "Split-k of the last wave (wgmma.sp SSMM, default variant)",
      subtitle: "auto: the last wave's tiles in 2-4 k pieces (off by default: slower); 2, 3, 4: every tile",
    },
    {
      prefix: "variants-pdl-n1024-",
      name: "hopper-wgmma-pdl",
      title: "Programmatic dependent launch after the pre-gather (wgmma.sp)",
      subtitle: "on (the default): first weight blocks requested while the gather runs; off: plain launch",
    },
    {
      prefix: "variants-persist-n1024-",
      name: "hopper-wgmma-persist",
      title: "Persistent CTAs against one CTA per tile (wgmma.sp, two interleaved rounds)",
      subtitle: "on (the default): one CTA per SM walks the tiles, the stage ring runs on across them; off: a CTA per tile",
    },
    {
      prefix: "variants-probe-loads-n1024-",
      name: "hopper-wgmma-probe-loads",
      title: "What bounds the wgmma.sp SSMM: each kernel against its loads alone (best of two rounds)",
      subtitle: "loads only: SAMOYEDS_WGMMA_PROBE=loads-only (no wgmmas); mc2: token tiles multicast to row-tile pairs",
      bestOfRounds: true,
    },
  ];
  for (const { prefix, bestOfRounds, ...labels } of figures) {
    const last = newestVariantsFile(dir, prefix);
    if (!last) {
      console.log(`${labels.name}: no data/wgmma-perf/${prefix}*.json with provenance yet (bench/wgmma_variants.ts)`);
      continue;
    }
    const j = bestOfRounds ? { ...last.j, rows: bestOfRoundRows(last.j.rows) } : last.j;
    out.push(...saveVariantsFigure({ ...last, j }, wgmmaVariantsFigure(j, labels), opts.outDir));
  }
  return out;
}

if (import.meta.main) {
  const [dataDir, outDir] = Deno.args;
  console.log([...kernelLevelFigures({ dataDir, outDir }), ...wgmmaRooflineFigures({ dataDir, outDir })].join("\n"));
}
