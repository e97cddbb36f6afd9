// Results and their provenance: every file an experiment writes into data/ (or $SAMOYEDS_RESULTS_DIR) carries the
// backend, device, driver and CUDA versions, build, git commit, date and host it came from. One place for this
// concept; no npm imports here, so GPU benchmark stages run without any package cache (tables: lib/tables.ts).
import { basename, join } from "node:path";
import { Backend, BackendName, callJson, cudaDeviceCount, openBackend } from "./native/library.ts";
import { repoRoot, sourceCommit } from "./native/build.ts";

export const dataDir = join(repoRoot, "data");

/** Where results are written: $SAMOYEDS_RESULTS_DIR (set by scripts/gpu-run.sh) or data/. */
export function resultsDir(): string {
  return Deno.env.get("SAMOYEDS_RESULTS_DIR") ?? dataDir;
}

export interface DeviceDescription {
  backend: BackendName;
  name: string;
  /** e.g. "sm_90" (CUDA) */
  compute_capability?: string;
  sm_count?: number;
  memory_bytes?: number;
  /** "12.8" from cudaDriverGetVersion */
  driver_cuda_version?: string;
  /** CUDA runtime the backend was built against, "13.0" */
  cuda_runtime?: string;
  threads?: number;
  raw: Record<string, unknown>;
}

export interface Provenance {
  backend: BackendName;
  device: DeviceDescription;
  build: Record<string, unknown>;
  /** git commit (with "-dirty" when tracked files differ), or $SAMOYEDS_COMMIT where there is no git checkout */
  commit: string;
  date: string;
  host: string;
  os: string;
  deno: string;
  /** the command that produced the file */
  command: string;
  /** "measured" on real hardware; figures say where their numbers came from */
  source: string;
}

/** 12080 -> "12.8" (CUDA encodes versions as 1000*major + 10*minor). */
export function cudaVersionString(v: unknown): string | undefined {
  if (typeof v !== "number" || !(v > 0)) return undefined;
  return `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 10)}`;
}

/** Human-readable one-liner, e.g. "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, driver CUDA 12.8)". */
export function deviceLabel(d: DeviceDescription): string {
  if (d.backend === "cpu") return `${d.name} (CPU backend${d.threads ? `, ${d.threads} threads` : ""})`;
  const bits = [d.compute_capability, d.sm_count ? `${d.sm_count} SMs` : undefined,
    d.driver_cuda_version ? `driver CUDA ${d.driver_cuda_version}` : undefined].filter(Boolean);
  return `${d.name} (${bits.join(", ")})`;
}

export function describeDevice(b: Backend, device = 0): DeviceDescription {
  const raw = callJson(b, "sy_device_info", device);
  const build = callJson(b, "sy_build_info");
  const n = (k: string) => (typeof raw[k] === "number" ? (raw[k] as number) : undefined);
  return {
    backend: b.name,
    name: String(raw.name ?? "unknown"),
    compute_capability: b.name === "cuda" ? `sm_${raw.cc_major}${raw.cc_minor}` : undefined,
    sm_count: n("sm_count"),
    memory_bytes: n("memory_bytes"),
    driver_cuda_version: cudaVersionString(raw.driver_version),
    cuda_runtime: cudaVersionString(raw.runtime_version ?? build.cuda_runtime),
    threads: n("threads"),
    raw,
  };
}

/** The backend experiments use here: CUDA when a GPU is usable, else CPU (override: SAMOYEDS_BACKEND=cpu|cuda). */
export function preferredBackend(): BackendName {
  const env = Deno.env.get("SAMOYEDS_BACKEND");
  if (env === "cpu" || env === "cuda") return env;
  return cudaDeviceCount() > 0 ? "cuda" : "cpu";
}


/** Provenance of results produced now on backend `b` (device 0). */
export function provenance(b: Backend | BackendName, extra: Partial<Provenance> = {}): Provenance {
  const backend = typeof b === "string" ? openBackend(b) : b;
  return {
    backend: backend.name,
    device: describeDevice(backend),
    build: callJson(backend, "sy_build_info"),
    commit: sourceCommit(),
    date: new Date().toISOString(),
    host: Deno.hostname(),
    os: `${Deno.build.os} ${Deno.build.arch}`,
    deno: Deno.version.deno,
    command: ["deno", ...Deno.args].join(" ") + ` (${basename(Deno.mainModule)})`,
    source: "measured",
    ...extra,
  };
}

export type Row = Record<string, string | number | boolean | null | undefined>;

/** CSV with a header from the union of row keys; strings quoted when needed. Provenance goes in "# " comment lines. */
export function toCsv(rows: Row[], comments: string[] = []): string {
  const cols: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  const cell = (v: Row[string]) => {
    if (v === undefined || v === null) return "";
    const s = String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [...comments.map((c) => `# ${c}`), cols.join(","), ...rows.map((r) => cols.map((c) => cell(r[c])).join(","))].join("\n") + "\n";
}

export interface ResultFile {
  provenance: Provenance;
  [key: string]: unknown;
}

/**
 * Writes <dir>/<name>.json = {provenance, ...payload} and, when `rows` is given, <dir>/<name>.csv with the provenance
 * as leading "# key: value" comment lines. Returns the paths written.
 */
export function writeResults(
  name: string,
  prov: Provenance,
  payload: Record<string, unknown>,
  options: { rows?: Row[]; dir?: string } = {},
): { json: string; csv?: string } {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`writeResults: bad result name "${name}" (use letters, digits, - _ .)`);
  const dir = options.dir ?? resultsDir();
  Deno.mkdirSync(dir, { recursive: true });
  const json = join(dir, `${name}.json`);
  Deno.writeTextFileSync(json, JSON.stringify({ provenance: prov, ...payload, ...(options.rows ? { rows: options.rows } : {}) }, null, 1) + "\n");
  if (!options.rows) return { json };
  const csv = join(dir, `${name}.csv`);
  const comments = [
    `device: ${deviceLabel(prov.device)}`,
    `backend: ${prov.backend}`,
    `build: ${JSON.stringify(prov.build)}`,
    `commit: ${prov.commit}`,
    `date: ${prov.date}`,
    `host: ${prov.host}`,
    `source: ${prov.source}`,
  ];
  Deno.writeTextFileSync(csv, toCsv(options.rows, comments));
  return { json, csv };
}

/** Reads a result JSON (a name in data/ like "environment-cuda", or a path); undefined when absent. */
export function readResults<T = ResultFile>(nameOrPath: string): T | undefined {
  const path = nameOrPath.includes("/") || nameOrPath.endsWith(".json") ? nameOrPath : join(dataDir, `${nameOrPath}.json`);
  try {
    return JSON.parse(Deno.readTextFileSync(path)) as T;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`readResults: ${path}: ${(e as Error).message}`);
  }
}

/** Result files in data/ whose names start with `prefix` (e.g. "environment-"). */
export function listResults(prefix: string, dir = dataDir): string[] {
  const out: string[] = [];
  try {
    for (const e of Deno.readDirSync(dir)) if (e.isFile && e.name.startsWith(prefix) && e.name.endsWith(".json")) out.push(join(dir, e.name));
  } catch { /* no data dir yet */ }
  return out.sort();
}

/** "; commit X; wgmma.sp variant Y, token tiles Z, persistent P (grouped G); mma.sp routing R, K-k stages" from a data file's provenance (the variant is in the CUDA build info since 3d9760f). */
// deno-lint-ignore no-explicit-any
export function buildNote(prov: any): string {
  const commit = typeof prov?.commit === "string" ? `; commit ${prov.commit.slice(0, 10)}` : "";
  const variant = typeof prov?.build?.wgmma_variant === "string" ? `; wgmma.sp variant ${prov.build.wgmma_variant}` : "";
  // the token-tile plan of the default variant (native/src/common/wgmma_tiles.h), recorded since session 9
  const tiles = variant && typeof prov?.build?.wgmma_tiles === "string" ? `, token tiles ${prov.build.wgmma_tiles}` : "";
  // persistent single launches (same header), recorded since session 12
  // and grouped ones (same header), recorded since session 13
  const grouped = typeof prov?.build?.wgmma_persist_grouped === "string" ? ` (grouped ${prov.build.wgmma_persist_grouped})` : "";
  const persist = variant && typeof prov?.build?.wgmma_persist === "string" ? `, persistent ${prov.build.wgmma_persist}${grouped}` : "";
  // the mma.sp kernel's 1:2 routing (native/src/common/mma_sp_routing.h), recorded since session 10
  const routing = typeof prov?.build?.mma_sp_routing === "string" ? `; mma.sp routing ${prov.build.mma_sp_routing}` : "";
  // and its original k per pipeline stage (same header), recorded since session 11
  const stageK = routing && typeof prov?.build?.mma_sp_stage_k === "number" ? `, ${prov.build.mma_sp_stage_k}-k stages` : "";
  return commit + variant + tiles + persist + routing + stageK;
}
