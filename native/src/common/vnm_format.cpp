// VENOM-style V:2:8 baseline format on the host: sizes, encode, decode, magnitude pruner (both backends).
#include "vnm_format.h"
#include <cmath>
#include <cstring>
#include <vector>
#include "check.h"
#include "half.h"

namespace sy {
namespace vnm {
sy_status check_shape(const char* fn, int32_t m, int32_t k, int32_t V) {
  if (V != 64 && V != 128) return fail(SY_ERR_INVALID, "%s: V (rows per column-selection block) must be 64 or 128, got %d", fn, V);
  if (m <= 0) return fail(SY_ERR_INVALID, "%s: m must be > 0, got %d", fn, m);
  if (k <= 0 || k % kColsPerBlock != 0)
    return fail(SY_ERR_INVALID, "%s: k must be a positive multiple of 8 (the V:2:8 column block), got %d", fn, k);
  return SY_OK;
}
Sizes sizes(int64_t m, int64_t k, int64_t V) {
  const int64_t blocks = row_blocks16(m) * ksteps(k);
  return {(uint64_t)(blocks * kBlockHalves * 2), (uint64_t)(blocks * kBlockWords * 4), (uint64_t)(cdiv(m, V) * (k / 8))};
}
}  // namespace vnm
}  // namespace sy

using namespace sy;

SY_API sy_status sy_vnm_sizes(int32_t m, int32_t k, int32_t V, uint64_t* bytes_out) {
  if (sy_status st = vnm::check_shape("sy_vnm_sizes", m, k, V)) return st;
  SY_CHECK(bytes_out, "sy_vnm_sizes", "bytes_out is null");
  vnm::Sizes s = vnm::sizes(m, k, V);
  bytes_out[0] = s.values;
  bytes_out[1] = s.meta;
  bytes_out[2] = s.colmask;
  return SY_OK;
}

SY_API sy_status sy_vnm_encode(int32_t dtype, int32_t m, int32_t k, int32_t V, const void* Wv, void* values_v,
                               void* meta_v, void* colmask_v) {
  const char* fn = "sy_vnm_encode";
  if (sy_status st = vnm::check_shape(fn, m, k, V)) return st;
  if (!is_half(dtype)) return fail(SY_ERR_INVALID, "%s: dtype must be f16 (0) or bf16 (1), got %d", fn, dtype);
  if (!(Wv && values_v && meta_v && colmask_v)) return fail(SY_ERR_INVALID, "%s: null pointer argument", fn);
  const uint16_t* W = (const uint16_t*)Wv;
  uint16_t* values = (uint16_t*)values_v;
  uint32_t* meta = (uint32_t*)meta_v;
  uint8_t* colmask = (uint8_t*)colmask_v;
  const vnm::Sizes sz = vnm::sizes(m, k, V);
  memset(values, 0, sz.values);
  for (uint64_t i = 0; i < sz.meta / 4; i++) meta[i] = vnm::kPadWord;
  const int64_t KB = k / 8, nV = vnm::cdiv(m, V);
  auto nonzero = [&](int64_t r, int64_t c) { return (W[r * k + c] & 0x7fff) != 0; };  // +0 and -0 are zeros
  for (int64_t vb = 0; vb < nV; vb++) {
    const int64_t r0 = vb * V, r1 = std::min<int64_t>(m, r0 + V);
    for (int64_t cb = 0; cb < KB; cb++) {
      uint32_t used = 0;
      for (int64_t r = r0; r < r1; r++)
        for (int c = 0; c < 8; c++)
          if (nonzero(r, cb * 8 + c)) used |= 1u << c;
      if (vnm::popcount8(used) > 4)
        return fail(SY_ERR_PATTERN, "%s: rows %lld..%lld, columns %lld..%lld use %d distinct columns; V:2:8 allows 4 per %d-row block (prune with sy_vnm_prune)",
                    fn, (long long)r0, (long long)r1 - 1, (long long)cb * 8, (long long)cb * 8 + 7, vnm::popcount8(used), V);
      for (int c = 0; c < 8 && vnm::popcount8(used) < 4; c++) used |= 1u << c;  // pad with the lowest free columns
      colmask[vb * KB + cb] = (uint8_t)used;
      for (int64_t r = r0; r < r1; r++) {
        int slots[2], ns = 0;
        for (int sl = 0; sl < 4; sl++) {
          if (!nonzero(r, cb * 8 + vnm::mask_slot_col(used, sl))) continue;
          if (ns == 2)
            return fail(SY_ERR_PATTERN, "%s: row %lld has more than 2 non-zeros in columns %lld..%lld (V:2:8 allows 2)", fn,
                        (long long)r, (long long)cb * 8, (long long)cb * 8 + 7);
          slots[ns++] = sl;
        }
        if (ns == 0) { slots[0] = 0; slots[1] = 1; }
        else if (ns == 1) {  // pair it with the lowest other slot, keep ascending order
          int other = slots[0] == 0 ? 1 : 0;
          if (other < slots[0]) { slots[1] = slots[0]; slots[0] = other; } else slots[1] = other;
        }
        int64_t word; int shift;
        vnm::meta_pos(r, cb, m, &word, &shift);
        meta[word] = (meta[word] & ~(0xFu << shift)) | ((uint32_t)(slots[0] | (slots[1] << 2)) << shift);
        for (int e = 0; e < 2; e++)
          values[vnm::value_index(r, cb, e, m)] = W[r * k + cb * 8 + vnm::mask_slot_col(used, slots[e])];
      }
    }
  }
  return SY_OK;
}

SY_API sy_status sy_vnm_decode(int32_t dtype, int32_t m, int32_t k, int32_t V, const void* values_v, const void* meta_v,
                               const void* colmask_v, void* Wv) {
  const char* fn = "sy_vnm_decode";
  if (sy_status st = vnm::check_shape(fn, m, k, V)) return st;
  if (!is_half(dtype)) return fail(SY_ERR_INVALID, "%s: dtype must be f16 (0) or bf16 (1), got %d", fn, dtype);
  if (!(Wv && values_v && meta_v && colmask_v)) return fail(SY_ERR_INVALID, "%s: null pointer argument", fn);
  const uint16_t* values = (const uint16_t*)values_v;
  const uint32_t* meta = (const uint32_t*)meta_v;
  const uint8_t* colmask = (const uint8_t*)colmask_v;
  uint16_t* W = (uint16_t*)Wv;
  memset(W, 0, (size_t)m * k * 2);
  const int64_t KB = k / 8;
  for (int64_t r = 0; r < m; r++)
    for (int64_t cb = 0; cb < KB; cb++) {
      const uint32_t mask = colmask[(r / V) * KB + cb];
      if (vnm::popcount8(mask) != 4)
        return fail(SY_ERR_PATTERN, "%s: colmask of rows %lld.., column block %lld is 0x%02x, needs exactly 4 bits set", fn,
                    (long long)(r / V * V), (long long)cb, mask);
      int64_t word; int shift;
      vnm::meta_pos(r, cb, m, &word, &shift);
      const uint32_t nib = (meta[word] >> shift) & 0xF;
      const int s0 = nib & 3, s1 = nib >> 2;
      if (s0 >= s1) return fail(SY_ERR_PATTERN, "%s: metadata nibble 0x%x of row %lld, column block %lld is not ascending", fn, nib, (long long)r, (long long)cb);
      W[r * k + cb * 8 + vnm::mask_slot_col(mask, s0)] = values[vnm::value_index(r, cb, 0, m)];
      W[r * k + cb * 8 + vnm::mask_slot_col(mask, s1)] = values[vnm::value_index(r, cb, 1, m)];
    }
  return SY_OK;
}

// Magnitude pruner: per (V-row block, 8-column block) keep the 4 columns of largest summed w^2 (ties: lower column),
// then per row the 2 largest |w| of those 4 (ties: lower column).
SY_API sy_status sy_vnm_prune(int32_t dtype, int32_t m, int32_t k, int32_t V, const void* Wv, void* Pv, double* kept_energy_out) {
  const char* fn = "sy_vnm_prune";
  if (sy_status st = vnm::check_shape(fn, m, k, V)) return st;
  if (!is_half(dtype)) return fail(SY_ERR_INVALID, "%s: dtype must be f16 (0) or bf16 (1), got %d", fn, dtype);
  if (!(Wv && Pv)) return fail(SY_ERR_INVALID, "%s: null pointer argument", fn);
  const uint16_t* W = (const uint16_t*)Wv;
  uint16_t* P = (uint16_t*)Pv;
  std::vector<uint16_t> out((size_t)m * k, 0);
  const int64_t KB = k / 8, blocks = (m + V - 1) / V;
  // V-row blocks in parallel (OpenMP in the CPU build); energies per block in a fixed order, blocks added in order
  std::vector<double> block_total(blocks, 0.0), block_kept(blocks, 0.0);
#pragma omp parallel for schedule(static)
  for (int64_t blk = 0; blk < blocks; blk++) {
    const int64_t r0 = blk * V, r1 = std::min<int64_t>(m, r0 + V);
    for (int64_t cb = 0; cb < KB; cb++) {
      double score[8] = {0};
      for (int64_t r = r0; r < r1; r++)
        for (int c = 0; c < 8; c++) {
          double w = half_to_f32(W[r * k + cb * 8 + c], dtype);
          score[c] += w * w;
        }
      uint32_t mask = 0;
      for (int pick = 0; pick < 4; pick++) {
        int best = -1;
        for (int c = 0; c < 8; c++)
          if (!(mask >> c & 1) && (best < 0 || score[c] > score[best])) best = c;
        mask |= 1u << best;
      }
      for (int64_t r = r0; r < r1; r++) {
        int cols[4], a = -1, b = -1;
        for (int s = 0; s < 4; s++) cols[s] = vnm::mask_slot_col(mask, s);
        auto mag = [&](int c) { return std::fabs(half_to_f32(W[r * k + cb * 8 + c], dtype)); };
        for (int s = 0; s < 4; s++) if (a < 0 || mag(cols[s]) > mag(a)) a = cols[s];
        for (int s = 0; s < 4; s++) if (cols[s] != a && (b < 0 || mag(cols[s]) > mag(b))) b = cols[s];
        out[r * k + cb * 8 + a] = W[r * k + cb * 8 + a];
        out[r * k + cb * 8 + b] = W[r * k + cb * 8 + b];
      }
    }
    double total = 0, kept = 0;
    for (int64_t i = r0 * k; i < r1 * k; i++) {
      double w = half_to_f32(W[i], dtype), p = half_to_f32(out[i], dtype);
      total += w * w;
      kept += p * p;
    }
    block_total[blk] = total, block_kept[blk] = kept;
  }
  double total = 0, kept = 0;
  for (int64_t blk = 0; blk < blocks; blk++) total += block_total[blk], kept += block_kept[blk];
  memcpy(P, out.data(), out.size() * 2);
  if (kept_energy_out) *kept_energy_out = total == 0 ? 1.0 : kept / total;
  return SY_OK;
}
