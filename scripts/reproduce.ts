// `deno task reproduce`: run what this machine can run, then render every figure from data/.
// GPU machine: each registered experiment's bench/<gpuStage>.ts (full sizes). CPU-only: each runCpu (small sizes);
// GPU figures then come from the GPU data committed in data/, and the summary says which files came from where.
// Usage: deno task reproduce [--figures-only] [--only name1,name2]
import { join } from "node:path";
import { EXPERIMENTS } from "../lib/experiments/registry.ts";
import { cudaDeviceCount } from "../lib/native/library.ts";
import { dataDir, readResults, ResultFile } from "../lib/data.ts";
import { repoRoot } from "../lib/native/build.ts";

const args = Deno.args;
const figuresOnly = args.includes("--figures-only");
const onlyAt = args.indexOf("--only");
const only = onlyAt >= 0 ? new Set(args[onlyAt + 1].split(",")) : undefined;
const gpu = cudaDeviceCount() > 0;
const failures: string[] = [];

console.log(gpu
  ? "reproduce: CUDA GPU found: running every registered GPU stage (full sizes)"
  : "reproduce: no CUDA GPU here: running the CPU-only parts (small sizes); GPU figures use the GPU data committed in data/");

for (const e of EXPERIMENTS) {
  if (only && !only.has(e.name)) continue;
  if (figuresOnly) break;
  try {
    if (gpu && e.gpuStage) {
      console.log(`\n== ${e.name} (GPU stage bench/${e.gpuStage}.ts): ${e.title}`);
      const r = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-all", join("bench", `${e.gpuStage}.ts`)],
        cwd: repoRoot,
        env: { SAMOYEDS_RESULTS_DIR: dataDir },
        stdout: "inherit",
        stderr: "inherit",
      }).output();
      if (!r.success) throw new Error(`bench/${e.gpuStage}.ts exited with ${r.code}`);
    } else if (e.runCpu) {
      console.log(`\n== ${e.name} (CPU, small sizes): ${e.title}`);
      const files = await e.runCpu();
      console.log(`   wrote ${files.map((f) => f.replace(repoRoot + "/", "")).join(", ")}`);
    } else {
      console.log(`\n== ${e.name}: needs a GPU; using committed data only`);
    }
  } catch (err) {
    failures.push(`${e.name}: ${(err as Error).message}`);
    console.error(`   FAILED: ${(err as Error).message}`);
  }
}

console.log("\n== figures");
const written: string[] = [];
for (const e of EXPERIMENTS) {
  if ((only && !only.has(e.name)) || !e.figures) continue;
  try {
    const files = await e.figures();
    written.push(...files);
    for (const f of files) console.log(`   ${e.name}: ${f.replace(repoRoot + "/", "")}`);
  } catch (err) {
    failures.push(`${e.name} figures: ${(err as Error).message}`);
    console.error(`   FAILED ${e.name} figures: ${(err as Error).message}`);
  }
}

// where each data file came from: the provenance every result file carries
console.log("\n== data sources (data/*.json)");
const entries = [...Deno.readDirSync(dataDir)].filter((d) => d.isFile && d.name.endsWith(".json")).map((d) => d.name).sort();
for (const name of entries) {
  const r = readResults<ResultFile>(join(dataDir, name));
  // deno-lint-ignore no-explicit-any
  const p = (r?.provenance ?? {}) as any;
  const device = p.device?.name ?? "unknown device";
  const when = String(p.date ?? p.finished ?? p.started ?? "").slice(0, 19);
  const commit = String(p.commit ?? "?").slice(0, 10);
  console.log(`   ${name.padEnd(34)} ${device}${p.backend ? ` [${p.backend}]` : ""}, commit ${commit}, ${when}`);
}
console.log(`\nreproduce: ${written.length} figure files written to figures/${failures.length ? `; ${failures.length} FAILED:\n  ${failures.join("\n  ")}` : ""}`);
if (failures.length) Deno.exit(1);
