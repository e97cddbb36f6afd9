// The foundation's TS side: results with provenance (lib/data.ts), arquero tables (lib/tables.ts), figures
// (lib/figures/render.ts: Plot -> SVG -> PNG, stamped with source and device), timing on the CPU backend.
import assert from "node:assert/strict";
import { join } from "node:path";
import { buildNote, cudaVersionString, deviceLabel, provenance, readResults, toCsv, writeResults } from "../lib/data.ts";
import { table } from "../lib/tables.ts";
import { frameFigure, plot, Plot, saveFigure, svgString, svgToPng, wrapWords } from "../lib/figures/render.ts";
import { timeHost } from "../lib/timing.ts";
import { EXPERIMENTS } from "../lib/experiments/registry.ts";
import { openBackend } from "../lib/native/library.ts";
import { randn, randnReference } from "../lib/tensor.ts";

Deno.test("writeResults: JSON + CSV with provenance, read back as JSON and as an arquero table", () => {
  const dir = Deno.makeTempDirSync();
  const prov = provenance("cpu", { command: "test" });
  const rows = [{ size: 1, name: "a,b", ok: true }, { size: 2, name: 'q"uote', extra: 3 }];
  const w = writeResults("unit-test", prov, { note: "x" }, { rows, dir });
  const back = readResults<{ provenance: typeof prov; note: string; rows: unknown[] }>(w.json)!;
  assert.equal(back.note, "x");
  assert.equal(back.provenance.backend, "cpu");
  assert.equal(back.provenance.command, "test");
  assert.equal(back.rows.length, 2);
  const csv = Deno.readTextFileSync(w.csv!);
  assert.match(csv, /^# device: .*CPU backend/m);
  assert.match(csv, /^# commit: /m);
  assert.match(csv, /^size,name,ok,extra$/m);
  assert.match(csv, /^1,"a,b",true,$/m);
  assert.match(csv, /^2,"q""uote",,3$/m);
  const t = table(w.csv!);
  assert.equal(t.numRows(), 2);
  assert.deepEqual(t.array("size"), [1, 2]);
  assert.equal(table(w.json).numRows(), 2);
  assert.equal(readResults(join(dir, "absent.json")), undefined);
  assert.throws(() => writeResults("bad/name", prov, {}, { dir }), /bad result name/);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("provenance helpers", () => {
  assert.equal(cudaVersionString(12080), "12.8");
  assert.equal(cudaVersionString(13000), "13.0");
  assert.equal(cudaVersionString(undefined), undefined);
  assert.equal(
    deviceLabel({ backend: "cuda", name: "NVIDIA H100", compute_capability: "sm_90", sm_count: 132, driver_cuda_version: "12.8", raw: {} }),
    "NVIDIA H100 (sm_90, 132 SMs, driver CUDA 12.8)",
  );
  assert.equal(toCsv([]), "\n");
});

Deno.test("figures: Plot to standalone SVG with title, legend and caption; PNG rasterized", () => {
  const dir = Deno.makeTempDirSync();
  const data = [1, 2, 4, 8].map((x) => ({ x, y: x * 1.5 }));
  const chart = plot({ x: { label: "size (elements)" }, y: { label: "time (ms)" }, marks: [Plot.line(data, { x: "x", y: "y" })] });
  const out = saveFigure(chart, {
    name: "unit", title: "Unit <figure>", source: ["data/a.json", "data/b.json"], device: "Test GPU (sm_90)",
    legend: [{ label: "series & co", color: "#4e79a7" }], notes: ["random weights"], dir,
  });
  const svg = Deno.readTextFileSync(out.svg);
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /Unit &lt;figure&gt;/);
  assert.match(svg, /data: data\/a.json, data\/b.json/);
  assert.match(svg, /device: Test GPU \(sm_90\)/);
  assert.match(svg, /series &amp; co/);
  assert.match(svg, /random weights/);
  assert.match(svg, /time \(ms\)/);
  const png = Deno.readFileSync(out.png);
  assert.deepEqual(Array.from(png.subarray(0, 8)), [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  // width from the IHDR chunk: the SVG's width at scale 2
  const width = new DataView(png.buffer, png.byteOffset).getUint32(16);
  assert.equal(width, 2 * Number(svg.match(/width="(\d+)"/)![1]));
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("figures: plain SVG strings get a namespace; bad input is rejected", () => {
  assert.match(svgString('<svg width="10" height="10"><rect/></svg>'), /^<svg xmlns=/);
  assert.throws(() => svgString("<div></div>"), /expected an <svg>/);
  assert.throws(() => frameFigure("<svg><rect/></svg>", { name: "x", title: "t", source: "s", device: "d" }), /no width\/height/);
  assert.ok(svgToPng('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>').length > 8);
});

Deno.test("timeHost reports a median of the requested iterations", () => {
  let calls = 0;
  const t = timeHost(() => calls++, { warmup: 2, iters: 5 });
  assert.equal(calls, 7);
  assert.equal(t.iters, 5);
  assert.equal(t.method, "host-wallclock");
  assert.ok(t.p10 <= t.ms && t.ms <= t.p90);
});

Deno.test("experiment registry: unique names, each entry draws figures or names its GPU stage", () => {
  const names = EXPERIMENTS.map((e) => e.name);
  assert.equal(new Set(names).size, names.length, `duplicate experiment names: ${names}`);
  for (const e of EXPERIMENTS) {
    assert.ok(e.figures || e.gpuStage || e.runCpu, `${e.name} does nothing`);
    if (e.gpuStage) {
      const path = new URL(`../bench/${e.gpuStage}.ts`, import.meta.url);
      assert.ok(Deno.statSync(path).isFile, `${e.name}: bench/${e.gpuStage}.ts missing`);
    }
  }
});

Deno.test("figure captions wrap at the figure width, at spaces, without losing words", () => {
  const line = "bf16 operands; Figure 12 shapes and Figure 13 sweeps; CUDA-graph replay, median; commit 9a0a895cda";
  const lines = wrapWords(line, 40);
  assert.ok(lines.length > 1 && lines.every((l) => l.length <= 40), JSON.stringify(lines));
  assert.equal(lines.map((l) => l.trim()).join(" "), line);
  assert.deepEqual(wrapWords("short", 40), ["short"]);
  assert.deepEqual(wrapWords("averyveryverylongword x", 5), ["averyveryverylongword", "  x"]);
  const svg = frameFigure('<svg width="520" height="10"></svg>', { name: "x", title: "t", source: "s", device: "d", notes: ["word ".repeat(60).trim()] });
  assert.ok((svg.match(/<text /g) ?? []).length >= 5, "the long note becomes several caption lines");
});

Deno.test("buildNote: names the commit, the wgmma.sp variant and token tiles, and the mma.sp routing and stage k when recorded", () => {
  assert.equal(
    buildNote({ commit: "0123456789abcdef", build: { wgmma_variant: "gathered-tma-pp", wgmma_tiles: "auto", mma_sp_routing: "sum" } }),
    "; commit 0123456789; wgmma.sp variant gathered-tma-pp, token tiles auto; mma.sp routing sum",
  );
  assert.equal(buildNote({ build: { mma_sp_routing: "swap", mma_sp_stage_k: 128 } }), "; mma.sp routing swap, 128-k stages");
  assert.equal(buildNote({ build: { wgmma_variant: "gathered-tma-pp", wgmma_tiles: "auto", wgmma_persist: "on" } }),
    "; wgmma.sp variant gathered-tma-pp, token tiles auto, persistent on");
  assert.equal(buildNote({ build: { wgmma_variant: "gathered-tma-pp", wgmma_tiles: "auto", wgmma_persist: "on", wgmma_persist_grouped: "off" } }),
    "; wgmma.sp variant gathered-tma-pp, token tiles auto, persistent on (grouped off)");
  assert.equal(buildNote({ commit: "abc" }), "; commit abc");  // files from before the build info carried these
  assert.equal(buildNote(undefined), "");
});

// randn's large-n path (the CPU library's sy_randn_f32, parallel) must give the bits of the JavaScript generator: the
// benchmarks' inputs, and every test's random data above 32768 elements, come from it.
Deno.test("sy_randn_f32 gives the bits of randnReference (odd and even n, seeds, scales)", () => {
  const cpu = openBackend("cpu");
  for (const [n, seed, scale] of [[1, 0, 1], [2, 1, 1], [7, 12345, 0.05], [4096, 0xffffffff, 3.7], [1_000_001, 7, 1], [2_000_000, 16384 + 6144, 0.05]] as const) {
    const native = new Float32Array(n);
    cpu.call("sy_randn_f32", BigInt(n), seed >>> 0, scale, native);
    const ref = randnReference(n, seed, scale);
    const a = new Uint32Array(native.buffer), b = new Uint32Array(ref.buffer);
    let diff = 0;
    for (let i = 0; i < n; i++) if (a[i] !== b[i]) diff++;
    assert.equal(diff, 0, `n=${n} seed=${seed} scale=${scale}: ${diff} elements differ`);
  }
  // a negative or fractional seed means what rng() makes of it (ToUint32), on both paths
  assert.deepEqual(randn(40_000, -5, 2), randnReference(40_000, -5, 2));
  assert.deepEqual(randn(3, 9), randnReference(3, 9));  // small n: the JavaScript path itself
});
