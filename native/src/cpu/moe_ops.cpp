// CPU reference of the MoE building blocks (router top-k, index lists, SiLU*mul, gather, combine, scatter-add,
// shared-expert add, transpose, dense grouped GEMM). Straightforward loops: this is the ground truth for CUDA.
#include <cmath>
#include <cstring>
#include <vector>
#include "half.h"
#include "moe_check.h"
#include "swiglu_layout.h"

namespace {
inline float load_row_elem(const void* p, int dt, size_t i) {
  if (dt == SY_F32) return ((const float*)p)[i];
  return sy::half_to_f32(((const uint16_t*)p)[i], dt);
}
inline float silu(float x) { return x / (1.f + std::exp(-x)); }
}  // namespace

SY_API sy_status sy_moe_topk(int32_t T, int32_t E, int32_t k, int32_t renorm, const float* logits, int32_t* ids,
                             float* weights) {
  sy_status st = sy::check_moe_topk(T, E, k, renorm, logits, ids, weights);
  if (st) return st;
  for (int t = 0; t < T; t++) {
    const float* l = logits + (size_t)t * E;
    float mx = -INFINITY;
    for (int e = 0; e < E; e++) mx = std::fmax(mx, l[e]);
    double sum = 0;
    for (int e = 0; e < E; e++) sum += std::exp((double)l[e] - mx);
    // selection on the logits (softmax is monotonic): exact, so both backends pick the same experts
    std::vector<char> taken(E, 0);
    float wsum = 0;
    for (int i = 0; i < k; i++) {
      int best = -1;
      for (int e = 0; e < E; e++)
        if (!taken[e] && (best < 0 || l[e] > l[best] || (std::isnan(l[best]) && !std::isnan(l[e])))) best = e;
      taken[best] = 1;
      ids[(size_t)t * k + i] = best;
      float p = (float)(std::exp((double)l[best] - mx) / sum);
      weights[(size_t)t * k + i] = p;
      wsum += p;
    }
    if (renorm)
      for (int i = 0; i < k; i++) weights[(size_t)t * k + i] /= wsum;
  }
  return SY_OK;
}

SY_API sy_status sy_moe_build_indices(int32_t T, int32_t k, int32_t E, const int32_t* ids, const float* w,
                                      int32_t* offsets, int32_t* token_of, float* weight_of, int32_t* slot_of) {
  sy_status st = sy::check_moe_indices(T, k, E, ids, offsets, token_of, weight_of, slot_of);
  if (st) return st;
  const int S = T * k;
  std::vector<int> count(E, 0);
  for (int f = 0; f < S; f++) {
    if (ids[f] < 0 || ids[f] >= E)
      return sy::fail(SY_ERR_INVALID, "sy_moe_build_indices: topk_ids[%d] = %d is not an expert id in [0, %d)", f, ids[f], E);
    count[ids[f]]++;
  }
  offsets[0] = 0;
  for (int e = 0; e < E; e++) offsets[e + 1] = offsets[e] + count[e];
  std::vector<int> next(offsets, offsets + E);
  for (int f = 0; f < S; f++) {  // stable: ascending flat index inside each expert
    int j = next[ids[f]]++;
    token_of[j] = f / k;
    weight_of[j] = w ? w[f] : 1.f;
    slot_of[f] = j;
  }
  return SY_OK;
}

SY_API sy_status sy_moe_iota(int32_t n, int32_t* out) {
  SY_CHECK(n >= 0 && (n == 0 || out), "sy_moe_iota", "need n >= 0 and an output; got n=%d", n);
  for (int i = 0; i < n; i++) out[i] = i;
  return SY_OK;
}

SY_API sy_status sy_moe_silu_mul(int32_t dt, int32_t n, int32_t width, const void* G, const void* U, void* H,
                                 int32_t apply_silu) {
  sy_status st = sy::check_rows("sy_moe_silu_mul", n, width, dt, true);
  if (st) return st;
  SY_CHECK(n == 0 || (G && U && H), "sy_moe_silu_mul", "null pointer");
  const uint16_t *g = (const uint16_t*)G, *u = (const uint16_t*)U;
  uint16_t* h = (uint16_t*)H;
  for (size_t i = 0, e = (size_t)n * width; i < e; i++) {
    float a = sy::half_to_f32(g[i], dt);
    if (apply_silu) a = silu(a);
    h[i] = sy::f32_to_half(a * sy::half_to_f32(u[i], dt), dt);
  }
  return SY_OK;
}

SY_API sy_status sy_moe_silu_mul_pair(int32_t dt, int32_t n, int32_t width, const void* GU, void* H) {
  sy_status st = sy::check_rows("sy_moe_silu_mul_pair", n, width, dt, true);
  if (st) return st;
  SY_CHECK(n == 0 || (GU && H && GU != H), "sy_moe_silu_mul_pair", "null or aliased pointer");
  SY_CHECK(width % sy::kSwigluBlock == 0, "sy_moe_silu_mul_pair", "width must be a multiple of %d (gate and up rows interleave in blocks of %d), got %d",
           sy::kSwigluBlock, sy::kSwigluBlock, width);
  const uint16_t* gu = (const uint16_t*)GU;
  for (int j = 0; j < n; j++)
    for (int c = 0; c < width; c++) {
      const size_t at = (size_t)j * 2 * width + sy::swiglu_gate_row(c);
      float g = silu(sy::half_to_f32(gu[at], dt));
      float u = sy::half_to_f32(gu[at + sy::kSwigluBlock], dt);
      ((uint16_t*)H)[(size_t)j * width + c] = sy::f32_to_half(g * u, dt);
    }
  return SY_OK;
}

SY_API sy_status sy_moe_gather_rows(int32_t dt, int32_t n, int32_t width, const void* X, int32_t x_rows,
                                    const int32_t* idx, void* Xg) {
  sy_status st = sy::check_rows("sy_moe_gather_rows", n, width, dt, true);
  if (st) return st;
  SY_CHECK(n == 0 || (X && idx && Xg), "sy_moe_gather_rows", "null pointer");
  for (int j = 0; j < n; j++) {
    SY_CHECK(idx[j] >= 0 && idx[j] < x_rows, "sy_moe_gather_rows", "idx[%d] = %d is outside [0, %d)", j, idx[j], x_rows);
    memcpy((uint16_t*)Xg + (size_t)j * width, (const uint16_t*)X + (size_t)idx[j] * width, (size_t)width * 2);
  }
  return SY_OK;
}

SY_API sy_status sy_moe_combine(int32_t T, int32_t k, int32_t width, const void* C, int32_t cdt, const int32_t* slot_of,
                                const float* weights, float* Y, int32_t accumulate) {
  sy_status st = sy::check_rows("sy_moe_combine", T, width, cdt, false);
  if (st) return st;
  SY_CHECK(k > 0, "sy_moe_combine", "need k > 0, got %d", k);
  SY_CHECK(T == 0 || (C && slot_of && Y), "sy_moe_combine", "null pointer (C, slot_of or Y)");
  const int S = T * k;
  for (int t = 0; t < T; t++) {
    float* y = Y + (size_t)t * width;
    if (!accumulate) memset(y, 0, sizeof(float) * width);
    for (int i = 0; i < k; i++) {
      int j = slot_of[(size_t)t * k + i];
      SY_CHECK(j >= 0 && j < S, "sy_moe_combine", "slot_of[%d] = %d is outside [0, %d)", t * k + i, j, S);
      float s = weights ? weights[(size_t)t * k + i] : 1.f;
      for (int c = 0; c < width; c++) y[c] += s * load_row_elem(C, cdt, (size_t)j * width + c);
    }
  }
  return SY_OK;
}

SY_API sy_status sy_moe_scatter_add(int32_t n, int32_t width, const void* C, int32_t cdt, const int32_t* store_idx,
                                    const float* row_weight, float* Y, int32_t y_rows) {
  sy_status st = sy::check_rows("sy_moe_scatter_add", n, width, cdt, false);
  if (st) return st;
  SY_CHECK(n == 0 || (C && store_idx && Y), "sy_moe_scatter_add", "null pointer (C, store_idx or Y)");
  for (int j = 0; j < n; j++) {
    int t = store_idx[j];
    SY_CHECK(t >= 0 && t < y_rows, "sy_moe_scatter_add", "store_idx[%d] = %d is outside [0, %d)", j, t, y_rows);
    float s = row_weight ? row_weight[j] : 1.f;
    for (int c = 0; c < width; c++) Y[(size_t)t * width + c] += s * load_row_elem(C, cdt, (size_t)j * width + c);
  }
  return SY_OK;
}

SY_API sy_status sy_moe_add_shared(int32_t T, int32_t width, const void* S, int32_t sdt, const float* gate, float* Y) {
  sy_status st = sy::check_rows("sy_moe_add_shared", T, width, sdt, false);
  if (st) return st;
  SY_CHECK(T == 0 || (S && Y), "sy_moe_add_shared", "null pointer (S or Y)");
  for (int t = 0; t < T; t++) {
    float g = gate ? 1.f / (1.f + std::exp(-gate[t])) : 1.f;
    for (int c = 0; c < width; c++) Y[(size_t)t * width + c] += g * load_row_elem(S, sdt, (size_t)t * width + c);
  }
  return SY_OK;
}

SY_API sy_status sy_moe_transpose(int32_t dt, int32_t rows, int32_t cols, const void* in, void* out) {
  SY_CHECK(sy::is_row_dtype(dt) && rows >= 0 && cols >= 0, "sy_moe_transpose", "need dtype f16/bf16/f32 and rows, cols >= 0");
  SY_CHECK((size_t)rows * cols == 0 || (in && out), "sy_moe_transpose", "null pointer");
  const size_t es = dt == SY_F32 ? 4 : 2;
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < cols; c++)
      memcpy((char*)out + ((size_t)c * rows + r) * es, (const char*)in + ((size_t)r * cols + c) * es, es);
  return SY_OK;
}

SY_API sy_status sy_moe_dense_grouped_gemm(int32_t dt, int32_t E, int32_t m, int32_t k, const void* W, const void* X,
                                           const int32_t* counts, void* Y, int32_t ydt, int32_t impl, int32_t* used) {
  SY_CHECK(E > 0 && counts && W, "sy_moe_dense_grouped_gemm", "need E > 0, counts_host and W; got E=%d", E);
  SY_CHECK(impl == 0 || impl == 1, "sy_moe_dense_grouped_gemm", "impl must be 0 (auto) or 1 (loop), got %d", impl);
  if (used) *used = 0;
  size_t row = 0;
  const size_t ys = ydt == SY_F32 ? 4 : 2;
  for (int e = 0; e < E; e++) {
    SY_CHECK(counts[e] >= 0, "sy_moe_dense_grouped_gemm", "counts_host[%d] = %d is negative", e, counts[e]);
    if (!counts[e]) continue;
    sy_status st = sy_gemm(dt, counts[e], m, k, (const uint16_t*)X + row * k, (const uint16_t*)W + (size_t)e * m * k,
                           (char*)Y + row * m * ys, ydt, 0);
    if (st) return st;
    row += counts[e];
  }
  return SY_OK;
}

SY_API sy_status sy_moe_fill_random(int32_t dt, uint64_t count, uint32_t seed, float scale, int32_t modulo, void* out) {
  sy_status st = sy::check_fill(dt, count, modulo, out);
  if (st) return st;
  for (uint64_t i = 0; i < count; i++) {
    uint32_t h = sy::moe_hash(seed, i);
    if (dt == SY_U8) { ((uint8_t*)out)[i] = (uint8_t)(h % (uint32_t)modulo); continue; }
    float v = ((float)(h >> 8) * (1.f / 16777216.f) * 2.f - 1.f) * scale;
    if (dt == SY_F32) ((float*)out)[i] = v;
    else ((uint16_t*)out)[i] = sy::f32_to_half(v, dt);
  }
  return SY_OK;
}

// ---------- decoder-layer pieces ----------
SY_API sy_status sy_moe_rmsnorm(int32_t dt, int32_t T, int32_t width, const void* X, const void* gamma, float eps, void* out) {
  sy_status st = sy::check_rows("sy_moe_rmsnorm", T, width, dt, true);
  if (st) return st;
  SY_CHECK(T == 0 || (X && out), "sy_moe_rmsnorm", "null pointer");
  const uint16_t *x = (const uint16_t*)X, *g = (const uint16_t*)gamma;
  for (int t = 0; t < T; t++) {
    double ss = 0;
    for (int c = 0; c < width; c++) {
      float v = sy::half_to_f32(x[(size_t)t * width + c], dt);
      ss += (double)v * v;
    }
    float r = 1.f / std::sqrt((float)(ss / width) + eps);
    for (int c = 0; c < width; c++) {
      float v = sy::half_to_f32(x[(size_t)t * width + c], dt) * r * (g ? sy::half_to_f32(g[c], dt) : 1.f);
      ((uint16_t*)out)[(size_t)t * width + c] = sy::f32_to_half(v, dt);
    }
  }
  return SY_OK;
}

SY_API sy_status sy_moe_residual_add(int32_t dt, int32_t T, int32_t width, const void* X, const float* Y, void* out) {
  sy_status st = sy::check_rows("sy_moe_residual_add", T, width, dt, true);
  if (st) return st;
  SY_CHECK(T == 0 || (X && Y && out), "sy_moe_residual_add", "null pointer");
  for (size_t i = 0, n = (size_t)T * width; i < n; i++)
    ((uint16_t*)out)[i] = sy::f32_to_half(sy::half_to_f32(((const uint16_t*)X)[i], dt) + Y[i], dt);
  return SY_OK;
}

SY_API sy_status sy_attention_prefill(int32_t dt, int32_t n_seq, int32_t L, int32_t heads, int32_t kv, int32_t hd,
                                      const void* qkv, float* scores, void* probs, void* out) {
  sy_status st = sy::check_attention(dt, n_seq, L, heads, kv, hd, qkv, scores, probs, out);
  if (st) return st;
  const uint16_t* in = (const uint16_t*)qkv;
  const size_t ld = (size_t)(heads + 2 * kv) * hd, ldo = (size_t)heads * hd;
  const float scale = 1.f / std::sqrt((float)hd);
  const int group = heads / kv;
  std::vector<float> p(L);
  for (int s = 0; s < n_seq; s++)
    for (int h = 0; h < heads; h++) {
      const int g = h / group;
      for (int q = 0; q < L; q++) {
        const size_t tq = (size_t)s * L + q;
        float mx = -INFINITY;
        for (int kk = 0; kk <= q; kk++) {
          const size_t tk = (size_t)s * L + kk;
          float a = 0;
          for (int d = 0; d < hd; d++)
            a += sy::half_to_f32(in[tq * ld + h * hd + d], dt) * sy::half_to_f32(in[tk * ld + (heads + g) * hd + d], dt);
          p[kk] = a * scale;
          mx = std::fmax(mx, p[kk]);
        }
        float sum = 0;
        for (int kk = 0; kk <= q; kk++) sum += (p[kk] = std::exp(p[kk] - mx));
        for (int kk = 0; kk <= q; kk++) p[kk] = sy::half_to_f32(sy::f32_to_half(p[kk] / sum, dt), dt);  // probs in dtype
        for (int d = 0; d < hd; d++) {
          float a = 0;
          for (int kk = 0; kk <= q; kk++) a += p[kk] * sy::half_to_f32(in[((size_t)s * L + kk) * ld + (heads + kv + g) * hd + d], dt);
          ((uint16_t*)out)[tq * ldo + h * hd + d] = sy::f32_to_half(a, dt);
        }
      }
    }
  return SY_OK;
}
