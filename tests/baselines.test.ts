// Baselines of issue 3: V:2:8 format + SpMM, token gather, cuSPARSELt. CPU references against the dense GEMM of the
// decoded/pruned weight; GPU kernels against the CPU backend (gpuTest: skipped without a GPU).
// Error bounds: CPU SpMM vs CPU dense GEMM, both f32 accumulation over the same products in a different order:
// relative Frobenius error < 1e-5. CUDA vs CPU: f32 outputs < 1e-4 (mma accumulation order), f16/bf16 outputs
// < 1e-2 (output rounding, bf16 has 8 bits of mantissa).
import assert from "node:assert/strict";
import { openBackend, SamoyedsError } from "../lib/native/library.ts";
import { BackendTensor, DTYPE_CODE, HalfDType, HostTensor, randn, relativeError, rng } from "../lib/tensor.ts";
import { CusparseLtPlan, decodeVnm, encodeVnm, gatherRows, pruneToVnm, VnmV, vnmSizes, vnmSpmm } from "../lib/kernels/baselines.ts";
import { gpuTest } from "./helpers.ts";

const cpu = openBackend("cpu");

function randomHalf(shape: number[], seed: number, dtype: HalfDType = "f16", scale = 1): HostTensor {
  return HostTensor.fromF32(randn(shape[0] * shape[1], seed, scale), shape, dtype);
}

/** Dense Y (n x m, f32) = X * W^T on the CPU backend. */
function denseRef(X: HostTensor, W: HostTensor): Float32Array {
  const [n, k] = X.shape, m = W.shape[0];
  const Y = new Float32Array(n * m);
  if (n > 0) cpu.call("sy_gemm", DTYPE_CODE[X.dtype], n, m, k, Deno.UnsafePointer.of(X.data), Deno.UnsafePointer.of(W.data), Deno.UnsafePointer.of(Y), DTYPE_CODE.f32, 0);
  return Y;
}

function expectStatus(fn: () => unknown, status: number, pattern?: RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SamoyedsError, `expected SamoyedsError, got ${e}`);
    assert.equal(e.status, status, e.message);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

/** A random weight pruned to V:2:8, with X and the CPU references. */
function vnmCase(m: number, k: number, n: number, V: VnmV, dtype: HalfDType, seed: number) {
  const W = randomHalf([m, k], seed, dtype);
  const { pruned, keptEnergy } = pruneToVnm(W, V);
  const w = encodeVnm(pruned, V);
  const X = randomHalf([n, k], seed + 1, dtype);
  return { W, pruned, keptEnergy, w, X };
}

const SHAPES: [number, number, number, VnmV][] = [
  [128, 64, 16, 128], [64, 128, 5, 64], [200, 136, 77, 128], [1, 8, 1, 64], [17, 72, 3, 128], [130, 1000, 9, 64], [300, 520, 0, 128],
];

Deno.test("vnm: sizes report each array", () => {
  const s = vnmSizes(200, 136, 64);
  // ceil(200/16) = 13 row blocks, ceil(136/64) = 3 k-steps; 4 V-blocks x 17 column blocks
  assert.deepEqual(s, { values: 13 * 3 * 512, meta: 13 * 3 * 64, colmask: 4 * 17, total: 13 * 3 * 576 + 68 });
});

Deno.test("vnm: prune conforms, encode/decode round-trips, density 25%", () => {
  for (const [m, k, , V] of SHAPES) {
    for (const dtype of ["f16", "bf16"] as const) {
      const { pruned, keptEnergy, w } = vnmCase(m, k, 1, V, dtype, m * 7 + k);
      assert.ok(keptEnergy > 0 && keptEnergy <= 1, `kept energy ${keptEnergy}`);
      const back = decodeVnm(w);
      assert.deepEqual(back.data, pruned.data, `round trip m=${m} k=${k} V=${V} ${dtype}`);
      let nnz = 0;
      for (const v of pruned.data as Uint16Array) if ((v & 0x7fff) !== 0) nnz++;
      assert.ok(nnz <= (m * k) / 4, `density ${nnz / (m * k)} > 25%`);
      // each V-row block x 8-column cell uses at most 4 columns, each row at most 2
      const d = pruned.data as Uint16Array;
      for (let r0 = 0; r0 < m; r0 += V) {
        for (let cb = 0; cb < k / 8; cb++) {
          let used = 0;
          for (let r = r0; r < Math.min(m, r0 + V); r++) {
            let rowNnz = 0;
            for (let c = 0; c < 8; c++) if (d[r * k + cb * 8 + c] & 0x7fff) { used |= 1 << c; rowNnz++; }
            assert.ok(rowNnz <= 2);
          }
          let bits = 0;
          for (let c = 0; c < 8; c++) bits += (used >> c) & 1;
          assert.ok(bits <= 4);
        }
      }
    }
  }
});

Deno.test("vnm: encode refuses weights outside the pattern; bad shapes are clear errors", () => {
  const dense = randomHalf([64, 16], 3);
  expectStatus(() => encodeVnm(dense, 64), 7, /distinct columns|non-zeros/);
  // a row with 3 non-zeros in one 8-column block
  const W = new HostTensor("f16", [64, 8]);
  (W.data as Uint16Array).set([0x3c00, 0x3c00, 0x3c00], 0);
  expectStatus(() => encodeVnm(W, 64), 7, /more than 2 non-zeros/);
  expectStatus(() => encodeVnm(new HostTensor("f16", [64, 12]), 64), 1, /multiple of 8/);
  expectStatus(() => encodeVnm(new HostTensor("f16", [64, 16]), 32 as VnmV), 1, /V .* must be 64 or 128/);
  expectStatus(() => vnmSizes(0, 16, 64), 1, /m must be > 0/);
});

Deno.test("vnm: all-zero weight encodes to padding and multiplies to zero", () => {
  const W = new HostTensor("f16", [40, 24]);
  const w = encodeVnm(W, 64);
  assert.deepEqual(decodeVnm(w).data, W.data);
  const wb = w.toBackend(cpu);
  const X = BackendTensor.from(cpu, randomHalf([5, 24], 9));
  const Y = vnmSpmm(wb, X).toHost();
  assert.ok((Y.data as Float32Array).every((v) => v === 0));
});

Deno.test("vnm: CPU SpMM (fragment-path emulation) equals dense GEMM on the decoded weight", () => {
  for (const [m, k, n, V] of SHAPES) {
    for (const dtype of ["f16", "bf16"] as const) {
      const { pruned, w, X } = vnmCase(m, k, n, V, dtype, 100 + m + k);
      const wb = w.toBackend(cpu);
      const Y = vnmSpmm(wb, BackendTensor.from(cpu, X)).toHost();
      const ref = denseRef(X, pruned);
      assert.ok(relativeError(Y.data as Float32Array, ref) < 1e-5, `m=${m} k=${k} n=${n} V=${V} ${dtype}`);
      // half output = rounded f32 output
      const Yh = vnmSpmm(wb, BackendTensor.from(cpu, X), { yDtype: dtype }).toHost();
      assert.ok(relativeError(Yh.toF32(), ref) < 1e-2);
      wb.free();
    }
  }
});

Deno.test("vnm: large magnitudes stay finite in f32 accumulation", () => {
  const W = randomHalf([64, 64], 5, "f16", 200);
  const { pruned } = pruneToVnm(W, 64);
  const X = randomHalf([4, 64], 6, "f16", 200);
  const Y = vnmSpmm(encodeVnm(pruned, 64).toBackend(cpu), BackendTensor.from(cpu, X)).toHost();
  const ref = denseRef(X, pruned);
  assert.ok((Y.data as Float32Array).every(Number.isFinite));
  assert.ok(relativeError(Y.data as Float32Array, ref) < 1e-5);
});

Deno.test("gather: CPU copies rows (duplicates, 0 rows) and rejects out-of-range indices", () => {
  const X = randomHalf([10, 6], 11);
  const idx = new HostTensor("i32", [5], Int32Array.from([9, 0, 0, 3, 9]));
  const Xg = gatherRows(BackendTensor.from(cpu, X), BackendTensor.from(cpu, idx)).toHost();
  for (let j = 0; j < 5; j++) {
    assert.deepEqual((Xg.data as Uint16Array).subarray(j * 6, j * 6 + 6), (X.data as Uint16Array).subarray(idx.data[j] * 6, idx.data[j] * 6 + 6));
  }
  assert.equal(gatherRows(BackendTensor.from(cpu, X), BackendTensor.from(cpu, new HostTensor("i32", [0]))).numel, 0);
  expectStatus(() => gatherRows(BackendTensor.from(cpu, X), BackendTensor.from(cpu, new HostTensor("i32", [1], Int32Array.from([10])))), 1, /out of range/);
});

Deno.test("cuSPARSELt: the CPU backend reports it as unsupported", () => {
  const W = BackendTensor.from(cpu, randomHalf([16, 16], 1));
  expectStatus(() => CusparseLtPlan.create(W, 16), 2, /CUDA-only/);
});

// ---------------- GPU ----------------
function cudaOrSkip() {
  return openBackend("cuda");
}

gpuTest("vnm: CUDA mma.sp SpMM equals the CPU backend (tails, 0/1 tokens, both dtypes and outputs)", () => {
  const cuda = cudaOrSkip();
  const shapes: [number, number, number, VnmV][] = [
    ...SHAPES, [256, 256, 256, 128], [384, 320, 129, 64], [129, 4104, 130, 128], [1408, 2048, 257, 128], [64, 8, 1, 64],
  ];
  for (const [m, k, n, V] of shapes) {
    for (const dtype of ["f16", "bf16"] as const) {
      const { w, X } = vnmCase(m, k, n, V, dtype, 7 * m + k + n);
      const wc = w.toBackend(cpu), wg = w.toBackend(cuda);
      for (const yDtype of ["f32", dtype] as const) {
        const ref = vnmSpmm(wc, BackendTensor.from(cpu, X), { yDtype: "f32" }).toHost();
        const got = vnmSpmm(wg, BackendTensor.from(cuda, X), { yDtype }).toHost();
        const err = relativeError(got.toF32(), ref.data as Float32Array);
        const bound = yDtype === "f32" ? 1e-4 : 1e-2;
        assert.ok(err < bound, `m=${m} k=${k} n=${n} V=${V} ${dtype} -> ${yDtype}: rel err ${err}`);
      }
      wc.free();
      wg.free();
    }
  }
  cuda.call("sy_synchronize");
});

gpuTest("gather: CUDA equals CPU (16/4/2-byte paths, duplicates, zero rows for bad indices)", () => {
  const cuda = cudaOrSkip();
  const r = rng(3);
  for (const [rows, width, n, dtype] of [[4096, 2048, 1024, "f16"], [50, 7, 33, "f16"], [9, 6, 20, "bf16"], [30, 5, 8, "f32"], [3, 8, 0, "f16"]] as const) {
    const X = dtype === "f32" ? new HostTensor("f32", [rows, width], randn(rows * width, 5)) : randomHalf([rows, width], 5, dtype);
    const idx = new HostTensor("i32", [n], Int32Array.from({ length: n }, () => Math.floor(r() * rows)));
    const want = gatherRows(BackendTensor.from(cpu, X), BackendTensor.from(cpu, idx)).toHost();
    const got = gatherRows(BackendTensor.from(cuda, X), BackendTensor.from(cuda, idx)).toHost();
    assert.deepEqual(got.data, want.data, `rows=${rows} width=${width} n=${n} ${dtype}`);
  }
  const X = randomHalf([4, 8], 1);
  const got = gatherRows(BackendTensor.from(cuda, X), BackendTensor.from(cuda, new HostTensor("i32", [2], Int32Array.from([1, 99])))).toHost();
  assert.ok((got.data as Uint16Array).subarray(8).every((v) => v === 0));
});

gpuTest("cuSPARSELt: plan (prune + compress + search) equals CPU GEMM on the pruned weight", () => {
  const cuda = cudaOrSkip();
  let plan: CusparseLtPlan | undefined;
  const [m, k, n] = [256, 512, 96];
  const W = randomHalf([m, k], 21);
  const Wd = BackendTensor.from(cuda, W);
  const pruned = new BackendTensor(cuda, "f16", [m, k]);
  try {
    plan = CusparseLtPlan.create(Wd, n, { prune: true, prunedOut: pruned });
  } catch (e) {
    if (e instanceof SamoyedsError && e.status === 5) {
      console.log(`skipping cuSPARSELt test: ${e.message}`);
      return;
    }
    throw e;
  }
  console.log(`cuSPARSELt: ${JSON.stringify(plan.info)}`);
  const Wp = pruned.toHost();
  // 2:4 along k
  const d = Wp.data as Uint16Array;
  for (let i = 0; i < m * k; i += 4) {
    let nz = 0;
    for (let j = 0; j < 4; j++) if (d[i + j] & 0x7fff) nz++;
    assert.ok(nz <= 2, `group at ${i} has ${nz} non-zeros`);
  }
  const X = randomHalf([n, k], 22);
  const Y = new BackendTensor(cuda, "f16", [n, m]);
  plan.matmul(BackendTensor.from(cuda, X), Y);
  const err = relativeError(Y.toHost().toF32(), denseRef(X, Wp));
  assert.ok(err < 1e-2, `rel err ${err}`);
  plan.destroy();
  // a dense weight is refused without prune
  expectStatus(() => CusparseLtPlan.create(Wd, n), 7, /not 2:4/);
});

/** W pruned to 2:4 along k on the host: the 2 largest |w| of each 4 consecutive k of a row are kept. */
function prune24AlongK(W: HostTensor): HostTensor {
  const d = (W.data as Uint16Array).slice();
  for (let g = 0; g < d.length; g += 4) {
    const order = [0, 1, 2, 3].sort((a, b) => (d[g + b] & 0x7fff) - (d[g + a] & 0x7fff));
    d[g + order[2]] = 0;
    d[g + order[3]] = 0;
  }
  return new HostTensor(W.dtype, W.shape, d);
}

// The issue-3 failure: the library's prune check refused weights that are 2:4 along k (the reduction dimension).
// A weight pruned along k on the host must be accepted without pruning, left unchanged, and give the CPU GEMM.
gpuTest("cuSPARSELt: a weight 2:4 along k is accepted as is and equals CPU GEMM (f16, bf16, several shapes)", () => {
  const cuda = cudaOrSkip();
  let seed = 40;
  for (const dtype of ["f16", "bf16"] as const) {
    for (const [m, k, n] of [[256, 512, 96], [128, 256, 64], [512, 128, 32], [64, 1024, 32]]) {
      const Wp = prune24AlongK(randomHalf([m, k], seed++, dtype));
      const out = new BackendTensor(cuda, dtype, [m, k]);
      let plan: CusparseLtPlan;
      try {
        plan = CusparseLtPlan.create(BackendTensor.from(cuda, Wp), n, { prunedOut: out });
      } catch (e) {
        if (e instanceof SamoyedsError && e.status === 5 && /not found/.test(e.message)) {
          console.log(`skipping cuSPARSELt test: ${e.message}`);
          return;
        }
        throw e;
      }
      const what = `${dtype} m=${m} k=${k} n=${n}`;
      if (m === 256 && dtype === "f16") console.log(`cuSPARSELt: ${JSON.stringify(plan.info)}`);
      assert.deepEqual(out.toHost().data, Wp.data, `${what}: the weight is used unchanged`);
      const X = randomHalf([n, k], seed++, dtype);
      const Y = new BackendTensor(cuda, dtype, [n, m]);
      plan.matmul(BackendTensor.from(cuda, X), Y);
      const err = relativeError(Y.toHost().toF32(), denseRef(X, Wp));
      assert.ok(err < 1e-2, `${what}: rel err ${err}`);
      plan.destroy();
    }
  }
});

gpuTest("cuSPARSELt: a weight 2:4 along m only (not along k) is refused with SY_ERR_PATTERN, k % 4 != 0 with SY_ERR_INVALID", () => {
  const cuda = cudaOrSkip();
  const [m, k, n] = [64, 128, 32];
  const W = randomHalf([m, k], 60);
  const d = W.data as Uint16Array;
  for (let r = 0; r < m; r++) if (r % 4 < 2) d.fill(0, r * k, (r + 1) * k); // 2 of each 4 rows zero: 2:4 along m
  // checked by our kernel before cuSPARSELt is loaded: the same answer with or without the library
  expectStatus(() => CusparseLtPlan.create(BackendTensor.from(cuda, W), n), 7, /not 2:4 along k/);
  expectStatus(() => CusparseLtPlan.create(new BackendTensor(cuda, "f16", [16, 18]), n), 1, /multiple of 4/);
});
