// One decoder layer (Figure 15): RMSNorm -> QKV GEMM -> causal attention -> O GEMM -> residual -> RMSNorm -> MoE layer
// (any method of lib/moe.ts) -> residual. Attention is plain (not fused): cuBLAS strided-batched QK^T and PV with a
// causal softmax kernel in between (sy_attention_prefill); no RoPE; RMSNorm without a learned scale (gamma = 1).
import { Backend } from "./native/library.ts";
import { BackendTensor, DTYPE_CODE, HalfDType, HostTensor, randn } from "./tensor.ts";
import { MoeModelConfig } from "./models.ts";
import { hostCounts, MoeForwardOptions, moeExperts, MoeLayerWeights, moeRoute, MoeWorkspace } from "./moe.ts";

export interface AttentionWeights {
  qkv: BackendTensor; // ((heads + 2 kv) * hd) x hidden
  o: BackendTensor; // hidden x (heads * hd)
  free(): void;
}

export function attentionWidths(c: MoeModelConfig) {
  const a = c.attention;
  return { qkv: (a.heads + 2 * a.kvHeads) * a.headDim, o: a.heads * a.headDim };
}

export function randomAttentionWeights(b: Backend, c: MoeModelConfig, dtype: HalfDType, seed = 3, onDevice = true): AttentionWeights {
  const w = attentionWidths(c);
  const make = (rows: number, cols: number, s: number) => {
    if (onDevice) {
      const t = new BackendTensor(b, dtype, [rows, cols]);
      b.call("sy_moe_fill_random", DTYPE_CODE[dtype], BigInt(t.numel), s, Math.sqrt(3 / cols), 0, t.ptr);
      return t;
    }
    return BackendTensor.from(b, HostTensor.fromF32(randn(rows * cols, s, 1 / Math.sqrt(cols)), [rows, cols], dtype));
  };
  const qkv = make(w.qkv, c.hidden, seed), o = make(c.hidden, w.o, seed + 1);
  return { qkv, o, free: () => (qkv.free(), o.free()) };
}

export class DecoderWorkspace {
  readonly tensors: BackendTensor[] = [];
  readonly h; readonly qkv; readonly scores; readonly probs; readonly attn; readonly attnOut; readonly x1; readonly h2; readonly out;
  constructor(readonly backend: Backend, readonly config: MoeModelConfig, readonly dtype: HalfDType, readonly nSeq: number, readonly seqLen: number) {
    const T = nSeq * seqLen, H = config.hidden, w = attentionWidths(config), heads = config.attention.heads;
    const t = <D extends "f32" | HalfDType>(dt: D, shape: number[]) => {
      const x = new BackendTensor(backend, dt, shape);
      this.tensors.push(x);
      return x;
    };
    this.h = t(dtype, [T, H]);
    this.qkv = t(dtype, [T, w.qkv]);
    this.scores = t("f32", [heads * seqLen, seqLen]);
    this.probs = t(dtype, [heads * seqLen, seqLen]);
    this.attn = t(dtype, [T, w.o]);
    this.attnOut = t("f32", [T, H]);
    this.x1 = t(dtype, [T, H]);
    this.h2 = t(dtype, [T, H]);
    this.out = t(dtype, [T, H]);
  }
  free() {
    for (const x of this.tensors) x.free();
  }
}

/** Attention half of the layer; leaves the MoE input in dws.h2 and the residual in dws.x1. */
export function decoderAttention(aw: AttentionWeights, dws: DecoderWorkspace, X: BackendTensor): void {
  const b = dws.backend, c = dws.config, dt = DTYPE_CODE[dws.dtype], H = c.hidden, a = c.attention, w = attentionWidths(c);
  const T = dws.nSeq * dws.seqLen;
  b.call("sy_moe_rmsnorm", dt, T, H, X.ptr, null, 1e-6, dws.h.ptr);
  b.call("sy_gemm", dt, T, w.qkv, H, dws.h.ptr, aw.qkv.ptr, dws.qkv.ptr, dt, 0);
  b.call("sy_attention_prefill", dt, dws.nSeq, dws.seqLen, a.heads, a.kvHeads, a.headDim, dws.qkv.ptr, dws.scores.ptr, dws.probs.ptr, dws.attn.ptr);
  b.call("sy_gemm", dt, T, H, w.o, dws.attn.ptr, aw.o.ptr, dws.attnOut.ptr, DTYPE_CODE.f32, 0);
  b.call("sy_moe_residual_add", dt, T, H, X.ptr, dws.attnOut.ptr, dws.x1.ptr);
  b.call("sy_moe_rmsnorm", dt, T, H, dws.x1.ptr, null, 1e-6, dws.h2.ptr);
}

/** Host counts of the MoE part (runs the attention half and the router once; synchronizes). */
export function decoderCounts(aw: AttentionWeights, dws: DecoderWorkspace, mw: MoeLayerWeights, mws: MoeWorkspace, X: BackendTensor): Int32Array {
  decoderAttention(aw, dws, X);
  moeRoute(mw, mws, dws.h2, dws.nSeq * dws.seqLen);
  return hostCounts(mws);
}

/** The whole layer, enqueued without host syncs (dense MoE methods need `counts` from decoderCounts). Output: dws.out. */
export function decoderForward(aw: AttentionWeights, dws: DecoderWorkspace, mw: MoeLayerWeights, mws: MoeWorkspace, X: BackendTensor,
  opts: MoeForwardOptions, counts?: Int32Array): void {
  const T = dws.nSeq * dws.seqLen;
  decoderAttention(aw, dws, X);
  moeRoute(mw, mws, dws.h2, T);
  moeExperts(mw, mws, dws.h2, T, opts, counts);
  dws.backend.call("sy_moe_residual_add", DTYPE_CODE[dws.dtype], T, dws.config.hidden, dws.x1.ptr, mws.Y.ptr, dws.out.ptr);
}
