// Host side of the VENOM-style V:2:8 baseline format: argument checks shared by both backends.
#pragma once
#include <stdint.h>
#include "error.h"
#include "vnm_layout.h"

namespace sy {
namespace vnm {
// V in {64, 128}; m > 0; k > 0 and k % 8 == 0.
sy_status check_shape(const char* fn, int32_t m, int32_t k, int32_t V);
struct Sizes { uint64_t values, meta, colmask; };
Sizes sizes(int64_t m, int64_t k, int64_t V);
// sy_vnm_spmm's contract: both backends validate the same way.
inline sy_status check_spmm(const char* fn, int32_t dtype, int32_t m, int32_t k, int32_t V, const void* values,
                            const void* meta, const void* colmask, const void* X, int32_t n, const void* Y, int32_t y_dtype) {
  if (sy_status st = check_shape(fn, m, k, V)) return st;
  if (dtype != SY_F16 && dtype != SY_BF16) return fail(SY_ERR_INVALID, "%s: dtype must be f16 (0) or bf16 (1), got %d", fn, dtype);
  if (y_dtype != SY_F32 && y_dtype != dtype)
    return fail(SY_ERR_INVALID, "%s: y_dtype must be f32 (2) or the operand dtype (%d), got %d", fn, dtype, y_dtype);
  if (n < 0) return fail(SY_ERR_INVALID, "%s: n (tokens) must be >= 0, got %d", fn, n);
  if (!values || !meta || !colmask || (n > 0 && (!X || !Y))) return fail(SY_ERR_INVALID, "%s: null pointer argument", fn);
  return SY_OK;
}
inline sy_status check_gather(const char* fn, int32_t dtype, int32_t n, int32_t width, const void* X, int32_t x_rows,
                              const void* idx, const void* Xg) {
  if (dtype != SY_F16 && dtype != SY_BF16 && dtype != SY_F32)
    return fail(SY_ERR_INVALID, "%s: dtype must be f16 (0), bf16 (1) or f32 (2), got %d", fn, dtype);
  if (n < 0 || width <= 0 || x_rows < 0) return fail(SY_ERR_INVALID, "%s: need n >= 0, width > 0, x_rows >= 0; got n=%d width=%d x_rows=%d", fn, n, width, x_rows);
  if (n > 0 && x_rows == 0) return fail(SY_ERR_INVALID, "%s: %d rows requested from an empty X (x_rows = 0)", fn, n);
  if (n > 0 && (!X || !idx || !Xg)) return fail(SY_ERR_INVALID, "%s: null pointer argument", fn);
  return SY_OK;
}
}  // namespace vnm
}  // namespace sy
