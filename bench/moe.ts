// Benchmark stage `moe` (issue 4): MoE-layer and model-memory evaluation on the GPU -> $SAMOYEDS_RESULTS_DIR/model-level.json
// (default data/). Run:  deno run --allow-all bench/moe.ts [--quick] [--budget-gb N] [--models a,b]
// --persist-grouped-ab: only an A/B of our layer with one CTA per grouped tile against persistent grouped launches
// (SAMOYEDS_WGMMA_PERSIST_GROUPED off / on, native/src/common/wgmma_tiles.h), two rounds each, in this process on the
// same weights and routing -> model-level-persist-grouped.json
// Weights are RANDOM (no downloads): the sparse experts get random values/row choices in the Samoyeds format (1:2 x 2:4,
// V = 128, density 25%), the dense baselines independent random dense weights. bf16 operands, f32 accumulation.
// Our layer's grouped SSMMs run with kernel "auto": the wgmma.sp kernel (sy_ssmm_wgmma_grouped) on an sm_90 GPU,
// the mma.sp kernel elsewhere; the `*_mma_sp` variants force the mma.sp kernel. Each row records the kernel that ran.
// Timing: each variant's whole layer (router GEMM, top-k, index lists, experts, combine, shared experts) is captured
// into one CUDA graph and replayed (sy_graph_time): median of `iters` replays after 3 warm-ups.
// Dense baselines are given the per-expert counts on the host before capture (an advantage: real HF code syncs).
// Sections: layer times (Figures 14, 17), memory model + measured max batch (Figure 16), throughput vs batch.
import { callJson, openBackend, SamoyedsError } from "../lib/native/library.ts";
import { BackendTensor, DTYPE_CODE, relativeError } from "../lib/tensor.ts";
import { MODELS, MoeModelConfig, tinyModel } from "../lib/models.ts";
import { hostCounts, MoeForwardOptions, moeExperts, moeRoute, MoeWorkspace, randomDeviceWeights } from "../lib/moe.ts";
import { PAPER_PARAMS, samoyedsSizes } from "../lib/formats/samoyeds.ts";
import { provenance, Row, writeResults } from "../lib/data.ts";
import { memoryModel, MemoryMethod, MEMORY_METHODS, searchMaxBatch } from "../lib/moe_memory.ts";
import { decoderCounts, decoderForward, DecoderWorkspace, randomAttentionWeights } from "../lib/decoder.ts";
import { timeGraph as timeCapturedGraph, timeHost } from "../lib/timing.ts";
import { mmaSpHasSwiglu, ssmmGroupedKernel } from "../lib/kernels/ssmm.ts";
import { wgmmaBackendReason } from "../lib/kernels/ssmm_wgmma.ts";

const args = Deno.args;
const quick = args.includes("--quick");
// --cpu-dry-run: the same code paths on the CPU backend with tiny models and host timing (checks the script, no numbers)
const dry = args.includes("--cpu-dry-run");
const argVal = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const cuda = openBackend(dry ? "cpu" : "cuda");
const device = dry ? { memory_bytes: 2 ** 30 } : callJson(cuda, "sy_device_info", 0);
const build = callJson(cuda, "sy_build_info");
const dtype = "bf16" as const;
const budgetBytes = Number(argVal("--budget-gb") ?? Number(device.memory_bytes) / 2 ** 30) * 2 ** 30;
const only = argVal("--models")?.split(",");
const models = dry
  ? [tinyModel({ name: "Mixtral-8x7B" }), tinyModel({ name: "Qwen1.5-MoE-A2.7B", experts: 8, topK: 4, renormalize: false, shared: { intermediate: 256, sigmoidGate: true, count: 1 } })]
  : MODELS.filter((m) => !only || only.includes(m.name));
const TOKENS = dry ? [1, 16] : quick ? [256, 4096] : [256, 1024, 4096];
const SEQ = dry ? 8 : 1024;
const ITERS = quick ? 5 : 15;
const started = new Date().toISOString();
const t0 = performance.now();
const log = (s: string) => console.log(`[moe ${((performance.now() - t0) / 1000).toFixed(0)}s] ${s}`);

function timeGraph(fn: () => void, iters = ITERS): number {
  // dry run (CPU backend): one host-timed call, the code path only
  return (dry ? timeHost(fn, { warmup: 0, iters: 1 }) : timeCapturedGraph(cuda, fn, { iters })).ms;
}
const errText = (e: unknown) => (e instanceof SamoyedsError ? e.message : String(e));

/** Variants timed per (model, T). name -> options (+ whether it needs the host counts). Samoyeds variants without a
 * kernel run "auto" (wgmma.sp on an sm_90 GPU); `*_mma_sp` force the mma.sp grouped kernel. */
function variants(m: MoeModelConfig): [string, MoeForwardOptions][] {
  const v: [string, MoeForwardOptions][] = [
    ["samoyeds", { method: "samoyeds", step: "WILS" }],
    ["samoyeds_scatter_add", { method: "samoyeds", step: "WILS", scatterAdd: true }],
    ["samoyeds_gateup", { method: "samoyeds", step: "WILS", fuseGateUp: true }],
    ["samoyeds_gateup_scatter_add", { method: "samoyeds", step: "WILS", fuseGateUp: true, scatterAdd: true }],
    ["samoyeds_mma_sp", { method: "samoyeds", step: "WILS", kernel: "mma_sp" }],
    ["samoyeds_scatter_add_mma_sp", { method: "samoyeds", step: "WILS", scatterAdd: true, kernel: "mma_sp" }],
    ["samoyeds_gateup_mma_sp", { method: "samoyeds", step: "WILS", fuseGateUp: true, kernel: "mma_sp" }],
    ["ablation_W", { method: "samoyeds", step: "W" }],
    ["ablation_WI", { method: "samoyeds", step: "WI" }],
    ["ablation_WIL", { method: "samoyeds", step: "WIL" }],
    ["hf_loop", { method: "hfLoop" }],
    ["dense_grouped", { method: "denseGrouped", groupedImpl: 0 }],
    ["dense_gemm_loop", { method: "denseGrouped", groupedImpl: 1 }],
    ["vnm_loop", { method: "vnmLoop" }],
  ];
  if (m.shared) {
    for (const [n, o] of v.slice()) {
      if (["samoyeds", "samoyeds_gateup", "hf_loop", "dense_grouped"].includes(n)) v.push([`${n}_no_shared`, { ...o, shared: false }]);
    }
    // the shared experts in the Samoyeds format too (the paper prunes them as well); not part of "ours" yet
    v.push(["samoyeds_gateup_sparse_shared", { method: "samoyeds", step: "WILS", fuseGateUp: true, sparseShared: true }]);
  }
  return v;
}

interface LayerRow {
  model: string; T: number; variant: string; ms?: number; error?: string; grouped_impl?: string;
  /** samoyeds variants: the grouped SSMM kernel that ran ("wgmma_sp" | "mma_sp"; "cpu reference" in the dry run) */
  kernel?: string;
  max_expert_tokens?: number; empty_experts?: number;
}
const layerRows: LayerRow[] = [];
const throughputRows: { model: string; seq: number; batch: number; T: number; variant: string; ms?: number; tokens_per_s?: number; oom?: boolean; error?: string }[] = [];

function timeLayer(m: MoeModelConfig, w: ReturnType<typeof randomDeviceWeights>, T: number, names?: string[]): LayerRow[] {
  const rows: LayerRow[] = [];
  const ws = new MoeWorkspace(cuda, m, dtype, T);
  const X = new BackendTensor(cuda, dtype, [T, m.hidden]);
  try {
    cuda.call("sy_moe_fill_random", DTYPE_CODE[dtype], BigInt(X.numel), 99 + T, 1, 0, X.ptr);
    moeRoute(w, ws, X, T);
    const counts = hostCounts(ws);
    const maxCount = Math.max(...counts), empty = counts.filter((c) => c === 0).length;
    for (const [name, opts] of variants(m)) {
      if (names && !names.includes(name)) continue;
      const row: LayerRow = { model: m.name, T, variant: name, max_expert_tokens: maxCount, empty_experts: empty };
      try {
        let impl: number | undefined, kernel: string | undefined;
        row.ms = timeGraph(() => {
          moeRoute(w, ws, X, T);
          ({ groupedImpl: impl, ssmmKernel: kernel } = moeExperts(w, ws, X, T, opts, counts));
        });
        if (kernel) row.kernel = dry ? "cpu reference" : kernel;
        if (impl !== undefined) row.grouped_impl = impl === 1 ? "cublasGemmGroupedBatchedEx" : impl === 2 ? "cublasGemmEx loop" : "cpu";
        cuda.call("sy_synchronize");
      } catch (e) {
        row.error = errText(e);
        try {
          cuda.call("sy_synchronize");
        } catch { /* reported above */ }
      }
      rows.push(row);
    }
    if (!names && T === TOKENS[0]) checks.push(...consistency(m, w, ws, X, T, counts));
  } finally {
    X.free();
    ws.free();
  }
  return rows;
}

// Full-shape consistency on the GPU: variants that share weights must agree (deterministic combine vs atomic
// scatter-add of our layer; HF loop vs dense grouped GEMM vs cublasGemmEx loop). Relative errors are recorded.
const checks: { model: string; T: number; a: string; b: string; relative_error?: number; error?: string }[] = [];
function consistency(m: MoeModelConfig, w: ReturnType<typeof randomDeviceWeights>, ws: MoeWorkspace, X: BackendTensor, T: number,
  counts: Int32Array) {
  const out: typeof checks = [];
  const yOf = (o: MoeForwardOptions) => {
    moeRoute(w, ws, X, T);
    moeExperts(w, ws, X, T, o, counts);
    return (ws.Y.toHost().data as Float32Array).slice(0, T * m.hidden);
  };
  const pairs: [string, MoeForwardOptions, string, MoeForwardOptions][] = [
    ["samoyeds", { method: "samoyeds" }, "samoyeds_scatter_add", { method: "samoyeds", scatterAdd: true }],
    ["samoyeds_gateup", { method: "samoyeds", fuseGateUp: true }, "samoyeds_gateup_scatter_add", { method: "samoyeds", fuseGateUp: true, scatterAdd: true }],
    // (the *_mma_sp variants run other random weights than wgmma.sp: their packed copy is random on its own)
    ["samoyeds_mma_sp", { method: "samoyeds", kernel: "mma_sp" }, "samoyeds_scatter_add_mma_sp", { method: "samoyeds", scatterAdd: true, kernel: "mma_sp" }],
    ["hf_loop", { method: "hfLoop" }, "dense_grouped", { method: "denseGrouped" }],
    ["hf_loop", { method: "hfLoop" }, "dense_gemm_loop", { method: "denseGrouped", groupedImpl: 1 }],
  ];
  for (const [na, oa, nb, ob] of pairs) {
    try {
      out.push({ model: m.name, T, a: na, b: nb, relative_error: relativeError(yOf(oa), yOf(ob)) });
    } catch (e) {
      out.push({ model: m.name, T, a: na, b: nb, error: errText(e) });
    }
  }
  const bad = out.filter((c) => c.error || !(c.relative_error! < 2e-2));
  if (bad.length) log(`${m.name}: CONSISTENCY PROBLEM ${JSON.stringify(bad)}`);
  return out;
}

const sizes = (mm: number, kk: number) => samoyedsSizes(mm, kk, PAPER_PARAMS);

// decoder layer (Figure 15): attention + MoE, nSeq sequences of seqLen tokens, same MoE weights as the layer timings
const decoderRows: { model: string; n_seq: number; seq_len: number; variant: string; ms?: number; error?: string; kernel?: string }[] = [];
/** The grouped SSMM kernel a samoyeds configuration runs on these weights (undefined for the baselines). */
function kernelOf(w: ReturnType<typeof randomDeviceWeights>, o: MoeForwardOptions): string | undefined {
  if (o.method !== "samoyeds" || !w.sparse) return undefined;
  if (dry) return "cpu reference";
  const stacks = o.fuseGateUp ? [w.sparse.gateUp!, w.sparse.down] : [w.sparse.gate, w.sparse.up, w.sparse.down];
  return [...new Set(stacks.map((st) => ssmmGroupedKernel(st, o.kernel ?? "auto")))].join("+");
}
const DECODER_VARIANTS: [string, MoeForwardOptions][] = [
  ["samoyeds", { method: "samoyeds" }], ["samoyeds_gateup", { method: "samoyeds", fuseGateUp: true }],
  ["samoyeds_mma_sp", { method: "samoyeds", kernel: "mma_sp" }],
  ["hf_loop", { method: "hfLoop" }], ["dense_grouped", { method: "denseGrouped" }], ["vnm_loop", { method: "vnmLoop" }],
];
function timeDecoder(m: MoeModelConfig, w: ReturnType<typeof randomDeviceWeights>, nSeq: number, seqLen: number) {
  const T = nSeq * seqLen;
  const aw = randomAttentionWeights(cuda, m, dtype, 5);
  const dws = new DecoderWorkspace(cuda, m, dtype, nSeq, seqLen), mws = new MoeWorkspace(cuda, m, dtype, T);
  const X = new BackendTensor(cuda, dtype, [T, m.hidden]);
  try {
    cuda.call("sy_moe_fill_random", DTYPE_CODE[dtype], BigInt(X.numel), 1234, 1, 0, X.ptr);
    const counts = decoderCounts(aw, dws, w, mws, X);
    for (const [name, opts] of DECODER_VARIANTS) {
      const row: (typeof decoderRows)[number] = { model: m.name, n_seq: nSeq, seq_len: seqLen, variant: name };
      try {
        row.kernel = kernelOf(w, opts);
        row.ms = timeGraph(() => decoderForward(aw, dws, w, mws, X, opts, counts));
      } catch (e) {
        row.error = errText(e);
      }
      decoderRows.push(row);
    }
    // attention alone, for the breakdown
    try {
      const a = m.attention;
      decoderRows.push({ model: m.name, n_seq: nSeq, seq_len: seqLen, variant: "attention_only", ms: timeGraph(() =>
        cuda.call("sy_attention_prefill", DTYPE_CODE[dtype], nSeq, seqLen, a.heads, a.kvHeads, a.headDim, dws.qkv.ptr, dws.scores.ptr, dws.probs.ptr, dws.attn.ptr)) });
    } catch (e) {
      decoderRows.push({ model: m.name, n_seq: nSeq, seq_len: seqLen, variant: "attention_only", error: errText(e) });
    }
  } finally {
    X.free(), mws.free(), dws.free(), aw.free();
  }
}

// ---------- A/B of the persistent grouped launches (--persist-grouped-ab), then exit ----------
if (args.includes("--persist-grouped-ab")) {
  const AB_VARIANTS = ["samoyeds", "samoyeds_gateup", "samoyeds_gateup_scatter_add"];
  const abRows: (LayerRow & { persist_grouped: string; round: number })[] = [];
  const before = Deno.env.get("SAMOYEDS_WGMMA_PERSIST_GROUPED");
  for (const m of models) {
    const w = randomDeviceWeights(cuda, m, dtype, { dense: false, sparse: true }, sizes);
    try {
      for (const T of TOKENS) {
        for (const round of [1, 2]) {
          for (const setting of ["off", "on"]) {
            Deno.env.set("SAMOYEDS_WGMMA_PERSIST_GROUPED", setting);
            for (const r of timeLayer(m, w, T, AB_VARIANTS)) abRows.push({ ...r, persist_grouped: setting, round });
          }
        }
        const ms = (v: string, s: string) => abRows.filter((r) => r.model === m.name && r.T === T && r.variant === v && r.persist_grouped === s).map((r) => r.ms ?? NaN);
        log(`${m.name} T=${T}: ` + AB_VARIANTS.map((v) => `${v} off ${ms(v, "off").map((x) => x.toFixed(3)).join("/")} on ${ms(v, "on").map((x) => x.toFixed(3)).join("/")}`).join("; "));
      }
    } finally {
      w.free();
      if (before === undefined) Deno.env.delete("SAMOYEDS_WGMMA_PERSIST_GROUPED");
      else Deno.env.set("SAMOYEDS_WGMMA_PERSIST_GROUPED", before);
    }
  }
  const bad = abRows.filter((r) => r.error);
  if (dry) {
    console.log(`CPU dry run (persist-grouped A/B): ${abRows.length} rows; ${bad.length} errors`);
    for (const r of bad) console.log(`  ${r.model} ${r.variant}: ${r.error}`);
    Deno.exit(bad.length ? 1 : 0);
  }
  const out = writeResults("model-level-persist-grouped", provenance(cuda), {
    experiment: "persistent grouped wgmma.sp launches in our MoE layer: SAMOYEDS_WGMMA_PERSIST_GROUPED off (one CTA per tile) vs on (one CTA per SM)",
    setup: { dtype, weights: "random", iters: ITERS, tokens: TOKENS, timing: "whole layer in one CUDA graph, median of the replays", rounds: 2 },
    models: models.map((m) => m.name),
  }, { rows: abRows as unknown as Row[] });
  log(`wrote ${out.json}${bad.length ? `; ${bad.length} errors` : ""}`);
  Deno.exit(bad.length ? 1 : 0);
}

// ---------- 1. layer times ----------
for (const m of models) {
  let w;
  try {
    w = randomDeviceWeights(cuda, m, dtype, { dense: true, sparse: true, vnm: true }, sizes);
  } catch (e) {
    layerRows.push({ model: m.name, T: 0, variant: "weights", error: errText(e) });
    continue;
  }
  try {
    for (const T of TOKENS) {
      const rows = timeLayer(m, w, T);
      layerRows.push(...rows);
      const get = (n: string) => rows.find((r) => r.variant === n)?.ms;
      log(`${m.name} T=${T}: samoyeds ${get("samoyeds")?.toFixed(3)} ms, dense grouped ${get("dense_grouped")?.toFixed(3)}, HF loop ${get("hf_loop")?.toFixed(3)}` +
        (rows.find((r) => r.error) ? `; errors: ${[...new Set(rows.filter((r) => r.error).map((r) => r.error))].join(" | ").slice(0, 300)}` : ""));
    }
    try {
      timeDecoder(m, w, dry ? 2 : 4, SEQ);
      log(`${m.name} decoder: ${decoderRows.filter((r) => r.model === m.name).map((r) => `${r.variant} ${r.ms?.toFixed(3) ?? r.error}`).join(", ")}`);
    } catch (e) {
      decoderRows.push({ model: m.name, n_seq: 4, seq_len: 1024, variant: "setup", error: errText(e) });
    }
  } finally {
    w.free();
  }
}

// ---------- 2. memory model + measured max batch ----------
// the wgmma.sp variants that pre-gather the routed tokens (the sm_90 default; CUDA build info): the model counts that copy
const preGathers = !dry && !wgmmaBackendReason(cuda) && build.wgmma_pregather === true;
// our fused gate-up variant (samoyeds_gateup) applies SwiGLU in the SSMM epilogue with either CUDA kernel for the
// layer's format (lib/kernels/ssmm.ts swigluInKernel): no G / U rows
const swiglu = !dry && mmaSpHasSwiglu(PAPER_PARAMS);
const memoryRows: Record<string, unknown>[] = [];
function measuredMaxBatch(bytesFor: (batch: number) => number[], predicted: number): number {
  // largest batch whose allocations (the model's weights, KV cache and peak activations) all succeed on the device;
  // the search starts at the model's prediction (searchMaxBatch)
  const fits = (batch: number) => {
    const held: BackendTensor[] = [];
    try {
      for (const n of bytesFor(batch)) if (n > 0) held.push(new BackendTensor(cuda, "u8", [n]));
      return true;
    } catch (e) {
      if (e instanceof SamoyedsError && e.status === 6) return false;
      throw e;
    } finally {
      for (const t of held) t.free();
    }
  };
  return searchMaxBatch(fits, predicted);
}
// Configurations outermost, in order of use: the headline (seq 1024 with KV cache, the max-batch target) for every
// model first, then seq 1024 without KV cache (the throughput section's OOM marks), then seq 4096. On a 141 GB H200 one
// model's four configurations took ~35 s, and a model-major loop ran out of stage time before the last models.
for (const [seq, kv] of [[1024, true], [1024, false], [4096, true], [4096, false]] as const) {
  for (const m of models) {
    for (const method of MEMORY_METHODS) {
      const mm = memoryModel(m, method, seq, sizes, kv, preGathers, swiglu);
      const predicted = mm.maxBatch(budgetBytes);
      let measured: number | string;
      try {
        // the device's own memory is the budget of the measurement; chunks of at most 4 GiB per allocation.
        // Past 4 minutes the stage keeps to the model (the whole stage should stay near 6 minutes).
        if (dry) throw new Error("not measured (CPU dry run)");
        if ((performance.now() - t0) / 1000 > 240) throw new Error("not measured (stage time limit); see predicted_max_batch");
        measured = measuredMaxBatch((batch) => mm.allocations(batch), predicted);
      } catch (e) {
        measured = errText(e);
      }
      memoryRows.push({ model: m.name, seq, kv_cache: kv, method, weight_bytes: mm.weightBytes, kv_bytes_per_token: mm.kvBytesPerToken,
        activation_bytes_per_token: mm.activationBytesPerToken, predicted_max_batch: predicted, measured_max_batch: measured,
        // smaller memory budgets (the paper's GPUs had 12-24 GB; an 80 GB part dilutes the weight savings)
        predicted_max_batch_by_budget_gb: Object.fromEntries([24, 40, 80].map((gb) => [gb, mm.maxBatch(gb * 2 ** 30)])) });
    }
    log(`${m.name} seq ${seq}${kv ? " + KV cache" : ""}: max batch ${memoryRows.filter((r) => r.model === m.name && r.seq === seq && r.kv_cache === kv).map((r) => `${r.method} ${r.measured_max_batch}`).join(", ")}`);
  }
}

// ---------- 3. throughput vs batch (Figure 16): one MoE layer at T = batch x seq, OOM from the memory model ----------
const thrModels = models.filter((m) => ["Mixtral-8x7B", "Qwen1.5-MoE-A2.7B", "DeepSeek-MoE-16B", "Qwen3-30B-A3B"].includes(m.name));
const seq = SEQ;
for (const m of quick ? thrModels.slice(0, 1) : thrModels) {
  const w = randomDeviceWeights(cuda, m, dtype, { dense: true, sparse: true }, sizes);
  try {
    for (const batch of [1, 2, 4, 8, 16, 32]) {
      const T = batch * seq;
      const oomFor = (method: MemoryMethod) => {
        const r = memoryRows.find((x) => x.model === m.name && x.seq === seq && x.kv_cache === false && x.method === method);
        const mb = typeof r?.measured_max_batch === "number" ? r.measured_max_batch : (r?.predicted_max_batch as number);
        return batch > mb;
      };
      const rows = timeLayer(m, w, T, ["samoyeds", "samoyeds_gateup", "dense_grouped", "hf_loop"]);
      for (const r of rows) {
        const method: MemoryMethod = r.variant.startsWith("samoyeds") ? "samoyeds" : "dense";
        throughputRows.push({ model: m.name, seq, batch, T, variant: r.variant, ms: r.ms, error: r.error,
          tokens_per_s: r.ms ? T / (r.ms * 1e-3) : undefined, oom: oomFor(method) });
      }
      if ((performance.now() - t0) / 1000 > 330) break; // keep the stage near 6 minutes
    }
  } finally {
    w.free();
  }
  log(`${m.name}: throughput vs batch done`);
}

const payload = {
  setup: {
    stage: "moe", started, finished: new Date().toISOString(), device_info: device, build,
    timing: `whole MoE layer captured in one CUDA graph, median of ${ITERS} replays after 3 warm-ups`,
    weights: "random (no downloads); Samoyeds 1:2 x 2:4, V=128 for the sparse experts; dense baselines: random dense bf16",
    dtype, accumulation: "f32", budget_bytes: budgetBytes, memory_model_samoyeds_pregather: preGathers,
    memory_model_samoyeds_swiglu_in_kernel: swiglu,
    // which grouped SSMM kernel each samoyeds variant asked for ("auto": wgmma.sp where it can run); the kernel that
    // ran is in each layer / decoder row's `kernel`
    ssmm_kernel_requested: Object.fromEntries([...variants(models.find((m) => m.shared) ?? models[0]), ...DECODER_VARIANTS.map(([n, o]) => [`decoder:${n}`, o] as const)]
      .filter(([, o]) => o.method === "samoyeds").map(([n, o]) => [n, o.kernel ?? "auto"])),
    wgmma_sp_available: dry ? "no (CPU dry run)" : (wgmmaBackendReason(cuda) ?? "yes"),
    notes: [
      "hf_loop and dense_*: per-expert counts are read on the host before capture (real HF code synchronizes each step).",
      "samoyeds* and ablation_*: grouped SSMM kernel \"auto\" (wgmma.sp, sy_ssmm_wgmma_grouped, on an sm_90 GPU); *_mma_sp: the mma.sp kernel (sy_ssmm_grouped) forced. The wgmma.sp packed weights are random on their own (not a repacking of the mma.sp weights), so the two kernels are compared in time only here; their agreement is checked by the tests (tests/moe_wgmma.test.ts).",
      "ablation_W / _WI: the pre-L layout transposes are emulated with a transpose kernel moving the same bytes.",
      "vnm_loop: weight-only sparse baseline, V:2:8 mma.sp SpMM (75% sparse, random values, fixed valid metadata) per expert on gathered tokens, host-known counts. cuSPARSELt on gathered tokens: not measured here (per-expert plans depend on each expert's token count). ablation_W is weight-only sparsity with our grouped kernel on gathered tokens.",
      "decoder: RMSNorm (no scale) -> QKV GEMM -> causal GQA attention (cuBLAS strided-batched QK^T and PV + a softmax kernel, not fused; no RoPE) -> O GEMM -> residual -> RMSNorm -> MoE (method) -> residual; 4 sequences x 1024 tokens.",
      "memory: whole-model inference (all layers' weights, KV cache of batch x seq tokens, the peak activations of one MoE layer at a time).",
      "throughput: one MoE layer at T = batch x seq; oom marks batches above the method's measured max batch without a KV cache (forward pass).",
    ],
  },
  models: models.map((m) => ({ ...m })),
  layer: layerRows,
  consistency: checks,
  decoder: decoderRows,
  memory: memoryRows,
  throughput: throughputRows,
};
if (dry) {
  const bad = [...layerRows, ...decoderRows].filter((r) => r.error);
  for (const c of checks) if (c.error || !(c.relative_error! < 2e-2)) bad.push({ model: c.model, variant: `${c.a} vs ${c.b}`, error: c.error ?? `relative error ${c.relative_error}` } as (typeof layerRows)[number]);
  console.log(`CPU dry run: ${checks.length} consistency checks, ${layerRows.length} layer rows, ${decoderRows.length} decoder rows, ${memoryRows.length} memory rows, ${throughputRows.length} throughput rows; ${bad.length} errors`);
  for (const r of bad) console.log(`  ${r.model} ${r.variant}: ${r.error}`);
  Deno.exit(bad.length ? 1 : 0);
}
const written = writeResults("model-level", provenance(cuda), payload, { rows: layerRows as unknown as Row[] });
log(`wrote ${written.json} and ${written.csv}`);
