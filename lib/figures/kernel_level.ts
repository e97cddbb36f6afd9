// Kernel-level figures (issue 3) from data/kernel-level.json (bench/kernel.ts): Figure 12 (TFLOP/s bars per shape
// and method), Figure 13 (TFLOP/s lines over the m, k, n sweeps), both protocols, and the speedup table. SVG strings,
// each stamped with the data file, device and what TFLOP/s counts. (Plain SVG like the other figure modules; switch
// to the shared lib/figures helper once it exists.)
import type { KernelPoint } from "../../bench/kernel.ts";

export interface KernelLevelJson {
  provenance: { device?: { name?: string }; commit?: string; date?: string; dtype?: string; synthetic?: boolean };
  points: KernelPoint[];
}
export type Protocol = "paper" | "equal";

/** Series of a protocol: label, method, tokens it computes. */
export function seriesOf(protocol: Protocol): { label: string; method: string; tokens: "all" | "routed" }[] {
  const ours = { label: "Samoyeds SSMM (n/4 routed, ours)", method: "samoyeds_ssmm", tokens: "routed" as const };
  return protocol === "paper"
    ? [
      { label: "cuBLAS dense (all n)", method: "cublas", tokens: "all" },
      { label: "cuSPARSELt 2:4 (all n)", method: "cusparselt", tokens: "all" },
      { label: "V:2:8 VENOM-style (all n)", method: "vnm", tokens: "all" },
      ours,
    ]
    : [
      { label: "cuBLAS dense (gathered)", method: "cublas", tokens: "routed" },
      { label: "cuSPARSELt 2:4 (gathered)", method: "cusparselt", tokens: "routed" },
      { label: "V:2:8 VENOM-style (gathered)", method: "vnm", tokens: "routed" },
      { label: "V:2:8 + gather", method: "vnm+gather", tokens: "routed" },
      ours,
    ];
}

const METHOD_COLOR: Record<string, string> = { cublas: "#7f7f7f", cusparselt: "#1f77b4", vnm: "#2ca02c", "vnm+gather": "#98df8a", samoyeds_ssmm: "#d62728" };
const color = (method: string) => METHOD_COLOR[method] ?? "#ff7f0e";
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function find(j: KernelLevelJson, sel: Partial<KernelPoint>): KernelPoint | undefined {
  return j.points.find((p) => Object.entries(sel).every(([k, v]) => (p as unknown as Record<string, unknown>)[k] === v));
}

/** TFLOP/s a series shows: paper protocol = each kernel's own work; equal work = the routed work for all. */
function value(p: KernelPoint | undefined, protocol: Protocol): number | undefined {
  if (!p || p.ms === undefined) return undefined;
  return protocol === "paper" ? p.tflops : p.tflops_required;
}

function stamp(j: KernelLevelJson, file: string, protocol: Protocol): string[] {
  const dev = j.provenance.device?.name ?? "unknown device";
  const what = protocol === "paper"
    ? "paper protocol: SSMM on n/4 routed tokens, baselines on all n; TFLOP/s = 2·m·k·(tokens computed)/time"
    : "equal work: all methods on the same n/4 routed tokens (baselines pre-gathered); TFLOP/s = 2·m·k·(n/4)/time";
  return [
    `${j.provenance.synthetic ? "SYNTHETIC EXAMPLE DATA (not a measurement) - " : ""}${dev}, ${j.provenance.dtype ?? "f16"}, dense-equivalent`,
    what,
    `data: ${file}${j.provenance.commit ? `, commit ${j.provenance.commit.slice(0, 10)}` : ""}${j.provenance.date ? `, ${j.provenance.date.slice(0, 10)}` : ""}`,
  ];
}

function legend(series: { label: string; method: string }[], x: number, y: number): string {
  return series.map((s, i) =>
    `<rect x="${x}" y="${y + i * 18}" width="12" height="12" fill="${color(s.method)}"/>` +
    `<text x="${x + 18}" y="${y + i * 18 + 10}" font-size="11">${esc(s.label)}</text>`
  ).join("");
}

function axisTicks(max: number): number[] {
  const raw = max / 5, p = 10 ** Math.floor(Math.log10(raw || 1)), step = [1, 2, 5, 10].map((s) => s * p).find((s) => s >= raw) ?? p;
  const out = [];
  for (let v = 0; v <= max + 1e-9; v += step) out.push(v);
  return out;
}

/** Figure 12: grouped TFLOP/s bars for the paper's five (m, k) shapes at n = 4096. */
export function figure12(j: KernelLevelJson, protocol: Protocol, file = "data/kernel-level.json"): string {
  const shapes = [...new Map(j.points.filter((p) => p.figure === "fig12").map((p) => [`${p.m}x${p.k}`, p])).values()];
  const series = seriesOf(protocol);
  const L = 60, T = 100, B = 60, groupW = series.length * 16 + 26, plotW = Math.max(300, shapes.length * groupW), R = 250, H = 460;
  const W = L + plotW + R, plotH = H - T - B;
  const vals = shapes.map((s) => series.map((se) => value(find(j, { figure: "fig12", m: s.m, k: s.k, method: se.method, tokens: se.tokens }), protocol)));
  const max = Math.max(1, ...vals.flat().filter((v): v is number => v !== undefined)) * 1.1;
  const ticks = axisTicks(max), top = ticks[ticks.length - 1] || max;
  const y = (v: number) => T + plotH - (v / top) * plotH;
  let s = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>`;
  s += `<text x="${L}" y="20" font-size="15" font-weight="bold">Figure 12 - kernel TFLOP/s, n = 4096 tokens (${protocol === "paper" ? "paper protocol" : "equal work"})</text>`;
  stamp(j, file, protocol).forEach((line, i) => s += `<text x="${L}" y="${38 + i * 14}" font-size="10.5" fill="#444">${esc(line)}</text>`);
  for (const t of ticks) s += `<line x1="${L}" x2="${L + plotW}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/><text x="${L - 6}" y="${y(t) + 4}" font-size="10" text-anchor="end">${t}</text>`;
  s += `<text transform="translate(16,${T + plotH / 2}) rotate(-90)" font-size="11" text-anchor="middle">TFLOP/s (dense-equivalent)</text>`;
  shapes.forEach((sh, gi) => {
    const gx = L + gi * groupW + 13;
    series.forEach((_, si) => {
      const v = vals[gi][si], x = gx + si * 16;
      if (v === undefined) s += `<text x="${x + 7}" y="${y(0) - 4}" font-size="8" text-anchor="middle" transform="rotate(-90 ${x + 7} ${y(0) - 4})">n/a</text>`;
      else s += `<rect x="${x}" y="${y(v)}" width="14" height="${y(0) - y(v)}" fill="${color(series[si].method)}"><title>${v.toFixed(1)}</title></rect>`;
    });
    s += `<text x="${gx + (series.length * 16) / 2}" y="${T + plotH + 16}" font-size="10.5" text-anchor="middle">${sh.m}x${sh.k}</text>`;
  });
  s += `<text x="${L + plotW / 2}" y="${H - 18}" font-size="11" text-anchor="middle">weight shape m x k (expert intermediate x hidden)</text>`;
  s += legend(series, L + plotW + 15, T);
  return s + "</svg>";
}

/** Figure 13: TFLOP/s lines over one sweep (m, k or n in 256..16384, the other two at 4096), log2 x axis. */
export function figure13(j: KernelLevelJson, sweep: "m" | "k" | "n", protocol: Protocol, file = "data/kernel-level.json"): string {
  const pts = j.points.filter((p) => p.figure === "fig13" && p.sweep === sweep);
  const xs = [...new Set(pts.map((p) => p[sweep]))].sort((a, b) => a - b);
  const series = seriesOf(protocol);
  const L = 60, T = 100, B = 60, plotW = 420, R = 250, H = 420, W = L + plotW + R, plotH = H - T - B;
  const vals = series.map((se) => xs.map((x) => value(pts.find((p) => p[sweep] === x && p.method === se.method && p.tokens === se.tokens), protocol)));
  const max = Math.max(1, ...vals.flat().filter((v): v is number => v !== undefined)) * 1.1;
  const ticks = axisTicks(max), top = ticks[ticks.length - 1] || max;
  const lx = (x: number) => xs.length < 2 ? L + plotW / 2 : L + ((Math.log2(x) - Math.log2(xs[0])) / (Math.log2(xs[xs.length - 1]) - Math.log2(xs[0]))) * plotW;
  const y = (v: number) => T + plotH - (v / top) * plotH;
  let s = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>`;
  const others = (["m", "k", "n"] as const).filter((d) => d !== sweep).map((d) => `${d} = 4096`).join(", ");
  s += `<text x="${L}" y="20" font-size="15" font-weight="bold">Figure 13 - sweep of ${sweep} (${others}; ${protocol === "paper" ? "paper protocol" : "equal work"})</text>`;
  stamp(j, file, protocol).forEach((line, i) => s += `<text x="${L}" y="${38 + i * 14}" font-size="10.5" fill="#444">${esc(line)}</text>`);
  for (const t of ticks) s += `<line x1="${L}" x2="${L + plotW}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/><text x="${L - 6}" y="${y(t) + 4}" font-size="10" text-anchor="end">${t}</text>`;
  for (const x of xs) s += `<text x="${lx(x)}" y="${T + plotH + 16}" font-size="10" text-anchor="middle">${x}</text>`;
  s += `<text x="${L + plotW / 2}" y="${H - 18}" font-size="11" text-anchor="middle">${sweep}${sweep === "n" ? " (all tokens; n/4 routed)" : ""}</text>`;
  s += `<text transform="translate(16,${T + plotH / 2}) rotate(-90)" font-size="11" text-anchor="middle">TFLOP/s (dense-equivalent)</text>`;
  vals.forEach((row, si) => {
    const c = color(series[si].method);
    const segs = row.map((v, i) => v === undefined ? undefined : `${lx(xs[i]).toFixed(1)},${y(v).toFixed(1)}`).filter(Boolean);
    if (segs.length > 1) s += `<polyline points="${segs.join(" ")}" fill="none" stroke="${c}" stroke-width="2"/>`;
    row.forEach((v, i) => { if (v !== undefined) s += `<circle cx="${lx(xs[i])}" cy="${y(v)}" r="3" fill="${c}"/>`; });
  });
  s += legend(series, L + plotW + 15, T);
  return s + "</svg>";
}

export interface SpeedupRow { shape: string; versus: string; paper?: number; equal?: number; equal_with_gather?: number }

/** SSMM speedup (time ratio) over each baseline at the Figure 12 shapes, under both protocols. */
export function speedupTable(j: KernelLevelJson): SpeedupRow[] {
  const rows: SpeedupRow[] = [];
  const shapes = [...new Map(j.points.filter((p) => p.figure === "fig12").map((p) => [`${p.m}x${p.k}`, p])).values()];
  for (const sh of shapes) {
    const t = (method: string, tokens: "all" | "routed") => find(j, { figure: "fig12", m: sh.m, k: sh.k, method, tokens })?.ms;
    const ours = t("samoyeds_ssmm", "routed");
    for (const base of ["cublas", "cusparselt", "vnm"]) {
      const r = (b?: number) => (ours && b ? b / ours : undefined);
      rows.push({ shape: `${sh.m}x${sh.k}`, versus: base, paper: r(t(base, "all")), equal: r(t(base, "routed")), equal_with_gather: r(t(`${base}+gather`, "routed")) });
    }
  }
  return rows;
}

export function speedupMarkdown(rows: SpeedupRow[]): string {
  const f = (v?: number) => (v === undefined ? "n/a" : `${v.toFixed(2)}x`);
  return ["| shape (m x k) | SSMM vs | paper protocol | equal work | equal work, baseline + gather |", "|---|---|---|---|---|"]
    .concat(rows.map((r) => `| ${r.shape} | ${r.versus} | ${f(r.paper)} | ${f(r.equal)} | ${f(r.equal_with_gather)} |`)).join("\n");
}

/** Writes figures/fig12-{paper,equal}.{svg,png} and figures/fig13-{m,k,n}-{paper,equal}.{svg,png}; PNG via rsvg-convert when present. */
export async function renderKernelLevel(jsonPath = "data/kernel-level.json", outDir = "figures"): Promise<string[]> {
  const j = JSON.parse(await Deno.readTextFile(jsonPath)) as KernelLevelJson;
  await Deno.mkdir(outDir, { recursive: true });
  const written: string[] = [];
  const write = async (name: string, svg: string) => {
    const base = `${outDir}/${name}`;
    await Deno.writeTextFile(`${base}.svg`, svg);
    written.push(`${base}.svg`);
    try {
      const r = await new Deno.Command("rsvg-convert", { args: ["-o", `${base}.png`, `${base}.svg`], stderr: "piped" }).output();
      if (r.success) written.push(`${base}.png`);
    } catch { /* no rsvg-convert: SVG only */ }
  };
  for (const p of ["paper", "equal"] as const) {
    await write(`fig12-${p}`, figure12(j, p, jsonPath));
    for (const sw of ["m", "k", "n"] as const) await write(`fig13-${sw}-${p}`, figure13(j, sw, p, jsonPath));
  }
  return written;
}

if (import.meta.main) {
  const [json, out] = Deno.args;
  console.log((await renderKernelLevel(json, out)).join("\n"));
}
