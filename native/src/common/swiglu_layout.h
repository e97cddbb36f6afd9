// Row order of a stacked gate-up weight for SwiGLU (epilogue 3 of sy_ssmm_grouped, sy_moe_silu_mul_pair; lib/moe.ts
// builds the stack in this order): blocks of kSwigluBlock gate rows and kSwigluBlock up rows of the same features
// alternate. Why blocks of 16: a thread of the wgmma.sp and mma.sp kernels holds output rows 2c, 2c+1 and
// 2c+16, 2c+17 (pairs c and c+8, c % 16 < 8), so gate and up of a feature meet in one thread's registers. The
// blocks are whole row pairs, so the Samoyeds 1:2 pairing never mixes a gate row with an up row.
#pragma once

#if defined(__CUDACC__)
#define SY_SWIGLU_HD __host__ __device__ __forceinline__
#else
#define SY_SWIGLU_HD inline
#endif

namespace sy {
constexpr int kSwigluBlock = 16;
// Stacked row of output feature f's gate; its up row is kSwigluBlock further.
SY_SWIGLU_HD int swiglu_gate_row(int f) { return 2 * kSwigluBlock * (f / kSwigluBlock) + f % kSwigluBlock; }
}  // namespace sy
