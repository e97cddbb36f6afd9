// Shared test helpers. GPU tests use gpuTest(): skipped with a clear message when no CUDA GPU is usable, so the same
// test files run on CPU machines (CI) and on the GPU machine (scripts/gpu-run.sh). GPU results are compared with the
// CPU backend, the ground truth, through onBothBackends()/assertClose().
import { Backend, BackendName, callJson, cudaDeviceCount, openBackend } from "../lib/native/library.ts";
import { relativeError } from "../lib/tensor.ts";
import { wgmmaVariants } from "../lib/kernels/ssmm_wgmma.ts";

export const hasGpu = cudaDeviceCount() > 0;
export const GPU_SKIP_MESSAGE = "no CUDA GPU found: skipped; run scripts/gpu-run.sh on a GPU machine";

let announced = false;
/** Deno.test that runs only where a CUDA GPU is usable; elsewhere it is reported as ignored, with a message. */
export function gpuTest(name: string, fn: () => void | Promise<void>): void {
  Deno.test({ name: `[gpu] ${name}`, ignore: !hasGpu, fn });
  if (!hasGpu && !announced) {
    announced = true;
    console.log(`GPU tests: ${GPU_SKIP_MESSAGE}`);
  }
}

/** Why the Hopper wgmma.sp tests cannot run here (undefined: a CUDA GPU of compute capability 9.0 is present). */
export const sm90SkipReason: string | undefined = (() => {
  if (!hasGpu) return GPU_SKIP_MESSAGE;
  const info = callJson(openBackend("cuda"), "sy_device_info", 0);
  return info.cc_major === 9 && info.cc_minor === 0 ? undefined
    : `the GPU is sm_${info.cc_major}${info.cc_minor}, the wgmma.sp kernels need sm_90 (H100/H200): skipped`;
})();
export const hasSm90 = sm90SkipReason === undefined;

const announcedSm90 = new Set<string>();
/** Deno.test that runs only on an sm_90 GPU (wgmma.sp); elsewhere reported as ignored, with the reason printed once. */
export function sm90Test(name: string, fn: () => void | Promise<void>): void {
  Deno.test({ name: `[gpu sm90] ${name}`, ignore: !hasSm90, fn });
  if (sm90SkipReason && !announcedSm90.has(sm90SkipReason)) {
    announcedSm90.add(sm90SkipReason);
    console.log(`sm_90 (wgmma.sp) GPU tests: ${sm90SkipReason}`);
  }
}

/** Throws with `what`, the relative error and the first differing index when ||a-b||/||b|| > tol (NaN fails). */
export function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  if (a.length !== b.length) throw new Error(`${what}: lengths differ (${a.length} vs reference ${b.length})`);
  const err = relativeError(a, b);
  if (!(err <= tol)) {
    let worst = 0, at = -1;
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(a[i] - b[i]);
      if (!(d <= worst)) { // catches NaN too
        worst = d;
        at = i;
        if (Number.isNaN(d)) break;
      }
    }
    throw new Error(`${what}: relative error ${err} > ${tol}; worst at index ${at}: ${a[at]} vs reference ${b[at]}`);
  }
}

/** Runs `fn` on the CPU backend and on CUDA; returns both results (cuda undefined without a GPU). */
export function onBothBackends<T>(fn: (b: Backend) => T): { cpu: T; cuda?: T } {
  const cpu = fn(openBackend("cpu"));
  return { cpu, cuda: hasGpu ? fn(openBackend("cuda")) : undefined };
}

/** Backends usable here: always "cpu", plus "cuda" with a GPU. */
export const usableBackends: BackendName[] = hasGpu ? ["cpu", "cuda"] : ["cpu"];

/** TS reference of Y = X * W^T in f64 (X n x k, W m x k, row-major); layout 0: n x m, 1: m x n. */
export function gemmReference(X: ArrayLike<number>, W: ArrayLike<number>, n: number, m: number, k: number, layout: 0 | 1 = 0): Float32Array {
  const Y = new Float32Array(n * m);
  for (let t = 0; t < n; t++) {
    for (let r = 0; r < m; r++) {
      let acc = 0;
      for (let i = 0; i < k; i++) acc += X[t * k + i] * W[r * k + i];
      Y[layout === 0 ? t * m + r : r * n + t] = acc;
    }
  }
  return Y;
}

/** The wgmma.sp kernel variants (SAMOYEDS_WGMMA_VARIANT), from the library's table (native/src/common/wgmma_variants.h). */
export const WGMMA_VARIANT_TABLE = wgmmaVariants(openBackend("cpu"));
export const WGMMA_VARIANTS: readonly string[] = WGMMA_VARIANT_TABLE.map((v) => v.name);
export type WgmmaVariant = string;
/** The variants whose results must be bit-identical to each other: one list per routing, in table order. */
export function wgmmaVariantsByRouting(): string[][] {
  const by = new Map<number, string[]>();
  for (const v of WGMMA_VARIANT_TABLE) by.set(v.routing, [...(by.get(v.routing) ?? []), v.name]);
  return [...by.values()];
}

/** Runs fn with the environment variable `name` set to `value` (read by the library on every call), then restores it. */
export function withEnv<T>(name: string, value: string, fn: () => T): T {
  const before = Deno.env.get(name);
  Deno.env.set(name, value);
  try {
    return fn();
  } finally {
    if (before === undefined) Deno.env.delete(name);
    else Deno.env.set(name, before);
  }
}

/** Runs fn with SAMOYEDS_WGMMA_VARIANT set to `variant` (read by every wgmma.sp launch), then restores it. */
export function withWgmmaVariant<T>(variant: WgmmaVariant, fn: () => T): T {
  return withEnv("SAMOYEDS_WGMMA_VARIANT", variant, fn);
}

/** Runs fn with SAMOYEDS_WGMMA_TILES (the token-tile plan of the default wgmma.sp variant: auto, 128, 64 or auto:W) set. */
export function withWgmmaTiles<T>(tiles: string, fn: () => T): T {
  return withEnv("SAMOYEDS_WGMMA_TILES", tiles, fn);
}

/** Runs fn with SAMOYEDS_WGMMA_PERSIST (persistent single wgmma.sp launches: on, off or ctas:C) set. */
export function withWgmmaPersist<T>(persist: string, fn: () => T): T {
  return withEnv("SAMOYEDS_WGMMA_PERSIST", persist, fn);
}

/** Runs fn with SAMOYEDS_WGMMA_PERSIST_GROUPED (persistent grouped wgmma.sp launches: on, off or ctas:C) set. */
export function withWgmmaPersistGrouped<T>(persist: string, fn: () => T): T {
  return withEnv("SAMOYEDS_WGMMA_PERSIST_GROUPED", persist, fn);
}

/** Runs fn with SAMOYEDS_WGMMA_SPLIT (the split-k plan of single wgmma.sp launches: auto, off, S or S:W) set. */
export function withWgmmaSplit<T>(split: string, fn: () => T): T {
  return withEnv("SAMOYEDS_WGMMA_SPLIT", split, fn);
}
