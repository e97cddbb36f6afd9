// Hopper wgmma.sp SSMM (issue 5).
// CPU (runs everywhere): the packer + the CPU emulation of the kernel's data path (shared-memory images,
// descriptors, per-thread metadata registers, accumulator routing) against the dense reference sy_gemm.
// GPU (gpuTest, sm_90 only): sy_ssmm_wgmma against the same reference on the same shapes.
import assert from "node:assert/strict";
import { callJson, openBackend, SamoyedsError } from "../lib/native/library.ts";
import { BackendTensor, DTYPE_CODE, HalfDType, HostTensor, randn, relativeError, rng } from "../lib/tensor.ts";
import { packWgmma, packWgmmaFromDense, ssmmWgmma, WgmmaPackedWeight, wgmmaToBackend, wgmmaVariants } from "../lib/kernels/ssmm_wgmma.ts";
import { gpuTest, hasGpu, withEnv, WGMMA_VARIANT_TABLE, WGMMA_VARIANTS, wgmmaVariantsByRouting, WgmmaVariant, withWgmmaPersist, withWgmmaPersistGrouped, withWgmmaSplit, withWgmmaTiles, withWgmmaVariant } from "./helpers.ts";
import { encodeSamoyeds, pruneToSamoyeds } from "../lib/formats/samoyeds.ts";
import { prepareWgmma, releaseWgmma, ssmm, wgmmaSupported } from "../lib/kernels/ssmm.ts";

const cpu = openBackend("cpu");

/** A random weight in the Samoyeds pattern (N=1, M=2) plus its indices. adversarial: groups with 0 or 1
 * non-zeros (incl. only position 3), all-zero kept vectors. */
function randomSamoyeds(m: number, k: number, V: number, seed: number, dtype: HalfDType, adversarial = false) {
  const r = rng(seed), vals = randn(m * k, seed + 1);
  const nv = Math.ceil(k / V), mc = m / 2;
  const idx = new Uint8Array(mc * nv), w = new Float32Array(m * k);
  for (let c = 0; c < mc; c++) {
    for (let v = 0; v < nv; v++) {
      const s = r() < 0.5 ? 0 : 1;
      idx[c * nv + v] = s;
      const zeroVector = adversarial && r() < 0.1;
      for (let q = v * V / 4; q < Math.min((v + 1) * V, k) / 4; q++) {
        if (zeroVector) continue;
        let pos: number[];
        const u = r();
        if (adversarial && u < 0.15) pos = [];
        else if (adversarial && u < 0.3) pos = [3];
        else if (adversarial && u < 0.45) pos = [Math.floor(r() * 4)];
        else {
          const a = Math.floor(r() * 4);
          let b = Math.floor(r() * 3);
          if (b >= a) b++;
          pos = [Math.min(a, b), Math.max(a, b)];
        }
        for (const p of pos) if (4 * q + p < k) w[(2 * c + s) * k + 4 * q + p] = vals[(2 * c + s) * k + 4 * q + p] || 0.5;
      }
    }
  }
  return { W: HostTensor.fromF32(w, [m, k], dtype), indices: new HostTensor("u8", [mc, nv], idx) };
}

interface Case {
  name: string; m: number; k: number; V: number; nSel: number; xRows: number; dtype: HalfDType;
  yLayout: 0 | 1; yDtype: "f32" | HalfDType; epilogue: 0 | 1 | 2; adversarial?: boolean; duplicates?: boolean;
}
const cases: Case[] = [
  { name: "basic f16 V=128", m: 256, k: 128, V: 128, nSel: 128, xRows: 300, dtype: "f16", yLayout: 0, yDtype: "f32", epilogue: 0 },
  { name: "tails m,n; V=64; bf16; feature-major", m: 260, k: 192, V: 64, nSel: 131, xRows: 200, dtype: "bf16", yLayout: 1, yDtype: "f32", epilogue: 0 },
  { name: "one pair, one token, V=32", m: 2, k: 32, V: 32, nSel: 1, xRows: 3, dtype: "f16", yLayout: 0, yDtype: "f32", epilogue: 0 },
  { name: "duplicates, SiLU, f16 out, V=32", m: 512, k: 320, V: 32, nSel: 300, xRows: 20, dtype: "f16", yLayout: 0, yDtype: "f16", epilogue: 1, duplicates: true },
  { name: "V=128 across stages, row scale, bf16 out", m: 256, k: 384, V: 128, nSel: 64, xRows: 64, dtype: "bf16", yLayout: 0, yDtype: "bf16", epilogue: 2 },
  { name: "k tail (k=40), adversarial groups", m: 128, k: 40, V: 32, nSel: 5, xRows: 9, dtype: "f16", yLayout: 1, yDtype: "f32", epilogue: 0, adversarial: true },
  { name: "adversarial groups, V=64, tails", m: 390, k: 256, V: 64, nSel: 257, xRows: 400, dtype: "f16", yLayout: 0, yDtype: "f32", epilogue: 0, adversarial: true },
  // 5 stages of 64: the kernel's tail stage closes a short last k-vector
  { name: "V=128, short last k-vector (k=320)", m: 256, k: 320, V: 128, nSel: 130, xRows: 200, dtype: "bf16", yLayout: 0, yDtype: "f32", epilogue: 0, adversarial: true },
];

function makeInputs(c: Case, seed: number) {
  const { W, indices } = randomSamoyeds(c.m, c.k, c.V, seed, c.dtype, c.adversarial);
  const X = HostTensor.fromF32(randn(c.xRows * c.k, seed + 7), [c.xRows, c.k], c.dtype);
  const r = rng(seed + 9);
  const tok = new Int32Array(c.nSel);
  for (let j = 0; j < c.nSel; j++) tok[j] = c.duplicates ? Math.floor(r() * Math.min(4, c.xRows)) : Math.floor(r() * c.xRows);
  const rowScale = Float32Array.from({ length: c.nSel }, () => r() * 2 - 0.5);
  return { W, indices, X, tok: new HostTensor("i32", [c.nSel], tok), rowScale: new HostTensor("f32", [c.nSel], rowScale) };
}

/** Dense reference through the CPU backend's sy_gemm on the gathered tokens, then epilogue and layout. */
function reference(c: Case, W: HostTensor, X: HostTensor, tok: HostTensor<"i32">, rowScale: HostTensor<"f32">): Float32Array {
  const g = new Uint16Array(c.nSel * c.k), x = X.data as Uint16Array;
  for (let j = 0; j < c.nSel; j++) g.set(x.subarray(tok.data[j] * c.k, (tok.data[j] + 1) * c.k), j * c.k);
  const y = new Float32Array(c.nSel * c.m);
  if (c.nSel > 0) {
    cpu.call("sy_gemm", DTYPE_CODE[c.dtype], c.nSel, c.m, c.k, Deno.UnsafePointer.of(g), Deno.UnsafePointer.of(W.data as Uint16Array), Deno.UnsafePointer.of(y), DTYPE_CODE.f32, 0);
  }
  const out = new Float32Array(c.nSel * c.m);
  for (let j = 0; j < c.nSel; j++) {
    for (let i = 0; i < c.m; i++) {
      let v = y[j * c.m + i];
      if (c.epilogue === 1) v = v / (1 + Math.exp(-v));
      if (c.epilogue === 2) v *= rowScale.data[j];
      out[c.yLayout === 0 ? j * c.m + i : i * c.nSel + j] = v;
    }
  }
  return out;
}

function toF32(t: HostTensor): Float32Array {
  return t.toF32();
}

function runPacked(backendName: "cpu" | "cuda", c: Case, packed: WgmmaPackedWeight, X: HostTensor, tok: HostTensor<"i32">, rowScale: HostTensor<"f32">): Float32Array {
  const b = openBackend(backendName);
  const w = wgmmaToBackend(packed, b);
  const xb = BackendTensor.from(b, X), tb = BackendTensor.from(b, tok), sb = BackendTensor.from(b, rowScale);
  try {
    const Y = ssmmWgmma(b, w, xb, tb, { yDtype: c.yDtype, yLayout: c.yLayout, epilogue: c.epilogue, rowScale: sb, emulate: backendName === "cpu" });
    const host = Y.toHost();
    Y.free();
    return toF32(host);
  } finally {
    w.free();
    xb.free();
    tb.free();
    sb.free();
  }
}

const tolerance = (c: Case) => (c.yDtype === "f32" ? (c.dtype === "bf16" ? 1e-5 : 1e-5) : 6e-3);

Deno.test("sy_wgmma_variants: the variant table (unique names, one default, the running-sum routing on schedules 0 and 1, 64-token tiles only as built: TMA, one CTA, ping-pong, routing 0)", () => {
  const table = wgmmaVariants(openBackend("cpu"));
  assert.ok(table.length >= 2);
  assert.equal(new Set(table.map((v) => v.name)).size, table.length, "unique names");
  assert.equal(table.filter((v) => v.default).length, 1, "one default");
  for (const v of table) {
    assert.ok(v.description.length > 0, v.name);
    assert.ok([0, 1].includes(v.routing) && (v.routing === 0 || v.schedule <= 1), v.name);
    assert.ok(v.tile_n === 128 || (v.tile_n === 64 && v.gather === 1 && v.cluster === 1 && v.schedule === 1 && v.routing === 0), `${v.name}: tile_n ${v.tile_n}`);
  }
  if (hasGpu && !Deno.env.get("SAMOYEDS_WGMMA_VARIANT")) assert.equal(callJson(openBackend("cuda"), "sy_build_info").wgmma_variant, table.find((v) => v.default)!.name);
});

// one emulated variant per routing (the others of a routing give the same bits: next test)
for (const [ci, c] of cases.entries()) {
  for (const [v] of wgmmaVariantsByRouting()) {
    Deno.test(`wgmma emulation vs dense reference: ${c.name} (variant ${v})`, () => {
      const { W, indices, X, tok, rowScale } = makeInputs(c, 100 + ci);
      const packed = packWgmmaFromDense(W, indices, { V: c.V, N: 1, M: 2 });
      const got = withWgmmaVariant(v, () => runPacked("cpu", c, packed, X, tok, rowScale));
      const ref = reference(c, W, X, tok, rowScale);
      const err = relativeError(got, ref);
      assert.ok(err < tolerance(c), `relative error ${err} (case ${c.name}, variant ${v})`);
    });
  }
}

// The emulation models the data path of the variant in effect: the two N = 64 halves of schedules 2 and 3 (other B
// descriptors, other accumulator indices) must give bit-for-bit the N = 128 result, for every case (V = 32 keeps N = 128);
// so must every variant of the running-sum routing among themselves.
Deno.test("wgmma emulation: the variants of one routing give the same bits (the N = 64 halves of gathered-tma-h2, -h2pp; the 64-token tiles of -pp-n64)", () => {
  for (const [ci, c] of cases.entries()) {
    const { W, indices, X, tok, rowScale } = makeInputs(c, 100 + ci);
    const packed = packWgmmaFromDense(W, indices, { V: c.V, N: 1, M: 2 });
    for (const [first, ...rest] of wgmmaVariantsByRouting()) {
      const base = withWgmmaVariant(first, () => runPacked("cpu", c, packed, X, tok, rowScale));
      for (const v of rest) {
        assert.deepEqual(withWgmmaVariant(v, () => runPacked("cpu", c, packed, X, tok, rowScale)), base, `case ${c.name}, variant ${v} vs ${first}`);
      }
    }
  }
  const c = cases[0], { W, indices, X, tok, rowScale } = makeInputs(c, 1);
  const packed = packWgmmaFromDense(W, indices, { V: c.V, N: 1, M: 2 });
  assert.throws(() => withWgmmaVariant("no-such-variant", () => runPacked("cpu", c, packed, X, tok, rowScale)),
    /SAMOYEDS_WGMMA_VARIANT=no-such-variant is not one of cpasync, gathered-tma/);
});

Deno.test("wgmma emulation: n_sel = 0 is a no-op", () => {
  const c: Case = { ...cases[0], nSel: 0 };
  const { W, indices, X, tok, rowScale } = makeInputs(c, 5);
  const packed = packWgmmaFromDense(W, indices, { V: c.V, N: 1, M: 2 });
  assert.equal(runPacked("cpu", c, packed, X, tok, rowScale).length, 0);
});

Deno.test("wgmma pack rejects weights outside the pattern", () => {
  const { W, indices } = randomSamoyeds(4, 64, 32, 3, "f16");
  const w = new Float32Array(W.toF32());
  const s = indices.data[0];
  w[(1 - s) * 64 + 0] = 1; // a non-zero in the dropped row of pair 0, k-vector 0
  assert.throws(() => packWgmmaFromDense(HostTensor.fromF32(w, [4, 64], "f16"), indices, { V: 32, N: 1, M: 2 }),
    (e: unknown) => e instanceof SamoyedsError && e.status === 7 && /not kept/.test(e.message));
  const w2 = new Float32Array(W.toF32());
  const kept = indices.data[0];
  for (let e = 0; e < 3; e++) w2[kept * 64 + e] = 1; // 3 non-zeros in one group of 4
  assert.throws(() => packWgmmaFromDense(HostTensor.fromF32(w2, [4, 64], "f16"), indices, { V: 32, N: 1, M: 2 }),
    (e: unknown) => e instanceof SamoyedsError && e.status === 7 && /2:4/.test(e.message));
});

Deno.test("wgmma argument checks give clear errors", () => {
  const { W, indices } = randomSamoyeds(4, 64, 32, 3, "f16");
  assert.throws(() => packWgmmaFromDense(W, indices, { V: 32, N: 2, M: 4 }), (e: unknown) => e instanceof SamoyedsError && e.status === 2 && /N=1, M=2/.test(e.message));
  assert.throws(() => packWgmmaFromDense(W, indices, { V: 48, N: 1, M: 2 }), (e: unknown) => e instanceof SamoyedsError && e.status === 1 && /V must be/.test(e.message));
  const c: Case = { ...cases[2] };
  const inp = makeInputs(c, 11);
  const packed = packWgmmaFromDense(inp.W, inp.indices, { V: c.V, N: 1, M: 2 });
  const badTok = new HostTensor("i32", [1], new Int32Array([c.xRows]));
  assert.throws(() => runPacked("cpu", c, packed, inp.X, badTok, inp.rowScale), (e: unknown) => e instanceof SamoyedsError && e.status === 1 && /outside/.test(e.message));
  // f16 accumulation is not implemented on this path: refused, not silently done in f32
  const b = cpu, w = wgmmaToBackend(packed, b), xb = BackendTensor.from(b, inp.X), tb = BackendTensor.from(b, inp.tok);
  const Y = new BackendTensor(b, "f32", [1, 2]);
  assert.throws(() => b.call("sy_ssmm_wgmma_emulate", 0, 2, 32, 32, 1, 2, w.wvalues.ptr, w.indices.ptr, w.wmeta.ptr, xb.ptr, c.xRows, tb.ptr, 1, Y.ptr, 2, 0, 0, null, 1),
    (e: unknown) => e instanceof SamoyedsError && e.status === 2 && /accum/.test(e.message));
  assert.throws(() => b.call("sy_ssmm_wgmma", 0, 2, 32, 32, 1, 2, w.wvalues.ptr, w.indices.ptr, w.wmeta.ptr, xb.ptr, c.xRows, tb.ptr, 1, Y.ptr, 2, 0, 0, null, 0),
    (e: unknown) => e instanceof SamoyedsError && e.status === 2);
  for (const t of [w, xb, tb, Y]) t.free();
});

// The format's canonical arrays (when the format code is built) pack to the same bytes as the dense route.
Deno.test({
  name: "wgmma pack from the format's canonical arrays equals pack from the dense weight",
  ignore: !cpu.symbols.sy_samoyeds_encode,
  fn() {
    for (const [m, k, V] of [[260, 256, 128], [64, 96, 32], [130, 128, 64]]) {
      const { W } = randomSamoyeds(m, k, V, m + k, "bf16", true);
      const sizes = new BigUint64Array(3);
      cpu.call("sy_samoyeds_sizes", m, k, V, 1, 2, sizes);
      const values = new Uint8Array(Number(sizes[0])), idx = new Uint8Array(Number(sizes[1])), meta = new Uint8Array(Number(sizes[2]));
      cpu.call("sy_samoyeds_encode", DTYPE_CODE.bf16, m, k, V, 1, 2, W.data, values, idx, meta);
      const viaFormat = packWgmma({ dtype: "bf16", m, k, params: { V, N: 1, M: 2 }, values: new HostTensor("u8", [values.length], values), indices: new HostTensor("u8", [idx.length], idx), meta: new HostTensor("u8", [meta.length], meta) });
      const viaDense = packWgmmaFromDense(W, new HostTensor("u8", [idx.length], idx), { V, N: 1, M: 2 });
      assert.deepEqual(viaFormat.wvalues.data, viaDense.wvalues.data);
      assert.deepEqual(viaFormat.wmeta.data, viaDense.wmeta.data);
    }
  },
});

// Split-k of the last wave (native/src/common/wgmma_split.h), forced on small shapes: every tile in S pieces, or the
// rule's mix of whole and split tiles for a wave of W CTAs ("S:W").
const splitCases: Case[] = [
  // 5 row tiles x 3 token tiles = 15 tiles, 8 iterations of 128 k
  { name: "split: 15 tiles, SiLU, bf16 out", m: 1100, k: 1024, V: 128, nSel: 300, xRows: 500, dtype: "bf16", yLayout: 0, yDtype: "bf16", epilogue: 1 },
  // V = 32: 2 k-vectors a stage, 5 iterations; feature-major, row scale
  { name: "split: V=32, row scale, feature-major", m: 512, k: 320, V: 32, nSel: 200, xRows: 260, dtype: "f16", yLayout: 1, yDtype: "f32", epilogue: 2 },
  // 7 stages of 64 with V = 128: 3 iterations + the tail stage (the last piece's), short last k-vector
  { name: "split: tail stage, adversarial", m: 260, k: 448, V: 128, nSel: 131, xRows: 200, dtype: "bf16", yLayout: 0, yDtype: "f32", epilogue: 0, adversarial: true },
];

Deno.test("sy_wgmma_split_plan: the last wave's tiles are split when that shortens the launch", () => {
  const plan = (tiles: number, iters: number, sms: number, env?: string) => {
    const out = new Int32Array(2);
    const call = () => cpu.call("sy_wgmma_split_plan", tiles, iters, sms, out);
    if (env === undefined) withWgmmaSplit("auto", call);
    else withWgmmaSplit(env, call);
    return [...out];
  };
  // Figure 12 at 1024 routed tokens (8 token tiles; V = 128: k / 128 iterations) on 132 SMs
  assert.deepEqual(plan(6 * 8, 16, 132), [2, 0]);          // 1408 x 2048: one partial wave of 48
  assert.deepEqual(plan(23 * 8, 18, 132), [2, 132]);       // 5760 x 2304: 132 + 52
  assert.deepEqual(plan(48 * 8, 24, 132), [1, 0]);         // 12288 x 3072: 2 x 132 + 120, nothing to gain
  assert.deepEqual(plan(56 * 8, 32, 132), [2, 396]);       // 14336 x 4096: 3 x 132 + 52
  assert.deepEqual(plan(64 * 8, 48, 132), [1, 0]);         // 16384 x 6144: 3 x 132 + 116
  assert.deepEqual(plan(16, 32, 132), [4, 0]);             // few tiles: at most 4 pieces
  assert.deepEqual(plan(16, 7, 132), [1, 0]);              // at least 4 iterations a piece
  assert.deepEqual(plan(264, 32, 132), [1, 0]);            // full waves
  assert.deepEqual(plan(48, 16, 132, "off"), [1, 0]);
  assert.deepEqual(plan(48, 16, 132, ""), [1, 0]);         // unset: off, the default (auto measured slower)
  assert.deepEqual(plan(48, 16, 132, "3"), [3, 0]);        // forced: every tile
  assert.deepEqual(plan(48, 2, 132, "3"), [2, 0]);         // whole iterations: at most n_iters pieces
  assert.deepEqual(plan(15, 8, 132, "4:6"), [2, 12]);      // the rule for a 6-wide wave: 3 last tiles, 2 pieces
  assert.throws(() => plan(48, 16, 132, "x"), (e: unknown) => e instanceof SamoyedsError && /SAMOYEDS_WGMMA_SPLIT=x is not/.test(e.message));
});

/** The token-tile plan (native/src/common/wgmma_tiles.h) under SAMOYEDS_WGMMA_TILES: the row tiles that run 128-token tiles. */
function tilePlan(rowTiles: number, nSel: number, experts: number, sms: number, env = "auto"): number {
  const out = new Int32Array(1);
  withWgmmaTiles(env, () => cpu.call("sy_wgmma_tile_plan", rowTiles, nSel, experts, sms, out));
  return out[0];
}

Deno.test("sy_wgmma_tile_plan: 64-token tiles where 128-token tiles leave SMs idle", () => {
  // Figure 12 at 1024 routed tokens on 132 SMs (row tiles of 256 output rows)
  assert.equal(tilePlan(6, 1024, 0, 132), 0);    // 1408 x 2048: 48 CTAs -> 96 of 64 tokens
  assert.equal(tilePlan(23, 1024, 0, 132), 16);  // 5760 x 2304: 16 x 8 = 128 CTAs, then 7 x 16 = 112 at 64
  assert.equal(tilePlan(48, 1024, 0, 132), 48);  // 12288 x 3072: the rest would need 240 CTAs at 64
  assert.equal(tilePlan(56, 1024, 0, 132), 49);  // 14336 x 4096: 3 waves of 392, then 7 x 16
  assert.equal(tilePlan(64, 1024, 0, 132), 64);  // 16384 x 6144
  // 4096 routed tokens: 1408 x 2048 runs 4 x 32 at 128, 2 x 64 at 64; the others unchanged
  assert.equal(tilePlan(6, 4096, 0, 132), 4);
  for (const rows of [23, 48, 56, 64]) assert.equal(tilePlan(rows, 4096, 0, 132), rows);
  assert.equal(tilePlan(264 / 8, 1024, 0, 132), 33);  // full waves: nothing to gain
  assert.equal(tilePlan(3, 64, 0, 132), 0);           // at most 64 tokens: 64-token tiles
  assert.equal(tilePlan(3, 65, 0, 1), 3);             // one CTA a wave: 128
  // grouped: 64 when the mean selections per expert is at most 48
  assert.equal(tilePlan(3, 48 * 8, 8, 132), 0);
  assert.equal(tilePlan(3, 48 * 8 + 1, 8, 132), 3);
  assert.equal(tilePlan(56, 512, 8, 132), 56);  // Mixtral at T = 256, top-2: 64 a expert
  assert.equal(tilePlan(3, 2048, 128, 132), 0); // Qwen3-30B-A3B at T = 256, top-8: 16 a expert
  // forced and per-wave plans
  assert.equal(tilePlan(56, 1024, 0, 132, "128"), 56);
  assert.equal(tilePlan(56, 1024, 0, 132, "64"), 0);
  assert.equal(tilePlan(5, 300, 0, 132, "auto:6"), 4);
  assert.equal(tilePlan(5, 300, 0, 132, ""), 0);  // unset: auto (15 CTAs of 128 on 132 SMs -> 25 of 64)
  for (const bad of ["x", "auto:", "auto:0", "32"]) {
    assert.throws(() => tilePlan(5, 300, 0, 132, bad), (e: unknown) => e instanceof SamoyedsError && e.message.includes(`SAMOYEDS_WGMMA_TILES=${bad} is not`), bad);
  }
});

/** The persistent grid (native/src/common/wgmma_tiles.h) of a single launch of `tiles` tiles under SAMOYEDS_WGMMA_PERSIST,
 * or (grouped) of a grouped launch of at most `tiles` tiles under SAMOYEDS_WGMMA_PERSIST_GROUPED. */
function persistPlan(tiles: number, sms: number, env: string, grouped = false): number {
  const out = new Int32Array(1);
  const call = () => cpu.call("sy_wgmma_persist_plan", tiles, sms, grouped ? 1 : 0, out);
  if (grouped) withWgmmaPersistGrouped(env, call);
  else withWgmmaPersist(env, call);
  return out[0];
}

Deno.test("sy_wgmma_persist_plan: one CTA per SM where a launch has more tiles than SMs, or C CTAs", () => {
  assert.equal(persistPlan(384, 132, "on"), 132);  // 12288 x 3072 at 1024 routed tokens: ~3 tiles a CTA
  assert.equal(persistPlan(132, 132, "on"), 0);    // one wave: a CTA a tile already
  assert.equal(persistPlan(96, 132, "on"), 0);
  assert.equal(persistPlan(384, 132, "off"), 0);
  assert.equal(persistPlan(10, 132, "ctas:3"), 3);
  assert.equal(persistPlan(2, 132, "ctas:3"), 2);  // never more CTAs than tiles
  assert.equal(persistPlan(0, 132, "ctas:3"), 0);
  for (const bad of ["x", "ctas:", "ctas:0", "7", "ON"]) {
    assert.throws(() => persistPlan(10, 132, bad), (e: unknown) => e instanceof SamoyedsError && e.message.includes(`SAMOYEDS_WGMMA_PERSIST=${bad} is not`), bad);
  }
  const dflt = new Int32Array(1);
  withWgmmaPersist("", () => cpu.call("sy_wgmma_persist_plan", 384, 132, 0, dflt));  // unset: the default, on or off
  assert.ok(dflt[0] === 0 || dflt[0] === 132, `default plan ${dflt[0]}`);
  // grouped (tiles = the upper bound): the same rule, and never more than kMaxPersistTiles = 128 tiles a CTA
  assert.equal(persistPlan(8064, 132, "on", true), 132);  // Mixtral-8x7B gate-up at T = 4096: 72 x 112 tiles at most
  assert.equal(persistPlan(40000, 132, "on", true), 313); // ceil(40000 / 128)
  assert.equal(persistPlan(100, 132, "on", true), 0);
  assert.equal(persistPlan(300, 132, "ctas:1", true), 3);
  assert.equal(persistPlan(100, 132, "ctas:1", true), 1);
  assert.equal(persistPlan(8064, 132, "off", true), 0);
  assert.equal(persistPlan(384, 132, "on", false), 132, "the single-launch setting is not the grouped one");
  assert.equal(withWgmmaPersist("off", () => persistPlan(384, 132, "on", true)), 132);
  assert.throws(() => persistPlan(10, 132, "ctas:", true), (e: unknown) => e instanceof SamoyedsError && e.message.includes("SAMOYEDS_WGMMA_PERSIST_GROUPED=ctas: is not"));
  assert.throws(() => cpu.call("sy_wgmma_persist_plan", 10, 132, 2, dflt), (e: unknown) => e instanceof SamoyedsError && e.message.includes("grouped must be 0 or 1"));
});

// The emulation follows the same plan (and adds the pieces as the kernel does): the split data path against the
// dense reference on the CPU, for one variant of each routing and the N = 64 halves.
Deno.test("sy_ssmm_wgmma_emulate: split-k pieces match the dense reference", () => {
  const small = [
    { ...splitCases[0], name: "split: 6 tiles, SiLU, bf16 out", m: 520, nSel: 140, xRows: 200 },
    splitCases[1],
    splitCases[2],
  ];
  const variants = [...wgmmaVariantsByRouting().map((r) => r[0]), ...WGMMA_VARIANT_TABLE.filter((v) => v.schedule === 2).map((v) => v.name)];
  for (const [ci, c] of small.entries()) {
    const { W, indices, X, tok, rowScale } = makeInputs(c, 600 + ci);
    const packed = packWgmmaFromDense(W, indices, { V: c.V, N: 1, M: 2 });
    const ref = reference(c, W, X, tok, rowScale);
    for (const v of variants) {
      for (const split of ["off", "2", "3", "4:4", "3:3"]) {
        const got = withWgmmaSplit(split, () => withWgmmaVariant(v, () => runPacked("cpu", c, packed, X, tok, rowScale)));
        const err = relativeError(got, ref);
        assert.ok(err < tolerance(c), `case ${c.name}, variant ${v}, split ${split}: relative error ${err}`);
      }
    }
  }
});

// ---------------- GPU ----------------
function isSm90(): boolean {
  if (!hasGpu) return false;
  const info = callJson(openBackend("cuda"), "sy_device_info", 0);
  return info.cc_major === 9 && info.cc_minor === 0;
}

for (const [ci, c] of cases.entries()) {
  gpuTest(`sy_ssmm_wgmma (CUDA) vs dense reference: ${c.name}`, () => {
    const { W, indices, X, tok, rowScale } = makeInputs(c, 100 + ci);
    const packed = packWgmmaFromDense(W, indices, { V: c.V, N: 1, M: 2 });
    if (!isSm90()) {
      assert.throws(() => runPacked("cuda", c, packed, X, tok, rowScale), (e: unknown) => e instanceof SamoyedsError && e.status === 2 && /sm_90/.test(e.message));
      console.log("not an sm_90 GPU: checked that sy_ssmm_wgmma refuses cleanly");
      return;
    }
    const ref = reference(c, W, X, tok, rowScale);
    const emu = runPacked("cpu", c, packed, X, tok, rowScale);
    for (const v of WGMMA_VARIANTS) {
      const got = withWgmmaVariant(v, () => runPacked("cuda", c, packed, X, tok, rowScale));
      const err = relativeError(got, ref);
      assert.ok(err < tolerance(c) * 10, `relative error ${err} (case ${c.name}, variant ${v})`);
      assert.ok(relativeError(got, emu) < tolerance(c) * 10, `GPU (variant ${v}) and CPU emulation disagree`);
    }
  });
}

// Every B-tile gather (cp.async, TMA, TMA multicast over clusters of 2 and 4 row tiles, whose padding CTAs load the
// last weight tile and store nothing) does the same arithmetic in the same order: identical results, on every case
// plus one with several row and token tiles (m = 1100: 5 row tiles, padded to 6 and 8).
gpuTest("sy_ssmm_wgmma (CUDA): every variant of one routing gives identical results", () => {
  if (!isSm90()) return;
  const more: Case = { name: "5 row tiles, 3 token tiles", m: 1100, k: 256, V: 64, nSel: 300, xRows: 500, dtype: "bf16", yLayout: 0, yDtype: "f32", epilogue: 1 };
  for (const [ci, c] of [...cases, more].entries()) {
    const { W, indices, X, tok, rowScale } = makeInputs(c, 300 + ci);
    const packed = packWgmmaFromDense(W, indices, { V: c.V, N: 1, M: 2 });
    for (const [first, ...rest] of wgmmaVariantsByRouting()) {
      const base = withWgmmaVariant(first, () => runPacked("cuda", c, packed, X, tok, rowScale));
      for (const v of rest) {
        assert.deepEqual(withWgmmaVariant(v, () => runPacked("cuda", c, packed, X, tok, rowScale)), base, `case ${c.name}, variant ${v} vs ${first}`);
      }
    }
  }
  const c0 = cases[0], inp = makeInputs(c0, 1), pk = packWgmmaFromDense(inp.W, inp.indices, { V: c0.V, N: 1, M: 2 });
  assert.throws(() => withWgmmaVariant("bogus" as WgmmaVariant, () => runPacked("cuda", c0, pk, inp.X, inp.tok, inp.rowScale)),
    (e: unknown) => e instanceof SamoyedsError && /SAMOYEDS_WGMMA_VARIANT=bogus/.test(e.message));
});

// Split-k on the GPU (splitCases; 2 pieces go through distributed shared memory in cluster pairs, "2:13" and "2:3"
// with a padding CTA before the pairs, more pieces through a global workspace): every piece count agrees with the dense
// reference and with the unsplit kernel, and gives the same bits on every run (the last piece adds the partials in
// piece order, whichever finishes last).
gpuTest("sy_ssmm_wgmma (CUDA): split-k pieces match the reference, deterministic, every variant", () => {
  if (!isSm90()) return;
  const variants = WGMMA_VARIANT_TABLE.filter((v) => v.cluster === 1).map((v) => v.name);
  for (const [ci, c] of splitCases.entries()) {
    const { W, indices, X, tok, rowScale } = makeInputs(c, 500 + ci);
    const packed = packWgmmaFromDense(W, indices, { V: c.V, N: 1, M: 2 });
    const ref = reference(c, W, X, tok, rowScale);
    for (const v of variants) {
      const run = (split: string) => withWgmmaSplit(split, () => withWgmmaVariant(v, () => runPacked("cuda", c, packed, X, tok, rowScale)));
      const whole = run("off");
      for (const split of ["2", "3", "16", "4:6", "3:3", "2:13", "2:3", "auto"]) {
        const got = run(split);
        const what = `case ${c.name}, variant ${v}, SAMOYEDS_WGMMA_SPLIT=${split}`;
        assert.ok(relativeError(got, ref) < tolerance(c) * 10, `${what}: relative error ${relativeError(got, ref)}`);
        assert.ok(relativeError(got, whole) < tolerance(c) * 10, `${what}: differs from the unsplit kernel`);
        assert.deepEqual(run(split), got, `${what}: not deterministic`);
      }
    }
  }
  const c = splitCases[0], inp = makeInputs(c, 1), pk = packWgmmaFromDense(inp.W, inp.indices, { V: c.V, N: 1, M: 2 });
  for (const bad of ["bogus", "0", "2:", "3:0", "99"]) {
    assert.throws(() => withWgmmaSplit(bad, () => runPacked("cuda", c, pk, inp.X, inp.tok, inp.rowScale)),
      (e: unknown) => e instanceof SamoyedsError && e.message.includes(`SAMOYEDS_WGMMA_SPLIT=${bad} is not`), bad);
  }
});

// The token-tile plan of the default variant: 64-token tiles do the same arithmetic in the same order as 128-token
// ones, so every plan (all 128, all 64, and the two launches of a mixed plan, forced on small shapes by auto:W) gives
// the bits of the all-128 launch, and the mixed plans' second launch covers exactly the remaining row tiles.
gpuTest("sy_ssmm_wgmma (CUDA): the token-tile plans of the default variant give identical results", () => {
  if (!isSm90()) return;
  const more: Case[] = [
    { name: "5 row tiles (last partial), 3 token tiles", m: 1100, k: 256, V: 64, nSel: 300, xRows: 500, dtype: "bf16", yLayout: 0, yDtype: "f32", epilogue: 1 },
    { name: "2 row tiles, feature-major, row scale", m: 512, k: 384, V: 128, nSel: 300, xRows: 310, dtype: "f16", yLayout: 1, yDtype: "f16", epilogue: 2, adversarial: true },
  ];
  let mixedRuns = 0;
  for (const [ci, c] of [...cases, ...more].entries()) {
    const { W, indices, X, tok, rowScale } = makeInputs(c, 800 + ci);
    const packed = packWgmmaFromDense(W, indices, { V: c.V, N: 1, M: 2 });
    const run = (tiles: string) => withWgmmaTiles(tiles, () => runPacked("cuda", c, packed, X, tok, rowScale));
    const base = run("128"), rowTiles = Math.ceil(c.m / 2 / 128);
    assert.ok(relativeError(base, reference(c, W, X, tok, rowScale)) < tolerance(c) * 10, `case ${c.name}: 128-token tiles vs reference`);
    for (const tiles of ["64", "auto", "auto:1", "auto:4", "auto:5", "auto:6", "auto:10"]) {
      const r128 = tilePlan(rowTiles, c.nSel, 0, 132, tiles);
      if (r128 > 0 && r128 < rowTiles) mixedRuns++;
      assert.deepEqual(run(tiles), base, `case ${c.name}, SAMOYEDS_WGMMA_TILES=${tiles} (${r128} of ${rowTiles} row tiles at 128)`);
    }
  }
  assert.ok(mixedRuns >= 3, `${mixedRuns} mixed plans ran (the test needs some)`);
  const c0 = cases[0], inp = makeInputs(c0, 1), pk = packWgmmaFromDense(inp.W, inp.indices, { V: c0.V, N: 1, M: 2 });
  assert.throws(() => withWgmmaTiles("99", () => runPacked("cuda", c0, pk, inp.X, inp.tok, inp.rowScale)),
    (e: unknown) => e instanceof SamoyedsError && e.message.includes("SAMOYEDS_WGMMA_TILES=99 is not"));
});

// Persistent launches (wgmma_tiles.h): a CTA walking many tiles, the ring running on across them, does each tile's
// arithmetic as a CTA of its own: the bits of one CTA per tile, for the ping-pong variants (both routings, 64-token
// tiles) and the default's token-tile plans (a mixed plan makes both of its launches persistent); 1-3 CTAs walk
// every tile (ring positions that wrap in the middle of a tile, odd tile counts, k tails), "on" covers the SM-count grid.
gpuTest("sy_ssmm_wgmma (CUDA): persistent CTAs give the bits of one CTA per tile", () => {
  if (!isSm90()) return;
  const more: Case[] = [
    { name: "5 row tiles (last partial), 3 token tiles", m: 1100, k: 256, V: 64, nSel: 300, xRows: 500, dtype: "bf16", yLayout: 0, yDtype: "f32", epilogue: 1 },
    { name: "2 row tiles, feature-major, row scale, k tail", m: 512, k: 320, V: 128, nSel: 300, xRows: 310, dtype: "f16", yLayout: 1, yDtype: "f16", epilogue: 2, adversarial: true },
    { name: "many tiles: 9 row tiles x 9 token tiles", m: 2304, k: 192, V: 32, nSel: 1100, xRows: 1200, dtype: "bf16", yLayout: 0, yDtype: "bf16", epilogue: 0 },
    { name: "V=128, 15.5 k-vectors", m: 768, k: 1984, V: 128, nSel: 200, xRows: 260, dtype: "f16", yLayout: 0, yDtype: "f32", epilogue: 0, adversarial: true },
  ];
  const variants = WGMMA_VARIANT_TABLE.filter((v) => v.schedule === 1 && v.gather === 1 && v.cluster === 1).map((v) => v.name);
  assert.ok(variants.length >= 3, `ping-pong variants: ${variants}`);
  for (const [ci, c] of [...cases, ...more].entries()) {
    const { W, indices, X, tok, rowScale } = makeInputs(c, 900 + ci);
    const packed = packWgmmaFromDense(W, indices, { V: c.V, N: 1, M: 2 });
    const run = (persist: string, variant?: string, tiles = "auto") =>
      withWgmmaTiles(tiles, () => withWgmmaPersist(persist, () =>
        variant ? withWgmmaVariant(variant as WgmmaVariant, () => runPacked("cuda", c, packed, X, tok, rowScale)) : runPacked("cuda", c, packed, X, tok, rowScale)));
    for (const v of variants) {
      const base = run("off", v);
      for (const persist of ["ctas:1", "ctas:2", "ctas:3", "on"]) assert.deepEqual(run(persist, v), base, `case ${c.name}, variant ${v}, SAMOYEDS_WGMMA_PERSIST=${persist}`);
    }
    for (const tiles of ["auto", "auto:4", "auto:6"]) {
      const base = run("off", undefined, tiles);
      for (const persist of ["ctas:1", "ctas:2"]) assert.deepEqual(run(persist, undefined, tiles), base, `case ${c.name}, default variant, tiles ${tiles}, SAMOYEDS_WGMMA_PERSIST=${persist}`);
    }
  }
  const c0 = cases[0], inp = makeInputs(c0, 1), pk = packWgmmaFromDense(inp.W, inp.indices, { V: c0.V, N: 1, M: 2 });
  assert.throws(() => withWgmmaPersist("ctas:0", () => runPacked("cuda", c0, pk, inp.X, inp.tok, inp.rowScale)),
    (e: unknown) => e instanceof SamoyedsError && e.message.includes("SAMOYEDS_WGMMA_PERSIST=ctas:0 is not"));
});

gpuTest("sy_ssmm_wgmma (CUDA): large shape (Figure 12 Qwen expert, 1408 x 2048, 512 tokens)", () => {
  if (!isSm90()) return;
  const c: Case = { name: "large", m: 1408, k: 2048, V: 128, nSel: 512, xRows: 1024, dtype: "bf16", yLayout: 0, yDtype: "f32", epilogue: 0 };
  const { W, indices, X, tok, rowScale } = makeInputs(c, 77);
  const packed = packWgmmaFromDense(W, indices, { V: c.V, N: 1, M: 2 });
  const err = relativeError(runPacked("cuda", c, packed, X, tok, rowScale), reference(c, W, X, tok, rowScale));
  assert.ok(err < 1e-4, `relative error ${err}`);
});

gpuTest("sy_ssmm_wgmma (CUDA): out-of-range tokens are clamped and counted", () => {
  if (!isSm90()) return;
  const c: Case = { ...cases[0], nSel: 4 };
  const { W, indices, X, rowScale } = makeInputs(c, 3);
  const packed = packWgmmaFromDense(W, indices, { V: c.V, N: 1, M: 2 });
  const cuda = openBackend("cuda");
  const count = new Int32Array(1);
  cuda.call("sy_ssmm_wgmma_bad_tokens", count); // reset
  const tok = new HostTensor("i32", [4], new Int32Array([0, -5, c.xRows + 3, 1]));
  for (const v of WGMMA_VARIANTS) {
    withWgmmaVariant(v, () => runPacked("cuda", c, packed, X, tok, rowScale));
    cuda.call("sy_ssmm_wgmma_bad_tokens", count);
    assert.equal(count[0], 2, `variant ${v}`);
  }
});

// ssmm() dispatch (lib/kernels/ssmm.ts): kernel "wgmma_sp" / "auto" after prepareWgmma agree with "mma_sp".
gpuTest("ssmm dispatch: wgmma_sp and auto (prepared) match mma_sp (CUDA)", () => {
  if (!isSm90()) return;
  const cuda = openBackend("cuda");
  const m = 384, k = 384, nSel = 200, xRows = 300; // k: a multiple of every V (the pruner needs it)
  for (const V of [32, 64, 128]) {
    const { pruned } = pruneToSamoyeds(HostTensor.fromF32(randn(m * k, 40 + V, 0.1), [m, k], "bf16"), { V, N: 1, M: 2 });
    using wb = encodeSamoyeds(pruned, { V, N: 1, M: 2 }).toBackend(cuda);
    using Xb = BackendTensor.from(cuda, HostTensor.fromF32(randn(xRows * k, 50 + V), [xRows, k], "bf16"));
    const r = rng(60 + V);
    using ib = BackendTensor.from(cuda, new HostTensor("i32", [nSel], Int32Array.from({ length: nSel }, () => Math.floor(r() * xRows))));
    for (const opts of [{}, { layout: "feature" as const, epilogue: "silu" as const }]) {
      using ref = ssmm(cuda, wb, Xb, ib, { ...opts, kernel: "mma_sp" });
      using autoUnprepared = ssmm(cuda, wb, Xb, ib, opts); // no packed copy yet: mma_sp
      using viaWgmma = ssmm(cuda, wb, Xb, ib, { ...opts, kernel: "wgmma_sp" });
      prepareWgmma(wb);
      using viaAuto = ssmm(cuda, wb, Xb, ib, opts);
      const want = ref.toHost().data as Float32Array;
      assert.ok(relativeError(autoUnprepared.toHost().data as Float32Array, want) < 1e-5);
      assert.ok(relativeError(viaWgmma.toHost().data as Float32Array, want) < 1e-4, `V=${V} wgmma_sp`);
      assert.ok(relativeError(viaAuto.toHost().data as Float32Array, want) < 1e-4, `V=${V} auto`);
    }
    assert.ok(wgmmaSupported(wb));
    assert.equal(wgmmaSupported(wb, "f16"), false);
    releaseWgmma(wb);
  }
});

gpuTest("sy_wgmma_peak (CUDA): every kind runs and counts its flops; a bad kind or count is a clear error", () => {
  const cuda = openBackend("cuda");
  const ms = new Float32Array(1), flops = new Float64Array(1);
  if (!isSm90()) {
    assert.throws(() => cuda.call("sy_wgmma_peak", 0, 64, 0, ms, flops), (e: unknown) => e instanceof SamoyedsError && /sm_90/.test(e.message));
    console.log("not an sm_90 GPU: checked that sy_wgmma_peak refuses cleanly");
    return;
  }
  const sms = callJson(cuda, "sy_device_info", 0).sm_count as number;
  // instructions of 2 * 64 * N * K flops; kinds 7 and 9 run blocks of 8 chains of 4 (64 iters: 2 blocks)
  const perInstruction = [256 * 32, 256 * 16, 128 * 32, 64 * 32, 128 * 32, 128 * 32, 64 * 32, 64 * 32, 96 * 32, 96 * 32];
  for (let kind = 0; kind <= 9; kind++) {
    cuda.call("sy_wgmma_peak", kind, 64, 1, ms, flops);
    assert.ok(ms[0] > 0, `kind ${kind}: time`);
    assert.equal(flops[0], 2 * 64 * perInstruction[kind] * 64 * 2 * sms, `kind ${kind}: flops`);
  }
  assert.throws(() => cuda.call("sy_wgmma_peak", 10, 64, 0, ms, flops), (e: unknown) => e instanceof SamoyedsError && /kind must be/.test(e.message));
  assert.throws(() => cuda.call("sy_wgmma_peak", 0, 6, 0, ms, flops), (e: unknown) => e instanceof SamoyedsError && /multiple of 4/.test(e.message));
  assert.throws(() => cuda.call("sy_wgmma_peak", 7, 16, 0, ms, flops), (e: unknown) => e instanceof SamoyedsError && /multiple of 32/.test(e.message));
});

gpuTest("SAMOYEDS_WGMMA_PROBE=loads-only (benchmarks): runs gathered-tma-pp (persistent or not) and gathered-tma-mc2 without their wgmmas; anything else is a clear error", () => {
  if (!isSm90()) return;
  const c = cases[0];
  const { W, indices, X, tok, rowScale } = makeInputs(c, 77);
  const packed = packWgmmaFromDense(W, indices, { V: c.V, N: 1, M: 2 });
  const run = () => runPacked("cuda", c, packed, X, tok, rowScale);
  const probe = (value: string, fn: () => Float32Array) => withEnv("SAMOYEDS_WGMMA_PROBE", value, fn);
  const zeros = probe("loads-only", () => withWgmmaVariant("gathered-tma-pp", () => withWgmmaPersist("ctas:1", run)));
  assert.ok(zeros.every((v) => v === 0), "no wgmmas: the epilogue stores zeros");
  assert.throws(() => probe("fast", run), (e: unknown) => e instanceof SamoyedsError && /SAMOYEDS_WGMMA_PROBE=fast is not loads-only/.test(e.message));
  for (const v of ["gathered-tma-pp", "gathered-tma-mc2", "gathered-tma-pp-mc2"] as const) {
    const y = probe("loads-only", () => withWgmmaVariant(v, () => withWgmmaPersist("off", run)));
    assert.ok(y.every((x) => x === 0), `${v}, a CTA per tile: zeros`);
  }
  assert.throws(() => probe("loads-only", () => withWgmmaVariant("gathered-tma-sd", run)),
    (e: unknown) => e instanceof SamoyedsError && /needs a single launch \(no split-k\) of gathered-tma-pp or gathered-tma-mc2/.test(e.message));
  assert.ok(relativeError(run(), reference(c, W, X, tok, rowScale)) < 1e-2, "unset again: the real kernel");
});
