// placeholder: replaced by the mma.sp kernel
#include "cuda_common.cuh"
SY_API sy_status sy_ssmm(int32_t, int32_t, int32_t, int32_t, int32_t, int32_t, const void*, const void*, const void*, const void*, int32_t, const int32_t*, int32_t, void*, int32_t, int32_t, int32_t, const float*, int32_t) {
  return sy::fail(SY_ERR_UNSUPPORTED, "sy_ssmm: CUDA kernel not built yet");
}
SY_API sy_status sy_ssmm_grouped(int32_t, int32_t, int32_t, int32_t, int32_t, int32_t, int32_t, const void*, const void*, const void*, const void*, int32_t, const int32_t*, const int32_t*, int32_t, void*, int32_t, int32_t, const int32_t*, int32_t, int32_t, const float*, int32_t) {
  return sy::fail(SY_ERR_UNSUPPORTED, "sy_ssmm_grouped: CUDA kernel not built yet");
}
SY_API sy_status sy_ssmm_index_errors(int32_t* c) { if (c) *c = 0; return SY_OK; }
