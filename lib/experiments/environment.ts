// The environment experiment (notebooks/00-environment.ipynb, bench/env.ts): which backend and device are in use,
// a small GEMM through FFI checked against a TS reference, and a dense GEMM throughput sweep (TFLOP/s vs size).
// GPU: cuBLAS timed as a CUDA graph (median of replays); CPU backend: the C++ reference timed with
// performance.now() at small sizes (it is a correctness reference, not a fast GEMM).
import { BackendName, openBackend } from "../native/library.ts";
import { BackendTensor, HalfDType, HostTensor, randn, relativeError } from "../tensor.ts";
import { gemm } from "../kernels/gemm.ts";
import { timeOp } from "../timing.ts";
import { deviceLabel, provenance, Provenance, Row, writeResults } from "../data.ts";

export interface GemmCheck {
  dtype: HalfDType;
  n: number;
  m: number;
  k: number;
  relative_error: number;
  tolerance: number;
  ok: boolean;
}

export interface SweepRow extends Row {
  dtype: HalfDType;
  /** square problem: n = m = k = size */
  size: number;
  ms: number;
  p10_ms: number;
  p90_ms: number;
  tflops: number;
  iters: number;
  method: string;
}

export interface EnvironmentResult {
  provenance: Provenance;
  device_label: string;
  check: GemmCheck[];
  rows: SweepRow[];
}

export const SWEEP_SIZES: Record<BackendName, number[]> = {
  cuda: [256, 512, 1024, 2048, 4096, 6144, 8192, 12288, 16384],
  cpu: [32, 64, 128, 192, 256],
};

/** TS reference Y = X W^T in f64 over the already-rounded 16-bit operands. */
function referenceGemm(X: Float32Array, W: Float32Array, n: number, m: number, k: number): Float32Array {
  const Y = new Float32Array(n * m);
  for (let t = 0; t < n; t++) {
    for (let r = 0; r < m; r++) {
      let acc = 0;
      for (let i = 0; i < k; i++) acc += X[t * k + i] * W[r * k + i];
      Y[t * m + r] = acc;
    }
  }
  return Y;
}

/** A small GEMM on `backend` checked against the TS reference (odd sizes on purpose). */
export function checkGemm(backend: BackendName, dtype: HalfDType, n = 37, m = 53, k = 96): GemmCheck {
  const b = openBackend(backend);
  const X = HostTensor.fromF32(randn(n * k, 11), [n, k], dtype);
  const W = HostTensor.fromF32(randn(m * k, 12, 0.5), [m, k], dtype);
  using x = BackendTensor.from(b, X);
  using w = BackendTensor.from(b, W);
  using y = gemm(x, w);
  const err = relativeError(y.toHost().data as Float32Array, referenceGemm(X.toF32(), W.toF32(), n, m, k));
  const tolerance = 1e-3;
  return { dtype, n, m, k, relative_error: err, tolerance, ok: err <= tolerance };
}

const TILE = 1 << 20;
/** A size x size random tensor on the backend: one random tile uploaded, then replicated on the backend (cheap setup
 * for the large sizes; random rather than constant data so the GPU's power draw is realistic). */
function randomOnBackend(backend: BackendName, dtype: HalfDType, size: number, seed: number): BackendTensor {
  const b = openBackend(backend);
  const total = size * size, tile = Math.min(total, TILE);
  const t = new BackendTensor(b, dtype, [size, size]);
  const host = HostTensor.fromF32(randn(tile, seed * 7919 + size, 0.1), [tile], dtype);
  b.call("sy_copy_to_backend", t.ptr, host.data, BigInt(tile * 2));
  for (let done = tile; done < total; done += tile) {
    const n = Math.min(tile, total - done);
    const dst = Deno.UnsafePointer.offset(t.ptr as Deno.PointerObject, done * 2);
    b.call("sy_copy_within", dst, t.ptr, BigInt(n * 2));
  }
  return t;
}

/** Square GEMM throughput sweep on `backend`. */
export function gemmSweep(backend: BackendName, sizes = SWEEP_SIZES[backend], dtypes: HalfDType[] = ["f16", "bf16"],
  log: (s: string) => void = () => {}): SweepRow[] {
  const b = openBackend(backend);
  const rows: SweepRow[] = [];
  for (const dtype of dtypes) {
    for (const size of sizes) {
      using x = randomOnBackend(backend, dtype, size, 1);
      using w = randomOnBackend(backend, dtype, size, 2);
      using y = new BackendTensor(b, "f32", [size, size]);
      const t = timeOp(b, () => gemm(x, w, { out: y }), backend === "cuda" ? { warmup: 5, iters: 30 } : { warmup: 1, iters: 3 });
      const tflops = (2 * size ** 3) / (t.ms * 1e-3) / 1e12;
      rows.push({ dtype, size, ms: t.ms, p10_ms: t.p10, p90_ms: t.p90, tflops, iters: t.iters, method: t.method });
      log(`  ${backend} ${dtype} n=m=k=${size}: ${t.ms.toFixed(4)} ms, ${tflops.toFixed(tflops < 1 ? 4 : 1)} TFLOP/s`);
    }
  }
  return rows;
}

/** Runs the whole experiment and writes data/environment-<backend>.{json,csv} (or into $SAMOYEDS_RESULTS_DIR). */
export function runEnvironment(backend: BackendName, opts: { sizes?: number[]; dir?: string; log?: (s: string) => void } = {}):
  { result: EnvironmentResult; files: string[] } {
  const log = opts.log ?? ((s: string) => console.log(s));
  const prov = provenance(backend, {
    command: `environment experiment (lib/experiments/environment.ts), backend ${backend}`,
  });
  const label = deviceLabel(prov.device);
  log(`environment: ${backend} backend on ${label}`);
  const check = (["f16", "bf16"] as const).map((dt) => checkGemm(backend, dt));
  for (const c of check) log(`  GEMM check ${c.dtype} ${c.n}x${c.m}x${c.k}: relative error ${c.relative_error.toExponential(2)} (${c.ok ? "ok" : "FAILED"})`);
  const rows = gemmSweep(backend, opts.sizes, ["f16", "bf16"], log);
  const timing = backend === "cuda"
    ? "cuBLAS via sy_gemm captured in a CUDA graph; median of 30 replays after 5 warm-up replays (sy_graph_time)"
    : "CPU reference sy_gemm timed with performance.now(); median of 3 runs after 1 warm-up";
  const result: EnvironmentResult = { provenance: { ...prov, timing } as Provenance, device_label: label, check, rows };
  const w = writeResults(`environment-${backend}`, result.provenance, { device_label: label, check, timing }, { rows, dir: opts.dir });
  if (check.some((c) => !c.ok)) throw new Error(`environment: GEMM check failed on ${backend}: ${JSON.stringify(check)}`);
  return { result, files: [w.json, w.csv!] };
}
