// Memory model of whole-model MoE inference per method (Figure 16's max batch): weights of all layers in each
// method's format, KV cache, and the peak activations of one layer at a time (the MoE workspace of lib/moe.ts).
// Assumptions (stated in the figure): untied embeddings and LM head in bf16; attention dense bf16 in every method;
// attention activations without a seq x seq score matrix (flash-style); layers are processed one at a time.
import { MoeModelConfig } from "./models.ts";

export type MemoryMethod = "dense" | "samoyeds" | "weight_only_sparse";
export const MEMORY_METHODS: MemoryMethod[] = ["dense", "samoyeds", "weight_only_sparse"];
export type SizesFn = (m: number, k: number) => { total: number };

export interface MemoryModel {
  weightBytes: number;
  kvBytesPerToken: number;
  activationBytesPerToken: number;
  /** largest batch of `seq`-token sequences within `budget` bytes (0 if even the weights do not fit) */
  maxBatch(budget: number): number;
  /** the allocations (bytes, each at most 4 GiB) of a batch: weights, KV cache, activations */
  allocations(batch: number): number[];
}

const CHUNK = 4 * 2 ** 30;
function chunks(bytes: number): number[] {
  const out: number[] = [];
  for (let left = bytes; left > 0; left -= CHUNK) out.push(Math.min(CHUNK, left));
  return out;
}

/** includeKv false: a forward pass without a KV cache (prefill throughput runs, as the paper's Figure 16 batches).
 * kernelPreGathers: our SSMM copies the routed token rows into a scratch buffer before the kernel (the wgmma.sp
 * gathered-tma variants, the default on sm_90): while gate and up run, samoyeds then also holds that copy (k x H per
 * token). The down projection reads its compact rows in place (load_idx null), without a copy.
 * swigluInKernel: samoyeds runs its fused gate-up projection with the SwiGLU epilogue (the CUDA kernels for 1:2 and the
 * CPU backend; MoeForwardOptions.fuseGateUp), which writes H (k x I per token) and no gate or up rows. */
export function memoryModel(m: MoeModelConfig, method: MemoryMethod, seq: number, sizes: SizesFn, includeKv = true,
  kernelPreGathers = false, swigluInKernel = false): MemoryModel {
  const { hidden: H, intermediate: I, experts: E, topK: k } = m;
  const a = m.attention, B2 = 2;
  const moeLayers = Math.floor(m.layers / m.moeEvery), denseLayers = m.layers - moeLayers;
  const expertMatrix = (rows: number, cols: number) => (method === "dense" ? rows * cols * B2 : sizes(rows, cols).total);
  const attention = (H * a.heads * a.headDim + 2 * H * a.kvHeads * a.headDim + a.heads * a.headDim * H) * B2;
  const sharedW = m.shared ? (3 * m.shared.intermediate * H + (m.shared.sigmoidGate ? H : 0)) * B2 : 0;
  const moeLayer = E * H * B2 + E * (2 * expertMatrix(I, H) + expertMatrix(H, I)) + sharedW;
  const denseMlp = 3 * (m.denseIntermediate ?? I) * H * B2;
  const weightBytes = 2 * m.vocab * H * B2 + m.layers * attention + moeLayers * moeLayer + denseLayers * denseMlp;
  const kvBytesPerToken = includeKv ? m.layers * 2 * a.kvHeads * a.headDim * B2 : 0;
  // one MoE layer's workspace per token (MoeWorkspace): X, logits, routing arrays, G and U (or H alone with the
  // SwiGLU epilogue), compact expert rows, f32 Y
  const gateUpRows = method === "samoyeds" && swigluInKernel ? 1 : 2;
  let act = H * B2 + E * 4 + k * 6 * 4 + k * I * B2 * gateUpRows + k * H * B2 + H * 4;
  if (method !== "samoyeds") act += k * H * B2; // gathered copy of the routed tokens
  else if (kernelPreGathers) act += k * H * B2; // the SSMM's scratch copy of the routed tokens (gate and up)
  if (m.shared) act += m.shared.intermediate * B2 * 2 + H * 4 + 4;
  // attention block of the same layer (residual, q/k/v, output) is smaller than the MoE peak; count the larger
  const attnAct = H * B2 * 2 + (a.heads + 2 * a.kvHeads) * a.headDim * B2 + a.heads * a.headDim * B2;
  const activationBytesPerToken = Math.max(act, attnAct);
  const perSeq = seq * (kvBytesPerToken + activationBytesPerToken);
  return {
    weightBytes, kvBytesPerToken, activationBytesPerToken,
    maxBatch: (budget) => Math.max(0, Math.floor((budget - weightBytes) / perSeq)),
    allocations: (batch) => [...chunks(weightBytes), ...chunks(batch * seq * kvBytesPerToken), ...chunks(batch * seq * activationBytesPerToken)],
  };
}

/** The largest batch whose allocations fit, found with few probes of `fits` (monotone: true up to the answer, false
 * past it; each probe allocates the whole model on the device, about a second on an H200): from the memory model's
 * prediction it gallops up (p+1, p+3, p+7, ...) while the batch fits, or down (p-1, p-2, p-4, ...) until it fits, then
 * bisects. The prediction is usually within a few sequences, so a search takes 3-6 probes. 0 if not even batch 0 (the
 * weights alone) fits. */
export function searchMaxBatch(fits: (batch: number) => boolean, predicted: number): number {
  const p = Math.max(0, Math.floor(predicted));
  let lo: number, hi: number; // fits(lo), !fits(hi)
  if (fits(p)) {
    lo = p;
    let step = 1;
    while (step < 2 ** 20 && fits(lo + step)) lo += step, step *= 2;
    if (step >= 2 ** 20) return lo;
    hi = lo + step;
  } else {
    if (p === 0) return 0;
    hi = p;
    for (let step = 1; ; step *= 2) {
      const c = Math.max(0, p - step);
      if (fits(c)) {
        lo = c;
        break;
      }
      hi = c;
      if (c === 0) return 0;
    }
  }
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}
