// Layout contract of the VENOM-style V:2:8 baseline format (see the "Baselines" section of samoyeds.h), shared by
// the host encoder/decoder (vnm_format.cpp), the CPU fragment emulation (cpu/baselines.cpp) and the CUDA kernel
// (cuda/vnm_spmm.cu) so the three cannot drift apart.
//
// The pattern: rows in blocks of V; k in 8-wide column blocks. A (row block, column block) cell keeps 4 of its 8
// columns for all its V rows (colmask, 4 bits set); each row keeps 2 of those 4 (2:4 on the condensed columns).
// So one 8-wide column block is one 4-wide 2:4 group of the condensed matrix, and one mma.sp.m16n8k32 k-step
// (32 condensed columns) covers 64 dense columns = 8 column blocks.
//
// mma.sp.sync.aligned.m16n8k32.row.col (f16/bf16) fragment facts used (PTX ISA):
//  * A (16 x 16 compressed) as the dense m16n8k16 A fragment: lane = 4g + t; register i, half h holds row
//    g + 8*(i & 1), compressed column 2t + h + 8*(i >> 1); compressed column 2q + e = e-th kept value of group q.
//  * Metadata (sparsity selector 0): lane 4g + j (j in {0, 1}) holds in bits [16h + 4q', +3] the two 2-bit positions
//    (ascending) of group q = 4j + q' of row g + 8h; lanes 4g+2, 4g+3 load the same word as 4g, 4g+1.
//  * B (32 x 8): register i holds k rows 2t + 8i, +1 of column (token) g.
//
// Arrays (RB = ceil(m / 16) 16-row blocks, KS = ceil(k / 64) k-steps; block (s, rb) is k-step-major so one
// CTA's row blocks of one k-step are contiguous):
//  values : KS x RB blocks of 32 lanes x 8 halves (512 bytes): the A fragment registers of each lane, in order.
//  meta   : KS x RB blocks of 16 uint32 words (64 bytes), word 2g + j as above.
//  colmask: ceil(m / V) x (k / 8) uint8, bit c set = column 8*cb + c kept.
// Padding (rows >= m, column blocks >= k/8): values 0, metadata nibble 0x4 (positions 0, 1: a valid one).
#pragma once
#include <stdint.h>

#if defined(__CUDACC__)
#define SY_VNM_HD __host__ __device__ __forceinline__
#else
#define SY_VNM_HD inline
#endif

namespace sy {
namespace vnm {
constexpr int kColsPerBlock = 8;      // M of V:N:M
constexpr int kKeptCols = 4;          // columns a cell keeps
constexpr int kStepK = 64;            // dense k per mma k-step
constexpr int kBlockRows = 16;        // rows per fragment block
constexpr int kBlockHalves = 256;     // 32 lanes x 8 halves
constexpr int kBlockWords = 16;       // metadata words per block
constexpr uint32_t kPadWord = 0x44444444u;
constexpr uint8_t kPadMask = 0x0F;

SY_VNM_HD int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
SY_VNM_HD int64_t row_blocks16(int64_t m) { return cdiv(m, kBlockRows); }
SY_VNM_HD int64_t ksteps(int64_t k) { return cdiv(k, kStepK); }
SY_VNM_HD int64_t block_index(int64_t s, int64_t rb, int64_t m) { return s * row_blocks16(m) + rb; }

// Where value e (0/1) of row r (absolute), column block cb (absolute) lives, as a half index into `values`.
SY_VNM_HD int64_t value_index(int64_t r, int64_t cb, int e, int64_t m) {
  const int64_t rb = r / kBlockRows, s = cb / 8;
  const int rr = (int)(r % kBlockRows), q = (int)(cb % 8);
  const int g = rr & 7, hi = rr >> 3, t = q & 3;
  const int lane = 4 * g + t, reg = hi + 2 * (q >> 2);
  return block_index(s, rb, m) * kBlockHalves + lane * 8 + reg * 2 + e;
}
// Word index into `meta` and bit shift of the nibble of row r, column block cb.
SY_VNM_HD void meta_pos(int64_t r, int64_t cb, int64_t m, int64_t* word, int* shift) {
  const int64_t rb = r / kBlockRows, s = cb / 8;
  const int rr = (int)(r % kBlockRows), q = (int)(cb % 8);
  const int g = rr & 7, hi = rr >> 3;
  *word = block_index(s, rb, m) * kBlockWords + 2 * g + (q >> 2);
  *shift = 16 * hi + 4 * (q & 3);
}
// Metadata word a lane loads from its block.
SY_VNM_HD int meta_word_of_lane(int lane) { return (lane >> 2) * 2 + (lane & 1); }
// Position (0..7) of the `slot`-th set bit of a 4-bit-set mask.
SY_VNM_HD int mask_slot_col(uint32_t mask, int slot) {
  for (int i = 0; i < slot; i++) mask &= mask - 1;
#if defined(__CUDA_ARCH__)
  return __ffs(mask) - 1;
#else
  return __builtin_ctz(mask);
#endif
}
SY_VNM_HD int popcount8(uint32_t x) {
  int c = 0;
  for (int i = 0; i < 8; i++) c += (x >> i) & 1;
  return c;
}
}  // namespace vnm
}  // namespace sy
