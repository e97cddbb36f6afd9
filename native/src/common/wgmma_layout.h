// Layout contract of the Hopper wgmma.sp SSMM path (issue 5), shared by three users so they cannot drift apart:
//   native/src/cuda/ssmm_wgmma_kernel.cuh the kernel (device)
//   native/src/common/wgmma_pack.cpp the offline packer of the weight into tile order + wgmma.sp metadata (host)
//   native/src/cpu/wgmma_emulate.cpp a CPU emulation of the kernel's data path (host), checked against sy_gemm
//
// Hardware facts this encodes (PTX ISA, "wgmma.mma_async.sp", .f16/.bf16, m64nNk32):
//  * A (sparse, the condensed weight) lives in shared memory as 64 rows x 16 compressed elements per k32 step,
//    K-major, no swizzle: "core matrices" of 8 rows x 16 bytes, each 128 contiguous bytes. The matrix descriptor's
//    leading byte offset (LBO) is the distance between core matrices adjacent along K, the stride byte offset (SBO)
//    between core matrices adjacent along M/N.
//  * B (dense, the gathered tokens) is K-major with the 128-byte swizzle: a token's 64 k values of a stage are one
//    128-byte row (rows of consecutive tokens adjacent), and inside each 1024-byte group of 8 rows the 16-byte chunk
//    c of row r sits at chunk position c ^ (r % 8): the layout the TMA copy engine writes with
//    CU_TENSOR_MAP_SWIZZLE_128B into a 1024-aligned buffer, and that the descriptor's swizzle mode 1 reads (address
//    bits [4,7) XOR bits [7,10)). SBO = 1024 (8-row groups), LBO unused; the second k32 step starts 64 bytes in.
//  * Metadata, sparsity selector 0: in each warp w of the warpgroup, lanes with lane%4 in {0,1} supply one 32-bit
//    register; lane (w, g = lane/4, j = lane%2) holds, in bits [16h + 4q, 16h + 4q + 3], the two 2-bit positions
//    (first in the low 2 bits, ascending) of the non-zeros of the 4-wide group q (k columns 16j + 4q .. +3) of
//    A row 16w + g + 8h. Lanes 2,3 of each quad are ignored (we give them a copy).
//  * D fragment (m64nN, f32): thread t = 32w + lane holds rows 16w + lane/4 (+8) and columns 8i + 2(lane%4) (+1)
//    in registers d[4i + 0..1] (row) and d[4i + 2..3] (row + 8).
#pragma once
#include <stdint.h>
#include <math.h>

#if defined(__CUDACC__)
#define SY_HD __host__ __device__ __forceinline__
#else
#define SY_HD inline
#endif

namespace sy {
namespace wg {
// CTA tile: 2 consumer warpgroups x 64 condensed rows, BN selected tokens, BK original k per pipeline stage.
constexpr int kRowsPerWg = 64;
constexpr int kConsumerWgs = 2;
constexpr int kRowsPerCta = kRowsPerWg * kConsumerWgs;  // 128 condensed rows = 256 output rows (M = 2)
constexpr int kBK = 64;                                 // original k per stage = 2 wgmma k32 steps
constexpr int kKSteps = kBK / 32;
constexpr int kBN = 128;                                // tokens per CTA tile (wgmma N)
// bytes of one wgmma A operand (64 rows x 16 compressed halves) and its core-matrix strides
constexpr int kAStepBytes = kRowsPerWg * 16 * 2;        // 2048
constexpr int kALbo = 8 * 128;                          // K-adjacent core matrices: after the 8 row-groups
constexpr int kASbo = 128;                              // M-adjacent core matrices: contiguous
constexpr int kAStageBytes = kRowsPerCta * kBK / 2 * 2; // 8192: [wg][kstep][2048]
// metadata words per (wg, kstep): one per supplying lane (4 warps x 8 groups x 2) = 64 words
constexpr int kMetaWordsPerStep = 64;
constexpr int kMetaStageBytes = kConsumerWgs * kKSteps * kMetaWordsPerStep * 4;  // 1024
// B stage: kBN tokens x kBK k, one 128-byte row per token, 128B-swizzled (see the top)
constexpr int kBRowBytes = kBK * 2;                     // 128
constexpr int kBSbo = 8 * kBRowBytes;                   // 1024: one swizzle atom of 8 rows
constexpr int kBStageBytes = kBN * kBRowBytes;          // 16384
constexpr uint32_t kSwizzle128 = 1;                     // descriptor layout type (bits 62-63): 128-byte swizzle
static_assert(kAStageBytes % 1024 == 0, "the B stages follow the A stages and must stay 1024-aligned (swizzle atoms)");

SY_HD int ceil_div(int a, int b) { return (a + b - 1) / b; }

// Byte offset of compressed element (row, kc) (row < 64, kc < 16) inside one 2048-byte A step block.
SY_HD int a_step_offset(int row, int kc) { return (kc >> 3) * kALbo + (row >> 3) * kASbo + (row & 7) * 16 + (kc & 7) * 2; }
// The 128-byte swizzle: bits [4,7) of a byte offset XOR bits [7,10) (offsets from a 1024-aligned base).
SY_HD uint32_t swizzle128(uint32_t off) { return off ^ (((off >> 7) & 7u) << 4); }
// Byte offset of token n's row, and of its 16-byte chunk c (c < kBK/8), inside a B stage.
SY_HD int b_row_offset(int n) { return n * kBRowBytes; }
SY_HD int b_stage_offset(int n, int c) { return (int)swizzle128((uint32_t)(b_row_offset(n) + c * 16)); }
// Index of the metadata word supplied by thread t (0..127) of a warpgroup (lanes 2,3 reuse lanes 0,1's word).
SY_HD int meta_word_index(int t) { return (t >> 5) * 16 + ((t & 31) >> 2) * 2 + (t & 1); }

// Shared-memory matrix descriptor: 14-bit fields in units of 16 bytes, layout type in bits 62-63 (0: no swizzle).
SY_HD uint64_t make_desc(uint32_t smem_addr, uint32_t lbo_bytes, uint32_t sbo_bytes, uint32_t layout = 0) {
  return (uint64_t)((smem_addr & 0x3FFFF) >> 4) | ((uint64_t)((lbo_bytes & 0x3FFFF) >> 4) << 16) |
         ((uint64_t)((sbo_bytes & 0x3FFFF) >> 4) << 32) | ((uint64_t)layout << 62);
}
// Descriptor of k32 step js (0, 1) of the B stage at stage_addr (1024-aligned).
SY_HD uint64_t make_b_desc(uint32_t stage_addr, int js) { return make_desc(stage_addr + js * 64, 16, kBSbo, kSwizzle128); }
// Decoded descriptor, used by the emulator to find elements exactly as the hardware would.
struct Desc { uint32_t start, lbo, sbo, layout; };
SY_HD Desc decode_desc(uint64_t d) {
  return Desc{(uint32_t)(d & 0x3FFF) << 4, (uint32_t)((d >> 16) & 0x3FFF) << 4, (uint32_t)((d >> 32) & 0x3FFF) << 4,
              (uint32_t)(d >> 62)};
}
// Address of element (row, col) of a K-major 16-bit operand described by desc (col along K, in elements): no swizzle
// (core matrices of 8 rows x 16 bytes), or the 128B swizzle (8 rows of 128 bytes per atom, then the XOR).
SY_HD uint32_t desc_element_addr(const Desc& d, int row, int col) {
  if (d.layout == kSwizzle128) return swizzle128(d.start + (uint32_t)(row >> 3) * d.sbo + (uint32_t)(row & 7) * 128 + (uint32_t)col * 2);
  return d.start + (uint32_t)(col >> 3) * d.lbo + (uint32_t)(row >> 3) * d.sbo + (uint32_t)(row & 7) * 16 + (uint32_t)(col & 7) * 2;
}
// 2-bit positions of the wgmma.sp metadata nibble for group q of A row r (r < 64) in k32 step, from the
// register of the supplying thread: returns the nibble.
SY_HD uint32_t meta_nibble(uint32_t word, int row, int q) { return (word >> (16 * ((row >> 3) & 1) + 4 * (q & 3))) & 0xF; }
// Supplying thread (warpgroup-relative, lane%4 in {0,1}) for A row r, group q (0..7) of a k32 step.
SY_HD int meta_thread(int row, int q) { return (row >> 4) * 32 + (row & 7) * 4 + (q >> 2); }
// D fragment: row (0..63) and column of accumulator register i (0..N/2-1) of thread t.
SY_HD int d_row(int t, int i) { return (t >> 5) * 16 + ((t & 31) >> 2) + ((i >> 1) & 1) * 8; }
SY_HD int d_col(int t, int i) { return (i >> 2) * 8 + (t & 3) * 2 + (i & 1); }

// Packed sizes for a weight with c_rows condensed rows and k columns.
SY_HD uint64_t packed_value_bytes(int c_rows, int k) {
  return (uint64_t)ceil_div(c_rows, kRowsPerCta) * ceil_div(k, kBK) * kAStageBytes;
}
SY_HD uint64_t packed_meta_bytes(int c_rows, int k) {
  return (uint64_t)ceil_div(c_rows, kRowsPerCta) * ceil_div(k, kBK) * kMetaStageBytes;
}
// Byte offset of the (cta row tile, stage) block in the packed arrays.
SY_HD uint64_t packed_value_block(int tile, int stage, int k) { return ((uint64_t)tile * ceil_div(k, kBK) + stage) * kAStageBytes; }
SY_HD uint64_t packed_meta_block(int tile, int stage, int k) { return ((uint64_t)tile * ceil_div(k, kBK) + stage) * kMetaStageBytes; }
}  // namespace wg
}  // namespace sy

namespace sy {
namespace wg {
// k32 steps of a weight with k columns (whole 64-wide stages), the k-vector a step belongs to, and whether the
// step closes its k-vector (the point where the kernel routes the finished partial product into a row's set).
SY_HD int num_ksteps(int k) { return ceil_div(k, kBK) * kKSteps; }
SY_HD int kvec_of_step(int gk, int V, int nv) { int v = gk * 32 / V; return v < nv ? v : nv - 1; }
SY_HD bool step_ends_kvec(int gk, int V, int nsteps) { return ((gk + 1) * 32) % V == 0 || gk == nsteps - 1; }
// Epilogue: 0 none, 1 SiLU, 2 multiply by the token's row_scale.
SY_HD float apply_epilogue(float v, int epilogue, const float* row_scale, int token) {
  if (epilogue == 1) return v / (1.f + expf(-v));
  if (epilogue == 2) return v * row_scale[token];
  return v;
}
}  // namespace wg
}  // namespace sy
