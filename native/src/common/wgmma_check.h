// Argument checks of the Hopper wgmma.sp SSMM entry points (issue 5), shared by the CUDA kernel's entry point and
// the CPU emulation so both refuse the same inputs with the same messages.
#pragma once
#include "check.h"

namespace sy {
namespace wg {
// Shape support of the wgmma.sp path (N=1, M=2, V in {32,64,128}, k % 8 == 0); defined in wgmma_pack.cpp.
sy_status check_wgmma_shape(const char* fn, int m, int k, int V, int N, int M);

inline sy_status check_ssmm_wgmma_args(const char* fn, int dtype, int m, int k, int V, int N, int M, const void* values,
                                       const void* indices, const void* meta, const void* X, int x_rows,
                                       const void* token_idx, int n_sel, const void* Y, int y_dtype, int y_layout,
                                       int epilogue, const void* row_scale, int accum) {
  sy_status st = check_wgmma_shape(fn, m, k, V, N, M);
  if (st) return st;
  if (!is_half(dtype)) return fail(SY_ERR_INVALID, "%s: dtype must be f16 (0) or bf16 (1), got %d", fn, dtype);
  if (!(y_dtype == SY_F32 || y_dtype == dtype))
    return fail(SY_ERR_INVALID, "%s: y_dtype must be f32 (2) or the operand dtype (%d), got %d", fn, dtype, y_dtype);
  if (y_layout != 0 && y_layout != 1) return fail(SY_ERR_INVALID, "%s: y_layout must be 0 (token-major) or 1 (feature-major), got %d", fn, y_layout);
  if (epilogue < 0 || epilogue > 2) return fail(SY_ERR_INVALID, "%s: epilogue must be 0 (none), 1 (SiLU) or 2 (row scale), got %d", fn, epilogue);
  if (accum == 1) return fail(SY_ERR_UNSUPPORTED, "%s: f16 accumulation (accum=1) is not implemented in the wgmma.sp path; use accum=0 (f32)", fn);
  if (accum != 0) return fail(SY_ERR_INVALID, "%s: accum must be 0 (f32) or 1 (f16), got %d", fn, accum);
  if (n_sel < 0) return fail(SY_ERR_INVALID, "%s: n_sel must be >= 0, got %d", fn, n_sel);
  if (!values || !indices || !meta) return fail(SY_ERR_INVALID, "%s: null weight array (values, indices or meta)", fn);
  if (n_sel > 0) {
    if (x_rows <= 0) return fail(SY_ERR_INVALID, "%s: x_rows must be > 0 when n_sel > 0, got %d", fn, x_rows);
    if (!X || !token_idx || !Y) return fail(SY_ERR_INVALID, "%s: null X, token_idx or Y", fn);
    if (epilogue == 2 && !row_scale) return fail(SY_ERR_INVALID, "%s: epilogue 2 (row scale) needs row_scale", fn);
  }
  return SY_OK;
}
}  // namespace wg
}  // namespace sy
