// Baselines of the kernel-level evaluation: VENOM-style V:2:8 weight format + mma.sp SpMM on pre-gathered tokens,
// the token gather, and cuSPARSELt 2:4 with a cached plan (see the "Baselines" section of samoyeds.h).
import { Backend, callJson, openBackend } from "../native/library.ts";
import { BackendTensor, DTYPE_CODE, HalfDType, HostTensor } from "../tensor.ts";

export type VnmV = 64 | 128;

export interface VnmBytes { values: number; meta: number; colmask: number; total: number }

export function vnmSizes(m: number, k: number, V: VnmV): VnmBytes {
  const out = new BigUint64Array(3);
  openBackend("cpu").call("sy_vnm_sizes", m, k, V, out);
  const [values, meta, colmask] = [...out].map(Number);
  return { values, meta, colmask, total: values + meta + colmask };
}

/** A weight in the V:2:8 format (host arrays). */
export class VnmWeight {
  constructor(
    readonly dtype: HalfDType,
    readonly m: number,
    readonly k: number,
    readonly V: VnmV,
    readonly values: HostTensor<"u8">,
    readonly meta: HostTensor<"u8">,
    readonly colmask: HostTensor<"u8">,
  ) {}
  bytes(): VnmBytes {
    return vnmSizes(this.m, this.k, this.V);
  }
  toBackend(b: Backend | "cpu" | "cuda"): VnmWeightOnBackend {
    const backend = typeof b === "string" ? openBackend(b) : b;
    return {
      backend, dtype: this.dtype, m: this.m, k: this.k, V: this.V,
      values: BackendTensor.from(backend, this.values),
      meta: BackendTensor.from(backend, this.meta),
      colmask: BackendTensor.from(backend, this.colmask),
      free() {
        this.values.free();
        this.meta.free();
        this.colmask.free();
      },
    };
  }
}

export interface VnmWeightOnBackend {
  backend: Backend;
  dtype: HalfDType;
  m: number;
  k: number;
  V: VnmV;
  values: BackendTensor<"u8">;
  meta: BackendTensor<"u8">;
  colmask: BackendTensor<"u8">;
  free(): void;
}

function checkWeight(W: HostTensor, fn: string): { m: number; k: number; dtype: HalfDType } {
  if (W.dtype !== "f16" && W.dtype !== "bf16") throw new TypeError(`${fn}: W must be f16 or bf16, got ${W.dtype}`);
  if (W.shape.length !== 2) throw new TypeError(`${fn}: W must be 2-D (m x k), got [${W.shape}]`);
  return { m: W.shape[0], k: W.shape[1], dtype: W.dtype };
}

/** Encodes a weight already in the V:2:8 pattern (throws SamoyedsError "pattern" otherwise). */
export function encodeVnm(W: HostTensor, V: VnmV = 128): VnmWeight {
  const { m, k, dtype } = checkWeight(W, "encodeVnm");
  const s = vnmSizes(m, k, V);
  const values = new HostTensor("u8", [s.values]), meta = new HostTensor("u8", [s.meta]), colmask = new HostTensor("u8", [s.colmask]);
  openBackend("cpu").call("sy_vnm_encode", DTYPE_CODE[dtype], m, k, V, W.data, values.data, meta.data, colmask.data);
  return new VnmWeight(dtype, m, k, V, values, meta, colmask);
}

export function decodeVnm(w: VnmWeight): HostTensor {
  const out = new HostTensor(w.dtype, [w.m, w.k]);
  openBackend("cpu").call("sy_vnm_decode", DTYPE_CODE[w.dtype], w.m, w.k, w.V, w.values.data, w.meta.data, w.colmask.data, out.data);
  return out;
}

/** Magnitude pruning to V:2:8; keptEnergy = sum of kept w^2 / sum of w^2. */
export function pruneToVnm(W: HostTensor, V: VnmV = 128): { pruned: HostTensor; keptEnergy: number } {
  const { m, k, dtype } = checkWeight(W, "pruneToVnm");
  const pruned = new HostTensor(dtype, [m, k]);
  const energy = new Float64Array(1);
  openBackend("cpu").call("sy_vnm_prune", DTYPE_CODE[dtype], m, k, V, W.data, pruned.data, energy);
  return { pruned, keptEnergy: energy[0] };
}

/** Y (n x m token-major) = Xg (n x k, pre-gathered tokens) * W^T. */
export function vnmSpmm(
  w: VnmWeightOnBackend,
  Xg: BackendTensor,
  opts: { yDtype?: "f32" | HalfDType; out?: BackendTensor } = {},
): BackendTensor {
  if (Xg.backend !== w.backend) throw new TypeError(`vnmSpmm: X is on ${Xg.backend.name}, the weight on ${w.backend.name}`);
  if (Xg.dtype !== w.dtype || Xg.shape.length !== 2 || Xg.shape[1] !== w.k) {
    throw new TypeError(`vnmSpmm: X must be ${w.dtype} n x ${w.k}, got ${Xg.dtype} [${Xg.shape}]`);
  }
  const n = Xg.shape[0], yDtype = opts.yDtype ?? "f32";
  const Y = opts.out ?? new BackendTensor(w.backend, yDtype, [n, w.m]);
  if (Y.dtype !== yDtype || Y.numel !== n * w.m) throw new TypeError(`vnmSpmm: out must be ${yDtype} with ${n * w.m} elements`);
  w.backend.call(
    "sy_vnm_spmm", DTYPE_CODE[w.dtype], w.m, w.k, w.V, w.values.ptr, w.meta.ptr, w.colmask.ptr, Xg.ptr, n, Y.ptr, DTYPE_CODE[yDtype],
  );
  return Y;
}

/** Xg[j] = X[idx[j]]. */
export function gatherRows(X: BackendTensor, idx: BackendTensor<"i32">, out?: BackendTensor): BackendTensor {
  const b = X.backend;
  if (idx.backend !== b) throw new TypeError("gatherRows: X and idx live on different backends");
  if (X.shape.length !== 2) throw new TypeError(`gatherRows: X must be 2-D, got [${X.shape}]`);
  const n = idx.numel, width = X.shape[1];
  const Xg = out ?? new BackendTensor(b, X.dtype, [n, width]);
  if (Xg.dtype !== X.dtype || Xg.numel !== n * width) throw new TypeError(`gatherRows: out must be ${X.dtype} ${n} x ${width}`);
  b.call("sy_gather_rows", DTYPE_CODE[X.dtype], n, width, X.ptr, X.shape[0], idx.ptr, Xg.ptr);
  return Xg;
}

/** library: the file loaded; version: cuSPARSELt major.minor.patch ("unknown" before 0.3); layout: how W, X, Y were
 * described to the library (the first it accepted, see native/src/cuda/cusparselt.cu). */
export interface SpltInfo {
  library: string;
  version: string;
  layout: string;
  alg_id: number;
  workspace_bytes: number;
  compressed_bytes: number;
  m: number;
  k: number;
  n: number;
}

/** cuSPARSELt 2:4 plan for Y (n x m, dtype) = X (n x k) * W^T, built once (prune/compress/search), then `matmul`. */
export class CusparseLtPlan {
  #plan: Deno.PointerValue;
  readonly info: SpltInfo;
  private constructor(readonly backend: Backend, readonly dtype: HalfDType, readonly m: number, readonly k: number, readonly n: number, plan: Deno.PointerValue) {
    this.#plan = plan;
    this.info = callJson(backend, "sy_splt_info", plan) as unknown as SpltInfo;
  }
  /** W: m x k on the backend (k % 4 == 0). prune: prune a copy to 2:4 along k, keeping the 2 largest |w| of each 4
   * (else W must be 2:4 along k: SamoyedsError status 7). prunedOut receives the weight used. */
  static create(W: BackendTensor, n: number, opts: { prune?: boolean; prunedOut?: BackendTensor } = {}): CusparseLtPlan {
    if (W.dtype !== "f16" && W.dtype !== "bf16") throw new TypeError(`CusparseLtPlan: W must be f16 or bf16, got ${W.dtype}`);
    const [m, k] = W.shape;
    const out = new BigUint64Array(1);
    W.backend.call("sy_splt_create", DTYPE_CODE[W.dtype], m, k, n, W.ptr, opts.prune ? 1 : 0, opts.prunedOut?.ptr ?? null, out);
    return new CusparseLtPlan(W.backend, W.dtype, m, k, n, Deno.UnsafePointer.create(out[0]));
  }
  matmul(X: BackendTensor, Y: BackendTensor): void {
    if (this.#plan === null) throw new TypeError("CusparseLtPlan used after destroy()");
    if (X.numel !== this.n * this.k || Y.numel !== this.n * this.m || X.dtype !== this.dtype || Y.dtype !== this.dtype) {
      throw new TypeError(`CusparseLtPlan.matmul: X must be ${this.dtype} ${this.n} x ${this.k}, Y ${this.dtype} ${this.n} x ${this.m}`);
    }
    this.backend.call("sy_splt_matmul", this.#plan, X.ptr, Y.ptr);
  }
  destroy(): void {
    if (this.#plan !== null) this.backend.call("sy_splt_destroy", this.#plan);
    this.#plan = null;
  }
  [Symbol.dispose](): void {
    this.destroy();
  }
}
