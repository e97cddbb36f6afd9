// Hopper wgmma.sp SSMM (issue 5): offline packing of a Samoyeds weight for the sm_90a kernel and the call wrapper.
// The packed arrays replace values/meta of the format (indices are the format's own); see
// native/src/common/wgmma_layout.h for the layout and native/src/cuda/ssmm_wgmma.cu for the design.
import { Backend, openBackend } from "../native/library.ts";
import { BackendTensor, DTYPE_CODE, HalfDType, HostTensor } from "../tensor.ts";

export interface WgmmaParams {
  V: number;
  N: number;
  M: number;
}

/** A Samoyeds weight packed for sy_ssmm_wgmma (host memory). */
export interface WgmmaPackedWeight {
  dtype: HalfDType;
  m: number;
  k: number;
  params: WgmmaParams;
  wvalues: HostTensor<"u8">;
  indices: HostTensor<"u8">;
  wmeta: HostTensor<"u8">;
}

export interface WgmmaPackedOnBackend {
  dtype: HalfDType;
  m: number;
  k: number;
  params: WgmmaParams;
  wvalues: BackendTensor<"u8">;
  indices: BackendTensor<"u8">;
  wmeta: BackendTensor<"u8">;
  free(): void;
}

export function wgmmaPackedSizes(m: number, k: number, p: WgmmaParams): { values: number; meta: number } {
  const out = new BigUint64Array(2);
  openBackend("cpu").call("sy_samoyeds_wgmma_sizes", m, k, p.V, p.N, p.M, out);
  return { values: Number(out[0]), meta: Number(out[1]) };
}

/** Packs from a dense weight already in the pattern (m x k) and the format's indices ((m/2) x ceil(k/V) u8). */
export function packWgmmaFromDense(W: HostTensor, indices: HostTensor<"u8">, p: WgmmaParams): WgmmaPackedWeight {
  if (W.dtype !== "f16" && W.dtype !== "bf16") throw new TypeError(`packWgmmaFromDense: W must be f16 or bf16, got ${W.dtype}`);
  const [m, k] = W.shape;
  const sz = wgmmaPackedSizes(m, k, p);
  const wvalues = new HostTensor("u8", [sz.values]);
  const wmeta = new HostTensor("u8", [sz.meta]);
  openBackend("cpu").call("sy_samoyeds_wgmma_pack_dense", DTYPE_CODE[W.dtype], m, k, p.V, p.N, p.M, W.data, indices.data, wvalues.data, wmeta.data);
  return { dtype: W.dtype, m, k, params: p, wvalues, indices, wmeta };
}

/** Packs from the format's canonical arrays (values, indices, meta of sy_samoyeds_encode). */
export function packWgmma(w: { dtype: HalfDType; m: number; k: number; params: WgmmaParams; values: HostTensor; indices: HostTensor; meta: HostTensor }): WgmmaPackedWeight {
  const sz = wgmmaPackedSizes(w.m, w.k, w.params);
  const wvalues = new HostTensor("u8", [sz.values]);
  const wmeta = new HostTensor("u8", [sz.meta]);
  const p = w.params;
  openBackend("cpu").call("sy_samoyeds_wgmma_pack", DTYPE_CODE[w.dtype], w.m, w.k, p.V, p.N, p.M, w.values.data, w.indices.data, w.meta.data, wvalues.data, wmeta.data);
  const indices = new HostTensor("u8", w.indices.shape, new Uint8Array(w.indices.data.buffer, w.indices.data.byteOffset, w.indices.data.byteLength));
  return { dtype: w.dtype, m: w.m, k: w.k, params: p, wvalues, indices, wmeta };
}

export function wgmmaToBackend(w: WgmmaPackedWeight, b: Backend | "cpu" | "cuda"): WgmmaPackedOnBackend {
  const wvalues = BackendTensor.from(b, w.wvalues), indices = BackendTensor.from(b, w.indices), wmeta = BackendTensor.from(b, w.wmeta);
  return {
    dtype: w.dtype, m: w.m, k: w.k, params: w.params, wvalues, indices, wmeta,
    free() {
      wvalues.free();
      indices.free();
      wmeta.free();
    },
  };
}

export interface SsmmWgmmaOptions {
  yDtype?: "f32" | HalfDType;
  yLayout?: 0 | 1;
  epilogue?: 0 | 1 | 2;
  rowScale?: BackendTensor<"f32">;
  /** CPU backend only: run the emulation of the kernel's data path (sy_ssmm_wgmma_emulate). */
  emulate?: boolean;
}

/** Y = X[tokenIdx] * W^T with the wgmma.sp kernel (CUDA, sm_90) or its CPU emulation. */
export function ssmmWgmma(backend: Backend, w: WgmmaPackedOnBackend, X: BackendTensor, tokenIdx: BackendTensor<"i32">, opts: SsmmWgmmaOptions = {}): BackendTensor {
  const nSel = tokenIdx.numel, yDtype = opts.yDtype ?? "f32", yLayout = opts.yLayout ?? 0;
  const Y = new BackendTensor(backend, yDtype, yLayout === 0 ? [nSel, w.m] : [w.m, nSel]);
  const p = w.params;
  const name = opts.emulate ? "sy_ssmm_wgmma_emulate" : "sy_ssmm_wgmma";
  try {
    backend.call(name, DTYPE_CODE[w.dtype], w.m, w.k, p.V, p.N, p.M, w.wvalues.ptr, w.indices.ptr, w.wmeta.ptr,
      X.ptr, X.shape[0], tokenIdx.ptr, nSel, Y.ptr, DTYPE_CODE[yDtype], yLayout, opts.epilogue ?? 0, opts.rowScale?.ptr ?? null, 0);
  } catch (e) {
    Y.free();
    throw e;
  }
  return Y;
}
