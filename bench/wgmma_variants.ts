// Quick A/B timing of sy_ssmm_wgmma kernel variants (issue 5 performance work; GPU, sm_90). Not a results stage:
// prints one line per (shape, variant) and writes them to --json PATH (default $SAMOYEDS_RESULTS_DIR/wgmma-variants.json).
// Variants are picked through the environment read by sy_ssmm_wgmma (SAMOYEDS_WGMMA_VARIANT: a name of kVariants in
// native/src/common/wgmma_variants.h; SAMOYEDS_WGMMA_RASTER). The gathered-tma times include their pre-gather (one call = gather + kernel).
//   deno run --allow-all bench/wgmma_variants.ts [--one m k] [--json out.json] [--default-only | --split | --pdl | --persist | --probe-loads]
// --default-only: only the default launch (A/B of whole trees in scripts/gpu-stages/wgmma-baseline.sh).
// --split: the default variant under each split-k plan (SAMOYEDS_WGMMA_SPLIT: auto, off, 2, 3, 4; wgmma_split.h).
// --pdl: the default variant with and without the programmatic dependent launch after the pre-gather (SAMOYEDS_WGMMA_PDL).
// --persist: the default variant and gathered-tma-pp-sd, each with one CTA per tile and persistent (SAMOYEDS_WGMMA_PERSIST
// off / on, wgmma_tiles.h), in two interleaved rounds (labels "... round 1", "... round 2") to expose drift.
// Env WGMMA_V (default 128), WGMMA_NSEL (routed tokens, default 4096; the kernel-level bench routes 1024).
// --one m k: a single untimed call on that shape (for ncu -k regex:ssmm_wgmma).
import { openBackend } from "../lib/native/library.ts";
import { BackendTensor, DTYPE_CODE, HostTensor, randn, rng } from "../lib/tensor.ts";
import { encodeSamoyeds, pruneToSamoyeds } from "../lib/formats/samoyeds.ts";
import { packWgmma, wgmmaToBackend, wgmmaVariants } from "../lib/kernels/ssmm_wgmma.ts";
import { timeGraph as timeCapturedGraph } from "../lib/timing.ts";
import { provenance } from "../lib/data.ts";

const cuda = openBackend("cuda");
const dtype = "bf16" as const;
const V = Number(Deno.env.get("WGMMA_V") ?? 128), NSEL = Number(Deno.env.get("WGMMA_NSEL") ?? 4096), TOKENS = 16384;
const args = Deno.args;
const oneAt = args.indexOf("--one");
// the launch settings the library reads from the environment (reset between configurations)
const ENV = ["SAMOYEDS_WGMMA_VARIANT", "SAMOYEDS_WGMMA_RASTER", "SAMOYEDS_WGMMA_SPLIT", "SAMOYEDS_WGMMA_TILES", "SAMOYEDS_WGMMA_PDL", "SAMOYEDS_WGMMA_PERSIST", "SAMOYEDS_WGMMA_PROBE"];
const jsonAt = args.indexOf("--json");

function timeGraph(fn: () => void, iters = 20): number {
  return timeCapturedGraph(cuda, fn, { iters }).ms;
}

function setup(m: number, k: number, seed: number) {
  const { pruned } = pruneToSamoyeds(HostTensor.fromF32(randn(m * k, seed, 0.05), [m, k], dtype), { V, N: 1, M: 2 });
  const packed = packWgmma(encodeSamoyeds(pruned, { V, N: 1, M: 2 }));
  const wb = wgmmaToBackend(packed, cuda);
  const X = BackendTensor.from(cuda, HostTensor.fromF32(randn(TOKENS * k, seed + 1), [TOKENS, k], dtype));
  const r = rng(seed + 2);
  const idx = Int32Array.from({ length: NSEL }, () => Math.floor(r() * TOKENS)).sort();
  const tok = BackendTensor.from(cuda, new HostTensor("i32", [NSEL], idx));
  const Y = new BackendTensor(cuda, "f32", [NSEL, m]);
  const call = () =>
    cuda.call("sy_ssmm_wgmma", DTYPE_CODE[dtype], m, k, V, 1, 2, wb.wvalues.ptr, wb.indices.ptr, wb.wmeta.ptr, X.ptr, TOKENS, tok.ptr, NSEL, Y.ptr, DTYPE_CODE.f32, 0, 0, null, 0);
  const free = () => { wb.free(); X.free(); tok.free(); Y.free(); };
  return { call, free };
}

if (oneAt >= 0) {
  const m = Number(args[oneAt + 1]), k = Number(args[oneAt + 2]);
  const s = setup(m, k, 1);
  s.call();
  s.call();
  cuda.call("sy_synchronize");
  s.free();
} else {
  const shapes: [number, number][] = [[1408, 2048], [5760, 2304], [12288, 3072], [14336, 4096], [16384, 6144]];
  // every variant of the library's table (native/src/common/wgmma_variants.h), labelled "<name>: <description>"
  const allVariants: [string, Record<string, string>][] = [
    ["default", {}],
    ...wgmmaVariants(cuda).map((v): [string, Record<string, string>] => [`${v.name}: ${v.description}`, { SAMOYEDS_WGMMA_VARIANT: v.name }]),
    ["cpasync, row-raster", { SAMOYEDS_WGMMA_VARIANT: "cpasync", SAMOYEDS_WGMMA_RASTER: "r" }],
  ];
  const splits: [string, Record<string, string>][] = ["auto", "off", "2", "3", "4"].map((s) => [`default, split ${s}`, { SAMOYEDS_WGMMA_SPLIT: s }]);
  const pdl: [string, Record<string, string>][] = [["default, pdl on", { SAMOYEDS_WGMMA_PDL: "1" }], ["default, pdl off", { SAMOYEDS_WGMMA_PDL: "0" }]];
  const persist: [string, Record<string, string>][] = [1, 2].flatMap((round) =>
    ["off", "on"].flatMap((on): [string, Record<string, string>][] => [
      [`default, persist ${on}, round ${round}`, { SAMOYEDS_WGMMA_PERSIST: on }],
      [`gathered-tma-pp-sd, persist ${on}, round ${round}`, { SAMOYEDS_WGMMA_VARIANT: "gathered-tma-pp-sd", SAMOYEDS_WGMMA_PERSIST: on }],
    ]));
  // each kernel against its loads and epilogue alone (SAMOYEDS_WGMMA_PROBE=loads-only: no wgmmas, results are zeros),
  // two interleaved rounds: gathered-tma-pp persistent on every SM and with a CTA per tile, and the multicast pairs
  // gathered-tma-mc2 and -pp-mc2 (the token tile shared by two row tiles: does sharing it shorten the loads?)
  const pp = { SAMOYEDS_WGMMA_VARIANT: "gathered-tma-pp", SAMOYEDS_WGMMA_PERSIST: "ctas:132" };
  const ppTile = { SAMOYEDS_WGMMA_VARIANT: "gathered-tma-pp", SAMOYEDS_WGMMA_PERSIST: "off" };
  const mc2 = { SAMOYEDS_WGMMA_VARIANT: "gathered-tma-mc2" }, ppMc2 = { SAMOYEDS_WGMMA_VARIANT: "gathered-tma-pp-mc2" };
  const probeLoads: [string, Record<string, string>][] = [1, 2].flatMap((round): [string, Record<string, string>][] => [
    [`gathered-tma-pp persistent, round ${round}`, pp],
    [`gathered-tma-pp persistent, loads only, round ${round}`, { ...pp, SAMOYEDS_WGMMA_PROBE: "loads-only" }],
    [`gathered-tma-pp a CTA per tile, round ${round}`, ppTile],
    [`gathered-tma-pp a CTA per tile, loads only, round ${round}`, { ...ppTile, SAMOYEDS_WGMMA_PROBE: "loads-only" }],
    [`gathered-tma-mc2 a CTA per tile, round ${round}`, mc2],
    [`gathered-tma-mc2 a CTA per tile, loads only, round ${round}`, { ...mc2, SAMOYEDS_WGMMA_PROBE: "loads-only" }],
    [`gathered-tma-pp-mc2 a CTA per tile, round ${round}`, ppMc2],
    [`gathered-tma-pp-mc2 a CTA per tile, loads only, round ${round}`, { ...ppMc2, SAMOYEDS_WGMMA_PROBE: "loads-only" }],
  ]);
  const mode = args.includes("--split") ? "split" : args.includes("--pdl") ? "pdl" : args.includes("--persist") ? "persist" : args.includes("--probe-loads") ? "probe-loads" : "";
  const byMode: Record<string, [string, Record<string, string>][]> = { split: splits, pdl, persist, "probe-loads": probeLoads };
  const variants = args.includes("--default-only") ? allVariants.slice(0, 1) : byMode[mode] ?? allVariants;
  const rows: unknown[] = [];
  for (const [i, [m, k]] of shapes.entries()) {
    const s = setup(m, k, 10 + i);
    for (const [name, env] of variants) {
      for (const kk of ENV) Deno.env.delete(kk);
      for (const [kk, vv] of Object.entries(env)) Deno.env.set(kk, vv);
      const ms = timeGraph(s.call);
      const tf = (2 * m * k * NSEL) / (ms * 1e-3) / 1e12;
      rows.push({ m, k, n_sel: NSEL, V, variant: name, ms, tflops_dense_eq: tf });
      console.log(`m=${m} k=${k} V=${V} ${name}: ${ms.toFixed(4)} ms ${tf.toFixed(1)} dense-eq TFLOP/s`);
    }
    for (const kk of ENV) Deno.env.delete(kk);
    s.free();
  }
  const prov = provenance(cuda, { command: `deno run --allow-all bench/wgmma_variants.ts ${args.join(" ")}` });
  // as a gpu-run stage (no --json) the rows land in the results folder that comes back
  const resultsDir = Deno.env.get("SAMOYEDS_RESULTS_DIR");
  const jsonPath = jsonAt >= 0 ? args[jsonAt + 1] : resultsDir ? `${resultsDir}/wgmma-variants${mode ? `-${mode}-n${NSEL}` : ""}.json` : undefined;
  if (jsonPath) await Deno.writeTextFile(jsonPath, JSON.stringify({ provenance: prov, rows }, null, 1));
}
