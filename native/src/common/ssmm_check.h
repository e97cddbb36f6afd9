// Argument checks of sy_ssmm / sy_ssmm_grouped shared by both backends.
#pragma once
#include "check.h"
#include "samoyeds_format.h"
#include "swiglu_layout.h"

namespace sy {
// The epilogue codes of sy_ssmm / sy_ssmm_grouped (samoyeds.h); the CUDA kernels take them as template arguments.
enum SsmmEpilogueOp : int { kOpNone = 0, kOpSilu = 1, kOpRowScale = 2, kOpSwiglu = 3 };

inline sy_status check_ssmm_common(const char* fn, int dtype, int m, int k, int V, int N, int M, const void* values,
                                   const void* indices, const void* meta, int x_rows, int y_dtype, int epilogue,
                                   int accum) {
  if (sy_status st = check_samoyeds_dtype(fn, dtype)) return st;
  if (sy_status st = check_samoyeds_params(fn, m, k, V, N, M)) return st;
  if (!values || !indices || !meta) return fail(SY_ERR_INVALID, "%s: null weight array (values, indices, meta)", fn);
  if (x_rows < 0) return fail(SY_ERR_INVALID, "%s: x_rows must be >= 0, got %d", fn, x_rows);
  if (!(y_dtype == SY_F32 || y_dtype == dtype))
    return fail(SY_ERR_INVALID, "%s: y_dtype must be f32 (2) or the operand dtype (%d), got %d", fn, dtype, y_dtype);
  if (epilogue < 0 || epilogue > 3)
    return fail(SY_ERR_INVALID, "%s: epilogue must be 0 (none), 1 (SiLU), 2 (row scale) or 3 (SwiGLU, grouped), got %d", fn, epilogue);
  if (accum != 0 && accum != 1) return fail(SY_ERR_INVALID, "%s: accum must be 0 (f32) or 1 (f16), got %d", fn, accum);
  if (accum == 1 && dtype != SY_F16)
    return fail(SY_ERR_UNSUPPORTED, "%s: f16 accumulation (accum=1) needs f16 operands; bf16 mma.sp accumulates in f32 only", fn);
  return SY_OK;
}
inline sy_status check_ssmm_args(const char* fn, int dtype, int m, int k, int V, int N, int M, const void* values,
                                 const void* indices, const void* meta, const void* X, int x_rows, const int32_t* token_idx,
                                 int n_sel, const void* Y, int y_dtype, int y_layout, int epilogue, const float* row_scale,
                                 int accum) {
  if (sy_status st = check_ssmm_common(fn, dtype, m, k, V, N, M, values, indices, meta, x_rows, y_dtype, epilogue, accum)) return st;
  if (n_sel < 0) return fail(SY_ERR_INVALID, "%s: n_sel must be >= 0, got %d", fn, n_sel);
  if (y_layout != 0 && y_layout != 1)
    return fail(SY_ERR_INVALID, "%s: y_layout must be 0 (token-major) or 1 (feature-major), got %d", fn, y_layout);
  if (n_sel > 0 && (!X || !token_idx || !Y)) return fail(SY_ERR_INVALID, "%s: null X, token_idx or Y with n_sel=%d", fn, n_sel);
  if (n_sel > 0 && x_rows == 0) return fail(SY_ERR_INVALID, "%s: n_sel=%d tokens selected from an empty X (x_rows=0)", fn, n_sel);
  if (epilogue == 2 && n_sel > 0 && !row_scale) return fail(SY_ERR_INVALID, "%s: epilogue 2 (row scale) needs row_scale (n_sel f32)", fn);
  if (epilogue == 3) return fail(SY_ERR_INVALID, "%s: epilogue 3 (SwiGLU of an interleaved gate-up weight) is for grouped SSMMs (sy_ssmm_grouped)", fn);
  return SY_OK;
}
inline sy_status check_ssmm_grouped_args(const char* fn, int dtype, int m, int k, int V, int N, int M, int n_experts,
                                         const void* values, const void* indices, const void* meta, const void* X, int x_rows,
                                         const int32_t* load_idx, const int32_t* offsets, int max_selections, const void* Y,
                                         int y_dtype, int y_mode, const int32_t* store_idx, int y_rows, int epilogue,
                                         const float* row_scale, int accum) {
  if (sy_status st = check_ssmm_common(fn, dtype, m, k, V, N, M, values, indices, meta, x_rows, y_dtype, epilogue, accum)) return st;
  if (n_experts <= 0) return fail(SY_ERR_INVALID, "%s: n_experts must be > 0, got %d", fn, n_experts);
  if (!offsets) return fail(SY_ERR_INVALID, "%s: offsets (n_experts+1 int32) is null", fn);
  if (max_selections < 0) return fail(SY_ERR_INVALID, "%s: max_selections must be >= 0, got %d", fn, max_selections);
  if (y_mode != 0 && y_mode != 1) return fail(SY_ERR_INVALID, "%s: y_mode must be 0 (compact rows) or 1 (atomic add into store_idx rows), got %d", fn, y_mode);
  if (y_mode == 1 && y_dtype != SY_F32) return fail(SY_ERR_INVALID, "%s: y_mode 1 (atomic add) needs y_dtype f32 (2), got %d", fn, y_dtype);
  if (epilogue == 3 && (y_mode != 0 || m % (2 * kSwigluBlock) != 0))
    return fail(SY_ERR_INVALID, "%s: epilogue 3 (SwiGLU) needs y_mode 0 and m %% %d == 0 (gate and up rows interleaved in blocks of %d), got y_mode %d, m %d",
                fn, 2 * kSwigluBlock, kSwigluBlock, y_mode, m);
  if (max_selections > 0) {
    if (!X || !Y) return fail(SY_ERR_INVALID, "%s: null X or Y", fn);
    // load_idx null: selection j loads row j (input rows already compact, e.g. the down projection)
    if (!load_idx && max_selections > x_rows)
      return fail(SY_ERR_INVALID, "%s: load_idx null (selection j loads row j) needs max_selections (%d) <= x_rows (%d)", fn, max_selections, x_rows);
    if (y_mode == 1 && (!store_idx || y_rows <= 0)) return fail(SY_ERR_INVALID, "%s: y_mode 1 needs store_idx and y_rows > 0 (got y_rows=%d)", fn, y_rows);
    if (epilogue == 2 && !row_scale) return fail(SY_ERR_INVALID, "%s: epilogue 2 (row scale) needs row_scale", fn);
    if (x_rows == 0) return fail(SY_ERR_INVALID, "%s: selections from an empty X (x_rows=0)", fn);
  }
  return SY_OK;
}
}  // namespace sy
