// The Samoyeds weight format (N:M row-vector selection x 2:4 along k), in TypeScript over the native encoder.
// Layout of the three arrays: see the "Samoyeds format" section of native/include/samoyeds.h.
import { Backend, openBackend } from "../native/library.ts";
import { BackendTensor, DTYPE_CODE, HalfDType, HostTensor } from "../tensor.ts";
import type { StackedSamoyedsOnBackend } from "../kernels/ssmm.ts";
import { packWgmmaStacked, wgmmaStackedToBackend, wgmmaSupported } from "../kernels/ssmm_wgmma.ts";

export interface SamoyedsParams {
  /** k-vector length: 32, 64 or 128 (paper: 128) */
  V: number;
  /** kept row-vectors per group (paper: 1) */
  N: number;
  /** rows per group (paper: 2) */
  M: number;
}
export const PAPER_PARAMS: SamoyedsParams = { V: 128, N: 1, M: 2 };

export interface SamoyedsBytes {
  values: number;
  indices: number;
  meta: number;
  total: number;
}

/** Byte sizes of the three arrays (validates the shape: m % M == 0, k % V == 0). */
export function samoyedsSizes(m: number, k: number, p: SamoyedsParams): SamoyedsBytes {
  const out = new BigUint64Array(3);
  openBackend("cpu").call("sy_samoyeds_sizes", m, k, p.V, p.N, p.M, out);
  const [values, indices, meta] = [Number(out[0]), Number(out[1]), Number(out[2])];
  return { values, indices, meta, total: values + indices + meta };
}

/** Density of the kept weights: N/M * 1/2. */
export function samoyedsDensity(p: SamoyedsParams): number {
  return (p.N / p.M) * 0.5;
}

/** The weight uploaded to a backend (for the CUDA backend: device memory). */
export interface SamoyedsWeightOnBackend {
  readonly backend: Backend;
  readonly dtype: HalfDType;
  readonly m: number;
  readonly k: number;
  readonly params: SamoyedsParams;
  readonly values: BackendTensor;
  readonly indices: BackendTensor<"u8">;
  readonly meta: BackendTensor<"u32">;
  free(): void;
  [Symbol.dispose](): void;
}

export class SamoyedsWeight {
  constructor(
    readonly dtype: HalfDType,
    readonly m: number,
    readonly k: number,
    readonly params: SamoyedsParams,
    /** (m*N/M) x (k/2) condensed 2:4-compressed values */
    readonly values: HostTensor,
    /** (m*N/M) x (k/V) row choice within each group */
    readonly indices: HostTensor<"u8">,
    /** mma.sp metadata words, kernel layout */
    readonly meta: HostTensor<"u32">,
  ) {}
  get condensedRows(): number {
    return (this.m / this.params.M) * this.params.N;
  }
  bytes(): SamoyedsBytes {
    const values = this.values.bytes, indices = this.indices.bytes, meta = this.meta.bytes;
    return { values, indices, meta, total: values + indices + meta };
  }
  /** Bytes of the dense 16-bit weight this replaces. */
  denseBytes(): number {
    return this.m * this.k * 2;
  }
  toBackend(backend: Backend | "cpu" | "cuda"): SamoyedsWeightOnBackend {
    const b = typeof backend === "string" ? openBackend(backend) : backend;
    const values = BackendTensor.from(b, this.values);
    const indices = BackendTensor.from(b, this.indices);
    const meta = BackendTensor.from(b, this.meta);
    const free = () => {
      values.free();
      indices.free();
      meta.free();
    };
    return { backend: b, dtype: this.dtype, m: this.m, k: this.k, params: { ...this.params }, values, indices, meta, free, [Symbol.dispose]: free };
  }
}

function checkWeight(W: HostTensor, fn: string): { dtype: HalfDType; m: number; k: number } {
  if (W.dtype !== "f16" && W.dtype !== "bf16") throw new TypeError(`${fn}: W must be f16 or bf16, got ${W.dtype}`);
  if (W.shape.length !== 2) throw new TypeError(`${fn}: W must be 2-D (m x k), got shape [${W.shape}]`);
  return { dtype: W.dtype, m: W.shape[0], k: W.shape[1] };
}

/** Encodes a weight that already conforms to the pattern (SamoyedsError status 7 naming the first offending element otherwise). */
export function encodeSamoyeds(W: HostTensor, params: SamoyedsParams = PAPER_PARAMS): SamoyedsWeight {
  const { dtype, m, k } = checkWeight(W, "encodeSamoyeds");
  const sizes = samoyedsSizes(m, k, params);
  const c = (m / params.M) * params.N;
  const values = new HostTensor(dtype, [c, k / 2]);
  const indices = new HostTensor("u8", [c, k / params.V]);
  const meta = new HostTensor("u32", [sizes.meta / 4]);
  openBackend("cpu").call("sy_samoyeds_encode", DTYPE_CODE[dtype], m, k, params.V, params.N, params.M, W.data, values.data, indices.data, meta.data);
  return new SamoyedsWeight(dtype, m, k, { ...params }, values, indices, meta);
}

/** Dense m x k weight back from the format. */
export function decodeSamoyeds(w: SamoyedsWeight): HostTensor {
  const out = new HostTensor(w.dtype, [w.m, w.k]);
  const p = w.params;
  openBackend("cpu").call("sy_samoyeds_decode", DTYPE_CODE[w.dtype], w.m, w.k, p.V, p.N, p.M, w.values.data, w.indices.data, w.meta.data, out.data);
  return out;
}

/** Magnitude pruning to the pattern: per cell the N row-vectors of largest L2 norm, then the 2 largest |w| of each 4. */
export function pruneToSamoyeds(W: HostTensor, params: SamoyedsParams = PAPER_PARAMS): { pruned: HostTensor; keptEnergy: number } {
  const { dtype, m, k } = checkWeight(W, "pruneToSamoyeds");
  const pruned = new HostTensor(dtype, [m, k]);
  const energy = new Float64Array(1);
  openBackend("cpu").call("sy_samoyeds_prune", DTYPE_CODE[dtype], m, k, params.V, params.N, params.M, W.data, pruned.data, energy);
  return { pruned, keptEnergy: energy[0] };
}

/** Prune then encode. */
export function toSamoyeds(W: HostTensor, params: SamoyedsParams = PAPER_PARAMS): { weight: SamoyedsWeight; keptEnergy: number } {
  const { pruned, keptEnergy } = pruneToSamoyeds(W, params);
  return { weight: encodeSamoyeds(pruned, params), keptEnergy };
}

export interface StackSamoyedsOptions {
  /**
   * also make the copy packed for the wgmma.sp kernel (stack.wgmma, see StackedSamoyedsOnBackend): "auto" (default)
   * where that kernel can run this stack (CUDA backend on an sm_90 GPU, N=1 M=2, V in 32/64/128), true always
   * (e.g. to inspect it on the CPU backend; throws for params the packer refuses), false never.
   */
  wgmma?: boolean | "auto";
}

/** Experts' weights (same shape and params) stacked into one allocation per array, as sy_ssmm_grouped expects. */
export function stackSamoyeds(backend: Backend | "cpu" | "cuda", experts: SamoyedsWeight[], opts: StackSamoyedsOptions = {}):
  StackedSamoyedsOnBackend & { free(): void; [Symbol.dispose](): void } {
  if (experts.length === 0) throw new RangeError("stackSamoyeds: no experts");
  const b = typeof backend === "string" ? openBackend(backend) : backend;
  const e0 = experts[0];
  for (const e of experts) {
    if (e.dtype !== e0.dtype || e.m !== e0.m || e.k !== e0.k || e.params.V !== e0.params.V || e.params.N !== e0.params.N || e.params.M !== e0.params.M) {
      throw new TypeError("stackSamoyeds: every expert must have the same dtype, shape and params");
    }
  }
  const wantWgmma = opts.wgmma ?? "auto";
  const pack = wantWgmma === true || (wantWgmma === "auto" && wgmmaSupported({ backend: b, params: e0.params, k: e0.k }));
  const owned: { free(): void }[] = [];
  const free = () => {
    for (const t of owned) t.free();
    stack.wgmma?.free();
    stack.wgmma = undefined;
  };
  let stack: StackedSamoyedsOnBackend & { free(): void; [Symbol.dispose](): void };
  try {
    const values = BackendTensor.from(b, HostTensor.concat(experts.map((e) => e.values), e0.dtype));
    owned.push(values);
    const indices = BackendTensor.from(b, HostTensor.concat(experts.map((e) => e.indices), "u8"));
    owned.push(indices);
    const meta = BackendTensor.from(b, HostTensor.concat(experts.map((e) => e.meta), "u32"));
    owned.push(meta);
    stack = {
      backend: b, dtype: e0.dtype, m: e0.m, k: e0.k, nExperts: experts.length, params: { ...e0.params },
      values, indices, meta, free, [Symbol.dispose]: free,
    };
    if (pack) stack.wgmma = wgmmaStackedToBackend(packWgmmaStacked(experts), b);
  } catch (e) {
    for (const t of owned) t.free();
    throw e;
  }
  return stack;
}
