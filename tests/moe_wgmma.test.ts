// Grouped wgmma.sp SSMM (sy_ssmm_wgmma_grouped) as the library and the MoE layer use it.
// CPU (runs everywhere): the stacks' packed copies (stackSamoyeds / prepareWgmmaStack / randomDeviceWeights) are
// consistent with packWgmma of each expert alone, and kernel "wgmma_sp" where it cannot run is a clear TypeError.
// GPU ("[gpu sm90] wgmma grouped: ..."; ignored with a message without an sm_90 GPU): the grouped wgmma.sp kernel
// against the CPU backend's sy_ssmm_grouped, the ground truth, on the same stacked weights and index lists.
// Error bound: relative L2 error ||got - want|| / ||want|| <= 1e-4 for f32 outputs (both accumulate the same
// products in f32, in different orders; atomics in scatter-add add more reorderings) and <= 1e-2 for f16/bf16 outputs
// (rounding the same f32 value can land one ulp apart, 2^-8 relative for bf16, on the few elements near a tie).
import assert from "node:assert/strict";
import { openBackend } from "../lib/native/library.ts";
import { BackendTensor, HalfDType, HostTensor, randn, relativeError, rng } from "../lib/tensor.ts";
import { SamoyedsParams, SamoyedsWeight, stackSamoyeds, toSamoyeds } from "../lib/formats/samoyeds.ts";
import {
  prepareWgmmaStack, releaseWgmmaStack, ssmm, ssmmGrouped, ssmmGroupedKernel, SsmmGroupedOptions, ssmmIndexErrors,
  StackedSamoyedsOnBackend,
} from "../lib/kernels/ssmm.ts";
import { packWgmma, wgmmaPackedSizes } from "../lib/kernels/ssmm_wgmma.ts";
import { makeHostWeights, moeForward, MoeWorkspace, randomDeviceWeights, uploadWeights } from "../lib/moe.ts";
import { tinyModel } from "../lib/models.ts";
import { samoyedsSizes } from "../lib/formats/samoyeds.ts";
import { sm90Test, WGMMA_VARIANTS, withWgmmaPersistGrouped, withWgmmaTiles, withWgmmaVariant } from "./helpers.ts";

const cpu = openBackend("cpu");

function randomHalf(shape: number[], seed: number, dtype: HalfDType): HostTensor {
  return HostTensor.fromF32(randn(shape[0] * shape[1], seed, 1), shape, dtype);
}

interface GCase { name: string; E: number; m: number; k: number; V: number; counts: number[]; dtype: HalfDType; xRows: number }

function makeCase(g: GCase, seed: number) {
  const p: SamoyedsParams = { V: g.V, N: 1, M: 2 };
  const experts = Array.from({ length: g.E }, (_, e) => toSamoyeds(randomHalf([g.m, g.k], seed + e, g.dtype), p).weight);
  const X = randomHalf([g.xRows, g.k], seed + 99, g.dtype);
  const total = g.counts.reduce((a, b) => a + b, 0);
  const offsets = new Int32Array(g.E + 1);
  for (let e = 0; e < g.E; e++) offsets[e + 1] = offsets[e] + g.counts[e];
  const r = rng(seed + 7);
  const n = Math.max(total, 1); // backend tensors of at least one element
  const loadIdx = Int32Array.from({ length: n }, () => Math.floor(r() * g.xRows));
  const storeIdx = Int32Array.from({ length: n }, () => Math.floor(r() * g.xRows)); // duplicates: several adds per row
  const rowScale = Float32Array.from({ length: n }, () => r() * 2 - 0.5);
  return { experts, X, offsets, loadIdx, storeIdx, rowScale, total };
}

// ---------------- CPU: the packed copy of a stack ----------------

function expertsFor(E: number, m: number, k: number, V: number, dtype: HalfDType, seed: number): SamoyedsWeight[] {
  return Array.from({ length: E }, (_, e) => toSamoyeds(randomHalf([m, k], seed + e, dtype), { V, N: 1, M: 2 }).weight);
}

Deno.test("wgmma stack: expert e's slice of the packed copy = packWgmma of expert e alone (stackSamoyeds, prepareWgmmaStack)", () => {
  for (const [E, m, k, V, dtype] of [[3, 200, 160, 32, "f16"], [2, 264, 384, 128, "bf16"], [4, 130, 192, 64, "f16"]] as const) {
    const experts = expertsFor(E, m, k, V, dtype, 10 * m + k);
    const sz = wgmmaPackedSizes(m, k, { V, N: 1, M: 2 });
    using st = stackSamoyeds(cpu, experts, { wgmma: true });
    assert.ok(st.wgmma, "stackSamoyeds with wgmma: true made the packed copy");
    assert.deepEqual(st.wgmma.bytes, sz);
    const wv = st.wgmma.wvalues.toHost().data as Uint8Array, wm = st.wgmma.wmeta.toHost().data as Uint8Array;
    assert.equal(wv.byteLength, E * sz.values);
    assert.equal(wm.byteLength, E * sz.meta);
    // prepareWgmmaStack: the same bytes, made from the stack's own (downloaded, sliced) arrays
    using st2 = stackSamoyeds(cpu, experts, { wgmma: false });
    assert.equal(st2.wgmma, undefined);
    const p2 = prepareWgmmaStack(st2);
    assert.equal(prepareWgmmaStack(st2), p2, "prepared once");
    const wv2 = new Uint8Array(p2.wvalues.toHost().data.buffer), wm2 = new Uint8Array(p2.wmeta.toHost().data.buffer);
    for (let e = 0; e < E; e++) {
      const one = packWgmma(experts[e]);
      const at = `E=${E} m=${m} k=${k} V=${V} expert ${e}`;
      assert.deepEqual(wv.subarray(e * sz.values, (e + 1) * sz.values), one.wvalues.data, `${at}: values`);
      assert.deepEqual(wm.subarray(e * sz.meta, (e + 1) * sz.meta), one.wmeta.data, `${at}: meta`);
      assert.deepEqual(wv2.subarray(e * sz.values, (e + 1) * sz.values), one.wvalues.data, `${at}: values (prepareWgmmaStack)`);
      assert.deepEqual(wm2.subarray(e * sz.meta, (e + 1) * sz.meta), one.wmeta.data, `${at}: meta (prepareWgmmaStack)`);
    }
    // indices: the format stack's own, at e * sy_samoyeds_sizes[1]
    const idx = st.indices.toHost().data as Uint8Array, isz = samoyedsSizes(m, k, { V, N: 1, M: 2 }).indices;
    for (let e = 0; e < E; e++) assert.deepEqual(idx.subarray(e * isz, (e + 1) * isz), experts[e].indices.data);
    releaseWgmmaStack(st2);
    assert.equal(st2.wgmma, undefined);
  }
});

Deno.test("wgmma stack: the CPU backend makes no packed copy by default; randomDeviceWeights packs on request", () => {
  const experts = expertsFor(2, 64, 128, 64, "f16", 3);
  using st = stackSamoyeds(cpu, experts);
  assert.equal(st.wgmma, undefined, "auto: no wgmma kernel on the CPU backend, no copy");
  const cfg = tinyModel({ experts: 3 });
  const sizes = (m: number, k: number) => samoyedsSizes(m, k, { V: 128, N: 1, M: 2 });
  const none = randomDeviceWeights(cpu, cfg, "bf16", { dense: false, sparse: true }, sizes);
  assert.equal(none.sparse!.gate.wgmma, undefined);
  none.free();
  const w = randomDeviceWeights(cpu, cfg, "bf16", { dense: false, sparse: true, wgmma: true }, sizes);
  const sp = w.sparse!;
  for (const [name, st, m, k] of [["gate", sp.gate, cfg.intermediate, cfg.hidden], ["up", sp.up, cfg.intermediate, cfg.hidden],
    ["down", sp.down, cfg.hidden, cfg.intermediate], ["gateUp", sp.gateUp!, 2 * cfg.intermediate, cfg.hidden]] as const) {
    const pk = st.wgmma!;
    assert.ok(pk, `${name} has a packed copy`);
    const sz = wgmmaPackedSizes(m, k, { V: 128, N: 1, M: 2 });
    assert.deepEqual(pk.bytes, sz, name);
    assert.equal(pk.wvalues.bytes, cfg.experts * sz.values, `${name} values bytes`);
    const meta = pk.wmeta.toHost().data as Uint8Array;
    assert.equal(meta.length, cfg.experts * sz.meta);
    assert.ok(meta.every((x) => x === 0x44), `${name}: packed metadata = positions (0, 1) everywhere`);
    const idx = st.indices.toHost().data as Uint8Array;
    assert.ok(idx.every((x) => x < 2), `${name}: row choices in [0, M)`);
  }
  const gateValues = sp.gate.wgmma!.wvalues;
  w.free();
  assert.throws(() => gateValues.ptr, /after free/, "the layer's free() frees the packed copies");
});

Deno.test("wgmma kernel choice: \"wgmma_sp\" on the CPU backend is a clear TypeError; \"auto\" runs the reference", () => {
  const E = 3, m = 64, k = 128;
  const experts = expertsFor(E, m, k, 64, "f16", 21);
  using st = stackSamoyeds(cpu, experts, { wgmma: true });
  using X = BackendTensor.from(cpu, randomHalf([5, k], 22, "f16"));
  using load = BackendTensor.from(cpu, new HostTensor("i32", [4], Int32Array.from([0, 4, 2, 2])));
  using off = BackendTensor.from(cpu, new HostTensor("i32", [E + 1], Int32Array.from([0, 1, 1, 4])));
  const clear = (e: unknown) => e instanceof TypeError && /kernel "wgmma_sp"/.test(e.message) && /cpu backend/.test(e.message) && /sm_90/.test(e.message);
  assert.throws(() => ssmmGrouped(cpu, st, X, load, off, 4, { kernel: "wgmma_sp" }), clear);
  assert.throws(() => ssmmGroupedKernel(st, "wgmma_sp"), clear);
  assert.equal(ssmmGroupedKernel(st), "mma_sp", "auto on the CPU backend: the reference even with a packed copy");
  assert.throws(() => ssmmGrouped(cpu, st, X, load, off, 4, { kernel: "bogus" as "auto" }), /kernel must be/);
  // the single-weight ssmm() shares the check
  using wb = experts[0].toBackend(cpu);
  assert.throws(() => ssmm(cpu, wb, X, load, { kernel: "wgmma_sp" }), clear);
  // auto / mma_sp give the reference
  using a = ssmmGrouped(cpu, st, X, load, off, 4);
  using b = ssmmGrouped(cpu, st, X, load, off, 4, { kernel: "mma_sp" });
  assert.deepEqual(a.toHost().data, b.toHost().data);
  // the MoE layer passes the option to every grouped SSMM
  const cfg = tinyModel();
  const hw = makeHostWeights(cfg, "f16", 2);
  const w = uploadWeights(cpu, hw, { wgmma: true }), ws = new MoeWorkspace(cpu, cfg, "f16", 8);
  const x = BackendTensor.from(cpu, randomHalf([8, cfg.hidden], 3, "f16"));
  try {
    assert.ok(w.sparse!.gate.wgmma && w.sparse!.gateUp!.wgmma, "uploadWeights with wgmma: true packs every sparse stack");
    assert.throws(() => moeForward(w, ws, x, 8, { method: "samoyeds", kernel: "wgmma_sp" }), clear);
    const ya = moeForward(w, ws, x, 8, { method: "samoyeds" }).data, yb = moeForward(w, ws, x, 8, { method: "samoyeds", kernel: "mma_sp" }).data;
    assert.deepEqual(ya, yb);
  } finally {
    x.free(), ws.free(), w.free();
  }
});

// ---------------- GPU (sm_90): grouped wgmma.sp vs the CPU backend's sy_ssmm_grouped ----------------

const CASES: GCase[] = [
  { name: "random ragged counts", E: 6, m: 256, k: 256, V: 64, counts: [37, 0, 150, 3, 129, 77], dtype: "f16", xRows: 300 },
  { name: "empty experts, m and k tails (m=200, k=160: 100 of 128 tile rows, 2.5 k stages)", E: 5, m: 200, k: 160, V: 32, counts: [0, 50, 0, 0, 7], dtype: "bf16", xRows: 64 },
  { name: "all selections to one expert (3 token tiles)", E: 8, m: 264, k: 384, V: 128, counts: [0, 0, 0, 300, 0, 0, 0, 0], dtype: "f16", xRows: 400 },
  { name: "a single selection", E: 4, m: 128, k: 128, V: 128, counts: [0, 0, 1, 0], dtype: "bf16", xRows: 3 },
  { name: "counts > 128 everywhere (several token tiles per expert)", E: 3, m: 512, k: 256, V: 64, counts: [129, 257, 400], dtype: "bf16", xRows: 600 },
  { name: "no selections at all", E: 3, m: 64, k: 96, V: 32, counts: [0, 0, 0], dtype: "f16", xRows: 4 },
  { name: "odd tails, V=32 (m=390, k=224)", E: 4, m: 390, k: 224, V: 32, counts: [1, 130, 0, 255], dtype: "f16", xRows: 100 },
  { name: "Qwen-like expert shape (1408 x 2048), ragged", E: 8, m: 1408, k: 2048, V: 128, counts: [300, 0, 1, 129, 64, 65, 0, 465], dtype: "bf16", xRows: 512 },
];

type Run = { mode: "compact" | "scatterAdd"; epilogue: "none" | "silu" | "rowScale"; yHalf: boolean };
const RUNS: Run[] = [
  { mode: "compact", epilogue: "none", yHalf: false },
  { mode: "compact", epilogue: "silu", yHalf: false },
  { mode: "compact", epilogue: "rowScale", yHalf: true },
  { mode: "compact", epilogue: "silu", yHalf: true },
  { mode: "scatterAdd", epilogue: "rowScale", yHalf: false },
  { mode: "scatterAdd", epilogue: "none", yHalf: false },
];

function runGrouped(b: ReturnType<typeof openBackend>, st: StackedSamoyedsOnBackend, g: GCase, d: ReturnType<typeof makeCase>, r: Run,
  kernel: "mma_sp" | "wgmma_sp"): Float32Array {
  const maxSel = d.total + 17; // a bound above the real total, as the MoE layer passes
  using X = BackendTensor.from(b, d.X);
  using load = BackendTensor.from(b, new HostTensor("i32", [d.loadIdx.length], d.loadIdx));
  using off = BackendTensor.from(b, new HostTensor("i32", [g.E + 1], d.offsets));
  using scale = BackendTensor.from(b, new HostTensor("f32", [d.rowScale.length], d.rowScale));
  using store = BackendTensor.from(b, new HostTensor("i32", [d.storeIdx.length], d.storeIdx));
  const o: SsmmGroupedOptions = { epilogue: r.epilogue, rowScale: r.epilogue === "rowScale" ? scale : undefined, kernel };
  if (r.mode === "compact") {
    using Y = ssmmGrouped(b, st, X, load, off, maxSel, { ...o, yDtype: r.yHalf ? g.dtype : "f32" });
    return Y.toHost().toF32().slice(0, d.total * g.m);
  }
  using Y = new BackendTensor(b, "f32", [g.xRows, g.m]).fill(0);
  ssmmGrouped(b, st, X, load, off, maxSel, { ...o, mode: "scatterAdd", storeIdx: store, out: Y });
  return Y.toHost().data as Float32Array;
}

for (const [ci, g] of CASES.entries()) {
  sm90Test(`wgmma grouped vs CPU sy_ssmm_grouped: ${g.name} (E=${g.E}, ${g.m}x${g.k}, V=${g.V}, ${g.dtype})`, () => {
    const cuda = openBackend("cuda");
    const d = makeCase(g, 7000 + 100 * ci);
    using ref = stackSamoyeds(cpu, d.experts);
    using st = stackSamoyeds(cuda, d.experts); // "auto": an sm_90 GPU gets the packed copy
    assert.ok(st.wgmma, "stackSamoyeds made the packed copy on the sm_90 GPU");
    assert.equal(ssmmGroupedKernel(st), "wgmma_sp", "auto picks wgmma.sp");
    ssmmIndexErrors(cuda); // reset
    for (const r of RUNS) {
      const want = runGrouped(cpu, ref, g, d, r, "mma_sp");
      const bound = r.yHalf ? 1e-2 : 1e-4;
      for (const v of WGMMA_VARIANTS) { // every B-tile gather of the kernel
        const got = withWgmmaVariant(v, () => runGrouped(cuda, st, g, d, r, "wgmma_sp"));
        const err = d.total === 0 ? (got.every((x) => x === 0) ? 0 : Infinity) : relativeError(got, want);
        assert.ok(err <= bound, `${g.name} ${JSON.stringify(r)} variant ${v}: relative error ${err} > ${bound}`);
      }
    }
    assert.equal(ssmmIndexErrors(cuda), 0, "no index errors counted");
  });
}

// The default variant's token-tile plan (native/src/common/wgmma_tiles.h): grouped launches run all 128-token or all
// 64-token tiles (the latter where experts get few selections); both do the same arithmetic in the same order.
sm90Test("wgmma grouped: 64-token and 128-token tiles of the default variant give identical results (compact outputs)", () => {
  const cuda = openBackend("cuda");
  for (const [ci, g] of CASES.entries()) {
    const d = makeCase(g, 7500 + 100 * ci);
    using st = stackSamoyeds(cuda, d.experts);
    for (const r of RUNS.filter((x) => x.mode === "compact")) {
      const base = withWgmmaTiles("128", () => runGrouped(cuda, st, g, d, r, "wgmma_sp"));
      for (const tiles of ["64", "auto"]) {
        assert.deepEqual(withWgmmaTiles(tiles, () => runGrouped(cuda, st, g, d, r, "wgmma_sp")), base, `${g.name} ${JSON.stringify(r)} SAMOYEDS_WGMMA_TILES=${tiles}`);
      }
    }
  }
  assert.equal(ssmmIndexErrors(cuda), 0, "no index errors counted");
});

// Persistent grouped launches (wgmma_tiles.h, kernel launch kinds 5 and 6: the default variant and its 64-token sibling,
// V = 128): CTAs that resolve their tiles on the device and walk them, the ring running on across tiles and experts,
// do each tile's arithmetic as a CTA of its own. Compact outputs: the bits of one CTA per tile; scatter-add (f32
// atomics into duplicated rows, any order) within the bound against the CPU. 1-3 CTAs walk every tile (the first
// cases put up to ~100 tiles on one CTA: the resolution runs 32 tiles at a time), "on" covers the SM-count grid;
// V != 128 and other variants run one CTA per tile whatever the setting.
sm90Test("wgmma grouped: persistent CTAs give the bits of one CTA per tile (128 and 64 token tiles, every case)", () => {
  const cuda = openBackend("cuda");
  const many: GCase[] = [
    { name: "40 experts, ragged 0-200 (about 60 token tiles x 4 row tiles)", E: 40, m: 1000, k: 384, V: 128, dtype: "bf16", xRows: 700,
      counts: Array.from({ length: 40 }, (_, e) => (e * 37) % 201 * (e % 7 === 3 ? 0 : 1)) },
    { name: "70 experts of 1-3 selections: more tiles than one CTA lists (128), so ctas:1 launches more", E: 70, m: 1024, k: 256, V: 128,
      dtype: "f16", xRows: 300, counts: Array.from({ length: 70 }, (_, e) => 1 + (e % 3)) },
  ];
  for (const [ci, g] of [...CASES, ...many].entries()) {
    const d = makeCase(g, 7700 + 100 * ci);
    using ref = stackSamoyeds(cpu, d.experts);
    using st = stackSamoyeds(cuda, d.experts);
    for (const r of RUNS) {
      const want = r.mode === "scatterAdd" ? runGrouped(cpu, ref, g, d, r, "mma_sp") : undefined;
      for (const tiles of ["128", "64"]) {
        const run = (persist: string) => withWgmmaTiles(tiles, () => withWgmmaPersistGrouped(persist, () => runGrouped(cuda, st, g, d, r, "wgmma_sp")));
        const base = run("off");
        for (const persist of ["ctas:1", "ctas:2", "ctas:3", "on"]) {
          const got = run(persist), at = `${g.name} ${JSON.stringify(r)} tiles ${tiles} SAMOYEDS_WGMMA_PERSIST_GROUPED=${persist}`;
          if (!want) {
            assert.deepEqual(got, base, at);
          } else {
            const err = d.total === 0 ? (got.every((x) => x === 0) ? 0 : Infinity) : relativeError(got, want);
            assert.ok(err <= 1e-4, `${at}: relative error ${err}`);
          }
        }
      }
    }
  }
  assert.equal(ssmmIndexErrors(cuda), 0, "no index errors counted");
  // a bad setting is an error for every grouped launch (here V = 64, which has no persistent instance)
  const g = CASES[0], d = makeCase(g, 1);
  using st = stackSamoyeds(cuda, d.experts);
  assert.throws(() => withWgmmaPersistGrouped("ctas:x", () => runGrouped(cuda, st, g, d, RUNS[0], "wgmma_sp")),
    (e: unknown) => e instanceof Error && e.message.includes("SAMOYEDS_WGMMA_PERSIST_GROUPED=ctas:x is not"));
});

sm90Test("wgmma grouped: f16 and bf16 x V = 32/64/128 on one ragged routing; auto = wgmma_sp, and both = mma_sp", () => {
  const cuda = openBackend("cuda");
  let seed = 9000;
  for (const dtype of ["f16", "bf16"] as HalfDType[]) {
    for (const V of [32, 64, 128]) {
      const g: GCase = { name: `${dtype} V=${V}`, E: 5, m: 296, k: 384, V, counts: [140, 0, 9, 1, 260], dtype, xRows: 333 };
      const d = makeCase(g, (seed += 50));
      using ref = stackSamoyeds(cpu, d.experts);
      using st = stackSamoyeds(cuda, d.experts);
      for (const r of [RUNS[1], RUNS[2], RUNS[4]]) {
        const want = runGrouped(cpu, ref, g, d, r, "mma_sp");
        const bound = r.yHalf ? 1e-2 : 1e-4;
        for (const kernel of ["wgmma_sp", "mma_sp"] as const) {
          const err = relativeError(runGrouped(cuda, st, g, d, r, kernel), want);
          assert.ok(err <= bound, `${g.name} ${kernel} ${JSON.stringify(r)}: relative error ${err} > ${bound}`);
        }
      }
    }
  }
});

sm90Test("wgmma grouped: kernel \"wgmma_sp\" refuses what it cannot run (N:M 2:4, f16 accumulation) with a TypeError", () => {
  const cuda = openBackend("cuda");
  const experts = Array.from({ length: 2 }, (_, e) => toSamoyeds(randomHalf([64, 128], 50 + e, "f16"), { V: 64, N: 2, M: 4 }).weight);
  using st = stackSamoyeds(cuda, experts);
  assert.equal(st.wgmma, undefined, "no packed copy for N:M 2:4");
  assert.equal(ssmmGroupedKernel(st), "mma_sp");
  assert.throws(() => ssmmGroupedKernel(st, "wgmma_sp"), (e: unknown) => e instanceof TypeError && /N=1 M=2/.test(e.message));
  using st2 = stackSamoyeds(cuda, expertsFor(2, 64, 128, 64, "f16", 60));
  assert.throws(() => ssmmGroupedKernel(st2, "wgmma_sp", "f16"), (e: unknown) => e instanceof TypeError && /f32/.test(e.message));
  assert.equal(ssmmGroupedKernel(st2, "auto", "f16"), "mma_sp", "auto with f16 accumulation falls back to mma.sp");
});

// ---------------- load_idx null: selection j loads row j (rows already compact) ----------------

/** Grouped SSMM with identity loads, once through load_idx = 0..n-1 and once with load_idx null. */
function identityPair(b: ReturnType<typeof openBackend>, st: StackedSamoyedsOnBackend, d: ReturnType<typeof makeCase>, g: GCase,
  kernel: "mma_sp" | "wgmma_sp") {
  const maxSel = Math.min(d.total + 5, g.xRows);
  using X = BackendTensor.from(b, d.X);
  using iota = BackendTensor.from(b, new HostTensor("i32", [Math.max(maxSel, 1)], Int32Array.from({ length: Math.max(maxSel, 1) }, (_, j) => j)));
  using off = BackendTensor.from(b, new HostTensor("i32", [g.E + 1], d.offsets));
  using a = ssmmGrouped(b, st, X, iota, off, maxSel, { epilogue: "silu", kernel });
  using c = ssmmGrouped(b, st, X, null, off, maxSel, { epilogue: "silu", kernel });
  return [a.toHost().toF32().slice(0, d.total * g.m), c.toHost().toF32().slice(0, d.total * g.m)];
}
const IDENTITY_CASE: GCase = { name: "identity", E: 3, m: 200, k: 160, V: 32, counts: [40, 0, 97], dtype: "bf16", xRows: 150 };

Deno.test("grouped SSMM with load_idx null = with identity load indices (CPU); null needs max_selections <= x_rows", () => {
  const d = makeCase(IDENTITY_CASE, 91);
  using st = stackSamoyeds(cpu, d.experts);
  const [a, c] = identityPair(cpu, st, d, IDENTITY_CASE, "mma_sp");
  assert.deepEqual(c, a);
  using X = BackendTensor.from(cpu, d.X);
  using off = BackendTensor.from(cpu, new HostTensor("i32", [IDENTITY_CASE.E + 1], d.offsets));
  assert.throws(() => ssmmGrouped(cpu, st, X, null, off, IDENTITY_CASE.xRows + 1), /load_idx null .* needs max_selections \(151\) <= x_rows \(150\)/);
});

sm90Test("wgmma grouped with load_idx null = with identity load indices, every variant and the mma.sp kernel (no pre-gather copy)", () => {
  const cuda = openBackend("cuda");
  const d = makeCase(IDENTITY_CASE, 92);
  using st = stackSamoyeds(cuda, d.experts);
  const [ma, mc] = identityPair(cuda, st, d, IDENTITY_CASE, "mma_sp");
  assert.deepEqual(mc, ma);
  for (const v of WGMMA_VARIANTS) {
    const [a, c] = withWgmmaVariant(v, () => identityPair(cuda, st, d, IDENTITY_CASE, "wgmma_sp"));
    assert.deepEqual(c, a, `variant ${v}`);
  }
  assert.equal(ssmmIndexErrors(cuda), 0);
});
