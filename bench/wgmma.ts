// Benchmark stage of the Hopper wgmma.sp SSMM (issue 5). GPU only (sm_90). Writes $SAMOYEDS_RESULTS_DIR/wgmma.json
// (default data/). Run:  deno run --allow-all bench/wgmma.ts [--quick | --peaks-only]
// Measures, with CUDA-graph replay timing (sy_graph_time, median):
//  * instruction peaks: wgmma.sp m64n256k32 and dense wgmma m64n256k16 (sy_wgmma_peak), device-memory bandwidth
//    (sy_copy_within) -> the roofline's ceilings; the N = 128 / 64 instructions and the k-loop structure probes
//    (kinds 2-9) beside them;
//  * Figure 12 shapes (m = expert intermediate, k = hidden) with n_sel = 4096 selected of 16384 tokens, and the
//    Figure 13 sweeps (m, k, n_sel in 256..16384, the other two at 4096): sy_ssmm_wgmma (this path), sy_ssmm
//    (mma.sp path, if it runs), cuBLAS dense sy_gemm on the gathered tokens (equal work) and on all tokens of the
//    paper's protocol (n = 4 * n_sel... see "protocols" in the JSON);
//  * SASS: counts the sparse GMMA instructions in build/lib/libsamoyeds_cuda.so (cuobjdump).
// Dense-equivalent TFLOP/s = 2*m*k*n / time for every kernel (the sparse ones count the zeros they skip).
import { join } from "node:path";
import { callJson, openBackend } from "../lib/native/library.ts";
import { BackendTensor, DTYPE_CODE, HostTensor, randn, relativeError, rng } from "../lib/tensor.ts";
import { encodeSamoyeds, pruneToSamoyeds } from "../lib/formats/samoyeds.ts";
import { packWgmma, wgmmaToBackend } from "../lib/kernels/ssmm_wgmma.ts";
import { repoRoot, sourceCommit } from "../lib/native/build.ts";
import { timeGraph as timeCapturedGraph } from "../lib/timing.ts";

const quick = Deno.args.includes("--quick");
const cuda = openBackend("cuda");
const device = callJson(cuda, "sy_device_info", 0);
const build = callJson(cuda, "sy_build_info");
const dtype = "bf16" as const;
const V = 128, NSEL = 4096, TOKENS = 16384;

/** Median ms of the ops enqueued by fn, captured into a CUDA graph (lib/timing.ts). */
function timeGraph(fn: () => void, iters = quick ? 5 : 20): number {
  return timeCapturedGraph(cuda, fn, { iters }).ms;
}

async function sassCheck() {
  const lib = join(repoRoot, "build", "lib", "libsamoyeds_cuda.so");
  for (const tool of ["cuobjdump", "/usr/local/cuda/bin/cuobjdump"]) {
    try {
      const r = await new Deno.Command(tool, { args: ["--dump-sass", lib], stdout: "piped", stderr: "piped" }).output();
      if (!r.success) continue;
      const lines = new TextDecoder().decode(r.stdout).split("\n").filter((l) => /GMMA/.test(l));
      const sparse = lines.filter((l) => /\.SP\b|\bSP\b|\.SPARSE/i.test(l));
      return { tool, gmma_lines: lines.length, sparse_gmma_lines: sparse.length, examples: [...new Set(sparse.map((l) => l.trim().replace(/^\/\*[0-9a-f]+\*\/\s*/, "").split(" ")[0]))].slice(0, 8), all_gmma_opcodes: [...new Set(lines.map((l) => (l.match(/[A-Z]*GMMA[.\w]*/) ?? [""])[0]))].slice(0, 12) };
    } catch { /* try next */ }
  }
  return { error: "cuobjdump not found" };
}

function peaks() {
  const ms = new Float32Array(1), flops = new Float64Array(1);
  const out: Record<string, number> = {};
  for (const [kind, name] of [[0, "wgmma_sp_m64n256k32"], [1, "wgmma_dense_m64n256k16"]] as const) {
    cuda.call("sy_wgmma_peak", kind, quick ? 4096 : 65536, 0, ms, flops);
    out[name + "_tflops"] = flops[0] / (ms[0] * 1e-3) / 1e12;
  }
  // the N of the SSMM kernel's tiles (128, 64), and every kind on random operands (power-limited clock)
  for (const [kind, name] of [[2, "wgmma_sp_m64n128k32"], [3, "wgmma_sp_m64n64k32"]] as const) {
    cuda.call("sy_wgmma_peak", kind, quick ? 4096 : 65536, 0, ms, flops);
    out[name + "_tflops"] = flops[0] / (ms[0] * 1e-3) / 1e12;
  }
  for (const [kind, name] of [[0, "wgmma_sp_m64n256k32"], [1, "wgmma_dense_m64n256k16"], [2, "wgmma_sp_m64n128k32"], [3, "wgmma_sp_m64n64k32"]] as const) {
    cuda.call("sy_wgmma_peak", kind, quick ? 4096 : 65536, 1, ms, flops);
    out[name + "_random_tflops"] = flops[0] / (ms[0] * 1e-3) / 1e12;
  }
  // the SSMM k-loop's structure on the same operands, random data (sy_wgmma_peak kinds 4-9): chains of 4 wgmma.sp
  // into T, then T routed into two accumulator sets; what the routing costs before any memory traffic
  for (const [kind, name] of [[4, "loop_n128_routed"], [5, "loop_n128_routed_pingpong"], [6, "loop_n64_routed_pingpong"],
    [7, "loop_n64_two_t"], [8, "loop_n96_routed_pingpong"], [9, "loop_n96_two_t"]] as const) {
    cuda.call("sy_wgmma_peak", kind, quick ? 4096 : 65536, 1, ms, flops);
    out[name + "_random_tflops"] = flops[0] / (ms[0] * 1e-3) / 1e12;
  }
  // device-memory bandwidth: a 1 GiB copy reads and writes 1 GiB each
  const bytes = 1 << 30;
  const a = new BackendTensor(cuda, "u8", [bytes]), b = new BackendTensor(cuda, "u8", [bytes]);
  const t = timeGraph(() => cuda.call("sy_copy_within", b.ptr, a.ptr, BigInt(bytes)));
  out.copy_bandwidth_gbs = (2 * bytes) / (t * 1e-3) / 1e9;
  a.free();
  b.free();
  return out;
}

interface Point { m: number; k: number; n_sel: number; kernel: string; ms: number; tflops_dense_eq: number; bytes: number; note?: string }

function measureShape(m: number, k: number, nSel: number, seed: number, withPaper: boolean): Point[] {
  const points: Point[] = [];
  const flops = 2 * m * k * nSel;
  // weight: random dense pruned to the pattern, then encoded (mma.sp path) and packed (wgmma path)
  const { pruned } = pruneToSamoyeds(HostTensor.fromF32(randn(m * k, seed, 0.05), [m, k], dtype), { V, N: 1, M: 2 });
  const weight = encodeSamoyeds(pruned, { V, N: 1, M: 2 });
  const packed = packWgmma(weight);
  const tokens = Math.max(TOKENS, nSel);
  const X = BackendTensor.from(cuda, HostTensor.fromF32(randn(tokens * k, seed + 1), [tokens, k], dtype));
  const r = rng(seed + 2);
  const idx = Int32Array.from({ length: nSel }, () => Math.floor(r() * tokens)).sort();
  const tok = BackendTensor.from(cuda, new HostTensor("i32", [nSel], idx));
  const Y = new BackendTensor(cuda, "f32", [Math.max(nSel, tokens), m]);
  const wb = wgmmaToBackend(packed, cuda);
  const w = weight.toBackend(cuda);
  const Wd = BackendTensor.from(cuda, pruned);
  const Xg = new BackendTensor(cuda, dtype, [nSel, k]);
  // real (random) data for the dense baselines: zeros would flatter them (less power, higher clocks)
  cuda.call("sy_copy_within", Xg.ptr, X.ptr, BigInt(nSel * k * 2));
  const ssmmBytes = packed.wvalues.bytes + packed.wmeta.bytes + packed.indices.bytes + nSel * k * 2 + nSel * m * 4;
  const call = (name: "sy_ssmm_wgmma" | "sy_ssmm", n: number, values: BackendTensor, meta: BackendTensor) =>
    cuda.call(name, DTYPE_CODE[dtype], m, k, V, 1, 2, values.ptr, wb.indices.ptr, meta.ptr, X.ptr, tokens, tok.ptr, n, Y.ptr, DTYPE_CODE.f32, 0, 0, null, 0);
  try {
    const t = timeGraph(() => call("sy_ssmm_wgmma", nSel, wb.wvalues, wb.wmeta));
    points.push({ m, k, n_sel: nSel, kernel: "wgmma_sp (ours)", ms: t, tflops_dense_eq: flops / (t * 1e-3) / 1e12, bytes: ssmmBytes });
  } catch (e) {
    points.push({ m, k, n_sel: nSel, kernel: "wgmma_sp (ours)", ms: NaN, tflops_dense_eq: NaN, bytes: ssmmBytes, note: String(e) });
  }
  try {
    const t = timeGraph(() => cuda.call("sy_ssmm", DTYPE_CODE[dtype], m, k, V, 1, 2, w.values.ptr, w.indices.ptr, w.meta.ptr, X.ptr, tokens, tok.ptr, nSel, Y.ptr, DTYPE_CODE.f32, 0, 0, null, 0));
    points.push({ m, k, n_sel: nSel, kernel: "mma_sp (ours, sy_ssmm)", ms: t, tflops_dense_eq: flops / (t * 1e-3) / 1e12, bytes: w.values.bytes + w.meta.bytes + w.indices.bytes + nSel * k * 2 + nSel * m * 4 });
  } catch (e) {
    points.push({ m, k, n_sel: nSel, kernel: "mma_sp (ours, sy_ssmm)", ms: NaN, tflops_dense_eq: NaN, bytes: 0, note: String(e) });
  }
  // cuBLAS dense on the gathered tokens (equal work; gather excluded)
  const t = timeGraph(() => cuda.call("sy_gemm", DTYPE_CODE[dtype], nSel, m, k, Xg.ptr, Wd.ptr, Y.ptr, DTYPE_CODE.f32, 0));
  points.push({ m, k, n_sel: nSel, kernel: "cublas_dense (gathered tokens)", ms: t, tflops_dense_eq: flops / (t * 1e-3) / 1e12, bytes: m * k * 2 + nSel * k * 2 + nSel * m * 4 });
  // cuSPARSELt 2:4 (baselines engineer's sy_splt_*, cached plan + searched algorithm) on the gathered tokens, if
  // present. The Samoyeds-pruned weight is 2:4 along k (dropped vectors are all-zero groups), so no re-pruning.
  // deno-lint-ignore no-explicit-any
  const dyn = cuda as any;
  if (dyn.symbols.sy_splt_create) {
    const Yh = new BackendTensor(cuda, dtype, [nSel, m]);
    try {
      const plan = new BigUint64Array(1);
      dyn.call("sy_splt_create", DTYPE_CODE[dtype], m, k, nSel, Wd.ptr, 0, null, plan);
      const pp = Deno.UnsafePointer.create(plan[0]);
      try {
        const ts = timeGraph(() => dyn.call("sy_splt_matmul", pp, Xg.ptr, Yh.ptr));
        points.push({ m, k, n_sel: nSel, kernel: "cusparselt_2:4 (gathered tokens)", ms: ts, tflops_dense_eq: flops / (ts * 1e-3) / 1e12, bytes: m * k + m * k / 8 + nSel * k * 2 + nSel * m * 2 });
      } finally {
        dyn.call("sy_splt_destroy", pp);
      }
    } catch (e) {
      points.push({ m, k, n_sel: nSel, kernel: "cusparselt_2:4 (gathered tokens)", ms: NaN, tflops_dense_eq: NaN, bytes: 0, note: String(e) });
    } finally {
      Yh.free();
    }
  }
  if (withPaper) {
    // guard: the wgmma.sp result on tokens 0..nSel-1 against cuBLAS on the same (pruned) weight and tokens
    const iota = BackendTensor.from(cuda, new HostTensor("i32", [nSel], Int32Array.from({ length: nSel }, (_, i) => i)));
    const Y1 = new BackendTensor(cuda, "f32", [nSel, m]), Y2 = new BackendTensor(cuda, "f32", [nSel, m]);
    try {
      cuda.call("sy_ssmm_wgmma", DTYPE_CODE[dtype], m, k, V, 1, 2, wb.wvalues.ptr, wb.indices.ptr, wb.wmeta.ptr, X.ptr, tokens, iota.ptr, nSel, Y1.ptr, DTYPE_CODE.f32, 0, 0, null, 0);
      cuda.call("sy_gemm", DTYPE_CODE[dtype], nSel, m, k, Xg.ptr, Wd.ptr, Y2.ptr, DTYPE_CODE.f32, 0);
      const err = relativeError(Y1.toHost().data as Float32Array, Y2.toHost().data as Float32Array);
      points[0].note = `relative error vs cuBLAS on the same weight: ${err.toExponential(2)}`;
      (points[0] as Point & { rel_err_vs_cublas?: number }).rel_err_vs_cublas = err;
    } catch (e) {
      points[0].note = `check failed: ${e}`;
    } finally {
      iota.free();
      Y1.free();
      Y2.free();
    }
    // paper's protocol: the baseline multiplies all n = 4 * n_sel tokens, Samoyeds only the n_sel routed ones
    const tAll = timeGraph(() => cuda.call("sy_gemm", DTYPE_CODE[dtype], tokens, m, k, X.ptr, Wd.ptr, Y.ptr, DTYPE_CODE.f32, 0));
    points.push({ m, k, n_sel: tokens, kernel: "cublas_dense (all tokens, paper protocol)", ms: tAll, tflops_dense_eq: (2 * m * k * tokens) / (tAll * 1e-3) / 1e12, bytes: 0 });
  }
  for (const t of [X, tok, Y, Wd, Xg]) t.free();
  wb.free();
  w.free();
  return points;
}

const started = new Date().toISOString();
// (not for --peaks-only: the stage took 166 s in its first run, 9d24c0f, for kernels of milliseconds; cuobjdump over the
// whole 56 MB library, which then failed, is the likely cause: not timed)
const peaksOnly = Deno.args.includes("--peaks-only");
const sass = peaksOnly ? { skipped: "--peaks-only" } : await sassCheck();
console.log("SASS:", JSON.stringify(sass));
const peak = peaks();
console.log("peaks:", JSON.stringify(peak));
if (peaksOnly) {
  // the instruction peaks alone -> wgmma-peaks.json (stage wgmma-peaks, a few seconds)
  const dir = Deno.env.get("SAMOYEDS_RESULTS_DIR") ?? join(repoRoot, "data");
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(join(dir, "wgmma-peaks.json"), JSON.stringify({
    provenance: { stage: "wgmma-peaks", command: "deno run --allow-all bench/wgmma.ts --peaks-only", device, build, commit: sourceCommit(), started, finished: new Date().toISOString(), timing: "CUDA events around one launch after a warm-up launch (sy_wgmma_peak)" },
    description: "instruction peaks of wgmma (dense-equivalent TFLOP/s, one CTA of 2 warpgroups per SM, operands in shared memory): zero operands and random ones",
    sass, peaks: peak,
  }, null, 1));
  Deno.exit(0);
}
const fig12Shapes: [string, number, number][] = [
  ["Qwen1.5-MoE / DeepSeek-MoE", 1408, 2048],
  ["MiniCPM-MoE", 5760, 2304],
  ["OpenMoE-34B", 12288, 3072],
  ["Mixtral-8x7B", 14336, 4096],
  ["Mixtral-8x22B", 16384, 6144],
];
const fig12: (Point & { model: string })[] = [];
for (const [i, [model, m, k]] of fig12Shapes.entries()) {
  if (quick && i > 1) break;
  for (const p of measureShape(m, k, NSEL, 10 + i, true)) {
    fig12.push({ model, ...p });
    console.log(model, p.kernel, p.ms.toFixed(4), "ms", p.tflops_dense_eq.toFixed(1), "TFLOP/s", p.note ?? "");
  }
}
const sweepValues = quick ? [256, 4096] : [256, 512, 1024, 2048, 4096, 8192, 16384];
const sweeps: Record<string, Point[]> = { m: [], k: [], n: [] };
for (const v of sweepValues) {
  sweeps.m.push(...measureShape(v, 4096, 4096, 100 + v, false));
  sweeps.k.push(...measureShape(4096, v, 4096, 200 + v, false));
  sweeps.n.push(...measureShape(4096, 4096, v, 300 + v, false));
  console.log("sweep point", v, "done");
}
const commit = sourceCommit();
const result = {
  provenance: { stage: "wgmma", command: "deno run --allow-all bench/wgmma.ts" + (quick ? " --quick" : ""), device, build, commit, started, finished: new Date().toISOString(), timing: "CUDA graph replay, median of iterations after 3 warm-up replays" },
  protocols: {
    equal_work: "every kernel multiplies the same n_sel selected tokens; cuBLAS gets them pre-gathered (gather time excluded)",
    paper: "cuBLAS multiplies all 16384 tokens while the SSMM kernels select n_sel = 4096 of them (compare ms directly)",
  },
  dtype, V, n_sel: NSEL, tokens: TOKENS,
  sass, peaks: peak, fig12, sweeps,
};
const dir = Deno.env.get("SAMOYEDS_RESULTS_DIR") ?? join(repoRoot, "data");
await Deno.mkdir(dir, { recursive: true });
await Deno.writeTextFile(join(dir, "wgmma.json"), JSON.stringify(result, null, 1));
console.log(`wrote ${join(dir, "wgmma.json")}`);
