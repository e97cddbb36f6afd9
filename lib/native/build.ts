// Compiles native/ (see scripts/build.ts). Kept in lib/ so notebooks and tests can build on demand.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const buildDir = join(repoRoot, "build");
export const libDir = join(buildDir, "lib");

export interface BuildOptions {
  cpu?: boolean;
  cuda?: boolean;
  force?: boolean;
  jobs?: number;
  log?: (line: string) => void;
}
export interface BuildResult {
  cpuLibrary?: string;
  cudaLibrary?: string;
  cudaSkipped?: string;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function mtime(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).mtime?.getTime() ?? 0;
  } catch {
    return 0;
  }
}

async function listFiles(dir: string, ext: string[]): Promise<string[]> {
  const out: string[] = [];
  if (!(await exists(dir))) return out;
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && ext.some((x) => e.name.endsWith(x))) out.push(join(dir, e.name));
  }
  return out.sort();
}

export async function findTool(name: string, fallbacks: string[] = []): Promise<string | undefined> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir && await exists(join(dir, name))) return join(dir, name);
  }
  for (const f of fallbacks) if (await exists(f)) return f;
  return undefined;
}

async function run(cmd: string[], log: (l: string) => void): Promise<void> {
  const p = new Deno.Command(cmd[0], { args: cmd.slice(1), stdout: "piped", stderr: "piped" });
  const r = await p.output();
  let text = new TextDecoder().decode(r.stderr) + new TextDecoder().decode(r.stdout);
  if (!r.success) throw new Error(`${cmd.join(" ")}\n${text}`);
  if (cmd.includes("-Xptxas")) {
    // wgmma translation units are compiled with ptxas -v: a serialized wgmma pipeline or an injected wait is a
    // performance bug that the tests cannot see, so it fails the build (codes C7510-C7519)
    const bad = text.split("\n").filter((l) => /\(C751\d\)/.test(l));
    if (bad.length) throw new Error(`${cmd.join(" ")}\nptxas reports wgmma serialization:\n${bad.join("\n")}`);
    text = text.split("\n").filter((l) => !/^ptxas info|^\s*\d+ bytes stack frame/.test(l)).join("\n");
  }
  if (text.trim()) log(text.trim());
}

function git(args: string[]): string | undefined {
  try {
    const r = new Deno.Command("git", { args, cwd: repoRoot, stdout: "piped", stderr: "null" }).outputSync();
    return r.success ? new TextDecoder().decode(r.stdout).trim() : undefined;
  } catch {
    return undefined; // no git binary
  }
}

let commitCache: string | undefined;
/**
 * Commit of the source tree (with "-dirty" when tracked files differ). $SAMOYEDS_COMMIT wins when set: on the GPU
 * machine the tree is a copy whose .git (if any) is stale, and scripts/pack-gpu.sh records the real commit there.
 */
export function sourceCommit(): string {
  if (commitCache) return commitCache;
  const env = Deno.env.get("SAMOYEDS_COMMIT");
  if (env) return (commitCache = env);
  const head = git(["rev-parse", "HEAD"]);
  if (!head) return (commitCache = "unknown (no git checkout, SAMOYEDS_COMMIT unset)");
  return (commitCache = head + (git(["status", "--porcelain", "--untracked-files=no"]) ? "-dirty" : ""));
}

/** Runs tasks with at most `jobs` in flight. */
async function pool<T>(items: T[], jobs: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(workers);
}

export async function buildNative(opts: BuildOptions = {}): Promise<BuildResult> {
  const log = opts.log ?? (() => {});
  const jobs = opts.jobs ?? Math.max(1, navigator.hardwareConcurrency ?? 2);
  const native = join(repoRoot, "native");
  const headers = [
    ...(await listFiles(join(native, "include"), [".h"])),
    ...(await listFiles(join(native, "src", "common"), [".h", ".cuh"])),
    ...(await listFiles(join(native, "src", "cpu"), [".h"])),
    ...(await listFiles(join(native, "src", "cuda"), [".h", ".cuh"])),
  ];
  let newestHeader = 0;
  for (const h of headers) newestHeader = Math.max(newestHeader, await mtime(h));
  const version = `0.1.0+${sourceCommit().slice(0, 7)}`;
  const includes = ["-I", join(native, "include"), "-I", join(native, "src", "common")];
  const result: BuildResult = {};
  await Deno.mkdir(libDir, { recursive: true });
  const common = await listFiles(join(native, "src", "common"), [".cpp"]);

  const compileAll = async (objDir: string, sources: string[], compile: (src: string, obj: string) => string[]) => {
    await Deno.mkdir(objDir, { recursive: true });
    const objects: string[] = [];
    const todo: [string, string][] = [];
    for (const src of sources) {
      const obj = join(objDir, src.slice(native.length + 1).replaceAll("/", "_") + ".o");
      objects.push(obj);
      const om = await mtime(obj);
      if (opts.force || om === 0 || om < (await mtime(src)) || om < newestHeader) todo.push([src, obj]);
    }
    await pool(todo, jobs, async ([src, obj]) => {
      log(`  compile ${src.slice(repoRoot.length + 1)}`);
      await run(compile(src, obj), log);
    });
    return { objects, changed: todo.length > 0 };
  };

  if (opts.cpu !== false) {
    const cxx = Deno.env.get("CXX") ?? "g++";
    if (!(await findTool(cxx)) && !(await exists(cxx))) {
      throw new Error(`no C++ compiler '${cxx}' found: install g++ (apt-get install g++) or set CXX`);
    }
    log("building CPU backend (g++)");
    const flags = ["-O3", "-march=x86-64-v2", "-std=c++17", "-fPIC", "-fopenmp", "-fvisibility=hidden", `-DSY_VERSION="${version}"`, ...includes];
    const sources = [...common, ...(await listFiles(join(native, "src", "cpu"), [".cpp"]))];
    const { objects, changed } = await compileAll(join(buildDir, "obj", "cpu"), sources, (src, obj) => [cxx, ...flags, "-c", src, "-o", obj]);
    const out = join(libDir, "libsamoyeds_cpu.so");
    if (changed || !(await exists(out))) await run([cxx, "-shared", "-fopenmp", "-Wl,-Bsymbolic", "-o", out, ...objects], log);
    result.cpuLibrary = out;
  }

  if (opts.cuda !== false) {
    const nvcc = Deno.env.get("NVCC") ?? (await findTool("nvcc", ["/usr/local/cuda/bin/nvcc"]));
    if (!nvcc) {
      result.cudaSkipped = "nvcc not found (install the CUDA toolkit or set NVCC); the CPU backend still works";
      return result;
    }
    const archs = (Deno.env.get("SAMOYEDS_CUDA_ARCHS") ?? "80,90a").split(",").map((a) => a.trim()).filter(Boolean);
    log(`building CUDA backend (${nvcc}, sm_${archs.join(", sm_")})`);
    const gencode = archs.flatMap((a) => ["-gencode", `arch=compute_${a},code=sm_${a}`]);
    const flags = ["-O3", "-std=c++17", "--expt-relaxed-constexpr", "-Xcompiler", "-fPIC,-fvisibility=hidden", `-DSY_VERSION="${version}"`, ...includes, ...gencode];
    const sources = [...common, ...(await listFiles(join(native, "src", "cuda"), [".cu"]))];
    const ptxasCheck = (src: string) => (archs.includes("90a") && /ssmm_wgmma[^/]*\.cu$/.test(src) ? ["-Xptxas", "-v"] : []);
    const { objects, changed } = await compileAll(join(buildDir, "obj", "cuda"), sources, (src, obj) =>
      src.endsWith(".cu") ? [nvcc, ...flags, ...ptxasCheck(src), "-c", src, "-o", obj] : [nvcc, ...flags, "-x", "c++", "-c", src, "-o", obj]);
    const out = join(libDir, "libsamoyeds_cuda.so");
    if (changed || !(await exists(out))) {
      await run([nvcc, "-shared", ...gencode, "-Xlinker", "-Bsymbolic", "-o", out, ...objects, "-ldl", "-lpthread"], log);
    }
    result.cudaLibrary = out;
  }
  return result;
}
