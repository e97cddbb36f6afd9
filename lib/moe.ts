// The MoE layer forward on a libsamoyeds backend, and its baselines, on the same inputs and routing.
//  samoyeds     : router GEMM -> top-k -> GPU-built index lists -> grouped SSMM gate (+SiLU) and up over ALL experts
//                 in one launch each, reading only routed token rows -> SiLU*mul -> grouped SSMM down on the compact
//                 rows with the routing weight in the epilogue -> deterministic combine (or atomic scatter-add).
//                 No host loop and no host sync over experts.
//  hfLoop       : Hugging Face style dense loop over experts (gather, 3 cuBLAS GEMMs, SiLU*mul, scaled index-add);
//                 the host knows each expert's count (read once before timing: an advantage over real HF, which syncs).
//  denseGrouped : gathered tokens, dense grouped GEMM (cublasGemmGroupedBatchedEx or a cublasGemmEx loop).
//  vnmLoop      : weight-only sparse baseline: gathered tokens, per-expert V:2:8 mma.sp SpMM (lib/kernels/baselines.ts;
//                 75% sparse like ours), host-known counts.
// Shared experts run dense (cuBLAS) in every method by default; `sparseShared` runs them in the Samoyeds format too
// (the paper's system prunes them as well), as one grouped SSMM with a single group that selects every token.
// Ablation (paper's Figure 17) as switches of `samoyeds`: +W gathers tokens first (weight-only sparsity), +WI selects
// tokens inside the kernel, +WIL drops the layout transposes, +WILS fuses SiLU and the routing weight into epilogues.
import { Backend } from "./native/library.ts";
import { BackendTensor, DTYPE_CODE, HalfDType, HostTensor, randn } from "./tensor.ts";
import { MoeModelConfig } from "./models.ts";
import { decodeSamoyeds, encodeSamoyeds, PAPER_PARAMS, SamoyedsParams, SamoyedsWeight, stackSamoyeds, toSamoyeds } from "./formats/samoyeds.ts";
import { releaseWgmmaStack, SsmmKernel, ssmmGrouped, ssmmGroupedKernel, SsmmGroupedOptions, StackedSamoyedsOnBackend, swigluInKernel } from "./kernels/ssmm.ts";
import { interleaveGateUp, splitGateUp } from "./formats/gate_up.ts";
import { wgmmaPackedSizes, wgmmaSupported } from "./kernels/ssmm_wgmma.ts";
import { decodeVnm, encodeVnm, pruneToVnm, VnmBytes, vnmSizes, VnmV, VnmWeight } from "./kernels/baselines.ts";

/** Experts' V:2:8 weights stacked: expert e's arrays start at e times the per-expert byte sizes. */
export interface VnmStack { m: number; k: number; V: VnmV; bytes: VnmBytes; values: BackendTensor; meta: BackendTensor; colmask: BackendTensor }

export type MoeMethod = "samoyeds" | "hfLoop" | "denseGrouped" | "vnmLoop";
export type AblationStep = "W" | "WI" | "WIL" | "WILS";

export interface MoeForwardOptions {
  method: MoeMethod;
  /** samoyeds only (default "WILS") */
  step?: AblationStep;
  /** samoyeds WILS only: atomic scatter-add in the down projection instead of the deterministic combine */
  scatterAdd?: boolean;
  /** include the shared experts (default true when the model has them) */
  shared?: boolean;
  /** samoyeds: the shared experts in the Samoyeds format too (gate-up fused, then down; needs
   * weights.sparseShared), instead of dense cuBLAS GEMMs (default false) */
  sparseShared?: boolean;
  /** samoyeds: gate and up as ONE grouped SSMM over the stacked gate-up weight (2I x H per expert, rows interleaved
   * as in lib/formats/gate_up.ts), SiLU(gate) * up in its epilogue where the kernel has it (the wgmma.sp kernel, the
   * CPU backend), else in one pass over its output (needs weights.sparse.gateUp and a workspace built with gateUp) */
  fuseGateUp?: boolean;
  /** denseGrouped: 0 auto (cuBLAS grouped when available), 1 cublasGemmEx loop */
  groupedImpl?: 0 | 1;
  /** samoyeds: the kernel of every grouped SSMM (SsmmKernel): "auto" (default: wgmma.sp where the stacks have their
   * packed copies and it can run, i.e. an sm_90 GPU), "mma_sp", or "wgmma_sp" (a TypeError where it cannot run) */
  kernel?: SsmmKernel;
}

/** What moeExperts ran: the cuBLAS grouped implementation (dense baselines), the SSMM kernel(s) (samoyeds). */
export interface MoeExpertsInfo {
  groupedImpl?: number;
  /** samoyeds: "wgmma_sp", "mma_sp" (on the CPU backend: its reference), or both joined by "+" if the stacks differ */
  ssmmKernel?: string;
}

type Ptr = Deno.PointerValue;
const off = (p: Ptr, bytes: number): Ptr => (bytes === 0 ? p : Deno.UnsafePointer.offset(p as Deno.PointerObject, bytes));

/** Weights of one MoE layer on a backend. Dense copies are what the baselines use. */
export interface MoeLayerWeights {
  config: MoeModelConfig;
  dtype: HalfDType;
  backend: Backend;
  router: BackendTensor; // E x hidden
  dense?: { gate: BackendTensor; up: BackendTensor; down: BackendTensor }; // E x I x H, E x I x H, E x H x I
  sparse?: {
    gate: StackedSamoyedsOnBackend; up: StackedSamoyedsOnBackend; down: StackedSamoyedsOnBackend; params: SamoyedsParams;
    /** [gate; up] stacked per expert (2I x H), for fuseGateUp */
    gateUp?: StackedSamoyedsOnBackend;
  };
  vnm?: { gate: VnmStack; up: VnmStack; down: VnmStack };
  shared?: { gate: BackendTensor; up: BackendTensor; down: BackendTensor; gateW?: BackendTensor }; // Is x H, Is x H, H x Is, 1 x H
  /** the shared experts in the Samoyeds format, stacks of one: [gate; up] (2Is x H) and down (H x Is); the sigmoid
   * gate (shared.gateW) stays dense */
  sparseShared?: { gateUp: StackedSamoyedsOnBackend; down: StackedSamoyedsOnBackend };
  /** frees everything, the sparse stacks' packed wgmma copies included */
  free(): void;
}

function freeLayer(layer: MoeLayerWeights, owned: { free(): void }[]) {
  const sp = layer.sparse, ss = layer.sparseShared;
  for (const st of [sp?.gate, sp?.up, sp?.down, sp?.gateUp, ss?.gateUp, ss?.down]) if (st) releaseWgmmaStack(st);
  for (const t of owned) t.free();
}

/** Host-side weights of a (small) layer: dense weights pruned to the Samoyeds pattern, so that every method computes
 * the same function (dense baselines run the pruned weights densely). For tests and the CPU reference. */
export interface MoeHostWeights {
  config: MoeModelConfig;
  dtype: HalfDType;
  router: HostTensor;
  gate: HostTensor[]; // per expert I x H (pruned)
  up: HostTensor[];
  down: HostTensor[]; // H x I (pruned)
  gateEnc: SamoyedsWeight[];
  upEnc: SamoyedsWeight[];
  downEnc: SamoyedsWeight[];
  /** V:2:8 encodings (format "vnm": the dense copies are then V:2:8-pruned and the Samoyeds ones are empty) */
  gateVnm?: VnmWeight[];
  upVnm?: VnmWeight[];
  downVnm?: VnmWeight[];
  shared?: { gate: HostTensor; up: HostTensor; down: HostTensor; gateW?: HostTensor };
  /** the shared experts pruned to the Samoyeds pattern and encoded: [gate; up] (2Is x H) and down (H x Is) */
  sharedEnc?: { gateUp: SamoyedsWeight; down: SamoyedsWeight };
  params: SamoyedsParams;
}

function halfTensor(dtype: HalfDType, shape: number[], seed: number, scale: number): HostTensor {
  return HostTensor.fromF32(randn(shape[0] * shape[1], seed, scale), shape, dtype);
}

export function makeHostWeights(config: MoeModelConfig, dtype: HalfDType, seed = 1, params = PAPER_PARAMS,
  format: "samoyeds" | "vnm" = "samoyeds"): MoeHostWeights {
  const { hidden: H, intermediate: I, experts: E } = config;
  const raw = (rows: number, cols: number, s: number) => halfTensor(dtype, [rows, cols], s, 1 / Math.sqrt(cols));
  const gateEnc: SamoyedsWeight[] = [], upEnc: SamoyedsWeight[] = [], downEnc: SamoyedsWeight[] = [];
  const gateVnm: VnmWeight[] = [], upVnm: VnmWeight[] = [], downVnm: VnmWeight[] = [];
  for (let e = 0; e < E; e++) {
    const mats = [raw(I, H, seed * 1000 + 3 * e + 1), raw(I, H, seed * 1000 + 3 * e + 2), raw(H, I, seed * 1000 + 3 * e + 3)];
    if (format === "samoyeds") {
      [gateEnc, upEnc, downEnc].forEach((list, i) => list.push(toSamoyeds(mats[i], params).weight));
    } else {
      [gateVnm, upVnm, downVnm].forEach((list, i) => list.push(encodeVnm(pruneToVnm(mats[i], 128).pruned, 128)));
    }
  }
  const dec = format === "samoyeds" ? (w: SamoyedsWeight) => decodeSamoyeds(w) : undefined;
  const decV = (w: VnmWeight) => decodeVnm(w);
  let shared: MoeHostWeights["shared"];
  if (config.shared) {
    const Is = config.shared.intermediate;
    shared = {
      gate: halfTensor(dtype, [Is, H], seed * 7 + 101, 1 / Math.sqrt(H)),
      up: halfTensor(dtype, [Is, H], seed * 7 + 102, 1 / Math.sqrt(H)),
      down: halfTensor(dtype, [H, Is], seed * 7 + 103, 1 / Math.sqrt(Is)),
      gateW: config.shared.sigmoidGate ? halfTensor(dtype, [1, H], seed * 7 + 104, 1 / Math.sqrt(H)) : undefined,
    };
  }
  const sharedEnc = shared && format === "samoyeds"
    ? { gateUp: toSamoyeds(interleaveGateUp(shared.gate, shared.up), params).weight, down: toSamoyeds(shared.down, params).weight }
    : undefined;
  return {
    config, dtype, params,
    router: halfTensor(dtype, [E, H], seed * 7 + 100, 1 / Math.sqrt(H)),
    gate: dec ? gateEnc.map(dec) : gateVnm.map(decV), up: dec ? upEnc.map(dec) : upVnm.map(decV),
    down: dec ? downEnc.map(dec) : downVnm.map(decV),
    gateEnc, upEnc, downEnc, shared, sharedEnc,
    ...(format === "vnm" ? { gateVnm, upVnm, downVnm } : {}),
  };
}

function stackVnm(b: Backend, list: VnmWeight[]): VnmStack & { free(): void } {
  const w0 = list[0];
  const cat = (parts: HostTensor<"u8">[]) => BackendTensor.from(b, HostTensor.concat(parts, "u8"));
  const values = cat(list.map((w) => w.values)), meta = cat(list.map((w) => w.meta)), colmask = cat(list.map((w) => w.colmask));
  return { m: w0.m, k: w0.k, V: w0.V, bytes: vnmSizes(w0.m, w0.k, w0.V), values, meta, colmask,
    free: () => (values.free(), meta.free(), colmask.free()) };
}

/** Uploads host weights (both the sparse and the dense copies). The sparse stacks get their wgmma.sp packed copies
 * where that kernel can run (stackSamoyeds "auto"), or always / never with `wgmma` true / false. */
export function uploadWeights(b: Backend, w: MoeHostWeights, opts: { wgmma?: boolean | "auto" } = {}): MoeLayerWeights {
  const owned: { free(): void }[] = [];
  const up = <T extends { free(): void }>(t: T): T => (owned.push(t), t);
  const sh = w.shared;
  const layer: MoeLayerWeights = {
    config: w.config, dtype: w.dtype, backend: b,
    router: up(BackendTensor.from(b, w.router)),
    dense: {
      gate: up(BackendTensor.from(b, HostTensor.concat(w.gate, w.dtype))),
      up: up(BackendTensor.from(b, HostTensor.concat(w.up, w.dtype))),
      down: up(BackendTensor.from(b, HostTensor.concat(w.down, w.dtype))),
    },
    sparse: w.gateEnc.length
      ? {
        gate: up(stackSamoyeds(b, w.gateEnc, opts)), up: up(stackSamoyeds(b, w.upEnc, opts)), down: up(stackSamoyeds(b, w.downEnc, opts)),
        params: w.params,
        gateUp: up(stackSamoyeds(b, w.gate.map((g, e) => encodeSamoyeds(interleaveGateUp(g, w.up[e]), w.params)), opts)),
      }
      : undefined,
    vnm: w.gateVnm && {
      gate: up(stackVnm(b, w.gateVnm)), up: up(stackVnm(b, w.upVnm!)), down: up(stackVnm(b, w.downVnm!)),
    },
    shared: sh && {
      gate: up(BackendTensor.from(b, sh.gate)), up: up(BackendTensor.from(b, sh.up)), down: up(BackendTensor.from(b, sh.down)),
      gateW: sh.gateW && up(BackendTensor.from(b, sh.gateW)),
    },
    sparseShared: w.sharedEnc && {
      gateUp: up(stackSamoyeds(b, [w.sharedEnc.gateUp], opts)), down: up(stackSamoyeds(b, [w.sharedEnc.down], opts)),
    },
    free() {
      freeLayer(layer, owned);
    },
  };
  return layer;
}

function fillRandom(b: Backend, t: BackendTensor, seed: number, scale: number, modulo = 0) {
  b.call("sy_moe_fill_random", DTYPE_CODE[t.dtype], BigInt(t.numel), seed >>> 0, scale, modulo, t.ptr);
}

/** Random weights generated directly on the backend (benchmarks of full-size models: no host generation).
 * Sparse weights get random values and row choices and a fixed valid 2:4 metadata (positions 0,1: the kernel's
 * speed does not depend on it). Dense and sparse copies are independent random weights (timing only).
 * Sparse stacks also get the wgmma.sp packed copy (`what.wgmma`: "auto" (default) where that kernel can run, true
 * always, false never): random packed values (independent of the format's values: the two kernels compute different
 * functions on these weights; timing only), packed metadata bytes 0x44 (positions 0,1), the stack's random indices. */
export function randomDeviceWeights(
  b: Backend, config: MoeModelConfig, dtype: HalfDType, what: { dense: boolean; sparse: boolean; vnm?: boolean; wgmma?: boolean | "auto" },
  sizes?: (m: number, k: number) => { values: number; indices: number; meta: number }, params = PAPER_PARAMS, seed = 7,
): MoeLayerWeights {
  const { hidden: H, intermediate: I, experts: E } = config;
  const owned: { free(): void }[] = [];
  const up = <T extends { free(): void }>(t: T): T => (owned.push(t), t);
  const rnd = (dt: HalfDType | "u8" | "u32", shape: number[], scale: number, modulo = 0) => {
    const t = up(new BackendTensor(b, dt, shape));
    fillRandom(b, t, seed++, scale, modulo);
    return t;
  };
  const stacked = (m: number, k: number, E = config.experts): StackedSamoyedsOnBackend => {
    if (!sizes) throw new Error("randomDeviceWeights: sparse weights need the Samoyeds sizes function");
    const s = sizes(m, k);
    const values = rnd(dtype, [E * s.values / 2], 1 / Math.sqrt(k));
    const indices = rnd("u8", [E * s.indices], 0, params.M);
    const meta = up(new BackendTensor(b, "u32", [E * s.meta / 4]));
    meta.fill(0x44); // every 4-bit group = positions (0, 1): valid ordered 2:4 metadata
    const st: StackedSamoyedsOnBackend = { backend: b, dtype, m, k, nExperts: E, params: { ...params }, values, indices, meta };
    const wantWgmma = what.wgmma ?? "auto";
    if (wantWgmma === true || (wantWgmma === "auto" && wgmmaSupported(st))) {
      const pk = wgmmaPackedSizes(m, k, params); // per expert; throws for params the wgmma path refuses
      const wvalues = rnd(dtype, [E * pk.values / 2], 1 / Math.sqrt(k));
      const wmeta = up(new BackendTensor(b, "u8", [E * pk.meta])).fill(0x44); // same nibble encoding: positions (0, 1)
      st.wgmma = { wvalues, wmeta, bytes: pk, free: () => (wvalues.free(), wmeta.free()) };
    }
    return st;
  };
  const vnmStack = (m: number, k: number): VnmStack => {
    // random fragment values, every metadata nibble = positions (0, 1), every column mask = columns 0..3 kept
    const bytes = vnmSizes(m, k, 128);
    const values = rnd("u8", [E * bytes.values], 0, 64); // small random bytes: finite f16/bf16 values
    const meta = up(new BackendTensor(b, "u8", [E * bytes.meta])).fill(0x44);
    const colmask = up(new BackendTensor(b, "u8", [E * bytes.colmask])).fill(0x0f);
    return { m, k, V: 128, bytes, values, meta, colmask };
  };
  const sh = config.shared;
  const layer: MoeLayerWeights = {
    config, dtype, backend: b,
    router: rnd(dtype, [E, H], 1 / Math.sqrt(H)),
    vnm: what.vnm ? { gate: vnmStack(I, H), up: vnmStack(I, H), down: vnmStack(H, I) } : undefined,
    dense: what.dense ? { gate: rnd(dtype, [E * I, H], 1 / Math.sqrt(H)), up: rnd(dtype, [E * I, H], 1 / Math.sqrt(H)), down: rnd(dtype, [E * H, I], 1 / Math.sqrt(I)) } : undefined,
    sparse: what.sparse ? { gate: stacked(I, H), up: stacked(I, H), down: stacked(H, I), params, gateUp: stacked(2 * I, H) } : undefined,
    shared: sh && {
      gate: rnd(dtype, [sh.intermediate, H], 1 / Math.sqrt(H)), up: rnd(dtype, [sh.intermediate, H], 1 / Math.sqrt(H)),
      down: rnd(dtype, [H, sh.intermediate], 1 / Math.sqrt(sh.intermediate)),
      gateW: sh.sigmoidGate ? rnd(dtype, [1, H], 1 / Math.sqrt(H)) : undefined,
    },
    sparseShared: sh && what.sparse ? { gateUp: stacked(2 * sh.intermediate, H, 1), down: stacked(H, sh.intermediate, 1) } : undefined,
    free() {
      freeLayer(layer, owned);
    },
  };
  return layer;
}

/** Activation buffers of one forward for up to `T` tokens (all methods' buffers; what each method needs at its peak
 * is modelled in lib/moe_memory.ts). `need` leaves out the buffers of unused variants. */
export class MoeWorkspace {
  readonly tensors: BackendTensor[] = [];
  readonly logits; readonly topkIds; readonly topkW; readonly offsets; readonly tokenOf; readonly weightOf; readonly slotOf;
  readonly iota; readonly G; readonly U; readonly C; readonly Y; readonly Xg; readonly scratch; readonly GU;
  readonly sharedG?: BackendTensor; readonly sharedU?: BackendTensor; readonly sharedD?: BackendTensor; readonly sharedLogit?: BackendTensor;
  /** sparse shared experts: the one-group routing (every token to group 0) and the fused [gate; up] output */
  readonly sharedRoute?: { ids: BackendTensor<"i32">; w: BackendTensor<"f32">; offsets: BackendTensor<"i32">; tokenOf: BackendTensor<"i32">;
    weightOf: BackendTensor<"f32">; slotOf: BackendTensor<"i32"> };
  readonly sharedGU?: BackendTensor;
  constructor(readonly backend: Backend, readonly config: MoeModelConfig, readonly dtype: HalfDType, readonly T: number,
    need: { gathered: boolean; transposes: boolean; gateUp?: boolean; sparseShared?: boolean } = { gathered: true, transposes: true, gateUp: true, sparseShared: true }) {
    const { hidden: H, intermediate: I, experts: E, topK: k } = config;
    const S = Math.max(1, T * k), Tn = Math.max(1, T);
    const t = <D extends "f32" | "i32" | HalfDType>(dt: D, shape: number[]) => {
      const x = new BackendTensor(backend, dt, shape);
      this.tensors.push(x);
      return x;
    };
    this.logits = t("f32", [Tn, E]);
    this.topkIds = t("i32", [S]);
    this.topkW = t("f32", [S]);
    this.offsets = t("i32", [E + 1]);
    this.tokenOf = t("i32", [S]);
    this.weightOf = t("f32", [S]);
    this.slotOf = t("i32", [S]);
    this.iota = t("i32", [S]);
    this.G = t(dtype, [S, I]);
    this.U = t(dtype, [S, I]);
    this.C = t(dtype, [S, H]); // per-selection expert outputs in the operand dtype (as HF keeps them), summed in f32
    this.Y = t("f32", [Tn, H]);
    this.Xg = need.gathered ? t(dtype, [S, H]) : undefined;
    this.scratch = need.transposes ? t(dtype, [S, Math.max(H, I)]) : undefined;
    this.GU = need.gateUp ? t(dtype, [S, 2 * I]) : undefined;
    if (config.shared) {
      const Is = config.shared.intermediate;
      this.sharedG = t(dtype, [Tn, Is]);
      this.sharedU = t(dtype, [Tn, Is]);
      this.sharedD = t("f32", [Tn, H]);
      this.sharedLogit = t("f32", [Tn, 1]);
      if (need.sparseShared) {
        // sy_moe_build_indices with one group builds the offsets [0, T] on the device (its other outputs go unused)
        this.sharedRoute = {
          ids: t("i32", [Tn]), w: t("f32", [Tn]), offsets: t("i32", [2]), tokenOf: t("i32", [Tn]), weightOf: t("f32", [Tn]), slotOf: t("i32", [Tn]),
        };
        this.sharedGU = t(dtype, [Tn, 2 * Is]);
        backend.call("sy_memset", this.sharedRoute.ids.ptr, 0, BigInt(4 * Tn)); // every token to the one group
        backend.call("sy_memset", this.sharedRoute.w.ptr, 0, BigInt(4 * Tn));
      }
    }
    if (T > 0) backend.call("sy_moe_iota", S, this.iota.ptr);
  }
  free() {
    for (const x of this.tensors) x.free();
  }
}

/** Router and index lists: identical for every method (the same inputs give the same routing). */
export function moeRoute(w: MoeLayerWeights, ws: MoeWorkspace, X: BackendTensor, T: number): void {
  const b = w.backend, c = w.config, dt = DTYPE_CODE[w.dtype];
  if (T === 0) {
    b.call("sy_memset", ws.offsets.ptr, 0, BigInt(4 * (c.experts + 1)));
    return;
  }
  b.call("sy_gemm", dt, T, c.experts, c.hidden, X.ptr, w.router.ptr, ws.logits.ptr, DTYPE_CODE.f32, 0);
  b.call("sy_moe_topk", T, c.experts, c.topK, c.renormalize ? 1 : 0, ws.logits.ptr, ws.topkIds.ptr, ws.topkW.ptr);
  b.call("sy_moe_build_indices", T, c.topK, c.experts, ws.topkIds.ptr, ws.topkW.ptr, ws.offsets.ptr, ws.tokenOf.ptr, ws.weightOf.ptr, ws.slotOf.ptr);
}

/** Per-expert counts on the host (synchronizes): what the dense baselines are given before timing. */
export function hostCounts(ws: MoeWorkspace): Int32Array {
  const o = ws.offsets.toHost().data as Int32Array;
  const counts = new Int32Array(ws.config.experts);
  for (let e = 0; e < counts.length; e++) counts[e] = o[e + 1] - o[e];
  return counts;
}

/** H = SwiGLU of a fused gate-up grouped SSMM (rows interleaved as in lib/formats/gate_up.ts): in the SSMM's epilogue
 * where the kernel has it, else into the scratch GU (S x 2I) and one pass over it. */
function gateUpSwiglu(b: Backend, st: StackedSamoyedsOnBackend, X: BackendTensor, load: BackendTensor<"i32"> | null,
  offsets: BackendTensor<"i32">, S: number, kernel: SsmmKernel, H: BackendTensor, GU: BackendTensor) {
  if (swigluInKernel(st, kernel)) {
    ssmmGrouped(b, st, X, load, offsets, S, { yDtype: st.dtype, epilogue: "swiglu", out: H, kernel });
  } else {
    ssmmGrouped(b, st, X, load, offsets, S, { yDtype: st.dtype, out: GU, kernel });
    b.call("sy_moe_silu_mul_pair", DTYPE_CODE[st.dtype], S, st.m / 2, GU.ptr, H.ptr);
  }
}

function sharedExperts(w: MoeLayerWeights, ws: MoeWorkspace, X: BackendTensor, T: number, sparse?: { kernel: SsmmKernel; used: Set<string> }) {
  const b = w.backend, c = w.config, dt = DTYPE_CODE[w.dtype], s = w.shared!, Is = c.shared!.intermediate, H = c.hidden;
  if (sparse) {
    const ss = w.sparseShared, r = ws.sharedRoute;
    if (!ss || !r || !ws.sharedGU) throw new Error("moeExperts: sparseShared needs weights.sparseShared and a workspace with the shared experts");
    // one group holding every token (offsets [0, T]), built on the device: capturable; rows load as they are (null)
    b.call("sy_moe_build_indices", T, 1, 1, r.ids.ptr, r.w.ptr, r.offsets.ptr, r.tokenOf.ptr, r.weightOf.ptr, r.slotOf.ptr);
    for (const st of [ss.gateUp, ss.down]) sparse.used.add(ssmmGroupedKernel(st, sparse.kernel));
    gateUpSwiglu(b, ss.gateUp, X, null, r.offsets, T, sparse.kernel, ws.sharedU!, ws.sharedGU);
    ssmmGrouped(b, ss.down, ws.sharedU!, null, r.offsets, T, { yDtype: "f32", out: ws.sharedD, kernel: sparse.kernel });
  } else {
    b.call("sy_gemm", dt, T, Is, H, X.ptr, s.gate.ptr, ws.sharedG!.ptr, dt, 0);
    b.call("sy_gemm", dt, T, Is, H, X.ptr, s.up.ptr, ws.sharedU!.ptr, dt, 0);
    b.call("sy_moe_silu_mul", dt, T, Is, ws.sharedG!.ptr, ws.sharedU!.ptr, ws.sharedU!.ptr, 1);
    b.call("sy_gemm", dt, T, H, Is, ws.sharedU!.ptr, s.down.ptr, ws.sharedD!.ptr, DTYPE_CODE.f32, 0);
  }
  if (s.gateW) b.call("sy_gemm", dt, T, 1, H, X.ptr, s.gateW.ptr, ws.sharedLogit!.ptr, DTYPE_CODE.f32, 0);
  b.call("sy_moe_add_shared", T, H, ws.sharedD!.ptr, DTYPE_CODE.f32, s.gateW ? ws.sharedLogit!.ptr : null, ws.Y.ptr);
}

/**
 * Expert part of the layer after moeRoute: writes ws.Y (T x hidden f32). `counts` (host) is required by the dense
 * baselines and ignored by samoyeds. Everything is enqueued without host syncs (capturable).
 */
export function moeExperts(w: MoeLayerWeights, ws: MoeWorkspace, X: BackendTensor, T: number, opts: MoeForwardOptions,
  counts?: Int32Array): MoeExpertsInfo {
  const b = w.backend, c = w.config, dt = DTYPE_CODE[w.dtype];
  const { hidden: H, intermediate: I, experts: E, topK: k } = c;
  const S = T * k;
  const info: MoeExpertsInfo = {};
  if (T === 0) return info;
  if (X.shape[0] < T || X.shape[1] !== H || X.dtype !== w.dtype) throw new TypeError(`moeExperts: X must be >= ${T} x ${H} ${w.dtype}, got [${X.shape}] ${X.dtype}`);
  if (T > ws.T) throw new RangeError(`moeExperts: workspace was sized for ${ws.T} tokens, got T = ${T}`);
  if (opts.sparseShared && opts.method !== "samoyeds") throw new TypeError(`moeExperts: sparseShared is an option of method samoyeds, not ${opts.method}`);
  // every grouped SSMM of the layer (samoyeds) with the requested kernel; which one ran is reported in info.ssmmKernel
  const kernels = new Set<string>();
  if (opts.method === "samoyeds") {
    const sp = w.sparse;
    if (!sp) throw new Error("moeExperts: method samoyeds needs sparse weights");
    const step = opts.step ?? "WILS";
    const grouped = (st: StackedSamoyedsOnBackend, x: BackendTensor, idx: BackendTensor<"i32"> | null, o: SsmmGroupedOptions) => {
      kernels.add(ssmmGroupedKernel(st, opts.kernel ?? "auto"));
      ssmmGrouped(b, st, x, idx, ws.offsets, S, { ...o, kernel: opts.kernel ?? "auto" });
    };
    const inKernel = step !== "W", noTranspose = step === "WIL" || step === "WILS", fuse = step === "WILS";
    // tensors may be larger than this call's T (workspace sized for a maximum): rows beyond are never indexed
    let src = X, load = ws.tokenOf;
    if (!inKernel) {
      b.call("sy_moe_gather_rows", dt, S, H, X.ptr, T, ws.tokenOf.ptr, ws.Xg!.ptr);
      src = ws.Xg!;
      load = ws.iota;
    }
    const transposeCost = (t: BackendTensor, dtype: number, cols: number) => {
      // pre-L pipeline: the kernel's feature-major output is transposed to token-major (emulated: same bytes moved)
      if (!noTranspose) b.call("sy_moe_transpose", dtype, S, cols, t.ptr, ws.scratch!.ptr);
    };
    if (opts.fuseGateUp) {
      if (!sp.gateUp || !ws.GU) throw new Error("moeExperts: fuseGateUp needs sparse.gateUp weights and a workspace with gateUp");
      if (!noTranspose) throw new Error("moeExperts: fuseGateUp is a variant of the +WIL / +WILS steps");
      kernels.add(ssmmGroupedKernel(sp.gateUp, opts.kernel ?? "auto"));
      gateUpSwiglu(b, sp.gateUp, src, load, ws.offsets, S, opts.kernel ?? "auto", ws.U, ws.GU);
    } else {
      grouped(sp.gate, src, load, { yDtype: w.dtype, epilogue: fuse ? "silu" : "none", out: ws.G });
      transposeCost(ws.G, dt, I);
      grouped(sp.up, src, load, { yDtype: w.dtype, out: ws.U });
      transposeCost(ws.U, dt, I);
      b.call("sy_moe_silu_mul", dt, S, I, ws.G.ptr, ws.U.ptr, ws.U.ptr, fuse ? 0 : 1);
    }
    if (fuse && opts.scatterAdd) {
      b.call("sy_memset", ws.Y.ptr, 0, BigInt(4 * T * H));
      grouped(sp.down, ws.U, null, { mode: "scatterAdd", storeIdx: ws.tokenOf, out: ws.Y, epilogue: "rowScale", rowScale: ws.weightOf });
    } else {
      grouped(sp.down, ws.U, null, { yDtype: w.dtype, out: ws.C, epilogue: fuse ? "rowScale" : "none", rowScale: fuse ? ws.weightOf : undefined });
      transposeCost(ws.C, dt, H);
      b.call("sy_moe_combine", T, k, H, ws.C.ptr, dt, ws.slotOf.ptr, fuse ? null : ws.topkW.ptr, ws.Y.ptr, 0);
    }
  } else {
    const d = w.dense!;
    if (!d && opts.method !== "vnmLoop") throw new Error(`moeExperts: method ${opts.method} needs dense weights`);
    if (!counts || counts.length !== E) throw new Error(`moeExperts: method ${opts.method} needs the host counts (hostCounts)`);
    if (opts.method === "vnmLoop") {
      const v = w.vnm;
      if (!v) throw new Error("moeExperts: method vnmLoop needs V:2:8 weights");
      b.call("sy_moe_gather_rows", dt, S, H, X.ptr, T, ws.tokenOf.ptr, ws.Xg!.ptr);
      const spmm = (st: VnmStack, e: number, x: Ptr, n: number, y: Ptr) =>
        b.call("sy_vnm_spmm", dt, st.m, st.k, st.V, off(st.values.ptr, e * st.bytes.values), off(st.meta.ptr, e * st.bytes.meta),
          off(st.colmask.ptr, e * st.bytes.colmask), x, n, y, dt);
      let o = 0;
      for (let e = 0; e < E; e++) {
        const n = counts[e];
        if (n > 0) {
          spmm(v.gate, e, off(ws.Xg!.ptr, o * H * 2), n, off(ws.G.ptr, o * I * 2));
          spmm(v.up, e, off(ws.Xg!.ptr, o * H * 2), n, off(ws.U.ptr, o * I * 2));
        }
        o += n;
      }
      b.call("sy_moe_silu_mul", dt, S, I, ws.G.ptr, ws.U.ptr, ws.U.ptr, 1);
      o = 0;
      for (let e = 0; e < E; e++) {
        const n = counts[e];
        if (n > 0) spmm(v.down, e, off(ws.U.ptr, o * I * 2), n, off(ws.C.ptr, o * H * 2));
        o += n;
      }
      b.call("sy_moe_combine", T, k, H, ws.C.ptr, dt, ws.slotOf.ptr, ws.topkW.ptr, ws.Y.ptr, 0);
    } else if (opts.method === "denseGrouped") {
      b.call("sy_moe_gather_rows", dt, S, H, X.ptr, T, ws.tokenOf.ptr, ws.Xg!.ptr);
      const used = new Int32Array(1);
      const impl = opts.groupedImpl ?? 0;
      b.call("sy_moe_dense_grouped_gemm", dt, E, I, H, d.gate.ptr, ws.Xg!.ptr, counts, ws.G.ptr, dt, impl, used);
      b.call("sy_moe_dense_grouped_gemm", dt, E, I, H, d.up.ptr, ws.Xg!.ptr, counts, ws.U.ptr, dt, impl, used);
      b.call("sy_moe_silu_mul", dt, S, I, ws.G.ptr, ws.U.ptr, ws.U.ptr, 1);
      b.call("sy_moe_dense_grouped_gemm", dt, E, H, I, d.down.ptr, ws.U.ptr, counts, ws.C.ptr, dt, impl, used);
      b.call("sy_moe_combine", T, k, H, ws.C.ptr, dt, ws.slotOf.ptr, ws.topkW.ptr, ws.Y.ptr, 0);
      info.groupedImpl = used[0];
    } else {
      // Hugging Face loop: per expert gather its tokens, gate/up GEMMs, SiLU*mul, down GEMM, scaled index_add
      b.call("sy_memset", ws.Y.ptr, 0, BigInt(4 * T * H));
      let o = 0;
      for (let e = 0; e < E; e++) {
        const n = counts[e];
        if (n === 0) continue;
        const xg = off(ws.Xg!.ptr, o * H * 2), g = off(ws.G.ptr, o * I * 2), u = off(ws.U.ptr, o * I * 2), cc = off(ws.C.ptr, o * H * 2);
        b.call("sy_moe_gather_rows", dt, n, H, X.ptr, T, off(ws.tokenOf.ptr, o * 4), xg);
        b.call("sy_gemm", dt, n, I, H, xg, off(d.gate.ptr, e * I * H * 2), g, dt, 0);
        b.call("sy_gemm", dt, n, I, H, xg, off(d.up.ptr, e * I * H * 2), u, dt, 0);
        b.call("sy_moe_silu_mul", dt, n, I, g, u, u, 1);
        b.call("sy_gemm", dt, n, H, I, u, off(d.down.ptr, e * H * I * 2), cc, dt, 0);
        b.call("sy_moe_scatter_add", n, H, cc, dt, off(ws.tokenOf.ptr, o * 4), off(ws.weightOf.ptr, o * 4), ws.Y.ptr, T);
        o += n;
      }
    }
  }
  if (w.shared && (opts.shared ?? true)) sharedExperts(w, ws, X, T, opts.sparseShared ? { kernel: opts.kernel ?? "auto", used: kernels } : undefined);
  if (opts.method === "samoyeds") info.ssmmKernel = [...kernels].join("+");
  return info;
}

/** Whole layer: route, then experts (dense methods read the counts on the host between the two: one sync). */
export function moeForward(w: MoeLayerWeights, ws: MoeWorkspace, X: BackendTensor, T: number, opts: MoeForwardOptions): HostTensor<"f32"> {
  moeRoute(w, ws, X, T);
  const counts = opts.method === "samoyeds" ? undefined : hostCounts(ws);
  moeExperts(w, ws, X, T, opts, counts);
  const y = ws.Y.toHost();
  return new HostTensor("f32", [T, w.config.hidden], (y.data as Float32Array).slice(0, T * w.config.hidden));
}

/**
 * Straightforward TypeScript reference of the layer on host weights (f32 math over the 16-bit values; the 16-bit
 * roundings of the native pipeline are mirrored where it stores 16-bit intermediates: gate/up outputs and H).
 */
export function moeReferenceTs(hw: MoeHostWeights, X: HostTensor, T: number, withShared = true, sparseShared = false): Float32Array {
  const c = hw.config, { hidden: H, intermediate: I, experts: E, topK: k } = c;
  const round = (v: Float32Array) => HostTensor.fromF32(v, [v.length], hw.dtype).toF32();
  const x = X.toF32();
  const router = hw.router.toF32();
  const y = new Float32Array(T * H);
  const mv = (W: Float32Array, rows: number, cols: number, v: Float32Array, vo: number) => {
    const out = new Float32Array(rows);
    for (let r = 0; r < rows; r++) {
      let a = 0;
      for (let i = 0; i < cols; i++) a += W[r * cols + i] * v[vo + i];
      out[r] = a;
    }
    return out;
  };
  const silu = (a: number) => a / (1 + Math.exp(-a));
  const g32 = hw.gate.map((t) => t.toF32()), u32 = hw.up.map((t) => t.toF32()), d32 = hw.down.map((t) => t.toF32());
  // the shared experts as the method sees them: dense, or pruned to the Samoyeds pattern (sparseShared)
  let sharedF32: { gate: Float32Array; up: Float32Array; down: Float32Array } | undefined;
  if (hw.shared) {
    if (sparseShared) {
      if (!hw.sharedEnc) throw new Error("moeReferenceTs: sparseShared needs host weights with sharedEnc");
      const { gate, up } = splitGateUp(decodeSamoyeds(hw.sharedEnc.gateUp).toF32(), c.shared!.intermediate, H);
      sharedF32 = { gate, up, down: decodeSamoyeds(hw.sharedEnc.down).toF32() };
    } else {
      sharedF32 = { gate: hw.shared.gate.toF32(), up: hw.shared.up.toF32(), down: hw.shared.down.toF32() };
    }
  }
  for (let t = 0; t < T; t++) {
    const logits = mv(router, E, H, x, t * H);
    const mx = Math.max(...logits);
    let sum = 0;
    for (const l of logits) sum += Math.exp(l - mx);
    const order = [...logits.keys()].sort((a, b) => logits[b] - logits[a] || a - b).slice(0, k);
    let wsum = 0;
    const ws = order.map((e) => {
      const p = Math.exp(logits[e] - mx) / sum;
      wsum += p;
      return p;
    });
    order.forEach((e, i) => {
      const wgt = c.renormalize ? ws[i] / wsum : ws[i];
      const g = round(mv(g32[e], I, H, x, t * H)), u = round(mv(u32[e], I, H, x, t * H));
      const h = round(g.map((a, j) => silu(a) * u[j]));
      const dn = mv(d32[e], H, I, h, 0);
      for (let j = 0; j < H; j++) y[t * H + j] += wgt * dn[j];
    });
    if (withShared && hw.shared) {
      const s = sharedF32!, Is = c.shared!.intermediate;
      const g = round(mv(s.gate, Is, H, x, t * H)), u = round(mv(s.up, Is, H, x, t * H));
      const h = round(g.map((a, j) => silu(a) * u[j]));
      const dn = mv(s.down, H, Is, h, 0);
      const gw = hw.shared.gateW;
      const gl = gw ? 1 / (1 + Math.exp(-mv(gw.toF32(), 1, H, x, t * H)[0])) : 1;
      for (let j = 0; j < H; j++) y[t * H + j] += gl * dn[j];
    }
  }
  return y;
}
