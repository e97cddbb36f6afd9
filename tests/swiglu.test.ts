// SwiGLU of a stacked gate-up weight (lib/formats/gate_up.ts row order): the "swiglu" epilogue of the grouped SSMM
// (CPU backend and wgmma.sp kernel) and sy_moe_silu_mul_pair, against a TypeScript computation from the plain
// (epilogue "none") grouped SSMM. GPU parts ("[gpu sm90]" / "[gpu]") are ignored with a message without a GPU.
import assert from "node:assert/strict";
import { openBackend, SamoyedsError } from "../lib/native/library.ts";
import { BackendTensor, DTYPE_CODE, HalfDType, HostTensor, randn, relativeError, rng } from "../lib/tensor.ts";
import { stackSamoyeds, toSamoyeds } from "../lib/formats/samoyeds.ts";
import { interleaveGateUp, splitGateUp, SWIGLU_BLOCK, swigluGateRow } from "../lib/formats/gate_up.ts";
import { mmaSpHasSwiglu, ssmm, ssmmGrouped, swigluInKernel } from "../lib/kernels/ssmm.ts";
import { gpuTest, sm90Test } from "./helpers.ts";

const cpu = openBackend("cpu");
const silu = (a: number) => a / (1 + Math.exp(-a));

/** H[j][f] = SiLU(Y[j][gate row of f]) * Y[j][its up row], Y: rows x m (f32), H: rows x m/2. */
function swigluOf(Y: Float32Array, rows: number, m: number): Float32Array {
  const I = m / 2, H = new Float32Array(rows * I);
  for (let j = 0; j < rows; j++) {
    for (let f = 0; f < I; f++) {
      const r = swigluGateRow(f);
      H[j * I + f] = silu(Y[j * m + r]) * Y[j * m + r + SWIGLU_BLOCK];
    }
  }
  return H;
}

function makeStack(E: number, I: number, k: number, dtype: HalfDType, seed: number) {
  const half = (rows: number, s: number) => HostTensor.fromF32(randn(rows * k, s, 1 / Math.sqrt(k)), [rows, k], dtype);
  const experts = Array.from({ length: E }, (_, e) => toSamoyeds(interleaveGateUp(half(I, seed + 2 * e), half(I, seed + 2 * e + 1)), { V: 64, N: 1, M: 2 }).weight);
  return experts;
}

function indexLists(E: number, counts: number[], xRows: number, seed: number) {
  const offsets = new Int32Array(E + 1);
  for (let e = 0; e < E; e++) offsets[e + 1] = offsets[e] + counts[e];
  const r = rng(seed);
  const total = offsets[E];
  const loadIdx = Int32Array.from({ length: Math.max(total, 1) }, () => Math.floor(r() * xRows));
  return { offsets, loadIdx, total };
}

Deno.test("gate-up row order: interleaveGateUp puts feature f's gate at swigluGateRow(f) and its up 16 rows further; splitGateUp inverts it", () => {
  const I = 48, H = 5;
  const gate = HostTensor.fromF32(Float32Array.from({ length: I * H }, (_, i) => i), [I, H], "f32");
  const up = HostTensor.fromF32(Float32Array.from({ length: I * H }, (_, i) => -1 - i), [I, H], "f32");
  const gu = interleaveGateUp(gate, up), d = gu.data as Float32Array;
  assert.deepEqual(gu.shape, [2 * I, H]);
  assert.deepEqual([swigluGateRow(0), swigluGateRow(15), swigluGateRow(16), swigluGateRow(47)], [0, 15, 32, 79]);
  for (const f of [0, 7, 15, 16, 31, 47]) {
    assert.equal(d[swigluGateRow(f) * H], f * H);
    assert.equal(d[(swigluGateRow(f) + SWIGLU_BLOCK) * H + 2], -1 - (f * H + 2));
  }
  const back = splitGateUp(d, I, H);
  assert.deepEqual(back.gate, gate.data);
  assert.deepEqual(back.up, up.data);
  assert.throws(() => interleaveGateUp(HostTensor.fromF32(new Float32Array(8 * H), [8, H], "f32"), HostTensor.fromF32(new Float32Array(8 * H), [8, H], "f32")),
    /multiple of 16/);
});

Deno.test("grouped SSMM, epilogue swiglu (CPU) = SiLU(gate) * up of the plain output, f32 and bf16 rows, empty experts", () => {
  for (const [dtype, yDtype] of [["bf16", "f32"], ["f16", "f16"], ["bf16", "bf16"]] as const) {
    const E = 3, I = 48, k = 128, xRows = 40;
    const experts = makeStack(E, I, k, dtype, 21);
    using st = stackSamoyeds(cpu, experts);
    const { offsets, loadIdx, total } = indexLists(E, [7, 0, 12], xRows, 5);
    const X = BackendTensor.from(cpu, HostTensor.fromF32(randn(xRows * k, 9, 1), [xRows, k], dtype));
    const off = BackendTensor.from(cpu, new HostTensor("i32", [E + 1], offsets));
    const idx = BackendTensor.from(cpu, new HostTensor("i32", [loadIdx.length], loadIdx));
    try {
      assert.ok(swigluInKernel(st), "the CPU backend has the SwiGLU epilogue");
      const plain = ssmmGrouped(cpu, st, X, idx, off, total, { yDtype: "f32" });
      const want = swigluOf(plain.toHost().toF32(), total, 2 * I);
      const got = ssmmGrouped(cpu, st, X, idx, off, total, { yDtype, epilogue: "swiglu" });
      assert.deepEqual(got.shape, [total, I]);
      const err = relativeError(got.toHost().toF32(), want);
      assert.ok(err < (yDtype === "f32" ? 1e-6 : 1e-2), `${dtype} -> ${yDtype}: relative error ${err}`);
      // the contract's refusals: not in scatter-add mode, m % 32, not for the single-weight SSMM
      assert.throws(() => ssmmGrouped(cpu, st, X, idx, off, total, { mode: "scatterAdd", storeIdx: idx, out: plain, epilogue: "swiglu" }),
        (e: unknown) => e instanceof SamoyedsError && /epilogue 3 \(SwiGLU\) needs y_mode 0/.test(e.message));
      plain.free();
      got.free();
    } finally {
      X.free();
      off.free();
      idx.free();
    }
  }
  const odd = Array.from({ length: 1 }, () => toSamoyeds(HostTensor.fromF32(randn(48 * 64, 3, 1), [48, 64], "bf16"), { V: 64, N: 1, M: 2 }).weight);
  using st = stackSamoyeds(cpu, odd);
  const X = BackendTensor.from(cpu, HostTensor.fromF32(randn(4 * 64, 1, 1), [4, 64], "bf16"));
  const off = BackendTensor.from(cpu, new HostTensor("i32", [2], new Int32Array([0, 4])));
  try {
    assert.throws(() => ssmmGrouped(cpu, st, X, null, off, 4, { epilogue: "swiglu" }), /m % 32 == 0/);
    const tok = BackendTensor.from(cpu, new HostTensor("i32", [1], new Int32Array([0])));
    using w = odd[0].toBackend(cpu);
    assert.throws(() => ssmm(cpu, w, X, tok, { epilogue: "swiglu" }), /epilogue 3 .* is for grouped SSMMs/);
    tok.free();
  } finally {
    X.free();
    off.free();
  }
});

Deno.test("sy_moe_silu_mul_pair (CPU) reads the interleaved gate-up order; width must be a multiple of 16", () => {
  const n = 5, I = 32, dtype = "bf16" as const;
  const GU = HostTensor.fromF32(randn(n * 2 * I, 4, 2), [n, 2 * I], dtype);
  const g = BackendTensor.from(cpu, GU), h = new BackendTensor(cpu, dtype, [n, I]);
  try {
    cpu.call("sy_moe_silu_mul_pair", DTYPE_CODE[dtype], n, I, g.ptr, h.ptr);
    const want = HostTensor.fromF32(swigluOf(GU.toF32(), n, 2 * I), [n, I], dtype).toF32();
    assert.ok(relativeError(h.toHost().toF32(), want) < 1e-2);
    assert.throws(() => cpu.call("sy_moe_silu_mul_pair", DTYPE_CODE[dtype], n, 24, g.ptr, h.ptr), /multiple of 16/);
  } finally {
    g.free();
    h.free();
  }
});

// ---------------- GPU ----------------
sm90Test("grouped SSMM, epilogue swiglu: the wgmma.sp kernel = the CPU backend (ragged experts, bf16 and f32 rows)", () => {
  const cuda = openBackend("cuda");
  for (const [dtype, yDtype, bound] of [["bf16", "f32", 1e-4], ["bf16", "bf16", 1e-2], ["f16", "f16", 1e-2]] as const) {
    const E = 4, I = 208, k = 192, xRows = 300; // m = 416: one full and one partial row tile of 256
    const experts = makeStack(E, I, k, dtype, 31);
    const { offsets, loadIdx, total } = indexLists(E, [129, 0, 1, 260], xRows, 8);
    const X = HostTensor.fromF32(randn(xRows * k, 12, 1), [xRows, k], dtype);
    const run = (b: ReturnType<typeof openBackend>) => {
      using st = stackSamoyeds(b, experts);
      const x = BackendTensor.from(b, X), off = BackendTensor.from(b, new HostTensor("i32", [E + 1], offsets));
      const idx = BackendTensor.from(b, new HostTensor("i32", [loadIdx.length], loadIdx));
      try {
        const y = ssmmGrouped(b, st, x, idx, off, total, { yDtype, epilogue: "swiglu" });
        const out = y.toHost().toF32();
        y.free();
        return { out, kernel: swigluInKernel(st) };
      } finally {
        x.free();
        off.free();
        idx.free();
      }
    };
    const want = run(cpu).out, got = run(cuda);
    assert.ok(got.kernel, "auto picks the wgmma.sp kernel, which has the SwiGLU epilogue");
    const err = relativeError(got.out, want);
    assert.ok(err <= bound, `${dtype} -> ${yDtype}: relative error ${err} > ${bound}`);
  }
});

gpuTest("CUDA: the mma.sp grouped kernel's epilogue swiglu = the CPU backend (1:2, both routings; 2:4 refused); sy_moe_silu_mul_pair = CPU", () => {
  const cuda = openBackend("cuda");
  // the MoE layer applies the epilogue in the mma.sp kernel for 1:2 stacks (the pass for 2:4 and 1:4; see below)
  {
    using st0 = stackSamoyeds(cuda, makeStack(2, 32, 64, "bf16", 41), { wgmma: false });
    assert.equal(swigluInKernel(st0, "mma_sp"), true);
  }
  for (const routing of ["sum", "swap"]) {
    Deno.env.set("SAMOYEDS_MMA_SP_ROUTING", routing);
    try {
      for (const [dtype, yDtype, bound] of [["bf16", "f32", 1e-4], ["bf16", "bf16", 1e-2], ["f16", "f16", 1e-2]] as const) {
        const E = 4, I = 208, k = 192, xRows = 300; // m = 416: one full and one partial row tile of 256 rows
        const experts = makeStack(E, I, k, dtype, 31);
        const { offsets, loadIdx, total } = indexLists(E, [129, 0, 1, 260], xRows, 8);
        const X = HostTensor.fromF32(randn(xRows * k, 12, 1), [xRows, k], dtype);
        const run = (b: ReturnType<typeof openBackend>) => {
          using st = stackSamoyeds(b, experts, { wgmma: false });
          const x = BackendTensor.from(b, X), off = BackendTensor.from(b, new HostTensor("i32", [E + 1], offsets));
          const idx = BackendTensor.from(b, new HostTensor("i32", [loadIdx.length], loadIdx));
          try {
            const y = ssmmGrouped(b, st, x, idx, off, total, { yDtype, epilogue: "swiglu", kernel: "mma_sp" });
            const out = y.toHost().toF32();
            y.free();
            return out;
          } finally {
            x.free();
            off.free();
            idx.free();
          }
        };
        const err = relativeError(run(cuda), run(cpu));
        assert.ok(err <= bound, `${routing}, ${dtype} -> ${yDtype}: relative error ${err} > ${bound}`);
      }
    } finally {
      Deno.env.delete("SAMOYEDS_MMA_SP_ROUTING");
    }
  }
  const w24 = [0, 1].map((e) => {
    const W = HostTensor.fromF32(randn(32 * 64, 50 + e, 0.1), [32, 64], "bf16");
    return toSamoyeds(W, { V: 32, N: 2, M: 4 }).weight;
  });
  using st24 = stackSamoyeds(cuda, w24, { wgmma: false });
  assert.equal(swigluInKernel(st24, "mma_sp"), false, "2:4 stacks run the pass after the mma.sp kernel");
  const X = BackendTensor.from(cuda, HostTensor.fromF32(randn(8 * 64, 2, 1), [8, 64], "bf16"));
  const off = BackendTensor.from(cuda, new HostTensor("i32", [3], new Int32Array([0, 3, 8])));
  try {
    assert.throws(() => ssmmGrouped(cuda, st24, X, null, off, 8, { epilogue: "swiglu", kernel: "mma_sp", yDtype: "bf16" }),
      (e: unknown) => e instanceof SamoyedsError && e.status === 2 && /for 1:2 only, got 2:4/.test(e.message));
  } finally {
    X.free();
    off.free();
  }
  const n = 37, I = 48, dtype = "bf16" as const;
  const GU = HostTensor.fromF32(randn(n * 2 * I, 6, 2), [n, 2 * I], dtype);
  const outs = [cpu, cuda].map((b) => {
    const g = BackendTensor.from(b, GU), h = new BackendTensor(b, dtype, [n, I]);
    b.call("sy_moe_silu_mul_pair", DTYPE_CODE[dtype], n, I, g.ptr, h.ptr);
    const r = h.toHost().toF32();
    g.free();
    h.free();
    return r;
  });
  assert.ok(relativeError(outs[1], outs[0]) < 1e-2);
});

Deno.test("mmaSpHasSwiglu: the mma.sp kernel fuses SwiGLU for 1:2 row selection only", () => {
  assert.equal(mmaSpHasSwiglu({ V: 128, N: 1, M: 2 }), true);
  assert.equal(mmaSpHasSwiglu({ V: 64, N: 2, M: 4 }), false);
  assert.equal(mmaSpHasSwiglu({ V: 32, N: 1, M: 4 }), false);
});
