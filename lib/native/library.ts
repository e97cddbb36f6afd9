// Opens a libsamoyeds backend through Deno FFI and turns status codes into thrown errors.
import { join } from "node:path";
import { libDir } from "./build.ts";
import { allSymbols } from "./symbols/index.ts";

export type BackendName = "cpu" | "cuda";
type Symbols = typeof allSymbols;
// every symbol optional: a library built from an older tree still opens, and a missing one is a clear error
type OptionalSymbols = { [K in keyof Symbols]: Symbols[K] & { optional: true } };
export type NativeLibrary = Deno.DynamicLibrary<OptionalSymbols>["symbols"];

export const STATUS_NAMES: Record<number, string> = {
  1: "invalid argument",
  2: "unsupported by this backend",
  3: "no GPU",
  4: "CUDA error",
  5: "library missing or failed",
  6: "out of memory",
  7: "weight violates the sparsity pattern",
  8: "internal error",
};

/** An error from libsamoyeds: the native status code plus the native message. */
export class SamoyedsError extends Error {
  constructor(readonly status: number, message: string, readonly backend: BackendName | "loader") {
    super(message);
    this.name = "SamoyedsError";
  }
}

export interface Backend {
  readonly name: BackendName;
  readonly path: string;
  readonly symbols: NativeLibrary;
  /** Calls an entry point that returns sy_status; throws SamoyedsError with the native message on failure. */
  call<K extends keyof NativeLibrary>(name: K, ...args: Parameters<NonNullable<NativeLibrary[K]>>): void;
  /** The raw function (throws if this library does not export it). */
  fn<K extends keyof NativeLibrary>(name: K): NonNullable<NativeLibrary[K]>;
  close(): void;
}

const cache = new Map<BackendName, Backend>();

export function libraryPath(name: BackendName): string {
  const env = Deno.env.get(name === "cpu" ? "SAMOYEDS_CPU_LIB" : "SAMOYEDS_CUDA_LIB");
  return env ?? join(libDir, `libsamoyeds_${name}.so`);
}

function cString(ptr: Deno.PointerValue): string {
  return ptr === null ? "" : Deno.UnsafePointerView.getCString(ptr);
}

/** Opens (once per process) the backend's shared library. */
export function openBackend(name: BackendName): Backend {
  const hit = cache.get(name);
  if (hit) return hit;
  const path = libraryPath(name);
  try {
    Deno.statSync(path);
  } catch {
    throw new SamoyedsError(
      5,
      `libsamoyeds ${name} backend not built: ${path} is missing. Run \`deno task build\`` +
        (name === "cuda" ? " on a machine with nvcc (the CUDA toolkit)" : ""),
      "loader",
    );
  }
  const defs = Object.fromEntries(
    Object.entries(allSymbols).map(([k, v]) => [k, { ...v, optional: true }]),
  ) as unknown as OptionalSymbols;
  let lib: Deno.DynamicLibrary<OptionalSymbols>;
  try {
    lib = Deno.dlopen(path, defs);
  } catch (e) {
    throw new SamoyedsError(5, `cannot load ${path}: ${(e as Error).message}. Rebuild with \`deno task build\``, "loader");
  }
  const symbols = lib.symbols;
  const fn = <K extends keyof NativeLibrary>(k: K): NonNullable<NativeLibrary[K]> => {
    const f = symbols[k];
    if (!f) {
      throw new SamoyedsError(2, `${String(k)} is not exported by ${path}; rebuild with \`deno task build\``, name);
    }
    return f as NonNullable<NativeLibrary[K]>;
  };
  const backend: Backend = {
    name,
    path,
    symbols,
    fn,
    call(k, ...args) {
      // deno-lint-ignore no-explicit-any
      const status = (fn(k) as any)(...args) as number;
      if (status !== 0) {
        const message = cString(fn("sy_last_error")());
        throw new SamoyedsError(status, `${message || String(k)} [${STATUS_NAMES[status] ?? `status ${status}`}, ${name} backend]`, name);
      }
    },
    close() {
      lib.close();
      cache.delete(name);
    },
  };
  cache.set(name, backend);
  return backend;
}

/** Number of usable CUDA GPUs (0 when the CUDA backend is not built or no driver/GPU is present). */
export function cudaDeviceCount(): number {
  try {
    const b = openBackend("cuda");
    const out = new Int32Array(1);
    b.call("sy_device_count", out);
    return out[0];
  } catch {
    return 0;
  }
}

/** Reads a JSON string an entry point writes into a caller buffer. */
export function callJson<K extends keyof NativeLibrary>(b: Backend, name: K, ...argsBeforeBuffer: unknown[]): Record<string, unknown> {
  const buf = new Uint8Array(4096);
  // deno-lint-ignore no-explicit-any
  (b.call as any)(name, ...argsBeforeBuffer, buf, buf.length);
  const end = buf.indexOf(0);
  return JSON.parse(new TextDecoder().decode(buf.subarray(0, end < 0 ? buf.length : end)));
}
