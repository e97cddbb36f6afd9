// Shared test helpers. GPU tests use gpuTest(): skipped with a message when no CUDA GPU is usable.
import { cudaDeviceCount } from "../lib/native/library.ts";

export const hasGpu = cudaDeviceCount() > 0;

export function gpuTest(name: string, fn: () => void | Promise<void>): void {
  Deno.test({ name, ignore: !hasGpu, fn });
  if (!hasGpu) console.log(`skipping GPU test "${name}": no CUDA GPU found (or the CUDA backend is not built)`);
}
