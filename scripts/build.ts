// Builds native/ into build/lib: the CPU backend with g++ (always) and the CUDA backend with nvcc (when present).
// Incremental: an object is rebuilt when its source or any header is newer. Usage:
//   deno task build [--cpu-only] [--cuda-only] [--force] [--jobs N]
// Env: SAMOYEDS_CUDA_ARCHS (default "80,90a"), CXX (default g++), NVCC (default nvcc on PATH or /usr/local/cuda/bin/nvcc).
import { buildNative } from "../lib/native/build.ts";

if (import.meta.main) {
  const args = Deno.args;
  const jobsAt = args.indexOf("--jobs");
  try {
    const result = await buildNative({
      cpu: !args.includes("--cuda-only"),
      cuda: !args.includes("--cpu-only"),
      force: args.includes("--force"),
      jobs: jobsAt >= 0 ? Number(args[jobsAt + 1]) : undefined,
      log: (line) => console.log(line),
    });
    if (result.cudaSkipped) console.log(`CUDA backend not built: ${result.cudaSkipped}`);
  } catch (e) {
    console.error(`build failed: ${(e as Error).message}`);
    Deno.exit(1);
  }
}
