// Figures and tables of the accuracy study (data/accuracy.json from lib/experiments/accuracy.ts): expert-FFN output
// error and small-MoE-LM held-out perplexity per pruner x format at equal density, and the comparison the study exists
// for: how much worse (or better) the Samoyeds format is than 2:4 and V:N:M under each pruner.
import { join } from "node:path";
import { dataDir, readResults } from "../data.ts";
import type { AccuracyRow } from "../experiments/accuracy.ts";
import { figuresDir, frameFigure, PALETTE, plot, Plot, svgToPng } from "./render.ts";

export interface AccuracyJson {
  provenance: { commit: string; date: string; host: string; device: { name: string }; command: string };
  settings: {
    mode: string; ffn: Record<string, number>; lm: { config: Record<string, number>; steps: number; batch: number }; obsDamping: number;
    finetune?: { steps: number; pruners: string[]; formats: string[] };
  };
  method: Record<string, string>;
  corpus: { path: string; train_chars: number; heldout_chars: number; vocab: number };
  lm_training: { curve: { step: number; loss: number }[]; seconds: number; calibration_tokens_per_expert: number[] };
  rows: AccuracyRow[];
}

export const PRUNER_COLORS: Record<string, string> = { magnitude: PALETTE[0], wanda: PALETTE[1], obs: PALETTE[2] };
const PRUNER_ORDER = ["magnitude", "wanda", "obs"];

export function loadAccuracy(path = join(dataDir, "accuracy.json")): AccuracyJson | undefined {
  return readResults<AccuracyJson>(path);
}

function formatsInOrder(rows: AccuracyRow[]): string[] {
  return [...new Set(rows.filter((r) => r.pruner !== "dense").map((r) => r.format))];
}

function caption(j: AccuracyJson, source: string) {
  return {
    source,
    device: `CPU (${j.provenance.host}); accuracy does not depend on the device`,
  };
}

/** Mean over synthetic experts of the FFN relative output error, per pruner x format. */
export function ffnSummary(j: AccuracyJson, which: "heldout_rel_error" | "calib_rel_error" = "heldout_rel_error") {
  const out: { format: string; pruner: string; density: number; error: number }[] = [];
  const ffn = j.rows.filter((r) => r.study === "ffn");
  for (const f of formatsInOrder(ffn)) {
    for (const p of PRUNER_ORDER) {
      const rs = ffn.filter((r) => r.format === f && r.pruner === p);
      if (!rs.length) continue;
      out.push({ format: f, pruner: p, density: rs[0].density, error: rs.reduce((a, r) => a + (r[which] as number), 0) / rs.length });
    }
  }
  return out;
}

/** Grouped bars: FFN relative output error (held-out) per format, one bar per pruner. */
export function ffnErrorFigure(j: AccuracyJson, source = "data/accuracy.json"): string {
  const pts = ffnSummary(j).map((r) => ({ ...r, label: r.density === 0.25 ? r.format : `${r.format} (${r.density * 100}%)` }));
  const order = [...new Set(pts.map((p) => p.label))];
  const chart = plot({
    width: 760, height: 80 + order.length * 42, marginLeft: 210, marginRight: 50,
    fy: { domain: order, label: null, axis: "left" },
    y: { domain: PRUNER_ORDER, axis: null },
    x: { label: "relative output error of the pruned expert FFN on held-out tokens (lower is better)", grid: true },
    color: { domain: PRUNER_ORDER, range: PRUNER_ORDER.map((p) => PRUNER_COLORS[p]) },
    marks: [
      Plot.barX(pts, { fy: "label", y: "pruner", x: "error", fill: "pruner" }),
      Plot.text(pts, { fy: "label", y: "pruner", x: "error", text: (d: { error: number }) => d.error.toFixed(3), textAnchor: "start", dx: 3, fontSize: 9 }),
      Plot.ruleX([0]),
    ],
  });
  const s = j.settings.ffn;
  return frameFigure(chart, {
    name: "accuracy-ffn", title: "Expert FFN error after pruning, equal 25% density",
    subtitle: `SwiGLU expert ${s.hidden} -> ${s.intermediate} -> ${s.hidden}, gate/up/down pruned; mean over ${s.experts} synthetic expert(s)`,
    ...caption(j, source),
    legend: PRUNER_ORDER.map((p) => ({ label: p === "obs" ? "OBS (SparseGPT-style)" : p === "wanda" ? "Wanda" : "magnitude", color: PRUNER_COLORS[p], symbol: "dot" })),
    notes: [
      "synthetic weights (Student-t entries, heavy-tailed row norms) and activations (correlated, 1% outlier channels x20);",
      "  generation stated in data/accuracy.json (method) and lib/sparsity/synthetic.ts",
      `${s.calibTokens} calibration tokens, ${s.heldoutTokens} held-out tokens; commit ${j.provenance.commit.slice(0, 10)}, ${j.provenance.date.slice(0, 10)}`,
    ],
  });
}

/** Grouped bars: held-out perplexity of the small MoE LM, dense line for reference. */
export function lmPerplexityFigure(j: AccuracyJson, source = "data/accuracy.json"): string {
  const all = j.rows.filter((r) => r.study === "lm");
  const lm = all.filter((r) => !r.finetune_steps);
  const dense = lm.find((r) => r.pruner === "dense")!.heldout_ppl as number;
  const label = (r: AccuracyRow) => (r.density === 0.25 ? r.format : `${r.format} (${r.density * 100}%)`);
  const pts = lm.filter((r) => r.pruner !== "dense").map((r) => ({ label: label(r), pruner: r.pruner, ppl: r.heldout_ppl as number }));
  const ft = all.filter((r) => r.finetune_steps && r.pruner !== "dense").map((r) => ({ label: label(r), pruner: r.pruner, ppl: r.heldout_ppl as number }));
  const denseFt = all.find((r) => r.finetune_steps && r.pruner === "dense")?.heldout_ppl as number | undefined;
  const order = [...new Set(pts.map((p) => p.label))];
  const c = j.settings.lm.config;
  const chart = plot({
    width: 760, height: 80 + order.length * 42, marginLeft: 210, marginRight: 50,
    fy: { domain: order, label: null, axis: "left" },
    y: { domain: PRUNER_ORDER, axis: null },
    x: { label: "held-out perplexity (characters; lower is better)", grid: true, domain: [Math.min(dense, ...pts.map((p) => p.ppl)) * 0.95, Math.max(...pts.map((p) => p.ppl)) * 1.03] },
    color: { domain: PRUNER_ORDER, range: PRUNER_ORDER.map((p) => PRUNER_COLORS[p]) },
    marks: [
      Plot.dot(pts, { fy: "label", y: "pruner", x: "ppl", fill: "pruner", r: 5 }),
      Plot.ruleY(pts, { fy: "label", y: "pruner", x1: dense, x2: "ppl", stroke: "pruner", strokeWidth: 2 }),
      Plot.text(pts, { fy: "label", y: "pruner", x: "ppl", text: (d: { ppl: number }) => d.ppl.toFixed(2), textAnchor: "start", dx: 8, fontSize: 9 }),
      Plot.dot(ft, { fy: "label", y: "pruner", x: "ppl", stroke: "pruner", fill: "white", r: 5, strokeWidth: 2 }),
      Plot.ruleX([dense], { stroke: "black", strokeDasharray: "4 3" }),
      ...(denseFt !== undefined ? [Plot.ruleX([denseFt], { stroke: "#888", strokeDasharray: "1 3" })] : []),
    ],
  });
  return frameFigure(chart, {
    name: "accuracy-lm", title: "Small MoE language model: held-out perplexity after pruning the experts",
    subtitle: `dense ${dense.toFixed(3)} (dashed); ${c.experts} experts top-${c.topK}, d ${c.hidden}, expert width ${c.intermediate}`,
    ...caption(j, source),
    legend: [
      ...PRUNER_ORDER.map((p) => ({ label: p === "obs" ? "OBS (SparseGPT-style)" : p === "wanda" ? "Wanda" : "magnitude", color: PRUNER_COLORS[p], symbol: "dot" as const })),
      { label: "dense", color: "black", symbol: "dash" as const },
      ...(ft.length ? [{ label: `hollow: after ${j.settings.finetune?.steps} masked fine-tune steps (dotted: dense, same fine-tune)`, color: "#888", symbol: "dot" as const }] : []),
    ],
    notes: [
      `corpus ${j.corpus.path}: ${j.corpus.train_chars} training / ${j.corpus.heldout_chars} held-out characters, ${j.corpus.vocab} symbols; trained ${j.settings.lm.steps} steps x ${j.settings.lm.batch}`,
      `commit ${j.provenance.commit.slice(0, 10)}, ${j.provenance.date.slice(0, 10)}`,
    ],
  });
}

export interface ComparisonRow {
  study: "ffn" | "lm" | "lm+ft";
  pruner: string;
  metric: string;
  samoyeds: number;
  versus: string;
  other: number;
  /** samoyeds / other (FFN errors, or LM perplexities) */
  ratio: number;
  /** LM only: perplexity increase over dense of each, and their ratio */
  samoyeds_increase?: number;
  other_increase?: number;
  increase_ratio?: number;
}

/**
 * The question of the study: the Samoyeds format (default V128 1:2) against the 2:4 reference (50%), the equal-density
 * 2:8 and the VENOM V:2:8 formats, under each pruner. FFN: ratio of errors; LM: ratio of perplexities (and of their
 * increases over dense, meaningful only when both increases are clearly positive).
 */
export function samoyedsComparison(j: AccuracyJson, samoyeds = "Samoyeds V128 1:2", others = ["2:4", "2:8", "VNM 64:2:8", "VNM 128:2:8", "unstructured/row 25%"]): ComparisonRow[] {
  const out: ComparisonRow[] = [];
  const ffn = ffnSummary(j);
  const lm = j.rows.filter((r) => r.study === "lm" && !r.finetune_steps);
  const dense = lm.find((r) => r.pruner === "dense")?.heldout_ppl as number | undefined;
  const ft = j.rows.filter((r) => r.study === "lm" && r.finetune_steps);
  const denseFt = ft.find((r) => r.pruner === "dense")?.heldout_ppl as number | undefined;
  for (const p of PRUNER_ORDER) {
    const sf = ffn.find((r) => r.format === samoyeds && r.pruner === p);
    const sl = lm.find((r) => r.format === samoyeds && r.pruner === p);
    for (const o of others) {
      const of = ffn.find((r) => r.format === o && r.pruner === p);
      if (sf && of) out.push({ study: "ffn", pruner: p, metric: "held-out FFN error", samoyeds: sf.error, versus: o, other: of.error, ratio: sf.error / of.error });
      const ol = lm.find((r) => r.format === o && r.pruner === p);
      if (sl && ol && dense !== undefined) {
        const ps = sl.heldout_ppl as number, po = ol.heldout_ppl as number;
        out.push({
          study: "lm", pruner: p, metric: "held-out perplexity", samoyeds: ps, versus: o, other: po, ratio: ps / po,
          samoyeds_increase: ps - dense, other_increase: po - dense, increase_ratio: (ps - dense) / (po - dense),
        });
      }
    }
  }
  for (const p of PRUNER_ORDER) {
    const sft = ft.find((r) => r.format === samoyeds && r.pruner === p);
    for (const o of others) {
      const oft = ft.find((r) => r.format === o && r.pruner === p);
      if (!sft || !oft || denseFt === undefined) continue;
      const ps = sft.heldout_ppl as number, po = oft.heldout_ppl as number;
      out.push({
        study: "lm+ft", pruner: p, metric: "held-out perplexity after masked fine-tune", samoyeds: ps, versus: o, other: po, ratio: ps / po,
        samoyeds_increase: ps - denseFt, other_increase: po - denseFt, increase_ratio: (ps - denseFt) / (po - denseFt),
      });
    }
  }
  return out;
}

/** Markdown table: one line per format, columns per pruner (FFN error and LM perplexity). */
export function accuracyMarkdown(j: AccuracyJson): string {
  const lm = j.rows.filter((r) => r.study === "lm" && !r.finetune_steps);
  const ft = j.rows.filter((r) => r.study === "lm" && r.finetune_steps && r.pruner === "obs");
  const dense = lm.find((r) => r.pruner === "dense")?.heldout_ppl as number;
  const denseFt = j.rows.find((r) => r.study === "lm" && r.finetune_steps && r.pruner === "dense")?.heldout_ppl as number | undefined;
  const ffn = ffnSummary(j);
  const lines = [
    "| format | density | bytes vs dense | FFN err magnitude | FFN err Wanda | FFN err OBS | LM ppl magnitude | LM ppl Wanda | LM ppl OBS | LM ppl OBS + fine-tune |",
    "|---|---|---|---|---|---|---|---|---|---|",
    `| dense | 100% | 1.00 | 0 | 0 | 0 | ${dense.toFixed(3)} | ${dense.toFixed(3)} | ${dense.toFixed(3)} | ${denseFt?.toFixed(3) ?? "-"} |`,
  ];
  for (const f of formatsInOrder(j.rows)) {
    const any = j.rows.find((r) => r.format === f)!;
    const e = (p: string) => ffn.find((r) => r.format === f && r.pruner === p)?.error.toFixed(3) ?? "-";
    const l = (p: string) => (lm.find((r) => r.format === f && r.pruner === p)?.heldout_ppl as number | undefined)?.toFixed(3) ?? "-";
    const lf = (ft.find((r) => r.format === f)?.heldout_ppl as number | undefined)?.toFixed(3) ?? "-";
    lines.push(`| ${f} | ${Math.round(any.density * 100)}% | ${any.bytes_vs_dense.toFixed(2)} | ${e("magnitude")} | ${e("wanda")} | ${e("obs")} | ${l("magnitude")} | ${l("wanda")} | ${l("obs")} | ${lf} |`);
  }
  return lines.join("\n");
}

/** Writes figures/accuracy-{ffn,lm}.{svg,png} from data/accuracy.json; [] when the data file is absent. */
export function accuracyFigures(opts: { dataPath?: string; outDir?: string } = {}): string[] {
  const j = loadAccuracy(opts.dataPath);
  if (!j) {
    console.log("accuracy figures: no data/accuracy.json yet (run `deno run -A lib/experiments/accuracy.ts`)");
    return [];
  }
  const dir = opts.outDir ?? figuresDir;
  Deno.mkdirSync(dir, { recursive: true });
  const out: string[] = [];
  for (const [name, svg] of [["accuracy-ffn", ffnErrorFigure(j)], ["accuracy-lm", lmPerplexityFigure(j)], ["accuracy-lm-training", lmTrainingFigure(j)]] as const) {
    Deno.writeTextFileSync(join(dir, `${name}.svg`), svg);
    Deno.writeFileSync(join(dir, `${name}.png`), svgToPng(svg));
    out.push(join(dir, `${name}.svg`), join(dir, `${name}.png`));
  }
  return out;
}

/** Training loss curve of the small MoE LM. */
export function lmTrainingFigure(j: AccuracyJson, source = "data/accuracy.json"): string {
  const pts = j.lm_training.curve;
  const chart = plot({
    height: 260,
    x: { label: "training step", grid: true },
    y: { label: "training loss (nats/char, window mean)", grid: true },
    marks: [Plot.line(pts, { x: "step", y: "loss", stroke: PALETTE[0], strokeWidth: 2 }), Plot.dot(pts, { x: "step", y: "loss", fill: PALETTE[0], r: 2.5 })],
  });
  return frameFigure(chart, {
    name: "accuracy-lm-training", title: "Small MoE LM: training loss",
    subtitle: `${j.settings.lm.steps} Adam steps x ${j.settings.lm.batch} positions in ${j.lm_training.seconds.toFixed(0)} s on the CPU`,
    ...caption(j, source),
  });
}

/**
 * The answer in words, every number computed from the data: per pruner, the Samoyeds format (V128 1:2, the paper's)
 * against VENOM 64:2:8 and 2:8 (equal density) and 2:4 (50%), on the FFN error and the LM perplexity.
 */
export function conclusionMarkdown(j: AccuracyJson): string {
  const ffn = ffnSummary(j);
  const lm = j.rows.filter((r) => r.study === "lm" && !r.finetune_steps);
  const ft = j.rows.filter((r) => r.study === "lm" && r.finetune_steps);
  const dense = lm.find((r) => r.pruner === "dense")!.heldout_ppl as number;
  const denseFt = ft.find((r) => r.pruner === "dense")?.heldout_ppl as number | undefined;
  const e = (f: string, p: string) => ffn.find((r) => r.format === f && r.pruner === p)?.error;
  const l = (f: string, p: string, rows = lm) => rows.find((r) => r.format === f && r.pruner === p)?.heldout_ppl as number | undefined;
  const x = (a?: number, b?: number) => (a !== undefined && b !== undefined ? `${(a / b).toFixed(2)}x` : "n/a");
  const n = (v?: number, d = 3) => (v === undefined ? "n/a" : v.toFixed(d));
  const S = "Samoyeds V128 1:2", SP = "Samoyeds V128 1:2 + pairing", S32 = "Samoyeds V32 1:2", VNM = "VNM 64:2:8";
  const out = [`Dense held-out perplexity of the small MoE LM: **${n(dense)}**.`, ""];
  for (const p of PRUNER_ORDER) {
    const name = p === "obs" ? "OBS (SparseGPT-style)" : p === "wanda" ? "Wanda" : "magnitude";
    out.push(
      `* **${name}**: expert-FFN held-out error ${S} ${n(e(S, p))} vs ${VNM} ${n(e(VNM, p))} (${x(e(S, p), e(VNM, p))}), ` +
        `vs 2:8 ${n(e("2:8", p))} (${x(e(S, p), e("2:8", p))}), vs 2:4 at 50% ${n(e("2:4", p))} (${x(e(S, p), e("2:4", p))}); ` +
        `with row pairing ${n(e(SP, p))}, at V=32 ${n(e(S32, p))}. ` +
        `LM perplexity ${S} ${n(l(S, p))} vs ${VNM} ${n(l(VNM, p))}, 2:8 ${n(l("2:8", p))}, 2:4 ${n(l("2:4", p))}; ` +
        `with pairing ${n(l(SP, p))}, at V=32 ${n(l(S32, p))}.`,
    );
  }
  if (denseFt !== undefined) {
    const tuned = [...new Set(ft.filter((r) => r.pruner !== "dense").map((r) => r.format))];
    out.push("", `After a short masked fine-tune of the experts (OBS masks; the dense model fine-tuned the same way: ${n(denseFt)}): ` +
      tuned.map((f) => `${f} ${n(l(f, "obs", ft))}`).join(", ") + ".");
  }
  return out.join("\n");
}
