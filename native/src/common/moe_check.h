// Argument checks of the MoE building blocks, shared by the CPU and CUDA backends (same contract, same messages).
#pragma once
#include "check.h"

namespace sy {
inline bool is_row_dtype(int d) { return d == SY_F16 || d == SY_BF16 || d == SY_F32; }

inline sy_status check_moe_topk(int T, int E, int k, int renorm, const void* logits, const void* ids, const void* w) {
  if (T < 0 || E <= 0 || k <= 0 || k > E)
    return fail(SY_ERR_INVALID, "sy_moe_topk: need T >= 0 and 0 < k <= E; got T=%d E=%d k=%d", T, E, k);
  if (k > 32) return fail(SY_ERR_INVALID, "sy_moe_topk: top-k is limited to 32, got k=%d", k);
  if (E > 1024) return fail(SY_ERR_INVALID, "sy_moe_topk: at most 1024 experts, got E=%d", E);
  if (renorm != 0 && renorm != 1) return fail(SY_ERR_INVALID, "sy_moe_topk: renormalize must be 0 or 1, got %d", renorm);
  if (T > 0 && (!logits || !ids || !w)) return fail(SY_ERR_INVALID, "sy_moe_topk: null pointer (logits, topk_ids or topk_weights)");
  return SY_OK;
}

inline sy_status check_moe_indices(int T, int k, int E, const void* ids, const void* offsets, const void* token_of,
                                   const void* weight_of, const void* slot_of) {
  if (T < 0 || k <= 0 || E <= 0 || (long long)T * k > 0x7fffffffLL)
    return fail(SY_ERR_INVALID, "sy_moe_build_indices: need T >= 0, k > 0, E > 0 and T*k < 2^31; got T=%d k=%d E=%d", T, k, E);
  if (!offsets) return fail(SY_ERR_INVALID, "sy_moe_build_indices: offsets is null");
  if (T > 0 && (!ids || !token_of || !weight_of || !slot_of))
    return fail(SY_ERR_INVALID, "sy_moe_build_indices: null pointer (topk_ids, token_of, weight_of or slot_of)");
  return SY_OK;
}

inline sy_status check_rows(const char* fn, int n, int width, int dtype, bool half_only) {
  if (n < 0 || width <= 0) return fail(SY_ERR_INVALID, "%s: need n >= 0 and width > 0; got n=%d width=%d", fn, n, width);
  if (half_only ? !is_half(dtype) : !is_row_dtype(dtype))
    return fail(SY_ERR_INVALID, "%s: dtype must be f16 (0) or bf16 (1)%s, got %d", fn, half_only ? "" : " or f32 (2)", dtype);
  return SY_OK;
}
}  // namespace sy

namespace sy {
// Counter-based hash shared by both backends' sy_moe_fill_random (splitmix-style finalizer).
#if defined(__CUDACC__)
__host__ __device__
#endif
inline uint32_t moe_hash(uint32_t seed, uint64_t i) {
  uint64_t z = (i + 1) * 0x9E3779B97F4A7C15ull ^ ((uint64_t)seed << 32 | seed);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return (uint32_t)((z ^ (z >> 31)) >> 32);
}
inline sy_status check_fill(int dtype, uint64_t count, int modulo, const void* out) {
  if (!(is_row_dtype(dtype) || dtype == SY_U8)) return fail(SY_ERR_INVALID, "sy_moe_fill_random: dtype must be f16, bf16, f32 or u8, got %d", dtype);
  if (dtype == SY_U8 && (modulo <= 0 || modulo > 256)) return fail(SY_ERR_INVALID, "sy_moe_fill_random: u8 needs modulo in 1..256, got %d", modulo);
  if (count && !out) return fail(SY_ERR_INVALID, "sy_moe_fill_random: null output");
  return SY_OK;
}
}  // namespace sy

namespace sy {
inline sy_status check_attention(int dtype, int n_seq, int L, int heads, int kv, int hd, const void* qkv, const void* scores,
                                 const void* probs, const void* out) {
  const char* fn = "sy_attention_prefill";
  if (!is_half(dtype)) return fail(SY_ERR_INVALID, "%s: dtype must be f16 (0) or bf16 (1), got %d", fn, dtype);
  if (n_seq < 0 || L <= 0 || heads <= 0 || kv <= 0 || hd <= 0 || heads % kv)
    return fail(SY_ERR_INVALID, "%s: need n_seq >= 0, seq_len, heads, kv_heads, head_dim > 0 and heads %% kv_heads == 0; got %d %d %d %d %d",
                fn, n_seq, L, heads, kv, hd);
  if (hd % 8) return fail(SY_ERR_INVALID, "%s: head_dim must be a multiple of 8, got %d", fn, hd);
  if (n_seq > 0 && (!qkv || !scores || !probs || !out)) return fail(SY_ERR_INVALID, "%s: null pointer", fn);
  return SY_OK;
}
}  // namespace sy
