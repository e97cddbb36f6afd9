// Small SSMM + grouped SSMM run for compute-sanitizer (memcheck / racecheck / synccheck), checked against the CPU
// backend. Run on the GPU machine:
//   compute-sanitizer --tool memcheck --error-exitcode 1 deno run --allow-all bench/ssmm-sanitize.ts
// Prints "ssmm sanitize OK" when every result matches; exits 1 otherwise.
import { openBackend } from "../lib/native/library.ts";
import { BackendTensor, HostTensor, randn, relativeError } from "../lib/tensor.ts";
import { SamoyedsParams, stackSamoyeds, toSamoyeds } from "../lib/formats/samoyeds.ts";
import { ssmm, ssmmGrouped, ssmmIndexErrors } from "../lib/kernels/ssmm.ts";
import { wgmmaBackendReason } from "../lib/kernels/ssmm_wgmma.ts";
import { interleaveGateUp } from "../lib/formats/gate_up.ts";

const cpu = openBackend("cpu"), cuda = openBackend("cuda");
let failed = 0;
function check(name: string, got: Float32Array, want: Float32Array, bound = 2e-3) {
  const err = relativeError(got, want);
  const ok = err <= bound;
  if (!ok) failed++;
  console.log(`${ok ? "ok  " : "FAIL"} ${name}: rel err ${err.toExponential(2)}`);
}
// tails everywhere: m not a multiple of the CTA rows, k % 64 == 32, n_sel not a multiple of 64, duplicates
const cases: { m: number; k: number; xRows: number; nSel: number; p: SamoyedsParams }[] = [
  { m: 258, k: 96, xRows: 37, nSel: 67, p: { V: 32, N: 1, M: 2 } },
  { m: 68, k: 128, xRows: 5, nSel: 1, p: { V: 64, N: 2, M: 4 } },
  { m: 132, k: 256, xRows: 20, nSel: 33, p: { V: 128, N: 1, M: 4 } },
];
let seed = 1;
for (const c of cases) {
  const W = HostTensor.fromF32(randn(c.m * c.k, seed++), [c.m, c.k], "f16");
  const X = HostTensor.fromF32(randn(c.xRows * c.k, seed++), [c.xRows, c.k], "f16");
  const idx = Int32Array.from({ length: c.nSel }, (_, j) => (j * 7 + 3) % c.xRows);
  const { weight } = toSamoyeds(W, c.p);
  const run = (b: typeof cpu, layout: "token" | "feature") => {
    using wb = weight.toBackend(b);
    using Xb = BackendTensor.from(b, X);
    using ib = BackendTensor.from(b, new HostTensor("i32", [c.nSel], idx));
    using Y = ssmm(b, wb, Xb, ib, { layout, epilogue: "silu" });
    return Y.toHost().data as Float32Array;
  };
  for (const layout of ["token", "feature"] as const) check(`ssmm ${JSON.stringify(c)} ${layout}`, run(cuda, layout), run(cpu, layout));
}
{
  const p = { V: 64, N: 1, M: 2 }, m = 130, k = 192, E = 3, xRows = 50;
  const experts = Array.from({ length: E }, (_, e) => toSamoyeds(HostTensor.fromF32(randn(m * k, 100 + e), [m, k], "f16"), p).weight);
  const X = HostTensor.fromF32(randn(xRows * k, 7), [xRows, k], "f16");
  const offsets = Int32Array.from([0, 70, 70, 71]);
  const loadIdx = Int32Array.from({ length: 71 }, (_, j) => (j * 5) % xRows);
  // the mma.sp kernel by name, and "auto" (the wgmma.sp kernel where the stack has its packed copy: sm_90)
  const run = (b: typeof cpu, mode: "compact" | "scatterAdd", kernel: "mma_sp" | "auto") => {
    using st = stackSamoyeds(b, experts, { wgmma: kernel === "auto" ? "auto" : false });
    using Xb = BackendTensor.from(b, X);
    using lb = BackendTensor.from(b, new HostTensor("i32", [71], loadIdx));
    using ob = BackendTensor.from(b, new HostTensor("i32", [E + 1], offsets));
    if (mode === "compact") {
      using Y = ssmmGrouped(b, st, Xb, lb, ob, 80, { kernel });
      return (Y.toHost().data as Float32Array).slice(0, 71 * m);
    }
    using Y = new BackendTensor(b, "f32", [xRows, m]).fill(0);
    ssmmGrouped(b, st, Xb, lb, ob, 80, { mode: "scatterAdd", storeIdx: lb, out: Y, kernel });
    return Y.toHost().data as Float32Array;
  };
  for (const kernel of ["mma_sp", "auto"] as const) {
    for (const mode of ["compact", "scatterAdd"] as const) check(`grouped ${kernel} ${mode}`, run(cuda, mode, kernel), run(cpu, mode, kernel));
  }
}
// The grouped SwiGLU epilogue (3 experts of a fused gate-up weight, I = 80 features: m = 160, a partial row tile) on
// one kernel, with the given per-expert selection counts, against the CPU backend.
function swigluCase(kernel: "mma_sp" | "wgmma_sp", counts: number[], yDtype: "f32" | "bf16", seed: number) {
  const p = { V: 64, N: 1, M: 2 }, I = 80, H = 128, xRows = 45, total = counts.reduce((a, b) => a + b, 0);
  const half = (rows: number, s: number) => HostTensor.fromF32(randn(rows * H, s, 0.1), [rows, H], "bf16");
  const experts = counts.map((_, e) => toSamoyeds(interleaveGateUp(half(I, seed + e), half(I, seed + 10 + e)), p).weight);
  const Xg = HostTensor.fromF32(randn(xRows * H, seed + 20), [xRows, H], "bf16");
  const offsets = Int32Array.from([0, ...counts.map((_, e) => counts.slice(0, e + 1).reduce((a, b) => a + b, 0))]);
  const loadIdx = Int32Array.from({ length: total }, (_, j) => (j * 7) % xRows);
  const run = (b: typeof cpu) => {
    using st = stackSamoyeds(b, experts, { wgmma: kernel === "wgmma_sp" ? "auto" : false });
    using Xb = BackendTensor.from(b, Xg);
    using lb = BackendTensor.from(b, new HostTensor("i32", [total], loadIdx));
    using ob = BackendTensor.from(b, new HostTensor("i32", [counts.length + 1], offsets));
    using Y = ssmmGrouped(b, st, Xb, lb, ob, total + 5, { epilogue: "swiglu", yDtype, kernel: b === cuda ? kernel : "mma_sp" });
    return Y.toHost().toF32().slice(0, total * I);
  };
  check(`${kernel} grouped SwiGLU, ${yDtype} rows`, run(cuda), run(cpu), yDtype === "f32" ? 2e-3 : 1e-2);
}
swigluCase("mma_sp", [0, 66, 1], "bf16", 400); // the mma.sp kernel's SwiGLU epilogue (1:2; session 10)
// the wgmma.sp kernel (sm_90): single launches (both layouts, SiLU, row scale, bf16 rows) and the grouped SwiGLU epilogue
const noWgmma = wgmmaBackendReason(cuda);
if (noWgmma) {
  console.log(`skip wgmma.sp cases: ${noWgmma}`);
} else {
  const p = { V: 64, N: 1, M: 2 }, m = 290, k = 192, xRows = 41, nSel = 133;
  const { weight } = toSamoyeds(HostTensor.fromF32(randn(m * k, 200), [m, k], "bf16"), p);
  const X = HostTensor.fromF32(randn(xRows * k, 201), [xRows, k], "bf16");
  const idx = Int32Array.from({ length: nSel }, (_, j) => (j * 11 + 1) % xRows);
  const scale = Float32Array.from({ length: nSel }, (_, j) => 0.5 + (j % 3));
  // each also with its 3 k-vectors in split-k pieces: 2 (a cluster pair, distributed shared memory), 3 (global
  // workspace); and with the mixed token-tile plan (auto:3: row tile 0 at 128 tokens, then row tile 1 at 64 in a
  // programmatic dependent launch; unsplit, the rule on 132 SMs runs all 64)
  for (const [split, tiles] of [["auto", "auto"], ["2", "auto"], ["3", "auto"], ["off", "auto:3"]]) for (const [layout, epilogue, yDtype] of [["token", "silu", "f32"], ["feature", "rowScale", "f32"], ["token", "none", "bf16"]] as const) {
    Deno.env.set("SAMOYEDS_WGMMA_SPLIT", split);
    Deno.env.set("SAMOYEDS_WGMMA_TILES", tiles);
    const run = (b: typeof cpu) => {
      using wb = weight.toBackend(b);
      using Xb = BackendTensor.from(b, X);
      using ib = BackendTensor.from(b, new HostTensor("i32", [nSel], idx));
      using sb = BackendTensor.from(b, new HostTensor("f32", [nSel], scale));
      using Y = ssmm(b, wb, Xb, ib, { layout, epilogue, yDtype, rowScale: sb, kernel: b === cuda ? "wgmma_sp" : "mma_sp" });
      return Y.toHost().toF32();
    };
    check(`wgmma.sp ssmm ${layout} ${epilogue} ${yDtype}, split ${split}, tiles ${tiles}`, run(cuda), run(cpu), yDtype === "f32" ? 2e-3 : 1e-2);
    Deno.env.delete("SAMOYEDS_WGMMA_SPLIT");
    Deno.env.delete("SAMOYEDS_WGMMA_TILES");
  }
  swigluCase("wgmma_sp", [60, 0, 1], "f32", 300);
  // persistent launches (wgmma_tiles.h; V = 128 for the grouped ones): 2 CTAs walk a single launch's 3 x 2 tiles, and
  // a grouped launch's tiles over ragged experts (an empty one, one of 130 = two 128-token tiles),
  // the stage ring running on across tiles and experts
  {
    const p128 = { V: 128, N: 1, M: 2 }, m = 700, k = 384, xRows = 90, nSel = 150;
    const { weight } = toSamoyeds(HostTensor.fromF32(randn(m * k, 500), [m, k], "bf16"), p128);
    const X = HostTensor.fromF32(randn(xRows * k, 501), [xRows, k], "bf16");
    const idx = Int32Array.from({ length: nSel }, (_, j) => (j * 13 + 5) % xRows);
    Deno.env.set("SAMOYEDS_WGMMA_PERSIST", "ctas:2");
    const single = (b: typeof cpu) => {
      using wb = weight.toBackend(b);
      using Xb = BackendTensor.from(b, X);
      using ib = BackendTensor.from(b, new HostTensor("i32", [nSel], idx));
      using Y = ssmm(b, wb, Xb, ib, { kernel: b === cuda ? "wgmma_sp" : "mma_sp" });
      return Y.toHost().toF32();
    };
    check("wgmma.sp ssmm, persistent (2 CTAs walk every tile)", single(cuda), single(cpu));
    Deno.env.delete("SAMOYEDS_WGMMA_PERSIST");
    const E = 4, counts = [130, 0, 7, 61], total = 198;
    const experts = Array.from({ length: E }, (_, e) => toSamoyeds(HostTensor.fromF32(randn(m * k, 510 + e), [m, k], "bf16"), p128).weight);
    const offsets = Int32Array.from([0, 130, 130, 137, 198]);
    const loadIdx = Int32Array.from({ length: total }, (_, j) => (j * 7 + 2) % xRows);
    for (const tiles of ["128", "64"]) {
      Deno.env.set("SAMOYEDS_WGMMA_PERSIST_GROUPED", "ctas:2");
      Deno.env.set("SAMOYEDS_WGMMA_TILES", tiles);
      const grouped = (b: typeof cpu, mode: "compact" | "scatterAdd") => {
        using st = stackSamoyeds(b, experts, { wgmma: b === cuda ? "auto" : false });
        using Xb = BackendTensor.from(b, X);
        using lb = BackendTensor.from(b, new HostTensor("i32", [total], loadIdx));
        using ob = BackendTensor.from(b, new HostTensor("i32", [E + 1], offsets));
        const kernel = b === cuda ? "wgmma_sp" : "mma_sp";
        if (mode === "compact") {
          using Y = ssmmGrouped(b, st, Xb, lb, ob, total + 9, { kernel });
          return (Y.toHost().data as Float32Array).slice(0, total * m);
        }
        using Y = new BackendTensor(b, "f32", [xRows, m]).fill(0);
        ssmmGrouped(b, st, Xb, lb, ob, total + 9, { mode: "scatterAdd", storeIdx: lb, out: Y, kernel });
        return Y.toHost().data as Float32Array;
      };
      for (const mode of ["compact", "scatterAdd"] as const) check(`wgmma.sp grouped ${mode}, persistent (2 CTAs), ${tiles}-token tiles`, grouped(cuda, mode), grouped(cpu, mode));
      Deno.env.delete("SAMOYEDS_WGMMA_PERSIST_GROUPED");
      Deno.env.delete("SAMOYEDS_WGMMA_TILES");
    }
  }
}
const bad = ssmmIndexErrors(cuda);
if (bad !== 0) {
  failed++;
  console.log(`FAIL device index errors: ${bad}`);
}
console.log(failed ? `ssmm sanitize: ${failed} FAILED` : "ssmm sanitize OK");
if (failed) Deno.exit(1);
