// Offline packing of a Samoyeds weight for the Hopper wgmma.sp SSMM path (issue 5). Host code, in both backends.
// Output: values in tile order (each (128-row tile, 64-k stage) block is the byte image of the kernel's shared
// memory A stage, so a stage loads with contiguous 16-byte copies) and wgmma.sp metadata words (one per supplying
// thread and k32 step). See wgmma_layout.h for the layout rules.
#include <cstring>
#include <vector>
#include "check.h"
#include "half.h"
#include "wgmma_layout.h"

// The format engineer's decoder (native/src/common/samoyeds_*); weak so this file links before/without it.
extern "C" sy_status sy_samoyeds_decode(int32_t dtype, int32_t m, int32_t k, int32_t V, int32_t N, int32_t M,
                                        const void* values, const void* indices, const void* meta, void* W_out)
    __attribute__((weak));

namespace sy {
namespace wg {
sy_status check_wgmma_shape(const char* fn, int m, int k, int V, int N, int M) {
  if (N != 1 || M != 2)
    return fail(SY_ERR_UNSUPPORTED, "%s: the wgmma.sp path implements the paper's 1:2 row selection only (N=1, M=2); got N=%d M=%d", fn, N, M);
  if (V != 32 && V != 64 && V != 128) return fail(SY_ERR_INVALID, "%s: V must be 32, 64 or 128, got %d", fn, V);
  if (m <= 0 || m % M != 0) return fail(SY_ERR_INVALID, "%s: m must be a positive multiple of M=%d, got %d", fn, M, m);
  if (k <= 0) return fail(SY_ERR_INVALID, "%s: k must be positive, got %d", fn, k);
  if (k % 8 != 0)
    return fail(SY_ERR_UNSUPPORTED, "%s: the wgmma.sp path needs k %% 8 == 0 (16-byte token rows), got k=%d", fn, k);
  return SY_OK;
}
}  // namespace wg
}  // namespace sy

using namespace sy;
using namespace sy::wg;

SY_API sy_status sy_samoyeds_wgmma_sizes(int32_t m, int32_t k, int32_t V, int32_t N, int32_t M, uint64_t* bytes_out) {
  sy_status st = check_wgmma_shape("sy_samoyeds_wgmma_sizes", m, k, V, N, M);
  if (st) return st;
  SY_CHECK(bytes_out, "sy_samoyeds_wgmma_sizes", "bytes_out is null");
  bytes_out[0] = packed_value_bytes(m / 2, k);
  bytes_out[1] = packed_meta_bytes(m / 2, k);
  return SY_OK;
}

// From the decoded dense weight W (m x k) and the format's indices ((m/2) x ceil(k/V) uint8: which row of each
// pair is kept per k-vector). W must be in the pattern: zero in the dropped row, at most 2 non-zeros per 4.
SY_API sy_status sy_samoyeds_wgmma_pack_dense(int32_t dtype, int32_t m, int32_t k, int32_t V, int32_t N, int32_t M,
                                              const void* W, const void* indices, void* wvalues, void* wmeta) {
  const char* fn = "sy_samoyeds_wgmma_pack_dense";
  sy_status st = check_wgmma_shape(fn, m, k, V, N, M);
  if (st) return st;
  SY_CHECK(is_half(dtype), "sy_samoyeds_wgmma_pack_dense", "dtype must be f16 (0) or bf16 (1), got %d", dtype);
  SY_CHECK(W && indices && wvalues && wmeta, "sy_samoyeds_wgmma_pack_dense", "null pointer argument");
  const uint16_t* w = (const uint16_t*)W;
  const uint8_t* idx = (const uint8_t*)indices;
  uint8_t* vals = (uint8_t*)wvalues;
  uint32_t* meta = (uint32_t*)wmeta;
  const int mc = m / 2, nv = ceil_div(k, V), groups = ceil_div(k, 4);
  memset(vals, 0, packed_value_bytes(mc, k));
  // padding groups get positions (0,1): a valid code, multiplied by zero values
  const uint64_t meta_words = packed_meta_bytes(mc, k) / 4;
  for (uint64_t i = 0; i < meta_words; i++) meta[i] = 0x44444444u;
  for (int c = 0; c < mc; c++) {
    const int tile = c / kRowsPerCta, wgi = (c % kRowsPerCta) / kRowsPerWg, row = c % kRowsPerWg;
    for (int q = 0; q < groups; q++) {
      const int v = 4 * q / V;
      const int s = idx[(size_t)c * nv + v];
      if (s >= M) return fail(SY_ERR_INVALID, "%s: indices[%d][%d] = %d, must be < M=%d", fn, c, v, s, M);
      const uint16_t* kept = w + (size_t)(2 * c + s) * k;
      const uint16_t* dropped = w + (size_t)(2 * c + 1 - s) * k;
      int nz[4], n_nz = 0;
      for (int e = 0; e < 4; e++) {
        const int col = 4 * q + e;
        if (col >= k) break;
        if ((dropped[col] & 0x7fff) != 0)
          return fail(SY_ERR_PATTERN, "%s: W[%d][%d] is non-zero but row %d is not kept in k-vector %d (indices say row %d)",
                      fn, 2 * c + 1 - s, col, 2 * c + 1 - s, v, 2 * c + s);
        if ((kept[col] & 0x7fff) != 0) {
          if (n_nz == 2)
            return fail(SY_ERR_PATTERN, "%s: row %d has more than 2 non-zeros in columns %d..%d (2:4 violated)", fn, 2 * c + s, 4 * q, 4 * q + 3);
          nz[n_nz++] = e;
        }
      }
      // complete to two distinct ascending positions; the filler holds a zero value
      int p0, p1;
      if (n_nz == 2) p0 = nz[0], p1 = nz[1];
      else if (n_nz == 1) { if (nz[0] == 3) p0 = 2, p1 = 3; else p0 = nz[0], p1 = nz[0] + 1; }
      else p0 = 0, p1 = 1;
      const int stage = 4 * q / kBK, kstep = (4 * q % kBK) / 32, qq = (4 * q % 32) / 4;
      uint8_t* blk = vals + packed_value_block(tile, stage, k) + (wgi * kKSteps + kstep) * kAStepBytes;
      const uint16_t v0 = 4 * q + p0 < k ? kept[4 * q + p0] : 0, v1 = 4 * q + p1 < k ? kept[4 * q + p1] : 0;
      memcpy(blk + a_step_offset(row, 2 * qq), &v0, 2);
      memcpy(blk + a_step_offset(row, 2 * qq + 1), &v1, 2);
      uint32_t* words = meta + packed_meta_block(tile, stage, k) / 4 + (wgi * kKSteps + kstep) * kMetaWordsPerStep;
      uint32_t& word = words[meta_word_index(meta_thread(row, qq))];
      const int shift = 16 * ((row >> 3) & 1) + 4 * (qq & 3);
      word = (word & ~(0xFu << shift)) | ((uint32_t)(p0 | (p1 << 2)) << shift);
    }
  }
  return SY_OK;
}

// From the format's canonical arrays (values, indices, meta of sy_samoyeds_encode) through its decoder.
SY_API sy_status sy_samoyeds_wgmma_pack(int32_t dtype, int32_t m, int32_t k, int32_t V, int32_t N, int32_t M,
                                        const void* values, const void* indices, const void* meta, void* wvalues,
                                        void* wmeta) {
  const char* fn = "sy_samoyeds_wgmma_pack";
  sy_status st = check_wgmma_shape(fn, m, k, V, N, M);
  if (st) return st;
  if (!sy_samoyeds_decode)
    return fail(SY_ERR_UNSUPPORTED, "%s: this library was built without sy_samoyeds_decode (the Samoyeds format code)", fn);
  SY_CHECK(values && indices && meta && wvalues && wmeta, "sy_samoyeds_wgmma_pack", "null pointer argument");
  std::vector<uint16_t> W((size_t)m * k);
  if ((st = sy_samoyeds_decode(dtype, m, k, V, N, M, values, indices, meta, W.data()))) return st;
  return sy_samoyeds_wgmma_pack_dense(dtype, m, k, V, N, M, W.data(), indices, wvalues, wmeta);
}
