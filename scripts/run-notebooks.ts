// Executes every notebooks/*.ipynb headless with Jupyter's nbconvert on the Deno kernel (`deno task notebooks`,
// and part of `deno task test`). A notebook passes when nbconvert exits 0 AND every file it declares in its
// metadata `samoyeds.writes` (paths from the repo root) was written during the run. Stored outputs are not judged
// (the Deno kernel may send output after a cell is reported done). A notebook whose metadata `samoyeds.requires`
// lists data files that are absent (e.g. GPU results not yet committed) is skipped with a message.
// The kernelspec is project-local (.jupyter/kernels/deno, found through JUPYTER_PATH) and runs this very deno.
// Executed copies (with outputs) go to build/notebooks/. Usage: deno task notebooks [name-filter]
import { join } from "node:path";
import { repoRoot } from "../lib/native/build.ts";
import { ensureFonts, ensureNbconvert } from "./system-deps.ts";

export interface NotebookResult {
  notebook: string;
  status: "passed" | "failed" | "skipped";
  detail: string;
  seconds: number;
}

export const jupyterPath = join(repoRoot, ".jupyter");

/** Writes .jupyter/kernels/deno/kernel.json pointing at the running deno (all permissions, as `deno jupyter`). */
export function writeKernelspec(): string {
  const dir = join(jupyterPath, "kernels", "deno");
  Deno.mkdirSync(dir, { recursive: true });
  const spec = {
    argv: [Deno.execPath(), "jupyter", "--kernel", "--conn", "{connection_file}"],
    display_name: "Deno (samoyeds-lab)",
    language: "typescript",
    env: { NO_COLOR: "1" },
  };
  Deno.writeTextFileSync(join(dir, "kernel.json"), JSON.stringify(spec, null, 1) + "\n");
  return dir;
}

function mtimeMs(path: string): number {
  try {
    return Deno.statSync(path).mtime?.getTime() ?? 0;
  } catch {
    return 0;
  }
}

export async function runNotebooks(filter?: string): Promise<NotebookResult[]> {
  const dir = join(repoRoot, "notebooks");
  const names = [...Deno.readDirSync(dir)].filter((e) => e.isFile && e.name.endsWith(".ipynb")).map((e) => e.name)
    .filter((n) => !filter || n.includes(filter)).sort();
  const results: NotebookResult[] = [];
  if (names.length === 0) return results;
  let nbconvert: string;
  try {
    nbconvert = await ensureNbconvert();
  } catch (e) {
    const msg = (e as Error).message;
    console.error(msg);
    return names.map((n) => ({ notebook: n, status: "failed", detail: msg.split("\n")[0], seconds: 0 }));
  }
  await ensureFonts();
  writeKernelspec();
  const outDir = join(repoRoot, "build", "notebooks");
  Deno.mkdirSync(outDir, { recursive: true });
  for (const name of names) {
    const path = join(dir, name);
    const t0 = Date.now();
    // deno-lint-ignore no-explicit-any
    let meta: any = {};
    try {
      meta = JSON.parse(Deno.readTextFileSync(path)).metadata?.samoyeds ?? {};
    } catch (e) {
      results.push({ notebook: name, status: "failed", detail: `not valid notebook JSON: ${(e as Error).message}`, seconds: 0 });
      continue;
    }
    const missing = ((meta.requires ?? []) as string[]).filter((f) => mtimeMs(join(repoRoot, f)) === 0);
    if (missing.length) {
      const r: NotebookResult = { notebook: name, status: "skipped", detail: `needs ${missing.join(", ")} (a GPU run: scripts/gpu-run.sh)`, seconds: 0 };
      console.log(`notebook ${name}: SKIPPED, ${r.detail}`);
      results.push(r);
      continue;
    }
    console.log(`notebook ${name}: executing ...`);
    const start = Date.now() - 1000; // file system mtime granularity
    const p = await new Deno.Command(nbconvert, {
      args: ["--to", "notebook", "--execute", "--ExecutePreprocessor.kernel_name=deno", "--ExecutePreprocessor.timeout=1800",
        "--output-dir", outDir, path],
      cwd: dir,
      env: { JUPYTER_PATH: jupyterPath, PYDEVD_DISABLE_FILE_VALIDATION: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const seconds = (Date.now() - t0) / 1000;
    const log = new TextDecoder().decode(p.stderr) + new TextDecoder().decode(p.stdout);
    const notWritten = ((meta.writes ?? []) as string[]).filter((f) => mtimeMs(join(repoRoot, f)) < start);
    let r: NotebookResult;
    if (!p.success) {
      // the failing cell and its error, not nbconvert's Python traceback
      const at = log.indexOf("An error occurred while executing");
      const tail = (at >= 0 ? log.slice(at) : log).split("\n").filter((l) => l.trim() && !/MissingIDFieldWarning|validate\(nb\)|is unstable/.test(l))
        .slice(0, 30).join("\n");
      const errLine = tail.split("\n").filter((l) => /^\w*(Error|Exception)\b|^\w+: /.test(l.trim())).pop()?.trim() ?? "";
      r = { notebook: name, status: "failed", detail: `nbconvert exited with ${p.code}: ${errLine}\n${tail}`, seconds };
    } else if (notWritten.length) {
      r = { notebook: name, status: "failed", detail: `ran, but did not write ${notWritten.join(", ")}`, seconds };
    } else {
      r = { notebook: name, status: "passed", detail: `ok (${(meta.writes ?? []).length} declared files written)`, seconds };
    }
    console.log(`notebook ${name}: ${r.status.toUpperCase()} in ${seconds.toFixed(1)} s${r.status === "passed" ? "" : `: ${r.detail}`}`);
    results.push(r);
  }
  return results;
}

if (import.meta.main) {
  const results = await runNotebooks(Deno.args[0]);
  const n = (s: string) => results.filter((r) => r.status === s).length;
  console.log(`notebooks: ${n("passed")} passed, ${n("failed")} failed, ${n("skipped")} skipped (executed copies in build/notebooks/)`);
  if (n("failed")) Deno.exit(1);
}
