// Figures of the sparsity explorer (notebooks/sparsity-explorer.ipynb): dense weight magnitudes of a crop of one
// expert projection, the masks of every format on that crop, byte sizes of each format at the model's real shape,
// and routing statistics (tokens per expert; tile-padding waste of gather-based grouped kernels vs the gather traffic
// that in-kernel token selection avoids). Every function returns a standalone SVG string (frameFigure), so the
// notebook only calls them and they render headless; `saveSparsityFigures` writes them to figures/.
// Weights are SYNTHETIC (lib/sparsity/synthetic.ts), seeded by (model, layer, expert, projection): no downloads.
import { join } from "node:path";
import { figuresDir, frameFigure, PALETTE, plot, Plot, svgToPng } from "./render.ts";
import { MoeModelConfig, modelByName } from "../models.ts";
import { Format, formatBytes, formatDensity, FormatOrDense, formatLabel } from "../sparsity/masks.ts";
import { prune, PrunerName } from "../sparsity/pruners.ts";
import { activations, activationSource, samplers, syntheticWeight } from "../sparsity/synthetic.ts";

export type Projection = "gate" | "up" | "down";

export interface WeightTile {
  model: string;
  layer: number;
  expert: number;
  proj: Projection;
  /** full shape of the projection (rows = outputs, k = inputs) */
  m: number;
  k: number;
  /** the tile generated and pruned (a window of the full matrix, aligned to 128) */
  row0: number;
  col0: number;
  rows: number;
  cols: number;
  W: Float64Array;
}

function hashSeed(...parts: (string | number)[]): number {
  let h = 2166136261;
  for (const ch of parts.join("|")) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return h >>> 0;
}

export function projectionShape(model: MoeModelConfig, proj: Projection): { m: number; k: number } {
  return proj === "down" ? { m: model.hidden, k: model.intermediate } : { m: model.intermediate, k: model.hidden };
}

/**
 * A rows x cols window (row0, col0 rounded down to multiples of 128, sizes to multiples of 128 and clipped) of the
 * synthetic weight of one expert projection. Masks are computed on this window (unstructured: density within it).
 */
export function weightTile(modelName: string, layer: number, expert: number, proj: Projection,
  window: { row0?: number; col0?: number; rows?: number; cols?: number } = {}): WeightTile {
  const model = modelByName(modelName);
  if (!(layer >= 0 && layer < model.layers)) throw new RangeError(`weightTile: layer ${layer} not in [0, ${model.layers})`);
  if (!(expert >= 0 && expert < model.experts)) throw new RangeError(`weightTile: expert ${expert} not in [0, ${model.experts})`);
  const { m, k } = projectionShape(model, proj);
  const a = (x: number) => Math.floor(x / 128) * 128;
  const row0 = Math.min(a(window.row0 ?? 0), a(m - 128)), col0 = Math.min(a(window.col0 ?? 0), a(k - 128));
  const rows = Math.max(128, Math.min(a(window.rows ?? 256), m - row0 - ((m - row0) % 128)));
  const cols = Math.max(128, Math.min(a(window.cols ?? 512), k - col0 - ((k - col0) % 128)));
  const W = syntheticWeight(rows, cols, hashSeed(modelName, layer, expert, proj, row0, col0));
  return { model: modelName, layer, expert, proj, m, k, row0, col0, rows, cols, W };
}

export interface Crop {
  /** offsets inside the tile */
  r0: number;
  c0: number;
  rows: number;
  cols: number;
}
export const DEFAULT_CROP: Crop = { r0: 0, c0: 0, rows: 16, cols: 64 };

function cropCells(t: WeightTile, crop: Crop, values: (i: number, j: number) => number | null, panel: string) {
  const cells: { row: number; col: number; v: number | null; panel: string }[] = [];
  const r1 = Math.min(t.rows, crop.r0 + crop.rows), c1 = Math.min(t.cols, crop.c0 + crop.cols);
  for (let i = crop.r0; i < r1; i++) for (let j = crop.c0; j < c1; j++) cells.push({ row: t.row0 + i, col: t.col0 + j, v: values(i, j), panel });
  return cells;
}

function tileLabel(t: WeightTile): string {
  return `${t.model} layer ${t.layer} expert ${t.expert} ${t.proj} (${t.m} x ${t.k})`;
}

const SYNTHETIC_NOTE = "synthetic weights (Student-t entries, log-normal row/column scales; lib/sparsity/synthetic.ts), no downloads";

/** Heatmap of |w| over the crop. */
export function magnitudeHeatmap(t: WeightTile, crop: Crop = DEFAULT_CROP): string {
  const cells = cropCells(t, crop, (i, j) => Math.abs(t.W[i * t.cols + j]), "|w|");
  const chart = plot({
    width: 760, height: 60 + 14 * Math.min(crop.rows, t.rows),
    x: { label: "input column k", type: "band", ticks: cells.filter((c) => c.col % 8 === 0).map((c) => c.col) },
    y: { label: "output row", type: "band" },
    color: { scheme: "viridis", type: "sqrt", legend: false },
    marks: [Plot.cell(cells, { x: "col", y: "row", fill: "v", inset: 0 })],
  });
  return frameFigure(chart, {
    name: "sparsity-magnitude", title: "Dense weight magnitudes |w|",
    subtitle: `${tileLabel(t)}; brighter = larger (sqrt scale)`,
    source: "lib/sparsity/synthetic.ts", device: "computed here (no device)",
    notes: [`rows ${t.row0 + crop.r0}..${t.row0 + crop.r0 + crop.rows - 1}, columns ${t.col0 + crop.c0}..${t.col0 + crop.c0 + crop.cols - 1}`, SYNTHETIC_NOTE],
  });
}

/**
 * One panel per format: the crop's kept weights coloured by |w| (pruned = white), masks chosen on the whole tile by
 * `pruner` (magnitude needs no data; wanda/obs use synthetic calibration activations with outlier channels).
 */
export function maskGallery(t: WeightTile, formats: Format[], crop: Crop = DEFAULT_CROP, pruner: PrunerName = "magnitude"): string {
  const calib = pruner === "magnitude" ? undefined : activations(activationSource(t.cols, hashSeed(t.model, t.layer, "acts", t.col0)), Math.max(256, t.cols), 7);
  const cells = [];
  const densities: string[] = [];
  for (const f of formats) {
    const r = prune(pruner, t.W, t.rows, t.cols, f, calib);
    const label = formatLabel(f);
    let kept = 0;
    for (const x of r.mask) kept += x;
    densities.push(`${label}: ${(100 * kept / r.mask.length).toFixed(1)}%`);
    cells.push(...cropCells(t, crop, (i, j) => (r.mask[i * t.cols + j] ? Math.abs(r.W[i * t.cols + j]) : null), label));
  }
  const nr = Math.min(crop.rows, t.rows);
  const chart = plot({
    width: 760, height: 50 + formats.length * (16 + 9 * nr), marginLeft: 160, marginRight: 10,
    fy: { label: null, domain: formats.map(formatLabel), axis: "left" },
    x: { label: "input column k", type: "band", ticks: cells.filter((c) => c.col % 16 === 0 && c.panel === formatLabel(formats[0])).map((c) => c.col) },
    y: { label: null, type: "band", ticks: [] },
    color: { scheme: "viridis", type: "sqrt" },
    marks: [
      Plot.frame({ stroke: "#ccc" }),
      Plot.cell(cells, { fy: "panel", x: "col", y: "row", fill: (d: { v: number | null }) => (d.v === null ? "white" : d.v), inset: 0.2 }),
    ],
  });
  return frameFigure(chart, {
    name: "sparsity-masks", title: `Sparsity masks (${pruner} pruner)`,
    subtitle: `${tileLabel(t)}; white = pruned, colour = |w|`,
    source: "lib/sparsity/masks.ts, lib/sparsity/pruners.ts", device: "computed here (no device)",
    notes: [
      `crop: ${nr} rows x ${Math.min(crop.cols, t.cols)} columns of a ${t.rows} x ${t.cols} tile at (${t.row0}, ${t.col0}); masks chosen on the whole tile`,
      SYNTHETIC_NOTE, `kept fraction over the tile: ${densities.slice(0, 3).join("; ")}`, ...(densities.length > 3 ? [`  ${densities.slice(3).join("; ")}`] : []),
    ],
  });
}

export interface BytesRow {
  format: string;
  density: number;
  part: "values" | "metadata";
  MiB: number;
  total_MiB: number;
  vs_dense: number;
  source: string;
}

export function formatBytesRows(m: number, k: number, formats: FormatOrDense[]): BytesRow[] {
  const dense = formatBytes(m, k, { kind: "dense" }).total;
  return formats.flatMap((f) => {
    const b = formatBytes(m, k, f);
    const common = { format: formatLabel(f), density: formatDensity(f), total_MiB: b.total / 2 ** 20, vs_dense: b.total / dense, source: b.source };
    return [{ ...common, part: "values" as const, MiB: b.values / 2 ** 20 }, { ...common, part: "metadata" as const, MiB: b.metadata / 2 ** 20 }];
  });
}

/** Stacked bars: fp16 values + metadata bytes per format for an m x k weight. */
export function formatBytesFigure(m: number, k: number, formats: FormatOrDense[], what = ""): string {
  const rows = formatBytesRows(m, k, formats);
  const order = formats.map(formatLabel);
  const totals = rows.filter((r) => r.part === "values");
  const chart = plot({
    height: 60 + 30 * formats.length, marginLeft: 190,
    y: { domain: order, label: null },
    x: { label: "MiB (fp16 values + metadata)", grid: true },
    color: { domain: ["values", "metadata"], range: [PALETTE[0], PALETTE[1]] },
    marks: [
      Plot.barX(rows, { y: "format", x: "MiB", fill: "part" }),
      Plot.text(totals, { y: "format", x: "total_MiB", text: (d: BytesRow) => `${d.total_MiB.toFixed(1)} (${(1 / d.vs_dense).toFixed(2)}x smaller)`, textAnchor: "start", dx: 4 }),
      Plot.ruleX([0]),
    ],
    marginRight: 150,
  });
  return frameFigure(chart, {
    name: "sparsity-bytes", title: `Storage of one ${m} x ${k} weight ${what}`.trim(),
    subtitle: "Samoyeds and VENOM V:2:8 sizes from the native format code; 2:4/N:M and CSR from their layouts",
    source: "lib/sparsity/masks.ts formatBytes (sy_samoyeds_sizes, sy_vnm_sizes)", device: "computed here (no device)",
    legend: [{ label: "fp16 values", color: PALETTE[0], symbol: "dot" }, { label: "metadata / indices", color: PALETTE[1], symbol: "dot" }],
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Routing statistics

export type RoutingKind = "uniform" | "zipf" | "router";
export const ROUTING_DESCRIPTION: Record<RoutingKind, string> = {
  uniform: "each token picks top-k distinct experts uniformly at random",
  zipf: "experts drawn without replacement with probability proportional to 1/rank^s (s = zipfS), expert ranks shuffled",
  router: "random linear router: top-k of x W_r + b on Gaussian token features x (d = 64, 8 token clusters), W_r ~ N(0, 1/d),\n" +
    "  per-expert bias b ~ N(0, 0.5^2): token-dependent and imbalanced, shaped like trained routers",
};

/** Tokens routed to each expert for `tokens` tokens (each picks topK distinct experts). */
export function routeCounts(kind: RoutingKind, tokens: number, experts: number, topK: number, seed = 1, zipfS = 1.0): number[] {
  if (!(topK >= 1 && topK <= experts)) throw new RangeError(`routeCounts: need 1 <= topK (${topK}) <= experts (${experts})`);
  const s = samplers(seed);
  const counts = new Array<number>(experts).fill(0);
  const pickWeighted = (w: number[]) => {
    // topK distinct experts, sequentially without replacement
    const ww = w.slice();
    for (let q = 0; q < topK; q++) {
      let tot = 0;
      for (const x of ww) tot += x;
      let u = s.uniform() * tot, e = 0;
      while (e < experts - 1 && u >= ww[e]) u -= ww[e++];
      counts[e]++;
      ww[e] = 0;
    }
  };
  if (kind === "uniform" || kind === "zipf") {
    const perm = Array.from({ length: experts }, (_, i) => i);
    for (let i = experts - 1; i > 0; i--) {
      const j = Math.floor(s.uniform() * (i + 1));
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    const w = perm.map((r) => (kind === "uniform" ? 1 : 1 / (r + 1) ** zipfS));
    for (let t = 0; t < tokens; t++) pickWeighted(w);
    return counts;
  }
  const d = 64, clusters = 8;
  const Wr = Array.from({ length: d * experts }, () => s.normal() / Math.sqrt(d));
  const b = Array.from({ length: experts }, () => 0.5 * s.normal());
  const centers = Array.from({ length: clusters * d }, () => s.normal());
  const logit = new Array<number>(experts);
  for (let t = 0; t < tokens; t++) {
    const c = Math.floor(s.uniform() * clusters);
    const x = Array.from({ length: d }, (_, i) => centers[c * d + i] + 0.7 * s.normal());
    for (let e = 0; e < experts; e++) {
      let z = b[e];
      for (let i = 0; i < d; i++) z += x[i] * Wr[i * experts + e];
      logit[e] = z;
    }
    const order = logit.map((_, e) => e).sort((p, q) => logit[q] - logit[p]);
    for (let q = 0; q < topK; q++) counts[order[q]]++;
  }
  return counts;
}

export interface PaddingStats {
  routing: string;
  tile: number;
  routed_rows: number;
  /** rows computed by a gather-based grouped GEMM padding every expert's rows to a multiple of `tile` */
  padded_rows: number;
  padding_waste_pct: number;
  /** bytes a gather-based kernel moves to build the per-expert input buffer (read + write of each routed row, fp16) */
  gather_bytes: number;
  /** bytes of the padded gathered buffer (fp16) */
  gather_buffer_bytes: number;
  max_over_mean: number;
  idle_experts: number;
}

/**
 * Padding and gather costs for one routing. Gather-based kernels copy each routed row into a per-expert buffer padded to
 * the tile height; in-kernel token selection (Samoyeds SSMM) loads the routed rows directly from X (no copy, no buffer)
 * but its last tile per expert is partially filled too, so the compute padding is the same: the saving is the copy.
 */
export function paddingStats(routing: string, counts: number[], tile: number, hidden: number): PaddingStats {
  const routed = counts.reduce((a, b) => a + b, 0);
  const padded = counts.reduce((a, c) => a + Math.ceil(c / tile) * tile, 0);
  const mean = routed / counts.length;
  return {
    routing, tile, routed_rows: routed, padded_rows: padded, padding_waste_pct: (100 * (padded - routed)) / Math.max(1, routed),
    gather_bytes: 2 * routed * hidden * 2, gather_buffer_bytes: padded * hidden * 2,
    max_over_mean: Math.max(...counts) / Math.max(1e-9, mean), idle_experts: counts.filter((c) => c === 0).length,
  };
}

/** Tokens-per-expert bars (experts sorted by load) for each routing, one panel each. */
export function routingFigure(routings: { name: string; counts: number[] }[], tokens: number, topK: number, what = ""): string {
  const points = routings.flatMap((r) =>
    [...r.counts].sort((a, b) => b - a).map((c, rank) => ({ routing: r.name, rank, tokens: c }))
  );
  const mean = (tokens * topK) / (routings[0]?.counts.length || 1);
  const chart = plot({
    height: 80 + 130 * routings.length, marginRight: 80,
    fy: { label: null, domain: routings.map((r) => r.name) },
    x: { label: "expert (sorted by load)", type: "band", ticks: [] },
    y: { label: "tokens routed", grid: true },
    marks: [
      Plot.barY(points, { fy: "routing", x: "rank", y: "tokens", fill: PALETTE[0] }),
      Plot.ruleY([mean], { stroke: PALETTE[2], strokeDasharray: "4 3" }),
      Plot.frame({ stroke: "#ccc" }),
    ],
  });
  return frameFigure(chart, {
    name: "sparsity-routing", title: `Tokens per expert ${what}`.trim(),
    subtitle: `${tokens} tokens, top-${topK}; dashed line: perfectly balanced load`,
    source: "lib/figures/sparsity.ts routeCounts", device: "computed here (no device)",
    legend: [{ label: "balanced load", color: PALETTE[2], symbol: "dash" }],
    notes: routings.flatMap((r) => `${r.name}: ${ROUTING_DESCRIPTION[r.name as RoutingKind] ?? "measured"}`.split("\n")),
  });
}

/** Padding waste (% extra rows computed) at each tile height per routing. */
export function paddingFigure(stats: PaddingStats[], what = ""): string {
  const pts = stats.map((s) => ({ ...s, label: `${s.routing}, tile ${s.tile}` }));
  const max = Math.max(1, ...pts.map((p) => p.padding_waste_pct));
  const chart = plot({
    height: 70 + 28 * pts.length, marginLeft: 150, marginRight: 20,
    y: { label: null, domain: pts.map((p) => p.label) },
    x: { label: "extra rows computed by per-expert tile padding (% of routed rows)", grid: true, domain: [0, max * 1.15] },
    marks: [
      Plot.barX(pts, { y: "label", x: "padding_waste_pct", fill: (d: PaddingStats) => (d.tile === pts[0].tile ? PALETTE[1] : PALETTE[3]) }),
      Plot.text(pts, { y: "label", x: "padding_waste_pct", text: (d: PaddingStats) => `${d.padding_waste_pct.toFixed(1)}%`, textAnchor: "start", dx: 4 }),
      Plot.ruleX([0]),
    ],
  });
  return frameFigure(chart, {
    name: "sparsity-padding", title: `Tile padding of grouped expert GEMMs ${what}`.trim(),
    subtitle: "each expert's last tile is padded in gather-based and in-kernel-selection kernels alike",
    notes: ["gather-based kernels also copy every routed row (read + write) into a padded buffer; in-kernel selection does not"],
    source: "lib/figures/sparsity.ts paddingStats", device: "computed here (no device)",
  });
}

/** Writes the explorer's default figures into figures/ as SVG + PNG (for `deno task figures`). */
export function saveSparsityFigures(opts: { outDir?: string } = {}): string[] {
  const model = modelByName("Mixtral-8x7B");
  const t = weightTile(model.name, 0, 0, "gate", { rows: 128, cols: 256 });
  const formats: Format[] = [
    { kind: "nm", N: 2, M: 4 }, { kind: "vnm", V: 64, M: 8 }, { kind: "samoyeds", V: 128, N: 1, M: 2 },
    { kind: "samoyeds", V: 32, N: 1, M: 2 }, { kind: "unstructured", scope: "row", density: 0.25 },
  ];
  const dir = opts.outDir ?? figuresDir;
  Deno.mkdirSync(dir, { recursive: true });
  const out: string[] = [];
  const write = (name: string, svg: string) => {
    const path = join(dir, `${name}.svg`), png = join(dir, `${name}.png`);
    Deno.writeTextFileSync(path, svg);
    Deno.writeFileSync(png, svgToPng(svg));
    out.push(path, png);
  };
  write("sparsity-masks", maskGallery(t, formats, { r0: 0, c0: 0, rows: 8, cols: 64 }));
  const { m, k } = projectionShape(model, "gate");
  write("sparsity-bytes", formatBytesFigure(m, k, [{ kind: "dense" }, ...formats], `(${model.name} gate)`));
  const tokens = 4096;
  const routings = (["uniform", "zipf", "router"] as const).map((r) => ({ name: r, counts: routeCounts(r, tokens, 64, 6, 1) }));
  write("sparsity-routing", routingFigure(routings, tokens, 6, "(64 experts, top-6)"));
  write("sparsity-padding", paddingFigure(routings.flatMap((r) => [64, 128].map((tile) => paddingStats(r.name, r.counts, tile, 2048))), "(64 experts, top-6, 4096 tokens)"));
  return out;
}
