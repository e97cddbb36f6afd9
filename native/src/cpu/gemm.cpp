// Reference dense GEMM: Y = X * W^T, f32 accumulation over operands rounded to the 16-bit dtype.
#include <vector>
#include "check.h"
#include "half.h"

SY_API sy_status sy_gemm(int32_t dtype, int32_t n, int32_t m, int32_t k, const void* Xv, const void* Wv, void* Yv,
                         int32_t y_dtype, int32_t y_layout) {
  sy_status st = sy::check_gemm_args("sy_gemm", dtype, n, m, k, Xv, Wv, Yv, y_dtype, y_layout);
  if (st) return st;
  const uint16_t* X = (const uint16_t*)Xv;
  const uint16_t* W = (const uint16_t*)Wv;
  std::vector<float> w((size_t)m * k), x((size_t)n * k);
  for (size_t i = 0; i < w.size(); i++) w[i] = sy::half_to_f32(W[i], dtype);
  for (size_t i = 0; i < x.size(); i++) x[i] = sy::half_to_f32(X[i], dtype);
#pragma omp parallel for schedule(static)
  for (int t = 0; t < n; t++) {
    for (int r = 0; r < m; r++) {
      const float* a = &x[(size_t)t * k];
      const float* b = &w[(size_t)r * k];
      float acc = 0.f;
      for (int i = 0; i < k; i++) acc += a[i] * b[i];
      size_t idx = y_layout == 0 ? (size_t)t * m + r : (size_t)r * n + t;
      if (y_dtype == SY_F32) ((float*)Yv)[idx] = acc;
      else ((uint16_t*)Yv)[idx] = sy::f32_to_half(acc, dtype);
    }
  }
  return SY_OK;
}
