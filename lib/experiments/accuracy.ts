// Accuracy of the sparse formats at equal density (paper Tables 4/5 in spirit; CPU only, no downloads):
//  (a) "ffn": relative output error of SwiGLU expert FFNs (gate/up/SiLU/down, all three matrices pruned) on synthetic
//      weights and activations with realistic statistics (lib/sparsity/synthetic.ts), on the calibration tokens and on
//      held-out tokens of the same distribution;
//  (b) "lm": a small character-level MoE LM (lib/sparsity/lm.ts) trained here on data/corpus, every expert's
//      gate/up/down pruned (calibration: the tokens the dense model routes to that expert, from training text), held-out
//      perplexity dense vs each pruner x format.
// Pruners: magnitude, Wanda, OBS (SparseGPT-style, damping 0.01). Formats: 2:4 (50%, reference) and at 25% density
// 2:8, VENOM 64:2:8 / 128:2:8, Samoyeds 1:2 at V = 128/64/32 and 2:4-rows at V = 128, unstructured (matrix / row).
// Usage: deno run -A lib/experiments/accuracy.ts [--quick]   -> data/accuracy.{json,csv} (quick: data/accuracy-quick.*)
import { provenance, Row, writeResults } from "../data.ts";
import { repoRoot } from "../native/build.ts";
import { join } from "node:path";
import { Format, formatBytes, formatDensity, formatLabel } from "../sparsity/masks.ts";
import { Calibration, channelSquaredNorms, matmulT, OBS_DAMPING, obsFactor, prune, PrunerName, PRUNERS } from "../sparsity/pruners.ts";
import { permuteColumns, permuteRows, samoyedsExpertPermutation } from "../sparsity/pairing.ts";
import { encodeSamoyeds } from "../formats/samoyeds.ts";
import { encodeVnm } from "../kernels/baselines.ts";
import { HostTensor } from "../tensor.ts";
import { ACTIVATION_STATS, activations, activationSource, syntheticWeight, WEIGHT_STATS } from "../sparsity/synthetic.ts";
import { collectExpertActivations, evaluateNll, ExpertWeights, LM_CONFIG, LmConfig, MoeLm, train, Vocabulary } from "../sparsity/lm.ts";

/** A format plus, for Samoyeds, the optional row grouping of lib/sparsity/pairing.ts (our addition). */
export type StudyFormat = Format & { pairRows?: boolean };

export function studyLabel(f: StudyFormat): string {
  return formatLabel(f) + (f.pairRows ? " + pairing" : "");
}

export const ACCURACY_FORMATS: StudyFormat[] = [
  { kind: "nm", N: 2, M: 4 },
  { kind: "nm", N: 2, M: 8 },
  { kind: "vnm", V: 64, M: 8 },
  { kind: "vnm", V: 128, M: 8 },
  { kind: "samoyeds", V: 128, N: 1, M: 2 },
  { kind: "samoyeds", V: 64, N: 1, M: 2 },
  { kind: "samoyeds", V: 32, N: 1, M: 2 },
  { kind: "samoyeds", V: 128, N: 2, M: 4 },
  { kind: "samoyeds", V: 128, N: 1, M: 2, pairRows: true },
  { kind: "samoyeds", V: 32, N: 1, M: 2, pairRows: true },
  { kind: "unstructured", scope: "matrix", density: 0.25 },
  { kind: "unstructured", scope: "row", density: 0.25 },
];

export const CORPUS = "data/corpus/nodejs-docs-prose.txt";

export interface AccuracySettings {
  mode: "quick" | "full";
  ffn: { hidden: number; intermediate: number; experts: number; calibTokens: number; heldoutTokens: number };
  lm: { config: LmConfig; steps: number; batch: number; lr: number; auxAlpha: number; calibPositions: number; evalStride: number; trainFraction: number };
  /** short masked fine-tune of the experts after pruning (pruned weights stay zero), for these pruners x formats */
  finetune: { steps: number; batch: number; lr: number; pruners: PrunerName[]; formats: string[] };
  formats: StudyFormat[];
  pruners: readonly PrunerName[];
  obsDamping: number;
  seed: number;
}

export function accuracySettings(mode: "quick" | "full"): AccuracySettings {
  const quick = mode === "quick";
  return {
    mode,
    ffn: quick
      ? { hidden: 128, intermediate: 256, experts: 1, calibTokens: 256, heldoutTokens: 256 }
      : { hidden: 512, intermediate: 768, experts: 2, calibTokens: 1024, heldoutTokens: 1024 },
    lm: quick
      ? { config: { ...LM_CONFIG, hidden: 128, intermediate: 128, experts: 4 }, steps: 60, batch: 16, lr: 3e-3, auxAlpha: 0.1, calibPositions: 256, evalStride: 97, trainFraction: 0.9 }
      : { config: LM_CONFIG, steps: 2500, batch: 48, lr: 3e-3, auxAlpha: 0.1, calibPositions: 4096, evalStride: 3, trainFraction: 0.9 },
    finetune: {
      steps: quick ? 4 : 300, batch: quick ? 8 : 32, lr: 1e-3, pruners: ["obs"],
      formats: ["2:4", "2:8", "VNM 64:2:8", "Samoyeds V128 1:2", "Samoyeds V32 1:2", "Samoyeds V32 1:2 + pairing", "unstructured/row 25%"],
    },
    formats: quick ? ACCURACY_FORMATS.filter((f) => f.kind !== "samoyeds" || (f.V === 128 && f.N === 1) || (f.V === 32 && !f.pairRows)) : ACCURACY_FORMATS,
    pruners: PRUNERS,
    obsDamping: OBS_DAMPING,
    seed: 1234,
  };
}

export interface AccuracyRow extends Row {
  study: "ffn" | "lm";
  pruner: PrunerName | "dense";
  format: string;
  format_kind: string;
  density: number;
  /** bytes of the format / dense fp16 bytes, for the study's gate matrix shape */
  bytes_vs_dense: number;
  /** ffn: synthetic expert index */
  expert?: number;
  calib_rel_error?: number;
  heldout_rel_error?: number;
  heldout_nll?: number;
  heldout_ppl?: number;
  /** lm: mean relative output error of the pruned expert FFNs on their calibration tokens */
  expert_calib_rel_error?: number;
  /** lm: steps of masked expert fine-tuning after pruning (absent: none) */
  finetune_steps?: number;
}

/** SwiGLU expert: y = W_down (silu(W_gate x) * (W_up x)) for n tokens (token-major). */
export function expertForward(
  X: ArrayLike<number>, n: number, d: number, I: number, gate: ArrayLike<number>, up: ArrayLike<number>, down: ArrayLike<number>,
): { y: Float64Array; h: Float64Array } {
  const a = matmulT(X, n, d, gate, I), b = matmulT(X, n, d, up, I);
  const h = new Float64Array(n * I);
  for (let t = 0; t < h.length; t++) h[t] = (a[t] / (1 + Math.exp(-a[t]))) * b[t];
  return { y: matmulT(h, n, I, down, d), h };
}

function relErr(a: Float64Array, ref: Float64Array): number {
  let num = 0, den = 0;
  for (let t = 0; t < a.length; t++) (num += (a[t] - ref[t]) ** 2), (den += ref[t] ** 2);
  return Math.sqrt(num / den);
}

interface ExpertPrunePlan {
  gate: Float64Array | Float32Array;
  up: Float64Array | Float32Array;
  down: Float64Array | Float32Array;
  inputs: Calibration;
  intermediate: Calibration;
}

/**
 * Prunes the three matrices of one expert; OBS factors are computed once per calibration set and passed in. With
 * f.pairRows the intermediate features are first permuted (gate/up rows, down columns: same function) so that Samoyeds
 * row groups are complementary; the returned weights are in that permuted order (an equivalent expert).
 */
function pruneExpert(p: ExpertPrunePlan, d: number, I: number, f: StudyFormat, pruner: PrunerName, Uin?: Float64Array, Umid?: Float64Array) {
  if (f.pairRows && f.kind === "samoyeds") {
    const perm = samoyedsExpertPermutation(p.gate, p.up, I, d, f, pruner === "magnitude" ? undefined : channelSquaredNorms(p.inputs));
    const intermediate = { X: permuteColumns(p.intermediate.X, p.intermediate.n, I, perm), n: p.intermediate.n, k: I };
    const plain: Format = { kind: "samoyeds", V: f.V, N: f.N, M: f.M };
    return pruneExpert({
      gate: permuteRows(p.gate, I, d, perm), up: permuteRows(p.up, I, d, perm), down: permuteColumns(p.down, d, I, perm),
      inputs: p.inputs, intermediate,
    }, d, I, plain, pruner, Uin, pruner === "obs" ? obsFactor(intermediate) : undefined);
  }
  const out = {
    gate: prune(pruner, p.gate, I, d, f, p.inputs, Uin).W,
    up: prune(pruner, p.up, I, d, f, p.inputs, Uin).W,
    down: prune(pruner, p.down, d, I, f, p.intermediate, Umid).W,
  };
  checkEncodes(out.gate, I, d, f);
  checkEncodes(out.up, I, d, f);
  checkEncodes(out.down, d, I, f);
  return out;
}

/** Samoyeds / VENOM results must be accepted by the native encoders (throws SamoyedsError naming the offending block). */
function checkEncodes(W: Float64Array, m: number, k: number, f: Format): void {
  if (f.kind === "samoyeds") encodeSamoyeds(HostTensor.fromF32(Float32Array.from(W), [m, k], "f16"), { V: f.V, N: f.N, M: f.M });
  else if (f.kind === "vnm" && f.M === 8 && (f.V === 64 || f.V === 128)) encodeVnm(HostTensor.fromF32(Float32Array.from(W), [m, k], "f16"), f.V);
}

function bytesRatio(m: number, k: number, f: Format): number {
  return formatBytes(m, k, f).total / formatBytes(m, k, { kind: "dense" }).total;
}

export function runFfnStudy(s: AccuracySettings, log: (s: string) => void): AccuracyRow[] {
  const { hidden: d, intermediate: I } = s.ffn;
  const rows: AccuracyRow[] = [];
  for (let e = 0; e < s.ffn.experts; e++) {
    const seed = s.seed + 100 * e;
    const gate = syntheticWeight(I, d, seed + 1), up = syntheticWeight(I, d, seed + 2), down = syntheticWeight(d, I, seed + 3);
    const src = activationSource(d, seed + 4);
    const calib = activations(src, s.ffn.calibTokens, seed + 5);
    const held = activations(src, s.ffn.heldoutTokens, seed + 6);
    const dense = expertForward(calib.X, calib.n, d, I, gate, up, down);
    const denseHeld = expertForward(held.X, held.n, d, I, gate, up, down);
    // down's calibration: the dense expert's intermediate activations on the calibration tokens
    const intermediate: Calibration = { X: dense.h, n: calib.n, k: I };
    const Uin = obsFactor(calib, s.obsDamping), Umid = obsFactor(intermediate, s.obsDamping);
    for (const f of s.formats) {
      for (const pruner of s.pruners) {
        const t0 = performance.now();
        const pw = pruneExpert({ gate, up, down, inputs: calib, intermediate }, d, I, f, pruner, Uin, Umid);
        const yc = expertForward(calib.X, calib.n, d, I, pw.gate, pw.up, pw.down).y;
        const yh = expertForward(held.X, held.n, d, I, pw.gate, pw.up, pw.down).y;
        const row: AccuracyRow = {
          study: "ffn", expert: e, pruner, format: studyLabel(f), format_kind: f.kind, density: formatDensity(f),
          bytes_vs_dense: bytesRatio(I, d, f), calib_rel_error: relErr(yc, dense.y), heldout_rel_error: relErr(yh, denseHeld.y),
        };
        rows.push(row);
        log(`  ffn expert ${e} ${pruner.padEnd(9)} ${row.format.padEnd(24)} calib ${row.calib_rel_error!.toFixed(4)} held-out ${row.heldout_rel_error!.toFixed(4)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
      }
    }
  }
  return rows;
}

export interface LmStudy {
  rows: AccuracyRow[];
  curve: { step: number; loss: number }[];
  vocab: number;
  train_chars: number;
  heldout_chars: number;
  tokens_per_expert: number[];
  train_seconds: number;
}

/** Fine-tunes copies of `experts` (zeros stay zero) in a copy of `model`; returns the held-out NLL. */
function finetuneExperts(model: MoeLm, experts: ExpertWeights[], tokens: Uint8Array, split: number, s: AccuracySettings,
  evalNll: (m: MoeLm) => number): number {
  const copies = experts.map((e) => ({ gate: Float32Array.from(e.gate), up: Float32Array.from(e.up), down: Float32Array.from(e.down) }));
  const m = model.withExperts(copies);
  const masks: Record<string, Uint8Array> = {};
  copies.forEach((e, i) => {
    for (const [name, w] of [[`gate${i}`, e.gate], [`up${i}`, e.up], [`down${i}`, e.down]] as const) masks[name] = Uint8Array.from(w, (x) => (x !== 0 ? 1 : 0));
  });
  train(m, tokens, 0, split, {
    steps: s.finetune.steps, batch: s.finetune.batch, lr: s.finetune.lr, auxAlpha: s.lm.auxAlpha, seed: s.seed + 3,
    only: (n) => /^(gate|up|down)\d+$/.test(n), masks,
  });
  return evalNll(m);
}

export function runLmStudy(s: AccuracySettings, log: (s: string) => void): LmStudy {
  const text = Deno.readTextFileSync(join(repoRoot, CORPUS));
  const vocab = new Vocabulary(text);
  const tokens = vocab.encode(text);
  const split = Math.floor(tokens.length * s.lm.trainFraction);
  const cfg = s.lm.config;
  const model = new MoeLm(cfg, vocab.size, s.seed);
  log(`lm: ${vocab.size} symbols, ${split} training / ${tokens.length - split} held-out characters; training ${s.lm.steps} steps x ${s.lm.batch}`);
  const t0 = performance.now();
  const curve = train(model, tokens, 0, split, { steps: s.lm.steps, batch: s.lm.batch, lr: s.lm.lr, auxAlpha: s.lm.auxAlpha, seed: s.seed + 1, logEvery: Math.max(1, Math.round(s.lm.steps / 15)), log });
  const trainSeconds = (performance.now() - t0) / 1000;
  const evalNll = (m: MoeLm) => evaluateNll(m, tokens, split, tokens.length, s.lm.evalStride);
  const denseNll = evalNll(model);
  log(`lm: dense held-out perplexity ${Math.exp(denseNll).toFixed(3)} (${denseNll.toFixed(4)} nats/char), trained in ${trainSeconds.toFixed(0)} s`);
  const rows: AccuracyRow[] = [{
    study: "lm", pruner: "dense", format: "dense", format_kind: "dense", density: 1, bytes_vs_dense: 1, heldout_nll: denseNll, heldout_ppl: Math.exp(denseNll),
  }];
  const d = cfg.hidden, I = cfg.intermediate;
  const acts = collectExpertActivations(model, tokens, 0, split, s.lm.calibPositions, s.seed + 2);
  const tokensPerExpert = acts.map((a) => a.inputs.n);
  log(`lm: calibration tokens per expert ${tokensPerExpert.join(", ")}`);
  const factors = acts.map((a) => ({ Uin: obsFactor(a.inputs, s.obsDamping), Umid: obsFactor(a.intermediate, s.obsDamping) }));
  for (const f of s.formats) {
    for (const pruner of s.pruners) {
      const experts: ExpertWeights[] = [];
      let err = 0;
      for (let e = 0; e < cfg.experts; e++) {
        const ex = model.experts[e];
        const pw = pruneExpert({ ...ex, inputs: acts[e].inputs, intermediate: acts[e].intermediate }, d, I, f, pruner, factors[e].Uin, factors[e].Umid);
        experts.push({ gate: Float32Array.from(pw.gate), up: Float32Array.from(pw.up), down: Float32Array.from(pw.down) });
        const a = acts[e].inputs;
        if (a.n > 0) {
          const ref = expertForward(a.X, a.n, d, I, ex.gate, ex.up, ex.down).y;
          err += relErr(expertForward(a.X, a.n, d, I, pw.gate, pw.up, pw.down).y, ref) / cfg.experts;
        }
      }
      const nll = evalNll(model.withExperts(experts));
      const row: AccuracyRow = {
        study: "lm", pruner, format: studyLabel(f), format_kind: f.kind, density: formatDensity(f), bytes_vs_dense: bytesRatio(I, d, f),
        heldout_nll: nll, heldout_ppl: Math.exp(nll), expert_calib_rel_error: err,
      };
      rows.push(row);
      log(`  lm ${pruner.padEnd(9)} ${row.format.padEnd(24)} perplexity ${row.heldout_ppl!.toFixed(3)} (dense ${Math.exp(denseNll).toFixed(3)}), expert error ${err.toFixed(4)}`);
      if (s.finetune.steps > 0 && s.finetune.pruners.includes(pruner) && s.finetune.formats.includes(row.format)) {
        const nll = finetuneExperts(model, experts, tokens, split, s, evalNll);
        rows.push({ ...row, expert_calib_rel_error: undefined, heldout_nll: nll, heldout_ppl: Math.exp(nll), finetune_steps: s.finetune.steps });
        log(`  lm ${pruner.padEnd(9)} ${row.format.padEnd(24)} + ${s.finetune.steps} fine-tune steps: perplexity ${Math.exp(nll).toFixed(3)}`);
      }
    }
  }
  if (s.finetune.steps > 0) {
    // control: the same fine-tune on the dense experts (separates recovery from simply training longer)
    const nll = finetuneExperts(model, model.experts.map((e) => ({ gate: e.gate, up: e.up, down: e.down })), tokens, split, s, evalNll);
    rows.push({ ...rows[0], heldout_nll: nll, heldout_ppl: Math.exp(nll), finetune_steps: s.finetune.steps });
    log(`  lm dense + ${s.finetune.steps} fine-tune steps: perplexity ${Math.exp(nll).toFixed(3)}`);
  }
  return { rows, curve, vocab: vocab.size, train_chars: split, heldout_chars: tokens.length - split, tokens_per_expert: tokensPerExpert, train_seconds: trainSeconds };
}

export const ACCURACY_METHOD = {
  weights: `synthetic: Student-t(nu=${WEIGHT_STATS.nu}) entries, log-normal row scales (sigma ${WEIGHT_STATS.rowSigma}: heavy-tailed row norms), ` +
    `log-normal column scales (sigma ${WEIGHT_STATS.colSigma}), divided by sqrt(k)`,
  activations: `synthetic: Student-t(nu=${ACTIVATION_STATS.nu}) + rank-${ACTIVATION_STATS.rank} shared component (variance ${ACTIVATION_STATS.sharedVariance}), ` +
    `log-normal channel scales (sigma ${ACTIVATION_STATS.channelSigma}), ${ACTIVATION_STATS.outlierFraction * 100}% outlier channels x${ACTIVATION_STATS.outlierScale}; ` +
    "calibration and held-out tokens are independent draws of the same distribution",
  ffn_error: "||y_pruned - y_dense|| / ||y_dense|| of the whole SwiGLU expert (gate, up, down all pruned); down calibrated on the dense expert's intermediate activations",
  lm: "character-level MoE LM (lib/sparsity/lm.ts) trained from scratch here; each expert's gate/up/down pruned with calibration = the training-text tokens the dense model routes to it (down: its dense intermediate activations); router, embeddings, head stay dense; rows with finetune_steps: experts then fine-tuned with their masks fixed (other parameters frozen), plus the same fine-tune of the dense model as a control",
  obs: `SparseGPT-style: H = X^T X + ${OBS_DAMPING} * mean(diag) * I, columns left to right, mask per block from compensated weights (Samoyeds: row choice per V-vector, 2:4 re-chosen per 4 columns), errors spread with the Cholesky factor of H^-1`,
  wanda: "score |w_ij| * ||x_j|| (groups ranked by the sum of squared scores)",
  magnitude: "score w_ij^2 (groups: sum of w^2; identical to sy_samoyeds_prune / sy_vnm_prune)",
};

/** Runs both studies and writes data/accuracy.{json,csv} (quick: accuracy-quick.*). Returns the files written. */
export function runAccuracy(mode: "quick" | "full", opts: { dir?: string; log?: (s: string) => void } = {}): string[] {
  const log = opts.log ?? ((s: string) => console.log(s));
  const s = accuracySettings(mode);
  const t0 = performance.now();
  log(`accuracy (${mode}): ffn study ${s.ffn.hidden} x ${s.ffn.intermediate}, ${s.ffn.experts} expert(s)`);
  const ffnRows = runFfnStudy(s, log);
  const lm = runLmStudy(s, log);
  const prov = provenance("cpu", { command: `accuracy experiment (lib/experiments/accuracy.ts${mode === "quick" ? " --quick" : ""})`, source: "measured on CPU (accuracy does not depend on the device)" });
  const rows = [...ffnRows, ...lm.rows];
  const w = writeResults(mode === "quick" ? "accuracy-quick" : "accuracy", prov, {
    settings: s,
    method: ACCURACY_METHOD,
    corpus: { path: CORPUS, licence: "MIT (Node.js documentation), see data/corpus/README.md", vocab: lm.vocab, train_chars: lm.train_chars, heldout_chars: lm.heldout_chars },
    lm_training: { curve: lm.curve, seconds: lm.train_seconds, calibration_tokens_per_expert: lm.tokens_per_expert },
    seconds: (performance.now() - t0) / 1000,
  }, { rows, dir: opts.dir });
  log(`accuracy: wrote ${w.json} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return [w.json, w.csv!];
}

if (import.meta.main) runAccuracy(Deno.args.includes("--quick") ? "quick" : "full");
