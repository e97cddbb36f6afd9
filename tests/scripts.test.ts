// The helper scripts that GPU runs depend on, checked on the CPU: scripts/wgmma-pick-variant.ts, scripts/native-hash.sh.
import assert from "node:assert/strict";

async function pick(rows: { m: number; k: number; variant: string; ms: number }[], ...names: string[]) {
  const file = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(file, JSON.stringify({ provenance: {}, rows }));
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", new URL("../scripts/wgmma-pick-variant.ts", import.meta.url).pathname, file, ...names],
      stdout: "piped", stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    return new TextDecoder().decode(out.stdout).trim();
  } finally {
    await Deno.remove(file);
  }
}

const row = (m: number, variant: string, ms: number) => ({ m, k: 64, variant, ms });

Deno.test("wgmma-pick-variant: the fastest challenger wins only by more than 2% (geometric mean over shapes)", async () => {
  const rows = [
    row(1, "inc: incumbent", 1.0), row(2, "inc: incumbent", 2.0),
    row(1, "a: slower", 1.1), row(2, "a: slower", 2.2),
    row(1, "b: 10% faster", 0.9), row(2, "b: 10% faster", 1.8),
    row(1, "c: 1% faster", 0.99), row(2, "c: 1% faster", 1.98),
  ];
  assert.equal(await pick(rows, "inc", "a", "b", "c"), "b");
  assert.equal(await pick(rows, "inc", "a", "c"), "inc");
  assert.equal(await pick(rows, "inc", "missing"), "inc");
  // a challenger measured on one shape only is compared on that shape
  assert.equal(await pick([...rows, row(1, "d: fast on one shape", 0.5)], "inc", "b", "d"), "d");
});

// scripts/native-hash.sh decides whether gpu-run.sh may use a CUDA library prebuilt here: the same hash from a copy
// of the working tree without git (what the GPU machine gets), another one when a source or the target archs change.
Deno.test("native-hash: a copy without git hashes the same; a changed source or arch list does not", async () => {
  const root = new URL("..", import.meta.url).pathname;
  const hash = async (cwd: string, archs = "90a") => {
    const out = await new Deno.Command("bash", { args: ["scripts/native-hash.sh"], cwd, env: { SAMOYEDS_CUDA_ARCHS: archs }, stdout: "piped", stderr: "piped" }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    return new TextDecoder().decode(out.stdout).trim();
  };
  const here = await hash(root);
  assert.match(here, /^[0-9a-f]{64}$/);
  const copy = await Deno.makeTempDir();
  try {
    for (const part of ["native", "lib/native", "scripts"]) await Deno.mkdir(`${copy}/${part}`, { recursive: true });
    const files = new TextDecoder().decode((await new Deno.Command("git", { args: ["ls-files", "-co", "--exclude-standard", "--", "native", "lib/native/build.ts", "scripts/build.ts", "scripts/native-hash.sh"], cwd: root, stdout: "piped" }).output()).stdout).split("\n").filter(Boolean);
    for (const f of files) {
      await Deno.mkdir(`${copy}/${f.slice(0, f.lastIndexOf("/"))}`, { recursive: true });
      await Deno.copyFile(`${root}/${f}`, `${copy}/${f}`);
    }
    assert.equal(await hash(copy), here, "a copy without git");
    assert.notEqual(await hash(copy, "80,90a"), here, "another arch list");
    await Deno.writeTextFile(`${copy}/native/src/common/half.h`, "\n", { append: true });
    assert.notEqual(await hash(copy), here, "a changed header");
  } finally {
    await Deno.remove(copy, { recursive: true });
  }
});
