// Shared helpers of the CUDA backend: entry guard, error mapping, the library's stream.
#pragma once
#include <cuda_runtime.h>
#include "error.h"

namespace sy {
// Selects the library's current device on the calling thread (Deno nonblocking calls use pool threads)
// and fails with SY_ERR_NO_DEVICE when there is no usable GPU. Call first in every CUDA entry point.
sy_status cuda_enter(const char* fn);
// The stream all entry points enqueue on (created on first use, one per device).
cudaStream_t stream();
int current_device();

#ifdef __CUDACC__
// SiLU of the kernels' fused epilogues (one definition: the SSMM kernels and the MoE elementwise ops agree). The fast
// division (rcp + mul): an IEEE division expands to a slow-path call per element, which bloated the unrolled SSMM
// epilogues. Its limits hold: y -> -inf gives 0 (the divisor overflows to inf), y -> +inf gives y.
__device__ __forceinline__ float silu(float y) { return __fdividef(y, 1.f + __expf(-y)); }
#endif
// Maps a CUDA error to SY_ERR_CUDA with the function name and cudaGetErrorString.
sy_status cuda_fail(const char* fn, const char* what, cudaError_t err);
// After a launch: checks the launch error (not the kernel's completion).
sy_status check_launch(const char* fn);
}  // namespace sy

#define SY_CUDA(fn, call)                                        \
  do {                                                           \
    cudaError_t e_ = (call);                                     \
    if (e_ != cudaSuccess) return ::sy::cuda_fail(fn, #call, e_); \
  } while (0)

#define SY_ENTER(fn)                          \
  do {                                        \
    sy_status st_ = ::sy::cuda_enter(fn);     \
    if (st_ != SY_OK) return st_;             \
  } while (0)
