// Kernel-level figures (lib/figures/kernel_level.ts) on small synthetic data: no GPU needed. Checks that every
// figure renders to SVG + PNG in a temp folder with its caption, that the speedup table divides the right times, that
// skipped methods are reported rather than drawn, and that absent data gives [] instead of an error.
import assert from "node:assert/strict";
import { join } from "node:path";
import type { KernelPoint } from "../bench/kernel.ts";
import {
  figure12,
  figure13,
  kernelLevelFigures,
  type KernelLevelJson,
  saveKernelLevelFigures,
  speedupMarkdown,
  speedupTable,
  wgmmaRooflineFigures,
  wgmmaLaunchAbFigures,
  bestOfRoundRows,
  wgmmaVariantsFigures,
  mmaSpFigures,
} from "../lib/figures/kernel_level.ts";

const METHODS: [string, "all" | "routed", number][] = [
  // method, tokens, time factor (ms = factor * m * k * n_work * 1e-12, so relative speeds are known)
  ["cublas", "all", 1],
  ["cublas", "routed", 1],
  ["gather", "routed", 0.05],
  ["cublas+gather", "routed", 1.05],
  ["vnm", "all", 2],
  ["vnm", "routed", 2],
  ["vnm+gather", "routed", 2.05],
  ["samoyeds_ssmm", "routed", 0.8],
  ["samoyeds_wgmma", "routed", 0.4],
];

function point(figure: "fig12" | "fig13", sweep: "m" | "k" | "n" | undefined, m: number, k: number, n: number, method: string, tokens: "all" | "routed", factor: number): KernelPoint {
  const nr = n / 4, nWork = tokens === "all" ? n : nr;
  const ms = factor * m * k * nWork * 1e-9;
  return {
    figure, sweep, m, k, n, n_routed: nr, method, tokens, ms, p10_ms: ms, p90_ms: ms, iters: 10,
    tflops: (2 * m * k * nWork) / (ms * 1e-3) / 1e12, tflops_required: (2 * m * k * nr) / (ms * 1e-3) / 1e12,
  };
}

function synthetic(): KernelLevelJson {
  const rows: KernelPoint[] = [];
  const add = (figure: "fig12" | "fig13", sweep: "m" | "k" | "n" | undefined, m: number, k: number, n: number) => {
    for (const [method, tokens, f] of METHODS) rows.push(point(figure, sweep, m, k, n, method, tokens, f));
    // cuSPARSELt absent on this "machine": recorded as skipped with the reason
    for (const tokens of ["all", "routed"] as const) rows.push({ figure, sweep, m, k, n, n_routed: n / 4, method: "cusparselt", tokens, skipped: "cuSPARSELt not available: libcusparseLt.so.0 not found" });
  };
  add("fig12", undefined, 1408, 2048, 4096);
  add("fig12", undefined, 5760, 2304, 4096);
  for (const v of [256, 1024, 4096]) {
    add("fig13", "m", v, 4096, 4096);
    add("fig13", "k", 4096, v, 4096);
    add("fig13", "n", 4096, 4096, v);
  }
  return { provenance: { device: { name: "Synthetic GPU", cc_major: 9, cc_minor: 0 }, commit: "0123456789abcdef", synthetic: true }, run: { dtype: "f16" }, rows };
}

Deno.test("kernel-level: Figure 12 and 13 charts carry all measured series and report skipped ones", () => {
  const j = synthetic();
  for (const protocol of ["paper", "equal"] as const) {
    const f12 = figure12(j, protocol);
    assert.match(f12.chart.outerHTML, /^<svg/);
    const labels = f12.legend.map((l) => l.label);
    assert.ok(labels.some((l) => l.includes("wgmma.sp")), "wgmma.sp series shown");
    assert.ok(labels.some((l) => l.includes("mma.sp")), "mma.sp series shown");
    assert.ok(!labels.some((l) => l.includes("cuSPARSELt")), "all-skipped series not drawn");
    assert.ok(f12.notes.some((n) => n.startsWith("not measured: cuSPARSELt")), "skip reason in the caption");
    if (protocol === "equal") assert.ok(labels.includes("cuBLAS + gather") && labels.includes("V:2:8 + gather"));
    for (const sw of ["m", "k", "n"] as const) {
      const f13 = figure13(j, sw, protocol);
      assert.match(f13.chart.outerHTML, /<path/, "lines drawn");
      assert.equal(f13.name, `kernel-level-fig13-${sw}-${protocol}`);
    }
  }
});

Deno.test("kernel-level: speedup table = baseline time / our time, both protocols", () => {
  const rows = speedupTable(synthetic());
  const r = rows.find((x) => x.shape === "1408 x 2048" && x.ours === "wgmma.sp" && x.versus === "cublas")!;
  // cuBLAS all n: 1 * n; ours: 0.4 * n/4 -> 10x; equal work: 1 / 0.4 = 2.5x; + gather 1.05 / 0.4
  assert.ok(Math.abs(r.paper! - 10) < 1e-9, `paper ${r.paper}`);
  assert.ok(Math.abs(r.equal! - 2.5) < 1e-9, `equal ${r.equal}`);
  assert.ok(Math.abs(r.equal_with_gather! - 1.05 / 0.4) < 1e-9);
  const splt = rows.find((x) => x.versus === "cusparselt")!;
  assert.equal(splt.paper, undefined);
  const md = speedupMarkdown(rows);
  assert.match(md, /\| 1408 x 2048 \| wgmma\.sp \| cublas \| 10\.00x \| 2\.50x \| 2\.63x \|/);
  assert.match(md, /n\/a/);
});

Deno.test("kernel-level: every figure written as SVG + PNG with data file and device in the caption", () => {
  const dir = Deno.makeTempDirSync({ prefix: "kernel-level-fig-" });
  try {
    const dataDir = join(dir, "data"), outDir = join(dir, "figures");
    Deno.mkdirSync(dataDir);
    Deno.writeTextFileSync(join(dataDir, "kernel-level.json"), JSON.stringify(synthetic()));
    const written = kernelLevelFigures({ dataDir, outDir });
    assert.equal(written.length, 16, "Figure 12 + 3 x Figure 13, both protocols, svg + png");
    for (const f of written) {
      const bytes = Deno.readFileSync(f);
      assert.ok(bytes.length > 1000, `${f} not empty`);
      if (f.endsWith(".png")) assert.deepEqual([...bytes.slice(1, 4)], [0x50, 0x4e, 0x47], `${f} is a PNG`);
      else {
        const svg = new TextDecoder().decode(bytes);
        assert.match(svg, /kernel-level\.json/);
        assert.match(svg, /Synthetic GPU \(sm_90\)/);
        assert.match(svg, /SYNTHETIC EXAMPLE DATA/);
        assert.match(svg, /TFLOP\/s, dense-equivalent/);
      }
    }
    // older files keep the points under "points": same figures
    const j = synthetic();
    const old = saveKernelLevelFigures({ provenance: j.provenance, points: j.rows }, "old.json", join(dir, "old"));
    assert.equal(old.length, 16);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("kernel-level: absent data gives no figures (and no error)", () => {
  const dir = Deno.makeTempDirSync({ prefix: "kernel-level-none-" });
  try {
    assert.deepEqual(kernelLevelFigures({ dataDir: dir, outDir: dir }), []);
    assert.deepEqual(wgmmaRooflineFigures({ dataDir: dir, outDir: dir }), []);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("hopper-wgmma: roofline written through saveFigure from a wgmma.json", () => {
  const dir = Deno.makeTempDirSync({ prefix: "wgmma-roofline-" });
  try {
    const p = (kernel: string, tflops: number) => ({ m: 4096, k: 4096, n_sel: 4096, kernel, ms: 1, tflops_dense_eq: tflops, bytes: 64e6, model: "x" });
    Deno.writeTextFileSync(join(dir, "wgmma.json"), JSON.stringify({
      provenance: { device: { name: "Synthetic GPU", cc_major: 9, cc_minor: 0 } },
      dtype: "bf16",
      peaks: { wgmma_sp_m64n256k32_tflops: 1700, wgmma_dense_m64n256k16_tflops: 950, copy_bandwidth_gbs: 2400 },
      fig12: [p("wgmma_sp (ours)", 900), p("cublas_dense (gathered tokens)", 600)],
      sweeps: { m: [p("wgmma_sp (ours)", 500)] },
    }));
    const written = wgmmaRooflineFigures({ dataDir: dir, outDir: dir });
    assert.equal(written.length, 2);
    const svg = Deno.readTextFileSync(written[0]);
    assert.match(svg, /wgmma\.json/);
    assert.match(svg, /Synthetic GPU \(sm_90\)/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("hopper-wgmma: variants figure from the newest variants file with provenance", () => {
  const dir = Deno.makeTempDirSync({ prefix: "wgmma-variants-" });
  try {
    Deno.mkdirSync(join(dir, "wgmma-perf"));
    const row = (m: number, variant: string, tf: number) => ({ m, k: 2048, n_sel: 4096, V: 128, variant, ms: 1, tflops_dense_eq: tf });
    const file = (name: string, date: string | undefined, variants: string[]) =>
      Deno.writeTextFileSync(join(dir, "wgmma-perf", name), JSON.stringify({
        provenance: date ? { date, commit: "abcdef0123456", device: { name: "Synthetic GPU" }, build: { wgmma_variant: "x" } } : undefined,
        rows: variants.flatMap((v, i) => [row(1408, v, 100 + i), row(5760, v, 200 + i)]),
      }));
    file("variants-old.json", "2026-01-01T00:00:00Z", ["old-a: first", "old-b: second"]);
    file("variants-new.json", "2026-02-01T00:00:00Z", ["default", "new-a: the newest", "new-b: another"]);
    file("variants-noprov.json", undefined, ["noprov: ignored"]);
    const written = wgmmaVariantsFigures({ dataDir: dir, outDir: dir });
    assert.equal(written.length, 2);
    const svg = Deno.readTextFileSync(written[0]);
    assert.match(svg, /variants-new\.json/);
    assert.match(svg, /new-a: the newest/);
    assert.match(svg, /wgmma\.sp variant x/);
    assert.doesNotMatch(svg, /old-a|noprov/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("hopper-wgmma: split-k and PDL A/B figures from the newest n1024 files; the variants figure ignores them", () => {
  const dir = Deno.makeTempDirSync({ prefix: "wgmma-ab-" });
  try {
    Deno.mkdirSync(join(dir, "wgmma-perf"));
    const file = (name: string, date: string, variants: string[]) =>
      Deno.writeTextFileSync(join(dir, "wgmma-perf", name), JSON.stringify({
        provenance: { date, commit: "abcdef0123456", device: { name: "Synthetic GPU" }, build: { wgmma_variant: "x" } },
        rows: variants.map((variant, i) => ({ m: 1408, k: 2048, n_sel: 1024, V: 128, variant, ms: 1, tflops_dense_eq: 100 + i })),
      }));
    file("variants-table.json", "2026-01-01T00:00:00Z", ["default", "a: the table"]);
    file("variants-split-n1024-old.json", "2026-01-02T00:00:00Z", ["default, split stale"]);
    file("variants-split-n1024-new.json", "2026-01-03T00:00:00Z", ["default, split auto", "default, split off"]);
    file("variants-pdl-n1024-new.json", "2026-01-04T00:00:00Z", ["default, pdl on", "default, pdl off"]);
    file("variants-n1024-new.json", "2026-01-05T00:00:00Z", ["default", "b: the 1024-token table"]);
    file("variants-probe-loads-n1024-new.json", "2026-01-06T00:00:00Z", ["x, round 1", "x, loads only, round 1", "x, round 2", "x, loads only, round 2"]);
    const ab = wgmmaLaunchAbFigures({ dataDir: dir, outDir: dir });
    assert.equal(ab.length, 6);
    // the probe figure: one bar per setting, the better round (rates 100 + index: round 2 wins)
    const probeSvg = Deno.readTextFileSync(ab[4]);
    assert.match(probeSvg, /loads only/);
    assert.doesNotMatch(probeSvg, /round \d/);
    assert.deepEqual(bestOfRoundRows([
      { m: 1, k: 2, n_sel: 3, V: 128, variant: "a, round 1", ms: 2, tflops_dense_eq: 5 },
      { m: 1, k: 2, n_sel: 3, V: 128, variant: "a, round 2", ms: 1, tflops_dense_eq: 10 },
    ]), [{ m: 1, k: 2, n_sel: 3, V: 128, variant: "a", ms: 1, tflops_dense_eq: 10 }]);
    const [split, , pdl] = ab.map((p) => p.endsWith(".svg") ? Deno.readTextFileSync(p) : "");
    assert.match(split, /variants-split-n1024-new\.json/);
    assert.match(split, /split auto/);
    assert.doesNotMatch(split, /split stale/);
    assert.match(pdl, /pdl off/);
    const tables = wgmmaVariantsFigures({ dataDir: dir, outDir: dir });
    assert.equal(tables.length, 4);  // the 4096-token table and the 1024-token one, SVG and PNG each
    assert.match(Deno.readTextFileSync(tables[0]), /variants-table\.json/);
    assert.match(Deno.readTextFileSync(tables[2]), /variants-n1024-new\.json/);
    assert.match(Deno.readTextFileSync(tables[2]), /the 1024-token table/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("mma-sp-ssmm: routing (and stage) figure from data/ssmm.json; a file without the routing A/B gives none", () => {
  const dir = Deno.makeTempDirSync({ prefix: "mma-sp-routing-" });
  try {
    const row = (dtype: string, m: number, swap: boolean) => ({
      dtype, m, k: 2048, n_sel: 4096, tokens: 16384,
      ms: { ssmm_f32acc_halfout: 1, cublas_gathered_halfout: 0.5, ...(swap ? { ssmm_swap_routing_halfout: 1.25 } : {}) },
      tflops_dense_equiv: { ssmm_f32acc_halfout: 300, cublas_gathered_halfout: 600, ...(swap ? { ssmm_swap_routing_halfout: 240 } : {}) },
    });
    const write = (swap: boolean) => Deno.writeTextFileSync(join(dir, "ssmm.json"), JSON.stringify({
      provenance: { commit: "0123456789abc", device: { name: "Synthetic GPU" }, build: { mma_sp_routing: "sum" } },
      V: 128, rows: [row("f16", 1408, swap), row("bf16", 1408, swap), row("bf16", 5760, swap)],
    }));
    write(false);
    assert.deepEqual(mmaSpFigures({ dataDir: dir, outDir: dir }), []);
    write(true);
    const written = mmaSpFigures({ dataDir: dir, outDir: dir });
    assert.equal(written.length, 2);
    const svg = Deno.readTextFileSync(written[0]);
    assert.match(svg, /ssmm\.json/);
    assert.match(svg, /running sums \(default\)/);
    assert.match(svg, /accumulator swaps/);
    assert.match(svg, /mma\.sp routing sum/);
    // a session-11 file: the 64-k stage A/B is a third SSMM bar, and the default is named with its 128-k stages
    const file = join(dir, "ssmm.json"), j = JSON.parse(Deno.readTextFileSync(file));
    for (const r of j.rows) r.ms.ssmm_stage64_halfout = 1.1, r.tflops_dense_equiv.ssmm_stage64_halfout = 270;
    j.provenance.build.mma_sp_stage_k = 128;
    Deno.writeTextFileSync(file, JSON.stringify(j));
    const svg2 = Deno.readTextFileSync(mmaSpFigures({ dataDir: dir, outDir: dir })[0]);
    assert.match(svg2, /running sums, 128-k stages \(default\)/);
    assert.match(svg2, /64-k stages \(SAMOYEDS_MMA_SP_STAGE_K=64\)/);
    assert.match(svg2, /pipeline-stage A\/Bs/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
