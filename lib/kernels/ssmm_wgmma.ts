// Hopper wgmma.sp SSMM (issue 5): offline packing of a Samoyeds weight for the sm_90a kernel and the call wrapper.
// The packed arrays replace values/meta of the format (indices are the format's own); see
// native/src/common/wgmma_layout.h for the layout and native/src/cuda/ssmm_wgmma_kernel.cuh for the design.
import { Backend, callJson, openBackend } from "../native/library.ts";
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

// ---- where the path can run: the one statement of its constraints (ssmm(), ssmmGrouped(), the stacks, the MoE layer) ----
const deviceReason = new WeakMap<Backend, string | undefined>();

/** Why the wgmma.sp kernels cannot run on this backend (undefined: they can; the CUDA backend on an sm_90 GPU). */
export function wgmmaBackendReason(b: Backend): string | undefined {
  if (b.name !== "cuda") return `the ${b.name} backend has no wgmma.sp kernel (it needs the CUDA backend on an sm_90 GPU)`;
  if (!deviceReason.has(b)) {
    const info = callJson(b, "sy_device_info", 0) as { cc_major?: number; cc_minor?: number };
    deviceReason.set(b, info.cc_major === 9 && info.cc_minor === 0 ? undefined
      : `wgmma.sp needs an sm_90 GPU (H100/H200), this device is sm_${info.cc_major}${info.cc_minor}`);
  }
  return deviceReason.get(b);
}

/** Why sy_ssmm_wgmma / sy_ssmm_wgmma_grouped cannot run a weight (or a stack of experts' weights) of these params with
 * this accumulation here; undefined when they can: sm_90 GPU, N=1 M=2, V in 32/64/128, k % 8 == 0, f32 accumulation. */
export function wgmmaUnsupportedReason(w: { backend: Backend; params: WgmmaParams; k: number }, accum: "f32" | "f16" = "f32"): string | undefined {
  const p = w.params;
  if (p.N !== 1 || p.M !== 2) return `wgmma.sp implements N=1 M=2 only, got N=${p.N} M=${p.M}`;
  if (![32, 64, 128].includes(p.V)) return `wgmma.sp needs V in 32/64/128, got V=${p.V}`;
  if (w.k % 8 !== 0) return `wgmma.sp needs k % 8 == 0, got k=${w.k}`;
  if (accum !== "f32") return `wgmma.sp accumulates in f32 only, got accum=${accum}`;
  return wgmmaBackendReason(w.backend);
}

/** One variant of the wgmma.sp SSMM kernel (native/src/common/wgmma_variants.h): how it gathers the token tile, issues
 * and routes. SAMOYEDS_WGMMA_VARIANT = name picks it per call. Variants of the same routing give bit-identical results.
 * Without it the default runs, with its 64-token sibling where 128-token tiles would leave SMs idle (the token-tile
 * plan, native/src/common/wgmma_tiles.h; SAMOYEDS_WGMMA_TILES = auto, 128, 64 or auto:W overrides it), and with
 * persistent CTAs where a single launch has more tiles than SMs (same header; SAMOYEDS_WGMMA_PERSIST = on, off, ctas:C;
 * grouped launches of the default variant at V = 128 under SAMOYEDS_WGMMA_PERSIST_GROUPED, the same values, on by default). */
export interface WgmmaVariant {
  name: string;
  gather: number;
  cluster: number;
  schedule: number;
  routing: number;
  /** selected tokens per CTA tile (the wgmma N): 128, or 64 for twice the CTAs of a small grid */
  tile_n: number;
  default: boolean;
  description: string;
}

/** The variant table, from the library (the same in both backends). */
export function wgmmaVariants(b: Backend): WgmmaVariant[] {
  return callJson(b, "sy_wgmma_variants") as unknown as WgmmaVariant[];
}

/** Whether the wgmma.sp kernels can run this weight (or stack) with this accumulation here. */
export function wgmmaSupported(w: { backend: Backend; params: WgmmaParams; k: number }, accum: "f32" | "f16" = "f32"): boolean {
  return wgmmaUnsupportedReason(w, accum) === undefined;
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

/** Experts' packed weights stacked for sy_ssmm_wgmma_grouped: expert e's packed values / meta start at e * bytes.values /
 * e * bytes.meta (bytes: sy_samoyeds_wgmma_sizes of one expert); the indices are the format stack's own. */
export interface WgmmaStackedHost {
  wvalues: HostTensor<"u8">;
  wmeta: HostTensor<"u8">;
  bytes: { values: number; meta: number };
}
export interface WgmmaStackedOnBackend {
  /** packed values (random-weight stacks hold them as the operand dtype; the bytes are what counts) */
  wvalues: BackendTensor;
  wmeta: BackendTensor;
  bytes: { values: number; meta: number };
  free(): void;
}

type FormatArrays = { dtype: HalfDType; m: number; k: number; params: WgmmaParams; values: HostTensor; indices: HostTensor; meta: HostTensor };

/** Packs each expert (packWgmma of its canonical arrays) and concatenates: the packed copy of a stack. */
export function packWgmmaStacked(experts: readonly FormatArrays[]): WgmmaStackedHost {
  if (experts.length === 0) throw new RangeError("packWgmmaStacked: no experts");
  const e0 = experts[0];
  const bytes = wgmmaPackedSizes(e0.m, e0.k, e0.params);
  const wvalues = new HostTensor("u8", [experts.length * bytes.values]), wmeta = new HostTensor("u8", [experts.length * bytes.meta]);
  experts.forEach((e, i) => {
    const p = e.params, q = e0.params;
    if (e.dtype !== e0.dtype || e.m !== e0.m || e.k !== e0.k || p.V !== q.V || p.N !== q.N || p.M !== q.M) {
      throw new TypeError("packWgmmaStacked: every expert must have the same dtype, shape and params");
    }
    const one = packWgmma(e);
    wvalues.data.set(one.wvalues.data, i * bytes.values);
    wmeta.data.set(one.wmeta.data, i * bytes.meta);
  });
  return { wvalues, wmeta, bytes };
}

export function wgmmaStackedToBackend(h: WgmmaStackedHost, b: Backend): WgmmaStackedOnBackend {
  const wvalues = BackendTensor.from(b, h.wvalues);
  let wmeta: BackendTensor;
  try {
    wmeta = BackendTensor.from(b, h.wmeta);
  } catch (e) {
    wvalues.free();
    throw e;
  }
  return { wvalues, wmeta, bytes: { ...h.bytes }, free: () => (wvalues.free(), wmeta.free()) };
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
