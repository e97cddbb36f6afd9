// Every experiment of the project, for `deno task reproduce` (scripts/reproduce.ts). Add ONE entry per experiment:
//   - gpuStage: the bench/<stage>.ts script scripts/gpu-run.sh runs on the GPU machine (writes $SAMOYEDS_RESULTS_DIR);
//     reproduce runs it too when a CUDA GPU is present here.
//   - runCpu: what a CPU-only machine can run (small sizes), writing into data/ (optional).
//   - figures: renders figures/<name>.{svg,png} from data/ (CPU data and committed GPU data); returns the paths
//     written, [] when its data is absent (say so with console.log).
import { runEnvironment } from "./environment.ts";
import { environmentFigure } from "../figures/environment.ts";
import { modelLevelFigures } from "../figures/model_level_files.ts";
import { runAccuracy } from "./accuracy.ts";
import { accuracyFigures } from "../figures/accuracy.ts";
import { saveSparsityFigures } from "../figures/sparsity.ts";
import { kernelLevelFigures, mmaSpFigures, wgmmaLaunchAbFigures, wgmmaRooflineFigures, wgmmaVariantsFigures } from "../figures/kernel_level.ts";

export interface Experiment {
  name: string;
  /** one line: what it measures */
  title: string;
  /** bench/<gpuStage>.ts, run by scripts/gpu-run.sh and by reproduce on a GPU machine */
  gpuStage?: string;
  /** data files (in data/) this experiment's GPU stage writes, to tell where figures' numbers came from */
  gpuData?: string[];
  /** CPU-only fallback (small sizes) */
  runCpu?: () => string[] | Promise<string[]>;
  figures?: () => string[] | Promise<string[]>;
}

export const EXPERIMENTS: Experiment[] = [
  {
    name: "environment",
    title: "backend + device, GEMM check vs TS reference, dense GEMM throughput sweep",
    gpuStage: "env",
    gpuData: ["environment-cuda.json"],
    runCpu: () => runEnvironment("cpu").files,
    figures: () => environmentFigure(),
  },
  {
    name: "model-level",
    title: "MoE layer (9 models, every method + ablation), decoder layer, memory model + max batch, throughput vs batch (Figures 14-17)",
    gpuStage: "moe",
    gpuData: ["model-level.json"],
    figures: () => modelLevelFigures(),
  },
  {
    name: "accuracy",
    title: "pruners (magnitude, Wanda, OBS) x formats (2:4, V:N:M, Samoyeds, unstructured) at 25% density: expert-FFN error + " +
      "held-out perplexity of a small MoE LM trained here (CPU only, ~15 min; SAMOYEDS_ACCURACY=quick for the CI-sized run)",
    runCpu: () => runAccuracy(Deno.env.get("SAMOYEDS_ACCURACY") === "quick" ? "quick" : "full"),
    figures: () => [...accuracyFigures(), ...saveSparsityFigures()],
  },
  {
    name: "kernel-level",
    title: "SSMM (mma.sp; wgmma.sp on sm_90) vs cuBLAS, cuSPARSELt 2:4, VENOM-style V:2:8 at the paper's shapes and m/k/n sweeps, " +
      "paper protocol and equal work (Figures 12, 13)",
    gpuStage: "kernel",
    gpuData: ["kernel-level.json"],
    figures: () => kernelLevelFigures(),
  },
  {
    name: "mma-sp-ssmm",
    title: "the mma.sp SSMM (pre-Hopper path) at the Figure 12 shapes: both 1:2 routings, output forms, f16 accumulation, vs cuBLAS",
    gpuStage: "ssmm",
    gpuData: ["ssmm.json"],
    figures: () => mmaSpFigures(),
  },
  {
    name: "hopper-wgmma",
    title: "Hopper wgmma.sp SSMM: instruction peaks, memory bandwidth, SASS check, Figure 12/13 shapes -> roofline",
    gpuStage: "wgmma",
    gpuData: ["wgmma.json"],
    figures: () => [...wgmmaRooflineFigures(), ...wgmmaVariantsFigures(), ...wgmmaLaunchAbFigures()],
  },
];
