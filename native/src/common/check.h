// Argument checks shared by both backends for entry points with identical contracts.
#pragma once
#include "error.h"

namespace sy {
inline bool is_half(int dtype) { return dtype == SY_F16 || dtype == SY_BF16; }
inline sy_status check_gemm_args(const char* fn, int dtype, int n, int m, int k, const void* X, const void* W,
                                 const void* Y, int y_dtype, int y_layout) {
  if (!is_half(dtype)) return fail(SY_ERR_INVALID, "%s: operand dtype must be f16 (0) or bf16 (1), got %d", fn, dtype);
  if (!(y_dtype == SY_F32 || y_dtype == dtype))
    return fail(SY_ERR_INVALID, "%s: output dtype must be f32 (2) or the operand dtype (%d), got %d", fn, dtype, y_dtype);
  if (n < 0 || m <= 0 || k <= 0) return fail(SY_ERR_INVALID, "%s: need n >= 0, m > 0, k > 0; got n=%d m=%d k=%d", fn, n, m, k);
  if (y_layout != 0 && y_layout != 1) return fail(SY_ERR_INVALID, "%s: y_layout must be 0 (token-major) or 1 (feature-major), got %d", fn, y_layout);
  if (!W || (n > 0 && (!X || !Y))) return fail(SY_ERR_INVALID, "%s: null operand pointer", fn);
  return SY_OK;
}
}  // namespace sy
