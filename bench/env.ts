// GPU stage `env` (scripts/gpu-run.sh env): the environment experiment on the CUDA backend -> $SAMOYEDS_RESULTS_DIR/
// environment-cuda.{json,csv} (default data/). Run: deno run --allow-all bench/env.ts [--quick]
import { cudaDeviceCount } from "../lib/native/library.ts";
import { runEnvironment, SWEEP_SIZES } from "../lib/experiments/environment.ts";

if (cudaDeviceCount() === 0) {
  console.error("bench/env.ts: no CUDA GPU usable here (or the CUDA backend is not built: deno task build)");
  Deno.exit(2);
}
const quick = Deno.args.includes("--quick");
const { files } = runEnvironment("cuda", { sizes: quick ? SWEEP_SIZES.cuda.slice(0, 4) : undefined });
console.log(`wrote ${files.join(", ")}`);
