// Samoyeds format (encode/decode/validate/prune) and SSMM: CPU reference vs dense GEMM on the decoded weight;
// CUDA SSMM / grouped SSMM vs the CPU backend (gpuTest: skipped without a GPU).
// Error bound: relative Frobenius error <= 2e-3 for f16/bf16 operands with f32 accumulation and f32 output
// (the products are exact in f32; only the summation order differs); 2e-2 for f16 accumulation; outputs rounded to
// 16 bits add up to 2^-8 (bf16) relative per element, so half outputs use 1e-2.
import assert from "node:assert/strict";
import { callJson, openBackend, SamoyedsError } from "../lib/native/library.ts";
import { BackendTensor, HalfDType, HostTensor, randn, relativeError, rng } from "../lib/tensor.ts";
import {
  decodeSamoyeds,
  encodeSamoyeds,
  pruneToSamoyeds,
  SamoyedsParams,
  samoyedsSizes,
  stackSamoyeds,
  toSamoyeds,
} from "../lib/formats/samoyeds.ts";
import { ssmm, ssmmGrouped, ssmmIndexErrors } from "../lib/kernels/ssmm.ts";
import { gpuTest } from "./helpers.ts";

const cpu = openBackend("cpu");
const ALL_PARAMS: SamoyedsParams[] = [
  { V: 128, N: 1, M: 2 },
  { V: 64, N: 1, M: 2 },
  { V: 32, N: 1, M: 2 },
  { V: 32, N: 2, M: 4 },
  { V: 64, N: 1, M: 4 },
];

function randomHalf(shape: number[], seed: number, dtype: HalfDType = "f16", scale = 1): HostTensor {
  return HostTensor.fromF32(randn(shape[0] * shape[1], seed, scale), shape, dtype);
}
function sameBits(a: HostTensor, b: HostTensor): boolean {
  const x = a.data as Uint16Array, y = b.data as Uint16Array;
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
function expectError(fn: () => unknown, status: number, pattern: RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SamoyedsError, `expected SamoyedsError, got ${e}`);
    assert.equal(e.status, status, e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

// ---------- format ----------
Deno.test("samoyeds: sizes of each array", () => {
  const s = samoyedsSizes(256, 512, { V: 128, N: 1, M: 2 });
  assert.equal(s.values, 128 * 256 * 2);
  assert.equal(s.indices, 128 * 4);
  assert.equal(s.meta, (128 / 16) * (512 / 32) * 64);
  // about 3.5x smaller than dense fp16 (paper)
  const ratio = (256 * 512 * 2) / s.total;
  assert.ok(ratio > 3.4 && ratio < 3.6, `compression ${ratio}`);
  // condensed rows not a multiple of 16 round the metadata up
  assert.equal(samoyedsSizes(18, 64, { V: 32, N: 1, M: 2 }).meta, 1 * 2 * 64);
});

Deno.test("samoyeds: prune -> encode -> decode roundtrip is exact, all params and dtypes", () => {
  let seed = 1;
  for (const p of ALL_PARAMS) {
    for (const dtype of ["f16", "bf16"] as const) {
      for (const [m, k] of [[p.M, p.V], [36, 256], [100, 384]]) {
        if (m % p.M || k % p.V) continue;
        const W = randomHalf([m, k], seed++, dtype);
        const { pruned, keptEnergy } = pruneToSamoyeds(W, p);
        assert.ok(keptEnergy > 0 && keptEnergy <= 1);
        const w = encodeSamoyeds(pruned, p);
        assert.deepEqual(w.values.shape, [(m / p.M) * p.N, k / 2]);
        assert.deepEqual(w.indices.shape, [(m / p.M) * p.N, k / p.V]);
        assert.equal(w.bytes().meta, samoyedsSizes(m, k, p).meta);
        const back = decodeSamoyeds(w);
        assert.ok(sameBits(back, pruned), `roundtrip ${JSON.stringify(p)} ${dtype} ${m}x${k}`);
      }
    }
  }
});

Deno.test("samoyeds: pruner properties (subset, exact density, idempotent, energy)", () => {
  for (const p of ALL_PARAMS) {
    const m = 64, k = 256;
    const W = randomHalf([m, k], 7, "f16");
    const { pruned, keptEnergy } = pruneToSamoyeds(W, p);
    const a = W.data as Uint16Array, b = pruned.data as Uint16Array;
    let kept = 0;
    for (let i = 0; i < a.length; i++) {
      if (b[i] !== 0) {
        assert.equal(b[i], a[i], "pruned keeps original values");
        kept++;
      }
    }
    assert.equal(kept, (m * k * p.N) / p.M / 2, `density for ${JSON.stringify(p)}`);
    // energy: recompute
    const wf = W.toF32(), pf = pruned.toF32();
    let t = 0, e = 0;
    for (let i = 0; i < wf.length; i++) {
      t += wf[i] * wf[i];
      e += pf[i] * pf[i];
    }
    assert.ok(Math.abs(keptEnergy - e / t) < 1e-9, `${keptEnergy} vs ${e / t}`);
    // magnitude pruning keeps more than the density fraction of energy for random normals
    assert.ok(keptEnergy > (p.N / p.M) * 0.5, `kept energy ${keptEnergy}`);
    const again = pruneToSamoyeds(pruned, p);
    assert.ok(sameBits(again.pruned, pruned), "idempotent");
    assert.equal(again.keptEnergy, 1);
  }
  // all-zero weight: energy 1 by definition, encodes to zeros
  const Z = new HostTensor("f16", [4, 64]);
  assert.equal(pruneToSamoyeds(Z, { V: 64, N: 1, M: 2 }).keptEnergy, 1);
  assert.ok(sameBits(decodeSamoyeds(encodeSamoyeds(Z, { V: 64, N: 1, M: 2 })), Z));
});

Deno.test("samoyeds: pruner keeps the larger-norm row-vector and the 2 largest of 4", () => {
  // rows 0/1, one 32-wide vector; row 1 has larger norm
  const f = new Float32Array(2 * 32);
  for (let c = 0; c < 32; c++) {
    f[c] = 0.5;
    f[32 + c] = c % 4 === 0 ? 4 : c % 4 === 2 ? -3 : 1;
  }
  const { pruned } = pruneToSamoyeds(HostTensor.fromF32(f, [2, 32], "f16"), { V: 32, N: 1, M: 2 });
  const p = pruned.toF32();
  for (let c = 0; c < 32; c++) {
    assert.equal(p[c], 0);
    assert.equal(p[32 + c], c % 4 === 0 ? 4 : c % 4 === 2 ? -3 : 0);
  }
});

Deno.test("samoyeds: validation errors are clear", () => {
  const p = { V: 128, N: 1, M: 2 };
  expectError(() => samoyedsSizes(10, 200, p), 1, /k=200 is not a multiple of the vector length V=128/);
  expectError(() => samoyedsSizes(11, 256, p), 1, /m=11 is not a multiple of the row group M=2/);
  expectError(() => samoyedsSizes(12, 256, { V: 48, N: 1, M: 2 }), 1, /V must be 32, 64 or 128/);
  expectError(() => samoyedsSizes(12, 256, { V: 64, N: 2, M: 2 }), 1, /N:M must be 1:2, 2:4 or 1:4/);
  expectError(() => samoyedsSizes(0, 256, p), 1, /m > 0/);
  // both rows of a pair non-zero in one vector -> pattern error naming row/col
  const f = new Float32Array(4 * 128);
  f[0 * 128 + 5] = 1;
  f[1 * 128 + 9] = 2;
  expectError(() => encodeSamoyeds(HostTensor.fromF32(f, [4, 128], "f16"), p), 7, /row group 0 \(rows 0\.\.1\).*first offending element row 1 col 9/);
  // three non-zeros in a group of 4
  const g = new Float32Array(2 * 128);
  g[128 + 40] = 1;
  g[128 + 41] = 1;
  g[128 + 43] = 1;
  expectError(() => encodeSamoyeds(HostTensor.fromF32(g, [2, 128], "f16"), p), 7, /not 2:4.*row 1 col 43/);
  // corrupted metadata on decode
  const w = encodeSamoyeds(pruneToSamoyeds(randomHalf([4, 128], 3), p).pruned, p);
  w.meta.data[0] = (w.meta.data[0] & ~0xf) | 0x5; // positions (1,1): invalid
  expectError(() => decodeSamoyeds(w), 1, /not an ordered 2:4 pair/);
  const w2 = encodeSamoyeds(pruneToSamoyeds(randomHalf([4, 128], 3), p).pruned, p);
  w2.indices.data[1] = 2;
  expectError(() => decodeSamoyeds(w2), 1, /indices\[1\]\[0\] = 2 is invalid/);
});

// ---------- SSMM, CPU reference ----------
function gatherRows(X: HostTensor, idx: Int32Array): HostTensor {
  const k = X.shape[1];
  const out = new HostTensor(X.dtype, [idx.length, k]);
  for (let j = 0; j < idx.length; j++) {
    (out.data as Uint16Array).set((X.data as Uint16Array).subarray(idx[j] * k, idx[j] * k + k), j * k);
  }
  return out;
}
/** Dense reference through sy_gemm on the decoded weight and the gathered tokens (CPU backend). */
function denseReference(Wd: HostTensor, Xg: HostTensor): Float32Array {
  const [m, k] = Wd.shape, n = Xg.shape[0];
  const Y = new Float32Array(n * m);
  if (n > 0) cpu.call("sy_gemm", Wd.dtype === "f16" ? 0 : 1, n, m, k, Deno.UnsafePointer.of(Xg.data), Deno.UnsafePointer.of(Wd.data), Deno.UnsafePointer.of(Y), 2, 0);
  return Y;
}
function randomIdx(n: number, xRows: number, seed: number): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: n }, () => Math.floor(r() * xRows));
}

interface Case {
  m: number;
  k: number;
  xRows: number;
  nSel: number;
  p: SamoyedsParams;
  dtype: HalfDType;
  scale?: number;
  zeroW?: boolean;
}
const CASES: Case[] = [
  { m: 256, k: 256, xRows: 100, nSel: 64, p: { V: 128, N: 1, M: 2 }, dtype: "f16" },
  { m: 258, k: 384, xRows: 77, nSel: 65, p: { V: 128, N: 1, M: 2 }, dtype: "bf16" },
  { m: 34, k: 96, xRows: 5, nSel: 1, p: { V: 32, N: 1, M: 2 }, dtype: "f16" },
  { m: 300, k: 64, xRows: 9, nSel: 200, p: { V: 64, N: 1, M: 2 }, dtype: "f16" }, // many duplicates
  { m: 132, k: 160, xRows: 40, nSel: 130, p: { V: 32, N: 2, M: 4 }, dtype: "f16" },
  { m: 68, k: 192, xRows: 40, nSel: 17, p: { V: 64, N: 1, M: 4 }, dtype: "bf16" },
  { m: 64, k: 128, xRows: 8, nSel: 0, p: { V: 128, N: 1, M: 2 }, dtype: "f16" },
  { m: 64, k: 128, xRows: 30, nSel: 33, p: { V: 128, N: 1, M: 2 }, dtype: "f16", zeroW: true },
  { m: 96, k: 256, xRows: 30, nSel: 40, p: { V: 64, N: 1, M: 2 }, dtype: "f16", scale: 16 }, // large magnitudes (outputs ~1e4, still finite in f16)
];

function makeCase(c: Case, seed: number) {
  const W0 = c.zeroW ? new HostTensor(c.dtype, [c.m, c.k]) : randomHalf([c.m, c.k], seed, c.dtype, c.scale ?? 1);
  const { weight } = toSamoyeds(W0, c.p);
  const X = randomHalf([c.xRows, c.k], seed + 1, c.dtype, c.scale ?? 1);
  const idx = randomIdx(c.nSel, c.xRows, seed + 2);
  if (c.nSel > 2) idx[1] = idx[0]; // a guaranteed duplicate
  return { weight, X, idx, Wd: decodeSamoyeds(weight) };
}

Deno.test("ssmm cpu: matches dense GEMM on the decoded weight (random + adversarial)", () => {
  let seed = 100;
  for (const c of CASES) {
    const { weight, X, idx, Wd } = makeCase(c, (seed += 10));
    const ref = denseReference(Wd, gatherRows(X, idx));
    using wb = weight.toBackend(cpu);
    using Xb = BackendTensor.from(cpu, X);
    using ib = BackendTensor.from(cpu, new HostTensor("i32", [c.nSel], idx));
    using Y = ssmm(cpu, wb, Xb, ib);
    const y = Y.toHost().data as Float32Array;
    const err = relativeError(y, ref);
    assert.ok(err <= 1e-5, `case ${JSON.stringify(c)}: rel err ${err}`);
    // feature-major layout, SiLU, row scale, half output
    using Yt = ssmm(cpu, wb, Xb, ib, { layout: "feature" });
    const yt = Yt.toHost().data as Float32Array;
    for (let j = 0; j < c.nSel; j++) for (let r = 0; r < c.m; r++) assert.equal(yt[r * c.nSel + j], y[j * c.m + r]);
    using Ys = ssmm(cpu, wb, Xb, ib, { epilogue: "silu" });
    const ys = Ys.toHost().data as Float32Array;
    for (let i = 0; i < ys.length; i += 7) assert.ok(Math.abs(ys[i] - y[i] / (1 + Math.exp(-y[i]))) <= 1e-5 * (1 + Math.abs(y[i])));
    const scale = new Float32Array(c.nSel).map((_, j) => 0.5 + (j % 3));
    using sb = BackendTensor.from(cpu, new HostTensor("f32", [c.nSel], scale));
    using Yr = ssmm(cpu, wb, Xb, ib, { epilogue: "rowScale", rowScale: sb, yDtype: c.dtype });
    const yr = Yr.toHost().toF32();
    for (let i = 0; i < yr.length; i += 5) {
      const want = y[i] * scale[Math.floor(i / c.m)];
      assert.ok(Math.abs(yr[i] - want) <= 1e-2 * Math.abs(want) + 1e-6, `${yr[i]} vs ${want}`);
    }
  }
});

Deno.test("ssmm cpu: f16 accumulation stays close to f32", () => {
  const c = CASES[0];
  const { weight, X, idx, Wd } = makeCase(c, 5);
  const ref = denseReference(Wd, gatherRows(X, idx));
  using wb = weight.toBackend(cpu);
  using Xb = BackendTensor.from(cpu, X);
  using ib = BackendTensor.from(cpu, new HostTensor("i32", [c.nSel], idx));
  using Y = ssmm(cpu, wb, Xb, ib, { accum: "f16" });
  const err = relativeError(Y.toHost().data as Float32Array, ref);
  assert.ok(err > 0 && err < 2e-3, `f16-accum rel err ${err}`);
  // bf16 + f16 accumulation is refused
  const b = makeCase(CASES[1], 6);
  using wb2 = b.weight.toBackend(cpu);
  using Xb2 = BackendTensor.from(cpu, b.X);
  using ib2 = BackendTensor.from(cpu, new HostTensor("i32", [b.idx.length], b.idx));
  expectError(() => ssmm(cpu, wb2, Xb2, ib2, { accum: "f16" }), 2, /f16 accumulation/);
});

Deno.test("ssmm cpu: out-of-range token index is an error", () => {
  const c = CASES[0];
  const { weight, X } = makeCase(c, 9);
  using wb = weight.toBackend(cpu);
  using Xb = BackendTensor.from(cpu, X);
  using ib = BackendTensor.from(cpu, new HostTensor("i32", [3], Int32Array.from([0, c.xRows, 1])));
  expectError(() => ssmm(cpu, wb, Xb, ib), 1, /token_idx\[1\] = 100 is out of range \[0, 100\)/);
  assert.equal(ssmmIndexErrors(cpu), 0);
});

// ---------- grouped ----------
interface GroupedCase {
  E: number;
  m: number;
  k: number;
  xRows: number;
  counts: number[];
  p: SamoyedsParams;
  dtype: HalfDType;
}
const GROUPED: GroupedCase[] = [
  { E: 4, m: 130, k: 256, xRows: 50, counts: [10, 0, 70, 1], p: { V: 128, N: 1, M: 2 }, dtype: "f16" },
  { E: 3, m: 64, k: 64, xRows: 20, counts: [0, 0, 40], p: { V: 32, N: 2, M: 4 }, dtype: "bf16" }, // all to one expert
  { E: 2, m: 32, k: 128, xRows: 4, counts: [0, 0], p: { V: 64, N: 1, M: 2 }, dtype: "f16" }, // no selections
];
function makeGrouped(g: GroupedCase, seed: number) {
  const experts = Array.from({ length: g.E }, (_, e) => toSamoyeds(randomHalf([g.m, g.k], seed + e, g.dtype), g.p).weight);
  const X = randomHalf([g.xRows, g.k], seed + 99, g.dtype);
  const total = g.counts.reduce((a, b) => a + b, 0);
  const offsets = new Int32Array(g.E + 1);
  for (let e = 0; e < g.E; e++) offsets[e + 1] = offsets[e] + g.counts[e];
  const loadIdx = randomIdx(total, g.xRows, seed + 7);
  const storeIdx = randomIdx(total, g.xRows, seed + 8); // duplicates: several selections add into one row
  const rowScale = new Float32Array(total).map((_, j) => 0.25 + (j % 5));
  return { experts, X, offsets, loadIdx, storeIdx, rowScale, total };
}
/** Per-expert sy_ssmm on the CPU: the reference of the grouped call. */
function groupedReference(g: GroupedCase, d: ReturnType<typeof makeGrouped>, epilogue: "none" | "rowScale"): Float32Array {
  const out = new Float32Array(d.total * g.m);
  using Xb = BackendTensor.from(cpu, d.X);
  for (let e = 0; e < g.E; e++) {
    const lo = d.offsets[e], hi = d.offsets[e + 1];
    if (hi === lo) continue;
    using wb = d.experts[e].toBackend(cpu);
    using ib = BackendTensor.from(cpu, new HostTensor("i32", [hi - lo], d.loadIdx.slice(lo, hi)));
    using sb = BackendTensor.from(cpu, new HostTensor("f32", [hi - lo], d.rowScale.slice(lo, hi)));
    using Y = ssmm(cpu, wb, Xb, ib, epilogue === "rowScale" ? { epilogue, rowScale: sb } : {});
    out.set(Y.toHost().data as Float32Array, lo * g.m);
  }
  return out;
}

Deno.test("ssmm_grouped cpu: compact and scatter-add match per-expert ssmm", () => {
  let seed = 500;
  for (const g of GROUPED) {
    const d = makeGrouped(g, (seed += 50));
    const ref = groupedReference(g, d, "rowScale");
    using st = stackSamoyeds(cpu, d.experts);
    using Xb = BackendTensor.from(cpu, d.X);
    using lb = BackendTensor.from(cpu, new HostTensor("i32", [d.total], d.loadIdx));
    using ob = BackendTensor.from(cpu, new HostTensor("i32", [g.E + 1], d.offsets));
    using sb = BackendTensor.from(cpu, new HostTensor("f32", [d.total], d.rowScale));
    using Y = ssmmGrouped(cpu, st, Xb, lb, ob, d.total + 3, { epilogue: "rowScale", rowScale: sb });
    const y = (Y.toHost().data as Float32Array).subarray(0, d.total * g.m);
    assert.ok(relativeError(y, ref) <= 1e-6, `compact ${JSON.stringify(g)}`);
    // scatter-add into store rows
    using stb = BackendTensor.from(cpu, new HostTensor("i32", [d.total], d.storeIdx));
    using Yacc = new BackendTensor(cpu, "f32", [g.xRows, g.m]).fill(0);
    ssmmGrouped(cpu, st, Xb, lb, ob, d.total, { mode: "scatterAdd", storeIdx: stb, out: Yacc, epilogue: "rowScale", rowScale: sb });
    const want = new Float32Array(g.xRows * g.m);
    for (let j = 0; j < d.total; j++) for (let r = 0; r < g.m; r++) want[d.storeIdx[j] * g.m + r] += ref[j * g.m + r];
    assert.ok(relativeError(Yacc.toHost().data as Float32Array, want) <= 1e-6, `scatter ${JSON.stringify(g)}`);
  }
});

Deno.test("ssmm_grouped cpu: bad offsets and indices are errors", () => {
  const g = GROUPED[0];
  const d = makeGrouped(g, 1);
  using st = stackSamoyeds(cpu, d.experts);
  using Xb = BackendTensor.from(cpu, d.X);
  using lb = BackendTensor.from(cpu, new HostTensor("i32", [d.total], d.loadIdx));
  using ob = BackendTensor.from(cpu, new HostTensor("i32", [g.E + 1], Int32Array.from([0, 5, 3, 10, 12])));
  expectError(() => ssmmGrouped(cpu, st, Xb, lb, ob, d.total), 1, /non-decreasing/);
  using ob2 = BackendTensor.from(cpu, new HostTensor("i32", [g.E + 1], d.offsets));
  expectError(() => ssmmGrouped(cpu, st, Xb, lb, ob2, 5), 1, /exceeds max_selections=5/);
});

// ---------- CUDA vs CPU ----------
function cudaVsCpu(c: Case, seed: number, opts: { accum?: "f16"; layout?: "feature"; epilogue?: "silu" | "rowScale"; yHalf?: boolean }) {
  const cuda = openBackend("cuda");
  const { weight, X, idx } = makeCase(c, seed);
  const scale = new Float32Array(c.nSel).map((_, j) => 0.5 + (j % 3));
  const run = (b: typeof cpu) => {
    using wb = weight.toBackend(b);
    using Xb = BackendTensor.from(b, X);
    using ib = BackendTensor.from(b, new HostTensor("i32", [c.nSel], idx));
    using sb = BackendTensor.from(b, new HostTensor("f32", [c.nSel], scale));
    using Y = ssmm(b, wb, Xb, ib, {
      accum: opts.accum,
      layout: opts.layout,
      epilogue: opts.epilogue,
      rowScale: opts.epilogue === "rowScale" ? sb : undefined,
      yDtype: opts.yHalf ? c.dtype : "f32",
    });
    return Y.toHost().toF32();
  };
  const want = run(cpu), got = run(cuda);
  assert.equal(ssmmIndexErrors(cuda), 0);
  const err = relativeError(got, want);
  const bound = opts.accum === "f16" ? 2e-2 : opts.yHalf ? 1e-2 : 2e-3;
  assert.ok(err <= bound, `cuda vs cpu ${JSON.stringify(c)} ${JSON.stringify(opts)}: rel err ${err} > ${bound}`);
}

const GPU_CASES: Case[] = [
  ...CASES,
  { m: 1408, k: 2048, xRows: 1000, nSel: 300, p: { V: 128, N: 1, M: 2 }, dtype: "f16" },
  { m: 514, k: 544, xRows: 300, nSel: 257, p: { V: 32, N: 1, M: 2 }, dtype: "bf16" },
  { m: 520, k: 320, xRows: 300, nSel: 129, p: { V: 64, N: 2, M: 4 }, dtype: "f16" },
  { m: 264, k: 512, xRows: 300, nSel: 63, p: { V: 128, N: 1, M: 4 }, dtype: "f16" },
];

gpuTest("ssmm cuda: matches the CPU backend on random and adversarial shapes", () => {
  let seed = 1000;
  for (const c of GPU_CASES) cudaVsCpu(c, (seed += 3), {});
});
gpuTest("ssmm cuda: layouts, epilogues, half output, f16 accumulation", () => {
  let seed = 2000;
  for (const c of GPU_CASES) {
    cudaVsCpu(c, (seed += 3), { layout: "feature", epilogue: "silu" });
    cudaVsCpu(c, (seed += 3), { epilogue: "rowScale", yHalf: true });
    cudaVsCpu(c, (seed += 3), { layout: "feature", yHalf: true });
    if (c.dtype === "f16") cudaVsCpu(c, (seed += 3), { accum: "f16" });
  }
});
gpuTest("ssmm cuda: 1:2 row routing, running sums (default) and swaps (SAMOYEDS_MMA_SP_ROUTING=swap), both match", () => {
  const oneTwo = GPU_CASES.filter((c) => c.p.N === 1 && c.p.M === 2);
  let seed = 5000;
  try {
    for (const routing of ["sum", "swap"]) {
      Deno.env.set("SAMOYEDS_MMA_SP_ROUTING", routing);
      assert.equal(callJson(openBackend("cuda"), "sy_build_info").mma_sp_routing, routing);
      for (const c of oneTwo) {
        cudaVsCpu(c, (seed += 3), {});
        cudaVsCpu(c, (seed += 3), { epilogue: "rowScale", yHalf: true });
      }
    }
    Deno.env.set("SAMOYEDS_MMA_SP_ROUTING", "sideways");
    expectError(() => cudaVsCpu(oneTwo[0], 1, {}), 1, /SAMOYEDS_MMA_SP_ROUTING=sideways is not "sum" or "swap"/);
  } finally {
    Deno.env.delete("SAMOYEDS_MMA_SP_ROUTING");
  }
});
gpuTest("ssmm cuda: 128-k pipeline stages (default) give the bits of 64-k stages (SAMOYEDS_MMA_SP_STAGE_K=64), k tails included", () => {
  const cuda = openBackend("cuda");
  // k = 96, 160, 320: the last 128-k stage holds 3, 1 and 2 of its 4 k32 steps
  const cases: Case[] = [
    { m: 130, k: 96, xRows: 40, nSel: 65, p: { V: 32, N: 1, M: 2 }, dtype: "bf16" },
    { m: 258, k: 160, xRows: 70, nSel: 1, p: { V: 32, N: 1, M: 2 }, dtype: "f16" },
    { m: 200, k: 320, xRows: 90, nSel: 129, p: { V: 64, N: 1, M: 2 }, dtype: "f16" },
    { m: 1408, k: 2048, xRows: 500, nSel: 300, p: { V: 128, N: 1, M: 2 }, dtype: "bf16" },
  ];
  const runCuda = (c: Case, seed: number, accum?: "f16") => {
    const { weight, X, idx } = makeCase(c, seed);
    using wb = weight.toBackend(cuda);
    using Xb = BackendTensor.from(cuda, X);
    using ib = BackendTensor.from(cuda, new HostTensor("i32", [c.nSel], idx));
    using Y = ssmm(cuda, wb, Xb, ib, { accum, epilogue: "silu" });
    return Y.toHost().toF32();
  };
  try {
    for (const routing of ["sum", "swap"]) {
      Deno.env.set("SAMOYEDS_MMA_SP_ROUTING", routing);
      for (const [i, c] of cases.entries()) {
        for (const accum of c.dtype === "f16" && routing === "swap" ? [undefined, "f16" as const] : [undefined]) {
          Deno.env.set("SAMOYEDS_MMA_SP_STAGE_K", "64");
          assert.equal(callJson(cuda, "sy_build_info").mma_sp_stage_k, 64);
          const old = runCuda(c, 7100 + i, accum);
          Deno.env.delete("SAMOYEDS_MMA_SP_STAGE_K");
          assert.equal(callJson(cuda, "sy_build_info").mma_sp_stage_k, 128);
          const now = runCuda(c, 7100 + i, accum);
          assert.deepEqual(now, old, `${routing} ${accum ?? "f32"} ${JSON.stringify(c)}: 128-k stages differ from 64-k stages`);
        }
      }
    }
    cudaVsCpu(cases[2], 7200, {});
    Deno.env.set("SAMOYEDS_MMA_SP_STAGE_K", "96");
    expectError(() => cudaVsCpu(cases[0], 1, {}), 1, /SAMOYEDS_MMA_SP_STAGE_K=96 is not 64 or 128/);
  } finally {
    Deno.env.delete("SAMOYEDS_MMA_SP_ROUTING");
    Deno.env.delete("SAMOYEDS_MMA_SP_STAGE_K");
  }
});
gpuTest("ssmm cuda: out-of-range index is clamped and counted", () => {
  const cuda = openBackend("cuda");
  const c = CASES[0];
  const { weight, X } = makeCase(c, 3);
  using wb = weight.toBackend(cuda);
  using Xb = BackendTensor.from(cuda, X);
  using ib = BackendTensor.from(cuda, new HostTensor("i32", [3], Int32Array.from([0, c.xRows + 5, -1])));
  ssmmIndexErrors(cuda); // reset
  using Y = ssmm(cuda, wb, Xb, ib);
  assert.equal(ssmmIndexErrors(cuda), 2);
  assert.equal(ssmmIndexErrors(cuda), 0);
  Y.toHost();
});
gpuTest("ssmm_grouped cuda: compact and scatter-add match the CPU backend", () => {
  const cuda = openBackend("cuda");
  let seed = 3000;
  const cases: GroupedCase[] = [
    ...GROUPED,
    { E: 8, m: 1408, k: 2048, xRows: 512, counts: [300, 0, 1, 129, 64, 65, 0, 465], p: { V: 128, N: 1, M: 2 }, dtype: "f16" },
    { E: 5, m: 258, k: 96, xRows: 64, counts: [0, 0, 0, 0, 200], p: { V: 32, N: 1, M: 2 }, dtype: "bf16" },
  ];
  for (const g of cases) {
    const d = makeGrouped(g, (seed += 50));
    const maxSel = d.total + 17;
    const run = (b: typeof cpu, mode: "compact" | "scatterAdd") => {
      using st = stackSamoyeds(b, d.experts);
      using Xb = BackendTensor.from(b, d.X);
      using lb = BackendTensor.from(b, new HostTensor("i32", [Math.max(d.total, 1)], d.total ? d.loadIdx : new Int32Array(1)));
      using ob = BackendTensor.from(b, new HostTensor("i32", [g.E + 1], d.offsets));
      using sb = BackendTensor.from(b, new HostTensor("f32", [Math.max(d.total, 1)], d.total ? d.rowScale : new Float32Array(1)));
      using stb = BackendTensor.from(b, new HostTensor("i32", [Math.max(d.total, 1)], d.total ? d.storeIdx : new Int32Array(1)));
      if (mode === "compact") {
        using Y = ssmmGrouped(b, st, Xb, lb, ob, maxSel, { epilogue: "silu" });
        return (Y.toHost().data as Float32Array).slice(0, d.total * g.m);
      }
      using Y = new BackendTensor(b, "f32", [g.xRows, g.m]).fill(0);
      ssmmGrouped(b, st, Xb, lb, ob, maxSel, { mode: "scatterAdd", storeIdx: stb, out: Y, epilogue: "rowScale", rowScale: sb });
      return Y.toHost().data as Float32Array;
    };
    for (const mode of ["compact", "scatterAdd"] as const) {
      const err = relativeError(run(cuda, mode), run(cpu, mode));
      assert.ok(err <= 2e-3, `grouped ${mode} ${JSON.stringify(g)}: rel err ${err}`);
    }
    assert.equal(ssmmIndexErrors(cuda), 0);
  }
});

// ---------- CPU emulation of the CUDA kernel's per-thread data path ----------
Deno.test("ssmm emulation: the mma.sp kernel's fragments, metadata, swizzle and row swaps reproduce the CPU reference", async () => {
  const root = new URL("..", import.meta.url).pathname;
  const exe = await Deno.makeTempFile({ prefix: "ssmm_emulate_" });
  const src = ["tests/native/ssmm_emulate.cpp", "native/src/common/samoyeds_format.cpp", "native/src/common/error.cpp", "native/src/cpu/ssmm.cpp"];
  const cc = await new Deno.Command(Deno.env.get("CXX") ?? "g++", {
    args: ["-std=c++17", "-O2", "-fopenmp", "-Inative/include", "-Inative/src/common", ...src, "-o", exe],
    cwd: root, stdout: "piped", stderr: "piped",
  }).output();
  assert.ok(cc.success, `compiling the emulator failed:\n${new TextDecoder().decode(cc.stderr)}`);
  const out = await new Deno.Command(exe, { stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  await Deno.remove(exe);
  assert.ok(out.success && text.includes("OK"), text);
});
