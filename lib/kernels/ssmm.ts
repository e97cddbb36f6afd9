// SSMM: Y = X[tokenIdx] * W^T with W in the Samoyeds format, on a backend (CPU reference or CUDA mma.sp kernel).
import { Backend, callJson } from "../native/library.ts";
import { BackendTensor, DTYPE_CODE, HalfDType } from "../tensor.ts";
import { SamoyedsWeightOnBackend } from "../formats/samoyeds.ts";
import { packWgmma, WgmmaPackedOnBackend, wgmmaToBackend } from "./ssmm_wgmma.ts";

export type SsmmEpilogue = "none" | "silu" | "rowScale";
const EPILOGUE_CODE: Record<SsmmEpilogue, number> = { none: 0, silu: 1, rowScale: 2 };

export interface SsmmOptions {
  /** "token" (default): Y is nSel x m; "feature": Y is m x nSel */
  layout?: "token" | "feature";
  /** output dtype: "f32" (default) or the operand dtype */
  yDtype?: "f32" | HalfDType;
  epilogue?: SsmmEpilogue;
  /** f32, one per selected token (epilogue "rowScale") */
  rowScale?: BackendTensor<"f32">;
  /** accumulation: "f32" (default) or "f16" (paper's; f16 operands only) */
  accum?: "f32" | "f16";
  /** write into this tensor instead of allocating */
  out?: BackendTensor;
  /**
   * which CUDA kernel: "mma_sp" (sy_ssmm), "wgmma_sp" (sy_ssmm_wgmma, sm_90 only; packs the weight for it on first
   * use, a host round trip, so not inside a graph capture), or "auto" (default): wgmma_sp when the weight was
   * prepared with prepareWgmma() and the call is supported there (sm_90, N=1 M=2, V in 32/64/128, k % 8 == 0,
   * f32 accumulation), else mma_sp. Ignored on the CPU backend.
   */
  kernel?: "auto" | "mma_sp" | "wgmma_sp";
}

const wgmmaPacked = new WeakMap<SamoyedsWeightOnBackend, WgmmaPackedOnBackend>();
const isSm90 = new WeakMap<Backend, boolean>();

/** Whether sy_ssmm_wgmma can run this weight (and accumulation) on this backend. */
export function wgmmaSupported(w: SamoyedsWeightOnBackend, accum: "f32" | "f16" = "f32"): boolean {
  const b = w.backend;
  if (b.name !== "cuda") return false;
  if (!isSm90.has(b)) {
    const info = callJson(b, "sy_device_info", 0) as { cc_major?: number; cc_minor?: number };
    isSm90.set(b, info.cc_major === 9 && info.cc_minor === 0);
  }
  const p = w.params;
  return isSm90.get(b)! && p.N === 1 && p.M === 2 && [32, 64, 128].includes(p.V) && w.k % 8 === 0 && accum === "f32";
}

/** Frees the packed copy made by prepareWgmma (w.free() does not). */
export function releaseWgmma(w: SamoyedsWeightOnBackend): void {
  wgmmaPacked.get(w)?.free();
  wgmmaPacked.delete(w);
}

/** Packs (once; cached with the weight) the weight for the wgmma.sp kernel, so that kernel "auto" uses it. */
export function prepareWgmma(w: SamoyedsWeightOnBackend): WgmmaPackedOnBackend {
  let packed = wgmmaPacked.get(w);
  if (!packed) {
    const host = packWgmma({ dtype: w.dtype, m: w.m, k: w.k, params: w.params, values: w.values.toHost(), indices: w.indices.toHost(), meta: w.meta.toHost() });
    packed = wgmmaToBackend(host, w.backend);
    wgmmaPacked.set(w, packed);
  }
  return packed;
}

function sameBackend(b: Backend, t: BackendTensor | undefined, what: string) {
  if (t && t.backend !== b) throw new TypeError(`ssmm: ${what} lives on the ${t.backend.name} backend, the weight on ${b.name}`);
}

/** Y = X[tokenIdx] * W^T. X: xRows x k token-major (all tokens), tokenIdx: nSel int32. */
export function ssmm(
  backend: Backend,
  w: SamoyedsWeightOnBackend,
  X: BackendTensor,
  tokenIdx: BackendTensor<"i32">,
  opts: SsmmOptions = {},
): BackendTensor {
  for (const [t, what] of [[X, "X"], [tokenIdx, "tokenIdx"], [opts.rowScale, "rowScale"], [opts.out, "out"]] as const) {
    sameBackend(backend, t as BackendTensor | undefined, what);
  }
  if (w.backend !== backend) throw new TypeError(`ssmm: the weight lives on the ${w.backend.name} backend, not ${backend.name}`);
  if (X.dtype !== w.dtype) throw new TypeError(`ssmm: X dtype ${X.dtype} differs from the weight's ${w.dtype}`);
  if (X.shape.length !== 2 || X.shape[1] !== w.k) throw new TypeError(`ssmm: X must be xRows x ${w.k}, got [${X.shape}]`);
  if (tokenIdx.dtype !== "i32") throw new TypeError(`ssmm: tokenIdx must be i32, got ${tokenIdx.dtype}`);
  const nSel = tokenIdx.numel;
  const layout = opts.layout ?? "token";
  const yDtype = opts.yDtype ?? "f32";
  const shape = layout === "token" ? [nSel, w.m] : [w.m, nSel];
  const Y = opts.out ?? new BackendTensor(backend, yDtype, shape);
  if (Y.dtype !== yDtype || Y.numel !== nSel * w.m) throw new TypeError(`ssmm: out must be ${yDtype} with ${nSel * w.m} elements`);
  const epilogue = opts.epilogue ?? "none";
  if (epilogue === "rowScale" && (!opts.rowScale || opts.rowScale.numel < nSel)) {
    throw new TypeError(`ssmm: epilogue "rowScale" needs rowScale (f32, ${nSel} values)`);
  }
  const p = w.params;
  const kernel = opts.kernel ?? "auto";
  const accum = opts.accum ?? "f32";
  const useWgmma = backend.name === "cuda" &&
    (kernel === "wgmma_sp" || (kernel === "auto" && wgmmaPacked.has(w) && wgmmaSupported(w, accum)));
  if (useWgmma) {
    if (!wgmmaSupported(w, accum)) {
      throw new TypeError(`ssmm: kernel "wgmma_sp" needs an sm_90 GPU, N=1 M=2, V in 32/64/128, k % 8 == 0 and f32 accumulation`);
    }
    const pw = prepareWgmma(w);
    backend.call(
      "sy_ssmm_wgmma",
      DTYPE_CODE[w.dtype], w.m, w.k, p.V, p.N, p.M,
      pw.wvalues.ptr, pw.indices.ptr, pw.wmeta.ptr,
      X.ptr, X.shape[0], tokenIdx.ptr, nSel,
      Y.ptr, DTYPE_CODE[yDtype], layout === "token" ? 0 : 1, EPILOGUE_CODE[epilogue], opts.rowScale?.ptr ?? null, 0,
    );
    return Y;
  }
  backend.call(
    "sy_ssmm",
    DTYPE_CODE[w.dtype], w.m, w.k, p.V, p.N, p.M,
    w.values.ptr, w.indices.ptr, w.meta.ptr,
    X.ptr, X.shape[0], tokenIdx.ptr, nSel,
    Y.ptr, DTYPE_CODE[yDtype], layout === "token" ? 0 : 1, EPILOGUE_CODE[epilogue], opts.rowScale?.ptr ?? null,
    opts.accum === "f16" ? 1 : 0,
  );
  return Y;
}

/** Experts' weights stacked: expert e's arrays start at e * (per-expert bytes). */
export interface StackedSamoyedsOnBackend {
  readonly backend: Backend;
  readonly dtype: HalfDType;
  readonly m: number;
  readonly k: number;
  readonly nExperts: number;
  readonly params: { V: number; N: number; M: number };
  readonly values: BackendTensor;
  readonly indices: BackendTensor;
  readonly meta: BackendTensor;
}

export interface SsmmGroupedOptions {
  /** "compact" (default): Y row j; "scatterAdd": atomically add f32 row j into Y[storeIdx[j]] */
  mode?: "compact" | "scatterAdd";
  storeIdx?: BackendTensor<"i32">;
  /** Y for scatterAdd (yRows x m f32); required in that mode (it is added into, not cleared) */
  out?: BackendTensor;
  yDtype?: "f32" | HalfDType;
  epilogue?: SsmmEpilogue;
  rowScale?: BackendTensor<"f32">;
  accum?: "f32" | "f16";
}

/**
 * Grouped SSMM over all experts in one launch. Selections of expert e: j in [offsets[e], offsets[e+1]), loading
 * X[loadIdx[j]]. maxSelections bounds offsets[E] (sizes the grid; no host sync on offsets).
 */
export function ssmmGrouped(
  backend: Backend,
  w: StackedSamoyedsOnBackend,
  X: BackendTensor,
  loadIdx: BackendTensor<"i32">,
  offsets: BackendTensor<"i32">,
  maxSelections: number,
  opts: SsmmGroupedOptions = {},
): BackendTensor {
  const mode = opts.mode ?? "compact";
  const yDtype = mode === "scatterAdd" ? "f32" : (opts.yDtype ?? "f32");
  if (offsets.numel !== w.nExperts + 1) throw new TypeError(`ssmmGrouped: offsets must have ${w.nExperts + 1} entries, got ${offsets.numel}`);
  if (X.shape[1] !== w.k) throw new TypeError(`ssmmGrouped: X must be xRows x ${w.k}, got [${X.shape}]`);
  let Y: BackendTensor;
  if (mode === "scatterAdd") {
    if (!opts.out || !opts.storeIdx) throw new TypeError("ssmmGrouped: mode scatterAdd needs out (yRows x m f32) and storeIdx");
    Y = opts.out;
  } else {
    Y = opts.out ?? new BackendTensor(backend, yDtype, [maxSelections, w.m]);
  }
  const p = w.params;
  backend.call(
    "sy_ssmm_grouped",
    DTYPE_CODE[w.dtype], w.m, w.k, p.V, p.N, p.M, w.nExperts,
    w.values.ptr, w.indices.ptr, w.meta.ptr,
    X.ptr, X.shape[0], loadIdx.ptr, offsets.ptr, maxSelections,
    Y.ptr, DTYPE_CODE[yDtype], mode === "compact" ? 0 : 1, opts.storeIdx?.ptr ?? null, mode === "compact" ? 0 : Y.shape[0],
    EPILOGUE_CODE[opts.epilogue ?? "none"], opts.rowScale?.ptr ?? null, opts.accum === "f16" ? 1 : 0,
  );
  return Y;
}

/** Device-side index errors counted since the last call (CUDA; synchronizes). 0 on the CPU backend. */
export function ssmmIndexErrors(backend: Backend): number {
  const out = new Int32Array(1);
  backend.call("sy_ssmm_index_errors", out);
  return out[0];
}
