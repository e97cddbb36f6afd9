// Typed tensors: host tensors wrap a TypedArray; backend tensors own memory of a libsamoyeds backend
// (device memory for CUDA, host memory for the CPU backend) and are freed explicitly or by `using`.
import { Backend, openBackend, SamoyedsError } from "./native/library.ts";

export type DType = "f16" | "bf16" | "f32" | "i32" | "u8" | "u32";
export const DTYPE_CODE: Record<DType, number> = { f16: 0, bf16: 1, f32: 2, i32: 3, u8: 4, u32: 5 };
export const DTYPE_BYTES: Record<DType, number> = { f16: 2, bf16: 2, f32: 4, i32: 4, u8: 1, u32: 4 };
export type HalfDType = "f16" | "bf16";

type ArrayFor<D extends DType> = D extends "f16" | "bf16" ? Uint16Array
  : D extends "f32" ? Float32Array
  : D extends "i32" ? Int32Array
  : D extends "u8" ? Uint8Array
  : Uint32Array;

function allocArray<D extends DType>(dtype: D, n: number): ArrayFor<D> {
  switch (dtype) {
    case "f16":
    case "bf16":
      return new Uint16Array(n) as ArrayFor<D>;
    case "f32":
      return new Float32Array(n) as ArrayFor<D>;
    case "i32":
      return new Int32Array(n) as ArrayFor<D>;
    case "u8":
      return new Uint8Array(n) as ArrayFor<D>;
    default:
      return new Uint32Array(n) as ArrayFor<D>;
  }
}

export function numel(shape: readonly number[]): number {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`invalid shape [${shape}]: dimensions must be integers >= 0`);
  }
  return shape.reduce((a, b) => a * b, 1);
}

export class HostTensor<D extends DType = DType> {
  readonly shape: readonly number[];
  constructor(readonly dtype: D, shape: readonly number[], readonly data: ArrayFor<D> = allocArray(dtype, numel(shape))) {
    this.shape = [...shape];
    if (data.length !== numel(shape)) {
      throw new RangeError(`HostTensor: ${dtype} data has ${data.length} elements, shape [${shape}] needs ${numel(shape)}`);
    }
  }
  get numel(): number {
    return this.data.length;
  }
  get bytes(): number {
    return this.data.byteLength;
  }
  /** Values as f32 (16-bit types decoded through the CPU backend). */
  toF32(): Float32Array {
    if (this.dtype === "f32") return this.data as Float32Array;
    if (this.dtype === "f16" || this.dtype === "bf16") return convertHalf(this.data as Uint16Array, this.dtype, "f32") as Float32Array;
    return Float32Array.from(this.data as ArrayLike<number>);
  }
  static fromF32(values: Float32Array, shape: readonly number[], dtype: HalfDType | "f32"): HostTensor {
    if (dtype === "f32") return new HostTensor("f32", shape, values);
    return new HostTensor(dtype, shape, convertHalf(values, "f32", dtype) as Uint16Array);
  }
  /** The parts' elements one after another in a flat tensor (e.g. experts' weights stacked into one allocation). */
  static concat<D extends DType>(parts: readonly HostTensor<D>[], dtype: D): HostTensor<D> {
    for (const p of parts) if (p.dtype !== dtype) throw new TypeError(`HostTensor.concat: a part is ${p.dtype}, expected ${dtype}`);
    const out = new HostTensor(dtype, [parts.reduce((a, p) => a + p.numel, 0)]);
    let at = 0;
    for (const p of parts) {
      (out.data as unknown as { set(a: ArrayLike<number>, at: number): void }).set(p.data as ArrayLike<number>, at);
      at += p.numel;
    }
    return out;
  }
}

/** Host-side conversion between f32 and 16-bit floats (round to nearest even), done by the CPU backend. */
export function convertHalf(src: Float32Array | Uint16Array, from: HalfDType | "f32", to: HalfDType | "f32"): Float32Array | Uint16Array {
  const out = to === "f32" ? new Float32Array(src.length) : new Uint16Array(src.length);
  if (src.length === 0) return out;
  const cpu = openBackend("cpu");
  cpu.call("sy_convert", Deno.UnsafePointer.of(src), DTYPE_CODE[from], Deno.UnsafePointer.of(out), DTYPE_CODE[to], BigInt(src.length));
  return out;
}

/** Memory of a backend holding one tensor. */
export class BackendTensor<D extends DType = DType> {
  #ptr: Deno.PointerValue;
  readonly shape: readonly number[];
  constructor(readonly backend: Backend, readonly dtype: D, shape: readonly number[]) {
    this.shape = [...shape];
    const out = new BigUint64Array(1);
    backend.call("sy_malloc", BigInt(this.bytes), out);
    this.#ptr = Deno.UnsafePointer.create(out[0]);
  }
  get numel(): number {
    return numel(this.shape);
  }
  get bytes(): number {
    return this.numel * DTYPE_BYTES[this.dtype];
  }
  get ptr(): Deno.PointerValue {
    if (this.#ptr === null && this.bytes > 0) throw new SamoyedsError(1, "BackendTensor used after free()", this.backend.name);
    return this.#ptr;
  }
  static from<D extends DType>(backend: Backend | "cpu" | "cuda", host: HostTensor<D>): BackendTensor<D> {
    const b = typeof backend === "string" ? openBackend(backend) : backend;
    const t = new BackendTensor(b, host.dtype, host.shape);
    if (t.bytes > 0) b.call("sy_copy_to_backend", t.ptr, host.data, BigInt(t.bytes));
    return t;
  }
  /** Copies to the host (synchronizes the backend's stream first). */
  toHost(): HostTensor<D> {
    const h = new HostTensor(this.dtype, this.shape);
    if (this.bytes > 0) this.backend.call("sy_copy_from_backend", h.data, this.ptr, BigInt(this.bytes));
    return h;
  }
  fill(byte: number): this {
    if (this.bytes > 0) this.backend.call("sy_memset", this.ptr, byte, BigInt(this.bytes));
    return this;
  }
  free(): void {
    if (this.#ptr !== null) this.backend.call("sy_free", this.#ptr);
    this.#ptr = null;
  }
  [Symbol.dispose](): void {
    this.free();
  }
}

/** Deterministic PRNG (mulberry32) so tests and benchmarks draw reproducible inputs from a seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples (Box-Muller on rng(seed) draws) scaled by `scale`. Large n come from the CPU library's
 * sy_randn_f32, which yields the same bits in parallel (tests/foundation.test.ts); randnReference is the specification. */
export function randn(n: number, seed: number, scale = 1): Float32Array {
  if (n >= NATIVE_RANDN_MIN) {
    const out = new Float32Array(n);
    try {
      openBackend("cpu").call("sy_randn_f32", BigInt(n), seed >>> 0, scale, out);
      return out;
    } catch { /* no CPU library built (or an older one): the JavaScript generator below */ }
  }
  return randnReference(n, seed, scale);
}
const NATIVE_RANDN_MIN = 1 << 15;

/** randn in JavaScript: the sequence sy_randn_f32 reproduces. */
export function randnReference(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(r(), 1e-12), v = r();
    const m = Math.sqrt(-2 * Math.log(u)) * scale;
    out[i] = m * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = m * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** ||a - b|| / ||b|| (Frobenius); NaN anywhere gives NaN so a check against a bound fails. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`relativeError: lengths differ (${a.length} vs ${b.length})`);
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    num += d * d;
    den += b[i] * b[i];
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}
