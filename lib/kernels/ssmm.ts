// SSMM: Y = X[tokenIdx] * W^T with W in the Samoyeds format, on a backend (CPU reference, CUDA mma.sp kernel, or the
// Hopper wgmma.sp kernel on the weight's packed copy), one weight (ssmm) or all experts' stacked weights (ssmmGrouped).
import { Backend } from "../native/library.ts";
import { BackendTensor, DTYPE_CODE, HalfDType, HostTensor } from "../tensor.ts";
import { SamoyedsParams, SamoyedsWeightOnBackend, samoyedsSizes } from "../formats/samoyeds.ts";
import {
  packWgmma, packWgmmaStacked, WgmmaPackedOnBackend, WgmmaStackedOnBackend, wgmmaStackedToBackend, wgmmaSupported, wgmmaToBackend,
  wgmmaUnsupportedReason,
} from "./ssmm_wgmma.ts";

export { wgmmaSupported, wgmmaUnsupportedReason };

/** "swiglu" (ssmmGrouped only): SiLU(gate) * up of a stacked gate-up weight in the interleaved row order of
 * lib/formats/gate_up.ts; Y rows then have m / 2 columns. The CPU backend, the wgmma.sp kernel and (1:2 only) the
 * mma.sp kernel implement it; swigluInKernel says where the MoE layer uses it. */
export type SsmmEpilogue = "none" | "silu" | "rowScale" | "swiglu";
const EPILOGUE_CODE: Record<SsmmEpilogue, number> = { none: 0, silu: 1, rowScale: 2, swiglu: 3 };

/**
 * Which CUDA kernel an SSMM call runs: "mma_sp" (sy_ssmm / sy_ssmm_grouped; on the CPU backend its reference),
 * "wgmma_sp" (sy_ssmm_wgmma / sy_ssmm_wgmma_grouped: sm_90 GPU, N=1 M=2, V in 32/64/128, k % 8 == 0, f32
 * accumulation; a TypeError naming the unmet condition elsewhere, the CPU backend included), or "auto" (default):
 * wgmma_sp when the weight has its packed copy and the call is supported, else mma_sp.
 */
export type SsmmKernel = "auto" | "mma_sp" | "wgmma_sp";

/** The kernel a call with `kernel` resolves to (throws the TypeError of a forced "wgmma_sp" that cannot run). */
function pickKernel(fn: string, w: { backend: Backend; params: { V: number; N: number; M: number }; k: number }, kernel: SsmmKernel,
  accum: "f32" | "f16", hasPacked: boolean): "mma_sp" | "wgmma_sp" {
  if (kernel === "mma_sp") return "mma_sp";
  if (kernel === "wgmma_sp") {
    const why = wgmmaUnsupportedReason(w, accum);
    if (why) throw new TypeError(`${fn}: kernel "wgmma_sp" cannot run here: ${why}. Use kernel "mma_sp" or "auto"`);
    return "wgmma_sp";
  }
  if (kernel !== "auto") throw new TypeError(`${fn}: kernel must be "auto", "mma_sp" or "wgmma_sp", got ${JSON.stringify(kernel)}`);
  return hasPacked && wgmmaSupported(w, accum) ? "wgmma_sp" : "mma_sp";
}

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
   * which kernel (SsmmKernel): "wgmma_sp" packs the weight on first use (prepareWgmma: a host round trip, so not
   * inside a graph capture); "auto" (default) uses wgmma_sp once the weight was prepared with prepareWgmma().
   */
  kernel?: SsmmKernel;
}

const wgmmaPacked = new WeakMap<SamoyedsWeightOnBackend, WgmmaPackedOnBackend>();

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
  const kernel = pickKernel("ssmm", w, opts.kernel ?? "auto", opts.accum ?? "f32", wgmmaPacked.has(w));
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
  if (kernel === "wgmma_sp") {
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
  /**
   * The copy packed for the wgmma.sp kernel (sy_ssmm_wgmma_grouped), with `indices` above: made by stackSamoyeds
   * (by default where the kernel can run), randomDeviceWeights, or prepareWgmmaStack; freed by releaseWgmmaStack
   * (and by the free() of stacks from stackSamoyeds and of MoE layer weights).
   */
  wgmma?: WgmmaStackedOnBackend;
}

/** Frees a stack's packed copy (if any) and forgets it. */
export function releaseWgmmaStack(w: StackedSamoyedsOnBackend): void {
  w.wgmma?.free();
  w.wgmma = undefined;
}

/**
 * Gives the stack its packed copy (once) from its own arrays: downloads them, packs each expert (packWgmma) and
 * uploads the concatenation. A host round trip: not inside a graph capture. Throws for params the packer refuses.
 */
export function prepareWgmmaStack(w: StackedSamoyedsOnBackend): WgmmaStackedOnBackend {
  if (w.wgmma) return w.wgmma;
  const sz = samoyedsSizes(w.m, w.k, w.params);
  const values = w.values.toHost().data, indices = w.indices.toHost().data, meta = w.meta.toHost().data;
  const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const vb = bytesOf(values), ib = bytesOf(indices), mb = bytesOf(meta);
  const slice = (b: Uint8Array, n: number, e: number) => new HostTensor("u8", [n], b.slice(e * n, (e + 1) * n));
  const experts = Array.from({ length: w.nExperts }, (_, e) => ({
    dtype: w.dtype, m: w.m, k: w.k, params: w.params,
    values: slice(vb, sz.values, e), indices: slice(ib, sz.indices, e), meta: slice(mb, sz.meta, e),
  }));
  w.wgmma = wgmmaStackedToBackend(packWgmmaStacked(experts), w.backend);
  return w.wgmma;
}

/** The kernel ssmmGrouped runs for this stack and options ("mma_sp" on the CPU backend means its reference). */
export function ssmmGroupedKernel(w: StackedSamoyedsOnBackend, kernel: SsmmKernel = "auto", accum: "f32" | "f16" = "f32"): "mma_sp" | "wgmma_sp" {
  return pickKernel("ssmmGrouped", w, kernel, accum, w.wgmma !== undefined);
}

/** Whether the MoE layer applies the "swiglu" epilogue in ssmmGrouped with this kernel choice (else: "none", then
 * sy_moe_silu_mul_pair): the CPU backend and the wgmma.sp kernel always, the mma.sp kernel for 1:2 row selection
 * (its epilogue passed tests/swiglu.test.ts on the H200, data/gpu-logs/gpu-run-dcccad9-swiglu-sanitize-h200.log). */
export function swigluInKernel(w: StackedSamoyedsOnBackend, kernel: SsmmKernel = "auto"): boolean {
  return w.backend.name === "cpu" || ssmmGroupedKernel(w, kernel) === "wgmma_sp" || mmaSpHasSwiglu(w.params);
}

/** Whether the CUDA mma.sp kernel has the SwiGLU epilogue for this format (1:2 row selection; sy_ssmm_grouped refuses
 * the others): with the wgmma.sp kernel, which has it too, every CUDA launch of such a stack can fuse SwiGLU. */
export function mmaSpHasSwiglu(p: SamoyedsParams): boolean {
  return p.N === 1 && p.M === 2;
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
  /**
   * which kernel (SsmmKernel): "auto" (default) runs sy_ssmm_wgmma_grouped when the stack has its packed copy
   * (w.wgmma) and the call is supported, else sy_ssmm_grouped; "wgmma_sp" without a packed copy makes it first
   * (prepareWgmmaStack: a host round trip, not inside a graph capture).
   */
  kernel?: SsmmKernel;
}

/**
 * Grouped SSMM over all experts in one launch. Selections of expert e: j in [offsets[e], offsets[e+1]), loading
 * X[loadIdx[j]]; loadIdx null: selection j loads row j (input rows already compact; no gather copy in the wgmma.sp
 * kernel; needs maxSelections <= X's rows). maxSelections bounds offsets[E] (sizes the grid; no host sync on offsets).
 */
export function ssmmGrouped(
  backend: Backend,
  w: StackedSamoyedsOnBackend,
  X: BackendTensor,
  loadIdx: BackendTensor<"i32"> | null,
  offsets: BackendTensor<"i32">,
  maxSelections: number,
  opts: SsmmGroupedOptions = {},
): BackendTensor {
  const mode = opts.mode ?? "compact";
  const yDtype = mode === "scatterAdd" ? "f32" : (opts.yDtype ?? "f32");
  if (w.backend !== backend) throw new TypeError(`ssmmGrouped: the weights live on the ${w.backend.name} backend, not ${backend.name}`);
  if (offsets.numel !== w.nExperts + 1) throw new TypeError(`ssmmGrouped: offsets must have ${w.nExperts + 1} entries, got ${offsets.numel}`);
  if (X.shape[1] !== w.k) throw new TypeError(`ssmmGrouped: X must be xRows x ${w.k}, got [${X.shape}]`);
  const kernel = ssmmGroupedKernel(w, opts.kernel ?? "auto", opts.accum ?? "f32");
  let Y: BackendTensor;
  if (mode === "scatterAdd") {
    if (!opts.out || !opts.storeIdx) throw new TypeError("ssmmGrouped: mode scatterAdd needs out (yRows x m f32) and storeIdx");
    Y = opts.out;
  } else {
    Y = opts.out ?? new BackendTensor(backend, yDtype, [maxSelections, opts.epilogue === "swiglu" ? w.m / 2 : w.m]);
  }
  const p = w.params;
  const tail = [
    X.ptr, X.shape[0], loadIdx?.ptr ?? null, offsets.ptr, maxSelections,
    Y.ptr, DTYPE_CODE[yDtype], mode === "compact" ? 0 : 1, opts.storeIdx?.ptr ?? null, mode === "compact" ? 0 : Y.shape[0],
    EPILOGUE_CODE[opts.epilogue ?? "none"], opts.rowScale?.ptr ?? null, opts.accum === "f16" ? 1 : 0,
  ] as const;
  if (kernel === "wgmma_sp") {
    const pw = prepareWgmmaStack(w);
    backend.call("sy_ssmm_wgmma_grouped", DTYPE_CODE[w.dtype], w.m, w.k, p.V, p.N, p.M, w.nExperts, pw.wvalues.ptr, w.indices.ptr, pw.wmeta.ptr, ...tail);
  } else {
    backend.call("sy_ssmm_grouped", DTYPE_CODE[w.dtype], w.m, w.k, p.V, p.N, p.M, w.nExperts, w.values.ptr, w.indices.ptr, w.meta.ptr, ...tail);
  }
  return Y;
}

/** Device-side index errors counted since the last call (CUDA; synchronizes). 0 on the CPU backend. */
export function ssmmIndexErrors(backend: Backend): number {
  const out = new Int32Array(1);
  backend.call("sy_ssmm_index_errors", out);
  return out[0];
}
