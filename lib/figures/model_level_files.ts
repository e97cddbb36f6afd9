// Writes the model-level figures (14, 15, 16, 17) from data/model-level.json into figures/ through saveFigure, each
// stamped with its data file and device and marked "random weights". [] (with a message) when the data is absent.
import { buildNote, DeviceDescription, deviceLabel, listResults, readResults } from "../data.ts";
import { saveFigure } from "./render.ts";
import { figure14, figure15, figure16, figure16MaxBatch, figure17, ModelLevelJson, persistGroupedFigure, PersistGroupedAbJson, targets } from "./model_level.ts";
import { join } from "node:path";
import { repoRoot } from "../native/build.ts";

export function modelLevelFigures(opts: { dataDir?: string; outDir?: string } = {}): string[] {
  const file = listResults("model-level", opts.dataDir).find((f) => f.endsWith("model-level.json"));
  const j = file ? readResults<ModelLevelJson>(file) : undefined;
  if (!file || !j) {
    console.log("model-level figures: no data/model-level.json yet (GPU stage bench/moe.ts)");
    return [];
  }
  const device = j.provenance.device ? deviceLabel(j.provenance.device as unknown as DeviceDescription) : "unknown device";
  const notes = ["random weights (no downloads); sparse experts: Samoyeds 1:2 x 2:4, V = 128",
    `bf16 operands, f32 accumulation; whole layer in one CUDA graph, median of replays${buildNote(j.provenance)}`];
  const out: string[] = [];
  const save = (name: string, title: string, svg: string, extra: string[] = []) => {
    const r = saveFigure(svg, { name, title, source: file, device, notes: [...notes, ...extra], dir: opts.outDir });
    out.push(r.svg, r.png);
  };
  const kernels = ["samoyeds*: grouped SSMM kernel \"auto\" (wgmma.sp on an sm_90 GPU; each row's kernel is in the data), samoyeds_mma_sp: the mma.sp kernel forced"];
  save("model-level-fig14-moe-speedup", "MoE layer speedup over the Hugging Face per-expert loop (T = 4096)", figure14(j, 4096), kernels);
  save("model-level-fig14-moe-speedup-T256", "MoE layer speedup over the Hugging Face per-expert loop (T = 256)", figure14(j, 256), kernels);
  save("model-level-fig15-decoder", "Decoder layer (attention + MoE) speedup over Hugging Face", figure15(j), ["attention: cuBLAS strided-batched QK^T / PV + softmax kernel (not fused), no RoPE"]);
  save("model-level-fig16-throughput-batch", "MoE layer throughput vs batch, out-of-memory points", figure16(j, 1024));
  save("model-level-fig16-max-batch-budget", "Max batch over dense per memory budget (sequence 1024, KV cache)", figure16MaxBatch(j, 1024, true),
    ["smaller budgets: the memory model (lib/moe_memory.ts: weights of every layer, KV cache, one layer's peak activations),",
      "which predicts the measured max batch within 4 sequences on the device; the last series is the measurement"]);
  save("model-level-fig17-ablation", "Ablation: +W, +WI, +WIL, +WILS", figure17(j, 4096));
  out.push(...persistGroupedFigures(opts));
  for (const t of targets(j)) console.log(`  target: ${t.target}: ${t.value} -> ${t.met === undefined ? "n/a" : t.met ? "met" : "NOT met"}`);
  return out;
}

/** Our figure model-level-persist-grouped from the newest data/wgmma-perf/model-level-persist-grouped-*.json
 * (bench/moe.ts --persist-grouped-ab); [] with a message when there is none. */
export function persistGroupedFigures(opts: { dataDir?: string; outDir?: string } = {}): string[] {
  const dir = join(opts.dataDir ?? join(repoRoot, "data"), "wgmma-perf");
  let files: string[] = [];
  try {
    files = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith("model-level-persist-grouped-") && n.endsWith(".json"));
  } catch { /* no folder */ }
  const withDate = files.map((n) => ({ file: join(dir, n), j: readResults<PersistGroupedAbJson>(join(dir, n)) }))
    .filter((x) => x.j && Array.isArray(x.j.rows) && Array.isArray(x.j.models))
    .sort((a, b) => String(a.j!.provenance?.date ?? "").localeCompare(String(b.j!.provenance?.date ?? "")));
  const last = withDate.at(-1);
  if (!last) {
    console.log("model-level-persist-grouped: no data/wgmma-perf/model-level-persist-grouped-*.json yet (bench/moe.ts --persist-grouped-ab)");
    return [];
  }
  const j = last.j!;
  const device = j.provenance?.device ? deviceLabel(j.provenance.device as DeviceDescription) : "unknown device";
  const r = saveFigure(persistGroupedFigure(j), {
    name: "model-level-persist-grouped", title: "Persistent grouped launches in our MoE layer",
    source: last.file, device, dir: opts.outDir,
    notes: ["random weights; bf16 operands, f32 accumulation; whole layer in one CUDA graph, median of replays; same process, two rounds per setting",
      "SAMOYEDS_WGMMA_PERSIST_GROUPED on vs off, set per series; > 1: persistent CTAs faster than one CTA per tile",
      `build defaults when the run started${buildNote(j.provenance)}`],
  });
  return [r.svg, r.png];
}

