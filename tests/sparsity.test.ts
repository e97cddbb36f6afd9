// Masks, pruners and byte sizes of lib/sparsity (CPU only).
import assert from "node:assert/strict";
import {
  buildMask, checkMaskPattern, Format, formatBytes, formatDensity, formatLabel, FORMAT_2_4, FORMAT_SAMOYEDS, FORMAT_VNM,
} from "../lib/sparsity/masks.ts";
import { matmulT, obsFactor, prune, PRUNERS } from "../lib/sparsity/pruners.ts";
import { decodeSamoyeds, encodeSamoyeds, pruneToSamoyeds } from "../lib/formats/samoyeds.ts";
import { pruneToVnm } from "../lib/kernels/baselines.ts";
import { HostTensor, randn, rng } from "../lib/tensor.ts";
import { syntheticCalibration, syntheticWeight } from "../lib/sparsity/synthetic.ts";
import {
  formatBytesFigure, magnitudeHeatmap, maskGallery, paddingFigure, paddingStats, routeCounts, routingFigure, weightTile,
} from "../lib/figures/sparsity.ts";
import { accuracySettings, expertForward, runAccuracy } from "../lib/experiments/accuracy.ts";
import { groupRowsByImportance, permuteColumns, permuteRows, samoyedsExpertPermutation } from "../lib/sparsity/pairing.ts";
import { accuracyMarkdown, ffnErrorFigure, lmPerplexityFigure, loadAccuracy, samoyedsComparison } from "../lib/figures/accuracy.ts";

const FORMATS: Format[] = [
  FORMAT_2_4,
  { kind: "nm", N: 1, M: 4 },
  { kind: "nm", N: 2, M: 8 },
  FORMAT_VNM,
  { kind: "vnm", V: 128, M: 8 },
  { kind: "vnm", V: 16, M: 16 },
  FORMAT_SAMOYEDS,
  { kind: "samoyeds", V: 32, N: 1, M: 2 },
  { kind: "samoyeds", V: 64, N: 2, M: 4 },
  { kind: "samoyeds", V: 32, N: 1, M: 4 },
  { kind: "unstructured", scope: "matrix", density: 0.25 },
  { kind: "unstructured", scope: "row", density: 0.25 },
];

function randomScores(n: number, seed: number): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => r());
}

Deno.test("masks: every format has exactly its pattern and density (random and adversarial scores)", () => {
  for (const [m, k] of [[128, 256], [72, 128], [200, 384]]) {
    for (const f of FORMATS) {
      if (f.kind === "samoyeds" && (m % f.M || k % f.V)) continue;
      const scoreSets = [randomScores(m * k, m + k), new Float64Array(m * k) /* all ties */, Float64Array.from({ length: m * k }, (_, t) => t % 7)];
      for (const score of scoreSets) {
        const mask = buildMask(score, m, k, f);
        assert.equal(checkMaskPattern(mask, m, k, f), null, `${formatLabel(f)} ${m}x${k}`);
        const kept = mask.reduce((a, b) => a + b, 0);
        assert.ok(Math.abs(kept / (m * k) - formatDensity(f)) < 1e-3, `${formatLabel(f)}: density ${kept / (m * k)}`);
      }
    }
  }
});

Deno.test("masks: the pattern checker rejects wrong masks and bad shapes", () => {
  const m = 8, k = 128;
  const mask = buildMask(randomScores(m * k, 3), m, k, FORMAT_SAMOYEDS);
  // keep both rows of a pair in the first k-vector
  const both = mask.slice();
  for (let c = 0; c < 128; c += 4) both[c] = both[c + 1] = both[k + c] = both[k + c + 1] = 1, both[c + 2] = both[c + 3] = both[k + c + 2] = both[k + c + 3] = 0;
  assert.match(checkMaskPattern(both, m, k, FORMAT_SAMOYEDS) ?? "", /2 row-vectors kept/);
  const nm = buildMask(randomScores(m * k, 4), m, k, FORMAT_2_4);
  nm[0] = nm[1] = nm[2] = 1;
  assert.match(checkMaskPattern(nm, m, k, FORMAT_2_4) ?? "", /row 0/);
  assert.throws(() => buildMask(new Float64Array(6 * 100), 6, 100, FORMAT_SAMOYEDS), /multiple of V = 128/);
  assert.throws(() => buildMask(new Float64Array(10), 2, 5, FORMAT_2_4), /multiple of M = 4/);
});

Deno.test("masks: magnitude masks agree with the native pruners (sy_samoyeds_prune, sy_vnm_prune)", () => {
  const m = 64, k = 256;
  const W = HostTensor.fromF32(randn(m * k, 7), [m, k], "f16");
  const w = W.toF32();
  const score = Float64Array.from(w, (x) => x * x);
  for (const p of [{ V: 128, N: 1, M: 2 }, { V: 64, N: 1, M: 2 }, { V: 32, N: 2, M: 4 }, { V: 32, N: 1, M: 4 }]) {
    const mask = buildMask(score, m, k, { kind: "samoyeds", ...p });
    const native = pruneToSamoyeds(W, p).pruned.toF32();
    for (let t = 0; t < m * k; t++) assert.equal(native[t] !== 0, mask[t] === 1, `Samoyeds ${JSON.stringify(p)} element ${t}`);
  }
  for (const V of [64, 128] as const) {
    const mask = buildMask(score, m, k, { kind: "vnm", V, M: 8 });
    const native = pruneToVnm(W, V).pruned.toF32();
    for (let t = 0; t < m * k; t++) assert.equal(native[t] !== 0, mask[t] === 1, `VNM V=${V} element ${t}`);
  }
});

Deno.test("pruners: Samoyeds outputs of every pruner encode with sy_samoyeds_encode and decode back", () => {
  const m = 64, k = 256;
  const W = syntheticWeight(m, k, 11);
  const calib = syntheticCalibration(512, k, 12);
  for (const p of [{ V: 128, N: 1, M: 2 }, { V: 64, N: 2, M: 4 }]) {
    for (const pruner of PRUNERS) {
      const r = prune(pruner, W, m, k, { kind: "samoyeds", ...p }, calib);
      const h = HostTensor.fromF32(Float32Array.from(r.W), [m, k], "f16");
      const enc = encodeSamoyeds(h, p); // throws SamoyedsError if not in the pattern
      assert.deepEqual(decodeSamoyeds(enc).data, h.data, `${pruner} ${JSON.stringify(p)}`);
    }
  }
});

Deno.test("pruners: zeros exactly where the mask is 0; OBS output error <= Wanda <= magnitude on calibration (typical)", () => {
  const m = 96, k = 256, n = 768;
  const W = syntheticWeight(m, k, 21);
  const calib = syntheticCalibration(n, k, 22);
  const Y = matmulT(calib.X, n, k, W, m);
  const U = obsFactor(calib);
  const err = (Wp: Float64Array) => {
    const Yp = matmulT(calib.X, n, k, Wp, m);
    let a = 0, b = 0;
    for (let t = 0; t < Y.length; t++) a += (Yp[t] - Y[t]) ** 2, b += Y[t] ** 2;
    return Math.sqrt(a / b);
  };
  for (const f of [FORMAT_2_4, FORMAT_VNM, FORMAT_SAMOYEDS, { kind: "unstructured", scope: "row", density: 0.25 } as Format]) {
    const e: Record<string, number> = {};
    for (const pruner of PRUNERS) {
      const r = prune(pruner, W, m, k, f, calib, U);
      assert.equal(checkMaskPattern(r.mask, m, k, f), null, `${pruner} ${formatLabel(f)}`);
      for (let t = 0; t < m * k; t++) if (!r.mask[t]) assert.equal(r.W[t], 0);
      e[pruner] = err(r.W);
    }
    assert.ok(e.obs <= e.magnitude, `${formatLabel(f)}: OBS ${e.obs} > magnitude ${e.magnitude}`);
    assert.ok(e.wanda <= e.magnitude * 1.02, `${formatLabel(f)}: Wanda ${e.wanda} > magnitude ${e.magnitude}`);
  }
});

Deno.test("formatBytes: dense, 2:4, VNM, Samoyeds (native sizes) and CSR", () => {
  const m = 1408, k = 2048;
  const dense = formatBytes(m, k, { kind: "dense" }).total;
  assert.equal(dense, 2 * m * k);
  assert.equal(formatBytes(m, k, FORMAT_2_4).total, m * k + m * k / 8);
  const sy = formatBytes(m, k, FORMAT_SAMOYEDS);
  assert.equal(sy.source, "sy_samoyeds_sizes");
  assert.ok(dense / sy.total > 3 && dense / sy.total < 4, `Samoyeds compression ${dense / sy.total}`);
  assert.ok(formatBytes(m, k, { kind: "vnm", V: 128, M: 8 }).total < dense / 3);
  const csr = formatBytes(m, k, { kind: "unstructured", scope: "matrix", density: 0.25 });
  assert.ok(csr.total > sy.total, "CSR at 25% is larger than the Samoyeds format");
});

Deno.test("explorer figure functions render SVG (headless) and routing/padding statistics add up", () => {
  const t = weightTile("Qwen1.5-MoE-A2.7B", 1, 2, "down", { rows: 128, cols: 256 });
  assert.equal(t.m, 2048);
  assert.equal(t.k, 1408);
  const formats: Format[] = [FORMAT_2_4, FORMAT_VNM, FORMAT_SAMOYEDS, { kind: "unstructured", scope: "row", density: 0.25 }];
  for (const s of [
    magnitudeHeatmap(t, { r0: 0, c0: 0, rows: 8, cols: 32 }),
    maskGallery(t, formats, { r0: 0, c0: 0, rows: 4, cols: 32 }, "magnitude"),
    maskGallery(t, formats.slice(0, 2), { r0: 0, c0: 0, rows: 4, cols: 32 }, "obs"),
    formatBytesFigure(t.m, t.k, [{ kind: "dense" }, ...formats]),
  ]) assert.match(s, /^<svg[\s\S]*<\/svg>\n?$/);
  for (const kind of ["uniform", "zipf", "router"] as const) {
    const counts = routeCounts(kind, 500, 16, 4, 3);
    assert.equal(counts.reduce((a, b) => a + b, 0), 2000, kind);
    const p = paddingStats(kind, counts, 64, 1024);
    assert.ok(p.padded_rows >= p.routed_rows && p.padded_rows % 64 === 0);
    assert.equal(p.gather_bytes, 2 * 2000 * 1024 * 2);
  }
  const r = [{ name: "uniform", counts: routeCounts("uniform", 256, 8, 2) }];
  assert.match(routingFigure(r, 256, 2), /^<svg/);
  assert.match(paddingFigure([paddingStats("uniform", r[0].counts, 64, 512)]), /^<svg/);
  assert.throws(() => weightTile("Mixtral-8x7B", 99, 0, "gate"), /layer 99/);
  assert.throws(() => routeCounts("uniform", 10, 4, 5), /topK/);
});

Deno.test("accuracy experiment (quick mode) writes rows for every pruner x format, and its figures/tables render", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const files = runAccuracy("quick", { dir, log: () => {} });
    const j = loadAccuracy(files[0])!;
    const s = accuracySettings("quick");
    assert.equal(j.rows.filter((r) => r.study === "ffn").length, s.formats.length * s.pruners.length * s.ffn.experts);
    assert.equal(j.rows.filter((r) => r.study === "lm" && !r.finetune_steps).length, 1 + s.formats.length * s.pruners.length);
    const tuned = j.rows.filter((r) => r.study === "lm" && r.finetune_steps);
    assert.ok(tuned.some((r) => r.pruner === "dense") && tuned.some((r) => r.format === "Samoyeds V128 1:2"), "fine-tuned rows incl. the dense control");
    assert.ok(j.rows.some((r) => r.format === "Samoyeds V128 1:2 + pairing"));
    for (const r of j.rows) {
      if (r.study === "ffn") assert.ok(r.heldout_rel_error! >= 0 && r.heldout_rel_error! < 2, JSON.stringify(r));
      else assert.ok(Number.isFinite(r.heldout_ppl) && r.heldout_ppl! > 1, JSON.stringify(r));
    }
    assert.match(ffnErrorFigure(j), /^<svg/);
    assert.match(lmPerplexityFigure(j), /^<svg/);
    assert.match(accuracyMarkdown(j), /\| Samoyeds V128 1:2 \| 25% \|/);
    assert.ok(samoyedsComparison(j).length > 0);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("pairing: a permutation that keeps the expert's function and drops less importance than the given order", () => {
  const d = 256, I = 64;
  const gate = syntheticWeight(I, d, 31), up = syntheticWeight(I, d, 32), down = syntheticWeight(d, I, 33);
  const p = { V: 128, N: 1, M: 2 };
  const perm = samoyedsExpertPermutation(gate, up, I, d, p);
  assert.deepEqual([...perm].sort((a, b) => a - b), Array.from({ length: I }, (_, i) => i));
  const X = syntheticCalibration(16, d, 34).X;
  const y0 = expertForward(X, 16, d, I, gate, up, down).y;
  const y1 = expertForward(X, 16, d, I, permuteRows(gate, I, d, perm), permuteRows(up, I, d, perm), permuteColumns(down, d, I, perm)).y;
  for (let t = 0; t < y0.length; t++) assert.ok(Math.abs(y0[t] - y1[t]) < 1e-9 * (1 + Math.abs(y0[t])));
  const kept = (g: Float64Array, u: Float64Array) => {
    const score = Float64Array.from(g, (x, t) => x * x + u[t] * u[t]);
    const mask = buildMask(score, I, d, { kind: "samoyeds", ...p });
    return score.reduce((a, s, t) => a + (mask[t] ? s : 0), 0);
  };
  assert.ok(kept(permuteRows(gate, I, d, perm), permuteRows(up, I, d, perm)) >= kept(gate, up));
  assert.throws(() => groupRowsByImportance(new Float64Array(6), 3, 2, 2, 1), /multiple of M/);
});
