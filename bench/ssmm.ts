// SSMM (mma.sp) performance at the paper's Figure 12 shapes, equal work vs cuBLAS dense on the gathered tokens.
// GPU only. Writes $SAMOYEDS_RESULTS_DIR/ssmm.json (default data/). Run:  deno run --allow-all bench/ssmm.ts [--quick]
// Timing: CUDA graph replay (sy_graph_time), 3 warm-up replays, median of iterations.
// Dense-equivalent TFLOP/s = 2*m*k*n_sel / time for every kernel (the sparse one counts the zeros it skips).
// Also spot-checks each shape's result against cuBLAS on the decoded weight (relative error recorded).
// --one m k [n_sel]: two untimed bf16 calls on that shape (default 1024 of 16384 tokens, the kernel-level count), for
// ncu -k regex:ssmm_kernel (scripts/gpu-stages/ssmm-ncu.sh); writes nothing.
import { join } from "node:path";
import { callJson, openBackend } from "../lib/native/library.ts";
import { BackendTensor, DTYPE_CODE, HalfDType, HostTensor, randn, relativeError, rng } from "../lib/tensor.ts";
import { decodeSamoyeds, toSamoyeds } from "../lib/formats/samoyeds.ts";
import { ssmm } from "../lib/kernels/ssmm.ts";
import { repoRoot, sourceCommit } from "../lib/native/build.ts";
import { timeGraph as timeCapturedGraph } from "../lib/timing.ts";

const quick = Deno.args.includes("--quick");
const cuda = openBackend("cuda");
const device = callJson(cuda, "sy_device_info", 0);
const build = callJson(cuda, "sy_build_info");
const NSEL = 4096, TOKENS = 16384;
const SHAPES: [number, number][] = [[1408, 2048], [5760, 2304], [12288, 3072], [14336, 4096], [16384, 6144]];

function timeGraph(fn: () => void, iters = quick ? 5 : 30): number {
  return timeCapturedGraph(cuda, fn, { iters }).ms;
}
async function sassCount(): Promise<Record<string, number> | string> {
  const lib = join(repoRoot, "build", "lib", "libsamoyeds_cuda.so");
  for (const tool of ["cuobjdump", "/usr/local/cuda/bin/cuobjdump"]) {
    try {
      const all = await new Deno.Command(tool, { args: ["--dump-sass", lib], stdout: "piped", stderr: "piped" }).output();
      const text = new TextDecoder().decode(all.stdout);
      return { hmma_sp: (text.match(/HMMA\.SP/g) ?? []).length, ldsm: (text.match(/LDSM/g) ?? []).length, ldgsts: (text.match(/LDGSTS/g) ?? []).length };
    } catch { /* try next */ }
  }
  return "cuobjdump not found";
}

const oneAt = Deno.args.indexOf("--one");
if (oneAt >= 0) {
  const [m, k, nsel] = [1, 2, 3].map((i) => Number(Deno.args[oneAt + i] ?? 1024));
  const { weight } = toSamoyeds(HostTensor.fromF32(randn(m * k, m + k, 0.05), [m, k], "bf16"), { V: 128, N: 1, M: 2 });
  const r = rng(m);
  const idx = Int32Array.from({ length: nsel }, () => Math.floor(r() * TOKENS)).sort();
  using wb = weight.toBackend(cuda);
  using Xb = BackendTensor.from(cuda, HostTensor.fromF32(randn(TOKENS * k, 7, 1), [TOKENS, k], "bf16"));
  using ib = BackendTensor.from(cuda, new HostTensor("i32", [nsel], idx));
  using Yh = new BackendTensor(cuda, "bf16", [nsel, m]);
  for (let i = 0; i < 2; i++) ssmm(cuda, wb, Xb, ib, { out: Yh, yDtype: "bf16", kernel: "mma_sp" });
  cuda.call("sy_synchronize");
  Deno.exit(0);
}

const started = new Date().toISOString();
const rows: Record<string, unknown>[] = [];
for (const dtype of ["f16", "bf16"] as HalfDType[]) {
  for (const [m, k] of quick ? SHAPES.slice(0, 2) : SHAPES) {
    const { weight } = toSamoyeds(HostTensor.fromF32(randn(m * k, m + k, 0.05), [m, k], dtype), { V: 128, N: 1, M: 2 });
    const X = HostTensor.fromF32(randn(TOKENS * k, 7, 1), [TOKENS, k], dtype);
    const r = rng(m);
    const idx = Int32Array.from({ length: NSEL }, () => Math.floor(r() * TOKENS));
    using wb = weight.toBackend(cuda);
    using Xb = BackendTensor.from(cuda, X);
    using ib = BackendTensor.from(cuda, new HostTensor("i32", [NSEL], idx));
    using Y = new BackendTensor(cuda, "f32", [NSEL, m]);
    using Yh = new BackendTensor(cuda, dtype, [NSEL, m]);
    // reference: cuBLAS on the decoded weight and gathered tokens (equal work)
    const Xg = new HostTensor(dtype, [NSEL, k]);
    for (let j = 0; j < NSEL; j++) (Xg.data as Uint16Array).set((X.data as Uint16Array).subarray(idx[j] * k, idx[j] * k + k), j * k);
    using Xgb = BackendTensor.from(cuda, Xg);
    using Wd = BackendTensor.from(cuda, decodeSamoyeds(weight));
    using Yref = new BackendTensor(cuda, "f32", [NSEL, m]);
    using Yd = new BackendTensor(cuda, dtype, [NSEL, m]);
    using Yall = new BackendTensor(cuda, dtype, [TOKENS, m]);
    const dc = DTYPE_CODE[dtype];
    cuda.call("sy_gemm", dc, NSEL, m, k, Xgb.ptr, Wd.ptr, Yref.ptr, 2, 0);
    ssmm(cuda, wb, Xb, ib, { out: Y });
    const err = relativeError(Y.toHost().data as Float32Array, Yref.toHost().data as Float32Array);
    const flops = 2 * m * k * NSEL;
    const t: Record<string, number> = {};
    t.ssmm_f32acc_f32out = timeGraph(() => ssmm(cuda, wb, Xb, ib, { out: Y }));
    t.ssmm_f32acc_halfout = timeGraph(() => ssmm(cuda, wb, Xb, ib, { out: Yh, yDtype: dtype }));
    // the 1:2 routing A/B (native/src/common/mma_sp_routing.h): the swaps of the kernel before the running sums
    Deno.env.set("SAMOYEDS_MMA_SP_ROUTING", "swap");
    t.ssmm_swap_routing_halfout = timeGraph(() => ssmm(cuda, wb, Xb, ib, { out: Yh, yDtype: dtype }));
    Deno.env.delete("SAMOYEDS_MMA_SP_ROUTING");
    // the pipeline-stage A/B: 64 original k a stage (sessions 1-10) against the default 128
    Deno.env.set("SAMOYEDS_MMA_SP_STAGE_K", "64");
    t.ssmm_stage64_halfout = timeGraph(() => ssmm(cuda, wb, Xb, ib, { out: Yh, yDtype: dtype }));
    Deno.env.delete("SAMOYEDS_MMA_SP_STAGE_K");
    t.ssmm_f32acc_halfout_feature = timeGraph(() => ssmm(cuda, wb, Xb, ib, { out: Yh, yDtype: dtype, layout: "feature" }));
    if (dtype === "f16") t.ssmm_f16acc_halfout = timeGraph(() => ssmm(cuda, wb, Xb, ib, { out: Yh, yDtype: dtype, accum: "f16" }));
    t.cublas_gathered_halfout = timeGraph(() => cuda.call("sy_gemm", dc, NSEL, m, k, Xgb.ptr, Wd.ptr, Yd.ptr, dc, 0));
    t.cublas_all_tokens_halfout = timeGraph(() => cuda.call("sy_gemm", dc, TOKENS, m, k, Xb.ptr, Wd.ptr, Yall.ptr, dc, 0));
    const tflops = Object.fromEntries(Object.entries(t).filter(([n]) => !n.includes("all_tokens")).map(([n, ms]) => [n, flops / ms / 1e9]));
    const row = { dtype, m, k, n_sel: NSEL, tokens: TOKENS, rel_err_vs_cublas: err, ms: t, tflops_dense_equiv: tflops,
      speedup_equal_work: t.cublas_gathered_halfout / t.ssmm_f32acc_halfout, speedup_paper_protocol: t.cublas_all_tokens_halfout / t.ssmm_f32acc_halfout };
    rows.push(row);
    console.log(JSON.stringify(row));
  }
}
const commit = sourceCommit();
const result = {
  provenance: { stage: "ssmm", command: "deno run --allow-all bench/ssmm.ts" + (quick ? " --quick" : ""), device, build, commit, started, finished: new Date().toISOString(), timing: "CUDA graph replay, median after 3 warm-up replays" },
  protocols: { equal_work: "cuBLAS gets the same n_sel tokens pre-gathered (gather excluded)", paper: "cuBLAS multiplies all 16384 tokens, SSMM selects 4096" },
  V: 128, N: 1, M: 2, sass: await sassCount(), rows,
};
const dir = Deno.env.get("SAMOYEDS_RESULTS_DIR") ?? join(repoRoot, "data");
await Deno.mkdir(dir, { recursive: true });
await Deno.writeTextFile(join(dir, "ssmm.json"), JSON.stringify(result, null, 1));
console.log(`wrote ${join(dir, "ssmm.json")}`);
