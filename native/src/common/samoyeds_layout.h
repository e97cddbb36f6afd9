// Layout contract of the Samoyeds format arrays (see the "Samoyeds format" section of samoyeds.h), shared by the
// host encoder/decoder (samoyeds_format.cpp), the CPU per-thread emulation (cpu/ssmm.cpp) and the CUDA kernel
// (cuda/ssmm_mma_sp.cu) so the three cannot drift apart.
//
// Hardware facts this encodes (PTX ISA, mma.sp{::ordered_metadata}.sync.aligned.m16n8k32.row.col, f16/bf16):
//  * A (sparse, 16 x 32 logical = 16 x 16 compressed): a0..a3 as the dense m16n8k16 A fragment over compressed
//    columns: lane (g = lane/4, t = lane%4): a0 = row g, cols 2t,2t+1; a1 = row g+8; a2 = row g, cols 8+2t,+1;
//    a3 = row g+8, cols 8+2t,+1. Compressed column 2q+e is the e-th kept value of 4-wide group q.
//  * B (32 x 8, "col"): b_i holds k rows 2t + 8*i, +1 of column (token) g.
//  * C/D f32: c0,c1 = row g, cols 2t,2t+1; c2,c3 = row g+8. f16 accumulators: d0 = half2(row g), d1 = half2(row g+8).
//  * Metadata, sparsity selector 0: lanes with lane%4 in {0,1} supply it; lane 4g+j holds in bits [16h+4q, +3] the
//    two 2-bit positions of group q (k columns 16j+4q..+3) of A row g+8h. Lanes 4g+2, 4g+3 load the same word.
//  * Ordered metadata: each nibble is (first | second << 2) with first < second: 0x4, 0x8, 0xC, 0x9, 0xD, 0xE.
#pragma once
#include <stdint.h>

#if defined(__CUDACC__)
#define SY_LAYOUT_HD __host__ __device__ __forceinline__
#else
#define SY_LAYOUT_HD inline
#endif

namespace sy {
namespace samoyeds {
constexpr int kMetaRowsPerBlock = 16;   // condensed rows per metadata block (one mma m16)
constexpr int kMetaK = 32;              // original k per metadata block (one mma k32)
constexpr int kMetaWordsPerBlock = 16;  // 8 groups x 2 supplying lanes
constexpr uint32_t kPadNibble = 0x4;    // positions (0, 1): a valid ordered nibble for padding/all-zero groups
constexpr uint32_t kPadWord = 0x44444444u;

SY_LAYOUT_HD int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
SY_LAYOUT_HD int64_t condensed_rows(int64_t m, int N, int M) { return m / M * N; }
SY_LAYOUT_HD int64_t meta_words(int64_t c_rows, int64_t k) { return cdiv(c_rows, kMetaRowsPerBlock) * (k / kMetaK) * kMetaWordsPerBlock; }
// First word of metadata block (row block rb, k32 step s).
SY_LAYOUT_HD int64_t meta_block_word(int64_t rb, int64_t s, int64_t k) { return (rb * (k / kMetaK) + s) * kMetaWordsPerBlock; }
// Word of a block that lane `lane` loads (lanes 2,3 of a quad duplicate lanes 0,1).
SY_LAYOUT_HD int meta_word_of_lane(int lane) { return (lane >> 2) * 2 + (lane & 1); }
// Where the nibble of condensed row c (absolute) and 4-wide group `grp` (absolute, k column 4*grp) lives.
struct MetaPos { int64_t word; int shift; };
SY_LAYOUT_HD MetaPos meta_pos(int64_t c, int64_t grp, int64_t k) {
  int64_t rb = c / kMetaRowsPerBlock, s = grp / 8;
  int r = (int)(c % kMetaRowsPerBlock), q8 = (int)(grp % 8);  // q8: group within the k32 step (0..7)
  int g = r & 7, h = r >> 3, j = q8 >> 2, q = q8 & 3;
  return MetaPos{meta_block_word(rb, s, k) + g * 2 + j, 16 * h + 4 * q};
}
SY_LAYOUT_HD bool valid_ordered_nibble(uint32_t nib) {
  uint32_t a = nib & 3, b = (nib >> 2) & 3;
  return a < b;
}

// Swizzled shared-memory offsets (bytes) of the CUDA kernel's pipeline stages (64 original k per stage).
// A stage: rows of 64 bytes (4 x 16-byte chunks of 8 compressed halves); two rows share a 128-byte line and the 8
// chunks of a line are XOR-ed with the line index, so the 8 row addresses of one ldmatrix phase hit 8 different
// 16-byte bank groups. X stage: token rows of 128 bytes (8 chunks), chunk ^= row % 8.
SY_LAYOUT_HD int a_smem_off(int row, int chunk) {
  return (row >> 1) * 128 + (((((row & 1) << 2) | chunk) ^ ((row >> 1) & 7)) << 4);
}
SY_LAYOUT_HD int x_smem_off(int row, int chunk) { return row * 128 + ((chunk ^ (row & 7)) << 4); }
}  // namespace samoyeds
}  // namespace sy
