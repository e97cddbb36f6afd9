// CPU reference of SSMM (selected-token x Samoyeds-sparse weight) and its grouped (MoE) form.
// Works on the format arrays directly (no decode), f32 accumulation; accum=1 emulates f16 accumulation by rounding
// each output's running sum to f16 after every 32-wide k-tile (what a chain of mma.sp m16n8k32 with f16 C/D does).
#include <cmath>
#include <vector>
#include "half.h"
#include "ssmm_check.h"

namespace {
struct Weight {
  const uint16_t* values;
  const uint8_t* indices;
  const uint32_t* meta;
};

// acc[row] for one token: Y_row = x . W^T over the format.
void ssmm_token(const sy::SamoyedsShape& s, int dtype, const Weight& w, const float* x, bool f16_accum, float* acc) {
  const int64_t C = s.c_rows(), KV = s.k_vectors(), k = s.k;
  for (int64_t r = 0; r < s.m; r++) acc[r] = 0.f;
  for (int64_t c = 0; c < C; c++) {
    const int64_t G = c / s.N;
    for (int64_t step = 0; step < k / 32; step++) {
      const int64_t v = step * 32 / s.V;
      const int64_t row = G * s.M + w.indices[c * KV + v];
      float part = 0.f;
      for (int64_t grp = step * 8; grp < step * 8 + 8; grp++) {
        sy::samoyeds::MetaPos mp = sy::samoyeds::meta_pos(c, grp, k);
        uint32_t nib = (w.meta[mp.word] >> mp.shift) & 0xF;
        part += sy::half_to_f32(w.values[c * (k / 2) + grp * 2], dtype) * x[grp * 4 + (nib & 3)];
        part += sy::half_to_f32(w.values[c * (k / 2) + grp * 2 + 1], dtype) * x[grp * 4 + (nib >> 2)];
      }
      acc[row] = f16_accum ? sy::f16_to_f32(sy::f32_to_f16(acc[row] + part)) : acc[row] + part;
    }
  }
}
float epilogue_apply(float y, int epilogue, const float* row_scale, int64_t j) {
  if (epilogue == 1) return y / (1.f + std::exp(-y));
  if (epilogue == 2) return y * row_scale[j];
  return y;
}
}  // namespace

SY_API sy_status sy_ssmm(int32_t dtype, int32_t m, int32_t k, int32_t V, int32_t N, int32_t M, const void* values,
                         const void* indices, const void* meta, const void* Xv, int32_t x_rows, const int32_t* token_idx,
                         int32_t n_sel, void* Yv, int32_t y_dtype, int32_t y_layout, int32_t epilogue, const float* row_scale,
                         int32_t accum) {
  const char* fn = "sy_ssmm";
  if (sy_status st = sy::check_ssmm_args(fn, dtype, m, k, V, N, M, values, indices, meta, Xv, x_rows, token_idx, n_sel, Yv,
                                         y_dtype, y_layout, epilogue, row_scale, accum))
    return st;
  sy::SamoyedsShape s{m, k, V, N, M};
  if (sy_status st = sy::check_samoyeds_arrays(fn, s, (const uint8_t*)indices, (const uint32_t*)meta)) return st;
  for (int32_t j = 0; j < n_sel; j++)
    if (token_idx[j] < 0 || token_idx[j] >= x_rows)
      return sy::fail(SY_ERR_INVALID, "%s: token_idx[%d] = %d is out of range [0, %d)", fn, j, token_idx[j], x_rows);
  Weight w{(const uint16_t*)values, (const uint8_t*)indices, (const uint32_t*)meta};
  const uint16_t* X = (const uint16_t*)Xv;
#pragma omp parallel
  {
    std::vector<float> x(k), acc(m);
#pragma omp for schedule(dynamic, 4)
    for (int32_t j = 0; j < n_sel; j++) {
      const uint16_t* xr = X + (int64_t)token_idx[j] * k;
      for (int i = 0; i < k; i++) x[i] = sy::half_to_f32(xr[i], dtype);
      ssmm_token(s, dtype, w, x.data(), accum == 1, acc.data());
      for (int32_t r = 0; r < m; r++) {
        float y = epilogue_apply(acc[r], epilogue, row_scale, j);
        int64_t at = y_layout == 0 ? (int64_t)j * m + r : (int64_t)r * n_sel + j;
        if (y_dtype == SY_F32) ((float*)Yv)[at] = y;
        else ((uint16_t*)Yv)[at] = sy::f32_to_half(y, dtype);
      }
    }
  }
  return SY_OK;
}

SY_API sy_status sy_ssmm_grouped(int32_t dtype, int32_t m, int32_t k, int32_t V, int32_t N, int32_t M, int32_t n_experts,
                                 const void* values, const void* indices, const void* meta, const void* Xv, int32_t x_rows,
                                 const int32_t* load_idx, const int32_t* offsets, int32_t max_selections, void* Yv,
                                 int32_t y_dtype, int32_t y_mode, const int32_t* store_idx, int32_t y_rows, int32_t epilogue,
                                 const float* row_scale, int32_t accum) {
  const char* fn = "sy_ssmm_grouped";
  if (sy_status st = sy::check_ssmm_grouped_args(fn, dtype, m, k, V, N, M, n_experts, values, indices, meta, Xv, x_rows,
                                                 load_idx, offsets, max_selections, Yv, y_dtype, y_mode, store_idx, y_rows,
                                                 epilogue, row_scale, accum))
    return st;
  sy::SamoyedsShape s{m, k, V, N, M};
  if (offsets[0] != 0) return sy::fail(SY_ERR_INVALID, "%s: offsets[0] must be 0, got %d", fn, offsets[0]);
  for (int e = 0; e < n_experts; e++)
    if (offsets[e + 1] < offsets[e])
      return sy::fail(SY_ERR_INVALID, "%s: offsets must be non-decreasing: offsets[%d]=%d > offsets[%d]=%d", fn, e, offsets[e], e + 1, offsets[e + 1]);
  if (offsets[n_experts] > max_selections)
    return sy::fail(SY_ERR_INVALID, "%s: offsets[%d]=%d exceeds max_selections=%d", fn, n_experts, offsets[n_experts], max_selections);
  const int64_t total = offsets[n_experts];
  for (int64_t j = 0; j < total; j++) {
    if (load_idx && (load_idx[j] < 0 || load_idx[j] >= x_rows))
      return sy::fail(SY_ERR_INVALID, "%s: load_idx[%lld] = %d is out of range [0, %d)", fn, (long long)j, load_idx[j], x_rows);
    if (y_mode == 1 && (store_idx[j] < 0 || store_idx[j] >= y_rows))
      return sy::fail(SY_ERR_INVALID, "%s: store_idx[%lld] = %d is out of range [0, %d)", fn, (long long)j, store_idx[j], y_rows);
  }
  for (int e = 0; e < n_experts; e++) {
    const uint8_t* ind = (const uint8_t*)indices + e * s.index_bytes();
    const uint32_t* met = (const uint32_t*)((const uint8_t*)meta + e * s.meta_bytes());
    if (offsets[e + 1] > offsets[e])
      if (sy_status st = sy::check_samoyeds_arrays(fn, s, ind, met)) return st;
  }
  const uint16_t* X = (const uint16_t*)Xv;
  // Expert-major, selections in order: y_mode 1 adds in a fixed order, so the CPU result is deterministic.
  for (int e = 0; e < n_experts; e++) {
    Weight w{(const uint16_t*)((const uint8_t*)values + e * s.value_bytes()), (const uint8_t*)indices + e * s.index_bytes(),
             (const uint32_t*)((const uint8_t*)meta + e * s.meta_bytes())};
    const int64_t lo = offsets[e], hi = offsets[e + 1];
    std::vector<float> rows((size_t)(hi - lo) * m);
#pragma omp parallel
    {
      std::vector<float> x(k);
#pragma omp for schedule(dynamic, 4)
      for (int64_t j = lo; j < hi; j++) {
        const uint16_t* xr = X + (int64_t)(load_idx ? load_idx[j] : j) * k;
        for (int i = 0; i < k; i++) x[i] = sy::half_to_f32(xr[i], dtype);
        float* acc = &rows[(size_t)(j - lo) * m];
        ssmm_token(s, dtype, w, x.data(), accum == 1, acc);
        if (epilogue == 3) {
          // SwiGLU: the first m/2 entries become the output row, in place (feature f reads rows >= f only)
          for (int f = 0; f < m / 2; f++) {
            const int g = sy::swiglu_gate_row(f);
            acc[f] = epilogue_apply(acc[g], 1, nullptr, j) * acc[g + sy::kSwigluBlock];
          }
        } else {
          for (int32_t r = 0; r < m; r++) acc[r] = epilogue_apply(acc[r], epilogue, row_scale, j);
        }
      }
    }
    const int32_t width = epilogue == 3 ? m / 2 : m;  // columns of a Y row
    for (int64_t j = lo; j < hi; j++) {
      const float* acc = &rows[(size_t)(j - lo) * m];
      if (y_mode == 1) {
        float* dst = (float*)Yv + (int64_t)store_idx[j] * m;
        for (int32_t r = 0; r < m; r++) dst[r] += acc[r];
      } else if (y_dtype == SY_F32) {
        for (int32_t r = 0; r < width; r++) ((float*)Yv)[j * width + r] = acc[r];
      } else {
        for (int32_t r = 0; r < width; r++) ((uint16_t*)Yv)[j * width + r] = sy::f32_to_half(acc[r], dtype);
      }
    }
  }
  return SY_OK;
}

SY_API sy_status sy_ssmm_index_errors(int32_t* count_out) {
  SY_CHECK(count_out, "sy_ssmm_index_errors", "count_out is null");
  *count_out = 0;
  return SY_OK;
}
