// `deno task test`: build native/ (so a fresh clone works), run the unit tests (deno test tests/), then execute every
// notebook headless (scripts/run-notebooks.ts). Ends with ONE summary line `N passed, N failed, N skipped` (unit tests
// + notebooks; skipped = GPU tests ignored without a GPU + notebooks waiting for GPU data) and exits non-zero on any
// failure. Usage: deno task test [--no-build] [--no-notebooks] [extra deno test args, e.g. tests/core.test.ts]
import { repoRoot } from "../lib/native/build.ts";
import { runNotebooks } from "./run-notebooks.ts";

const args = Deno.args.filter((a) => !a.startsWith("--no-"));
const deno = Deno.execPath();
let passed = 0, failed = 0, skipped = 0;
const problems: string[] = [];

/** Runs a command, streaming its output, and returns its exit status and the text (ANSI codes stripped). */
async function stream(cmd: string[], env: Record<string, string> = {}): Promise<{ code: number; text: string }> {
  const p = new Deno.Command(cmd[0], { args: cmd.slice(1), cwd: repoRoot, env, stdout: "piped", stderr: "piped" }).spawn();
  let text = "";
  const pump = async (rs: ReadableStream<Uint8Array>, out: { write(b: Uint8Array): Promise<number> }) => {
    const dec = new TextDecoder();
    for await (const chunk of rs) {
      await out.write(chunk);
      text += dec.decode(chunk, { stream: true });
    }
  };
  await Promise.all([pump(p.stdout, Deno.stdout), pump(p.stderr, Deno.stderr)]);
  const { code } = await p.status;
  // deno-lint-ignore no-control-regex
  return { code, text: text.replace(/\x1b\[[0-9;]*m/g, "") };
}

if (!Deno.args.includes("--no-build")) {
  console.log("== deno task build");
  const b = await stream([deno, "task", "build"]);
  if (b.code !== 0) {
    failed++;
    problems.push("build failed (see above)");
  }
}

if (problems.length === 0) {
  console.log("\n== unit tests: deno test --allow-all tests/");
  const t = await stream([deno, "test", "--allow-all", ...(args.length ? args : ["tests/"])]);
  // deno test's summary, e.g. "ok | 12 passed | 0 failed | 3 ignored (2s)" or "... (3 ignored)"
  const m = [...t.text.matchAll(/(?:ok|FAILED) \| (\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed(?: \((\d+) steps?\))?(?: \| (\d+) ignored| \((\d+) ignored\))?/g)].pop();
  if (m) {
    passed += Number(m[1]);
    failed += Number(m[3]);
    skipped += Number(m[5] ?? m[6] ?? 0);
    if (Number(m[3]) > 0) problems.push(`${m[3]} unit test(s) failed`);
  }
  if (!m || (t.code !== 0 && Number(m[3]) === 0)) {
    failed++;
    problems.push(`deno test exited with ${t.code}${m ? "" : " before reporting a summary (type error or crash?)"}`);
  }
}

const buildFailed = problems.some((p) => p.startsWith("build"));
if (!Deno.args.includes("--no-notebooks") && !buildFailed) {
  console.log("\n== notebooks (headless, Jupyter nbconvert on the Deno kernel)");
  const nb = await runNotebooks();
  for (const r of nb) {
    if (r.status === "passed") passed++;
    else if (r.status === "skipped") skipped++;
    else {
      failed++;
      problems.push(`notebook ${r.notebook}: ${r.detail.split("\n")[0]}`);
    }
  }
}

if (problems.length) console.log(`\nproblems:\n  ${problems.join("\n  ")}`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
if (failed > 0) Deno.exit(1);
