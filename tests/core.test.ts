// Core entry points (native/include/samoyeds.h "core" + "dense GEMM"): build/device info, memory, f16/bf16
// conversions, the GEMM reference against a TS reference, clear errors on bad input; on CUDA (gpuTest) cuBLAS GEMM
// against the CPU backend and CUDA-graph timing.
import assert from "node:assert/strict";
import { callJson, openBackend, SamoyedsError } from "../lib/native/library.ts";
import { BackendTensor, convertHalf, DTYPE_CODE, HalfDType, HostTensor, randn } from "../lib/tensor.ts";
import { gemm } from "../lib/kernels/gemm.ts";
import { timeGraph } from "../lib/timing.ts";
import { deviceLabel, describeDevice, provenance } from "../lib/data.ts";
import { assertClose, gemmReference, gpuTest, withEnv, withWgmmaSplit, withWgmmaVariant } from "./helpers.ts";

const cpu = openBackend("cpu");

// ---------- independent TS references for the 16-bit formats ----------
function f16BitsToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}
function bf16BitsToNumber(h: number): number {
  return new Float32Array(new Uint32Array([h << 16]).buffer)[0];
}
/** f32 -> bf16 round to nearest even, by value: the two neighbours and a tie rule (independent of bit tricks). */
function bf16Nearest(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const bits = new Uint32Array(new Float32Array([x]).buffer)[0];
  const lo = bits >>> 16, hi = lo + 1;
  const vlo = bf16BitsToNumber(lo), vhi = bf16BitsToNumber(hi & 0xffff);
  if (!Number.isFinite(x)) return x;
  // past the largest finite value IEEE rounding treats infinity as 2^128 (the next power of two)
  const vhiFinite = Number.isFinite(vhi) ? vhi : Math.sign(vhi) * 2 ** 128;
  const dlo = Math.abs(x - vlo), dhi = Math.abs(vhiFinite - x);
  if (dlo < dhi) return vlo;
  if (dhi < dlo) return vhi;
  return (lo & 1) === 0 ? vlo : vhi;
}

function roundTrip(values: number[], dtype: HalfDType): Float32Array {
  return convertHalf(convertHalf(Float32Array.from(values), "f32", dtype) as Uint16Array, dtype, "f32") as Float32Array;
}
function same(a: number, b: number): boolean {
  return Number.isNaN(a) ? Number.isNaN(b) : Object.is(a, b);
}

Deno.test("build info and device info (CPU backend)", () => {
  const bi = callJson(cpu, "sy_build_info");
  assert.equal(bi.backend, "cpu");
  assert.match(String(bi.version), /^\d+\.\d+\.\d+/);
  const di = describeDevice(cpu);
  assert.equal(di.backend, "cpu");
  assert.ok(di.name.length > 0);
  assert.match(deviceLabel(di), /CPU backend/);
  const count = new Int32Array(1);
  cpu.call("sy_device_count", count);
  assert.equal(count[0], 1);
  const p = provenance(cpu);
  assert.ok(p.commit.length > 0 && p.date.length > 0 && p.host.length > 0);
});

Deno.test("malloc / copy / memset / copy_within round trip (CPU backend)", () => {
  const src = new HostTensor("f32", [3, 5], Float32Array.from({ length: 15 }, (_, i) => i * 0.5 - 3));
  using a = BackendTensor.from(cpu, src);
  assert.deepEqual(Array.from(a.toHost().data), Array.from(src.data));
  using b = new BackendTensor(cpu, "f32", [3, 5]);
  cpu.call("sy_copy_within", b.ptr, a.ptr, BigInt(a.bytes));
  assert.deepEqual(Array.from(b.toHost().data), Array.from(src.data));
  b.fill(0);
  assert.ok(b.toHost().data.every((v) => v === 0));
  using empty = new BackendTensor(cpu, "f16", [0, 4]);
  assert.equal(empty.toHost().numel, 0);
});

Deno.test("f16 decode: all 65536 bit patterns match the IEEE definition", () => {
  const bits = Uint16Array.from({ length: 65536 }, (_, i) => i);
  const f = convertHalf(bits, "f16", "f32") as Float32Array;
  for (let i = 0; i < 65536; i++) {
    if (!same(f[i], Math.fround(f16BitsToNumber(i)))) assert.fail(`f16 0x${i.toString(16)} -> ${f[i]}, expected ${f16BitsToNumber(i)}`);
  }
});

Deno.test("bf16 decode: all 65536 bit patterns are the top half of an f32", () => {
  const bits = Uint16Array.from({ length: 65536 }, (_, i) => i);
  const f = convertHalf(bits, "bf16", "f32") as Float32Array;
  for (let i = 0; i < 65536; i++) {
    if (!same(f[i], bf16BitsToNumber(i))) assert.fail(`bf16 0x${i.toString(16)} -> ${f[i]}, expected ${bf16BitsToNumber(i)}`);
  }
});

Deno.test("f16 encode: round to nearest even, subnormals, overflow, inf, nan (vs Math.f16round)", () => {
  const special = [0, -0, 1, -1, 65504, 65519.99, 65520, 65536, 1e9, -1e9, Infinity, -Infinity, NaN,
    2 ** -24, 2 ** -25, 2 ** -25 * 1.0001, 3 * 2 ** -25, 2 ** -14, 2 ** -14 - 2 ** -24, 1 + 2 ** -11, 1 + 3 * 2 ** -11,
    1 + 2 ** -11 + 2 ** -20, 2049, 2051, 1e-8, -1e-8, 0.1, 1 / 3];
  const rnd = randn(20000, 7, 30).map((v, i) => (i % 3 === 0 ? v * 1e-6 : i % 3 === 1 ? v * 2000 : v));
  const values = [...special, ...Array.from(rnd, Math.fround)];
  const out = roundTrip(values, "f16");
  values.forEach((v, i) => {
    const want = Math.f16round(Math.fround(v));
    if (!same(out[i], want)) assert.fail(`f16(${v}) = ${out[i]}, expected ${want}`);
  });
});

Deno.test("bf16 encode: round to nearest even, subnormals, overflow, inf, nan", () => {
  const f32max = 3.4028234663852886e38;
  const special = [0, -0, 1, -1, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20, f32max, -f32max, Infinity, -Infinity, NaN,
    1.1754943508222875e-38, 1e-40, -1e-40, 2 ** -133, 0.1, 1 / 3, 65504];
  const rnd = randn(20000, 9, 1e3).map((v, i) => (i % 2 ? v * 1e-30 : v));
  const values = [...special, ...Array.from(rnd, Math.fround)].map(Math.fround);
  const out = roundTrip(values, "bf16");
  values.forEach((v, i) => {
    const want = bf16Nearest(v);
    if (!same(out[i], want)) assert.fail(`bf16(${v}) = ${out[i]}, expected ${want}`);
  });
  // NaN stays NaN (a quiet NaN, never turned into inf by the rounding carry)
  assert.ok(Number.isNaN(roundTrip([NaN], "bf16")[0]));
});

function hostOperands(dtype: HalfDType, n: number, m: number, k: number, seed: number) {
  const X = HostTensor.fromF32(randn(n * k, seed), [n, k], dtype);
  const W = HostTensor.fromF32(randn(m * k, seed + 1, 0.5), [m, k], dtype);
  return { X, W, Xf: X.toF32(), Wf: W.toF32() };
}

const SHAPES: [number, number, number][] = [[1, 1, 1], [0, 8, 16], [3, 5, 7], [17, 33, 65], [64, 48, 128], [5, 1, 300]];

Deno.test("CPU gemm vs TS reference: f16/bf16, f32 and 16-bit output, both layouts, n = 0 and odd shapes", () => {
  for (const dtype of ["f16", "bf16"] as const) {
    for (const [n, m, k] of SHAPES) {
      const { X, W, Xf, Wf } = hostOperands(dtype, n, m, k, n * 131 + m * 7 + k);
      using x = BackendTensor.from(cpu, X);
      using w = BackendTensor.from(cpu, W);
      for (const layout of [0, 1] as const) {
        const ref = gemmReference(Xf, Wf, n, m, k, layout);
        using y = gemm(x, w, { yLayout: layout });
        assert.deepEqual(y.shape, layout === 0 ? [n, m] : [m, n]);
        assertClose(y.toHost().data as Float32Array, ref, 1e-5, `cpu gemm ${dtype} n=${n} m=${m} k=${k} layout=${layout}`);
        using yh = gemm(x, w, { yLayout: layout, yDtype: dtype });
        assertClose(yh.toHost().toF32(), ref, dtype === "f16" ? 2e-3 : 1e-2, `cpu gemm ${dtype}->${dtype} n=${n} m=${m} k=${k}`);
      }
    }
  }
});

Deno.test("bad input throws SamoyedsError naming the problem", () => {
  const { X, W } = hostOperands("f16", 4, 4, 8, 1);
  using x = BackendTensor.from(cpu, X);
  using w = BackendTensor.from(cpu, W);
  using y = new BackendTensor(cpu, "f32", [4, 4]);
  const err = (f: () => void, re: RegExp) =>
    assert.throws(f, (e: unknown) => e instanceof SamoyedsError && re.test(e.message), `expected SamoyedsError matching ${re}`);
  err(() => cpu.call("sy_gemm", DTYPE_CODE.f32, 4, 4, 8, x.ptr, w.ptr, y.ptr, DTYPE_CODE.f32, 0), /sy_gemm: operand dtype must be f16/);
  err(() => cpu.call("sy_gemm", 99, 4, 4, 8, x.ptr, w.ptr, y.ptr, DTYPE_CODE.f32, 0), /operand dtype/);
  err(() => cpu.call("sy_gemm", DTYPE_CODE.f16, 4, 4, 8, x.ptr, w.ptr, y.ptr, DTYPE_CODE.bf16, 0), /output dtype/);
  err(() => cpu.call("sy_gemm", DTYPE_CODE.f16, -1, 4, 8, x.ptr, w.ptr, y.ptr, DTYPE_CODE.f32, 0), /n >= 0, m > 0, k > 0/);
  err(() => cpu.call("sy_gemm", DTYPE_CODE.f16, 4, 0, 8, x.ptr, w.ptr, y.ptr, DTYPE_CODE.f32, 0), /m > 0/);
  err(() => cpu.call("sy_gemm", DTYPE_CODE.f16, 4, 4, 8, x.ptr, w.ptr, y.ptr, DTYPE_CODE.f32, 2), /y_layout/);
  err(() => cpu.call("sy_gemm", DTYPE_CODE.f16, 4, 4, 8, null, w.ptr, y.ptr, DTYPE_CODE.f32, 0), /null/);
  err(() => cpu.call("sy_convert", null, DTYPE_CODE.f32, y.ptr, DTYPE_CODE.f16, 4n), /sy_convert: null/);
  err(() => cpu.call("sy_convert", x.ptr, DTYPE_CODE.i32, y.ptr, DTYPE_CODE.f16, 4n), /dtypes must be/);
  err(() => cpu.call("sy_capture_begin"), /CPU backend has no graph timing/);
  // the TS wrapper checks shapes and dtypes before calling native code
  using wBad = new BackendTensor(cpu, "f16", [4, 7]);
  assert.throws(() => gemm(x, wBad), /reduction sizes differ/);
  using xf = new BackendTensor(cpu, "f32", [4, 8]);
  assert.throws(() => gemm(xf, w), /X is f32 but W is f16/);
  assert.throws(() => new HostTensor("f32", [2, 2], new Float32Array(3)), /needs 4/);
  assert.throws(() => new HostTensor("f32", [2, -1]), /invalid shape/);
});

Deno.test("a library that is not built gives a clear error", async () => {
  // a separate process so the loader's cache in this one is untouched
  const code = `import { openBackend } from "${new URL("../lib/native/library.ts", import.meta.url).href}";
    try { openBackend("cpu"); console.log("opened"); } catch (e) { console.log(e.name + ": " + e.message); }`;
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    env: { SAMOYEDS_CPU_LIB: "/nonexistent/libsamoyeds_cpu.so" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(r.stdout);
  assert.match(out, /SamoyedsError: libsamoyeds cpu backend not built: .* Run `deno task build`/);
});

// ---------- CUDA backend (skipped without a GPU) ----------

gpuTest("CUDA device and build info", () => {
  const cuda = openBackend("cuda");
  const d = describeDevice(cuda);
  assert.equal(d.backend, "cuda");
  assert.match(d.compute_capability ?? "", /^sm_\d+$/);
  assert.ok((d.sm_count ?? 0) > 0 && (d.memory_bytes ?? 0) > 0);
  assert.ok(d.driver_cuda_version, "driver version reported");
  const build = callJson(cuda, "sy_build_info");
  assert.equal(build.backend, "cuda");
  // the wgmma.sp variant in effect and whether it pre-gathers (read by every data file's provenance and bench/moe.ts)
  assert.equal(typeof build.wgmma_variant, "string");
  assert.equal(typeof build.wgmma_pregather, "boolean");
  // and the split-k policy of single launches (SAMOYEDS_WGMMA_SPLIT, default off)
  if (!Deno.env.get("SAMOYEDS_WGMMA_SPLIT")) assert.equal(build.wgmma_split, "off");
  if (!Deno.env.get("SAMOYEDS_WGMMA_TILES")) assert.equal(build.wgmma_tiles, "auto");  // the token-tile plan (wgmma_tiles.h)
  assert.equal(withWgmmaSplit("3:66", () => callJson(cuda, "sy_build_info").wgmma_split), "3:66");
  // and whether the kernel is a programmatic dependent of its pre-gather (SAMOYEDS_WGMMA_PDL=0 turns it off)
  assert.equal(typeof build.wgmma_pdl, "boolean");
  // and the persistent single launches (SAMOYEDS_WGMMA_PERSIST, default on: wgmma_tiles.h)
  if (!Deno.env.get("SAMOYEDS_WGMMA_PERSIST")) assert.equal(build.wgmma_persist, "on");
  assert.equal(withEnv("SAMOYEDS_WGMMA_PERSIST", "ctas:7", () => callJson(cuda, "sy_build_info").wgmma_persist), "ctas:7");
  // and the persistent grouped ones (SAMOYEDS_WGMMA_PERSIST_GROUPED; its default in the same header)
  if (!Deno.env.get("SAMOYEDS_WGMMA_PERSIST_GROUPED")) assert.equal(build.wgmma_persist_grouped, "on");
  assert.equal(withEnv("SAMOYEDS_WGMMA_PERSIST_GROUPED", "ctas:5", () => callJson(cuda, "sy_build_info").wgmma_persist_grouped), "ctas:5");
  const info = () => callJson(cuda, "sy_build_info");
  assert.deepEqual(withWgmmaVariant("cpasync", () => [info().wgmma_variant, info().wgmma_pregather]), ["cpasync", false]);
  assert.equal(withWgmmaVariant("no-such-variant", () => info().wgmma_variant), "(invalid)");
});

gpuTest("CUDA memory round trip and conversions match the CPU backend", () => {
  const cuda = openBackend("cuda");
  const vals = Float32Array.from([...randn(4093, 3, 100), 0, -0, 65504, 65520, 1e-8, 2 ** -25, 3 * 2 ** -25, Infinity, -Infinity, NaN]);
  for (const dtype of ["f16", "bf16"] as const) {
    using src = BackendTensor.from(cuda, new HostTensor("f32", [vals.length], vals));
    using h = new BackendTensor(cuda, dtype, [vals.length]);
    cuda.call("sy_convert", src.ptr, DTYPE_CODE.f32, h.ptr, DTYPE_CODE[dtype], BigInt(vals.length));
    const got = h.toHost().data as Uint16Array;
    const want = convertHalf(vals, "f32", dtype) as Uint16Array;
    for (let i = 0; i < vals.length; i++) {
      const ok = got[i] === want[i] || (Number.isNaN(vals[i]) && Number.isNaN(convertHalf(Uint16Array.of(got[i]), dtype, "f32")[0]));
      if (!ok) assert.fail(`cuda f32->${dtype}(${vals[i]}) = 0x${got[i].toString(16)}, cpu 0x${want[i].toString(16)}`);
    }
    using back = new BackendTensor(cuda, "f32", [vals.length]);
    cuda.call("sy_convert", h.ptr, DTYPE_CODE[dtype], back.ptr, DTYPE_CODE.f32, BigInt(vals.length));
    const b = back.toHost().data as Float32Array;
    const cpuBack = convertHalf(want, dtype, "f32") as Float32Array;
    for (let i = 0; i < vals.length; i++) if (!same(b[i], cpuBack[i])) assert.fail(`cuda ${dtype}->f32 at ${i}: ${b[i]} vs ${cpuBack[i]}`);
  }
});

gpuTest("cuBLAS gemm vs CPU backend: f16/bf16, f32 and 16-bit output, both layouts, odd shapes, n = 0", () => {
  const cuda = openBackend("cuda");
  for (const dtype of ["f16", "bf16"] as const) {
    for (const [n, m, k] of [...SHAPES, [256, 512, 1024], [129, 257, 72]] as [number, number, number][]) {
      const { X, W } = hostOperands(dtype, n, m, k, n + m + k);
      using xc = BackendTensor.from(cpu, X);
      using wc = BackendTensor.from(cpu, W);
      using xg = BackendTensor.from(cuda, X);
      using wg = BackendTensor.from(cuda, W);
      for (const layout of [0, 1] as const) {
        for (const yDtype of ["f32", dtype] as const) {
          using yc = gemm(xc, wc, { yLayout: layout, yDtype });
          using yg = gemm(xg, wg, { yLayout: layout, yDtype });
          const a = yDtype === "f32" ? (yg.toHost().data as Float32Array) : yg.toHost().toF32();
          const b = yDtype === "f32" ? (yc.toHost().data as Float32Array) : yc.toHost().toF32();
          const tol = yDtype === "f32" ? 1e-3 : dtype === "f16" ? 3e-3 : 1.5e-2;
          assertClose(a, b, tol, `cuda gemm ${dtype}->${yDtype} n=${n} m=${m} k=${k} layout=${layout}`);
        }
      }
    }
  }
});

gpuTest("graph capture + sy_graph_time time a captured cuBLAS gemm", () => {
  const cuda = openBackend("cuda");
  const { X, W } = hostOperands("f16", 256, 256, 256, 5);
  using x = BackendTensor.from(cuda, X);
  using w = BackendTensor.from(cuda, W);
  using y = new BackendTensor(cuda, "f32", [256, 256]);
  const t = timeGraph(cuda, () => gemm(x, w, { out: y }), { warmup: 2, iters: 5 });
  assert.equal(t.iters, 5);
  assert.ok(t.ms > 0 && Number.isFinite(t.ms), `median ${t.ms} ms`);
  // the replays really computed Y
  const ref = gemmReference(X.toF32(), W.toF32(), 256, 256, 256);
  assertClose(y.toHost().data as Float32Array, ref, 1e-3, "gemm result after graph replays");
  // an error inside the capture is reported, and the capture is ended so the stream stays usable
  using wBad = BackendTensor.from(cuda, new HostTensor("f16", [256, 7]));
  assert.throws(() => timeGraph(cuda, () => gemm(x, wBad)), /reduction sizes differ/);
  using y2 = gemm(x, w);
  assertClose(y2.toHost().data as Float32Array, ref, 1e-3, "gemm after a failed capture");
});
