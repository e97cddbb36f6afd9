// Samoyeds weight format on the host: sizes, encode, decode, validation and the magnitude pruner.
// Compiled into both backend libraries (the arrays are host memory on every backend).
#include "samoyeds_format.h"
#include <algorithm>
#include <cmath>
#include <vector>
#include "check.h"
#include "half.h"

namespace sy {
sy_status check_samoyeds_params(const char* fn, int m, int k, int V, int N, int M) {
  if (V != 32 && V != 64 && V != 128)
    return fail(SY_ERR_INVALID, "%s: vector length V must be 32, 64 or 128, got %d", fn, V);
  if (!((N == 1 && M == 2) || (N == 2 && M == 4) || (N == 1 && M == 4)))
    return fail(SY_ERR_INVALID, "%s: row selection N:M must be 1:2, 2:4 or 1:4, got %d:%d", fn, N, M);
  if (m <= 0 || k <= 0) return fail(SY_ERR_INVALID, "%s: need m > 0 and k > 0, got m=%d k=%d", fn, m, k);
  if (m % M != 0)
    return fail(SY_ERR_INVALID, "%s: m=%d is not a multiple of the row group M=%d (pad the weight with zero rows to a multiple of %d)", fn, m, M, M);
  if (k % V != 0)
    return fail(SY_ERR_INVALID, "%s: k=%d is not a multiple of the vector length V=%d (pad k with zero columns to a multiple of %d; this also keeps 2:4 groups and 32-wide k-tiles whole)", fn, k, V, V);
  return SY_OK;
}
sy_status check_samoyeds_dtype(const char* fn, int dtype) {
  if (!is_half(dtype)) return fail(SY_ERR_INVALID, "%s: weight dtype must be f16 (0) or bf16 (1), got %d", fn, dtype);
  return SY_OK;
}
sy_status check_samoyeds_arrays(const char* fn, const SamoyedsShape& s, const uint8_t* indices, const uint32_t* meta) {
  const int64_t C = s.c_rows(), KV = s.k_vectors();
  for (int64_t G = 0; G < C / s.N; G++)
    for (int64_t v = 0; v < KV; v++) {
      int prev = -1;
      for (int64_t i = 0; i < s.N; i++) {
        int idx = indices[(G * s.N + i) * KV + v];
        if (idx >= s.M || idx <= prev)
          return fail(SY_ERR_INVALID, "%s: indices[%lld][%lld] = %d is invalid: must be < M=%lld and ascending/distinct within its row group",
                      fn, (long long)(G * s.N + i), (long long)v, idx, (long long)s.M);
        prev = idx;
      }
    }
  for (int64_t c = 0; c < C; c++)
    for (int64_t grp = 0; grp < s.k / 4; grp++) {
      samoyeds::MetaPos p = samoyeds::meta_pos(c, grp, s.k);
      uint32_t nib = (meta[p.word] >> p.shift) & 0xF;
      if (!samoyeds::valid_ordered_nibble(nib))
        return fail(SY_ERR_INVALID, "%s: metadata of condensed row %lld, k columns %lld..%lld is 0x%x: not an ordered 2:4 pair (first < second)",
                    fn, (long long)c, (long long)grp * 4, (long long)grp * 4 + 3, nib);
    }
  return SY_OK;
}
}  // namespace sy

namespace {
using sy::SamoyedsShape;
SamoyedsShape shape_of(int m, int k, int V, int N, int M) { return SamoyedsShape{m, k, V, N, M}; }
}  // namespace

SY_API sy_status sy_samoyeds_sizes(int32_t m, int32_t k, int32_t V, int32_t N, int32_t M, uint64_t* bytes_out) {
  const char* fn = "sy_samoyeds_sizes";
  if (sy_status st = sy::check_samoyeds_params(fn, m, k, V, N, M)) return st;
  SY_CHECK(bytes_out, "sy_samoyeds_sizes", "bytes_out is null (needs 3 uint64)");
  SamoyedsShape s = shape_of(m, k, V, N, M);
  bytes_out[0] = s.value_bytes();
  bytes_out[1] = s.index_bytes();
  bytes_out[2] = s.meta_bytes();
  return SY_OK;
}

SY_API sy_status sy_samoyeds_encode(int32_t dtype, int32_t m, int32_t k, int32_t V, int32_t N, int32_t M, const void* Wv,
                                    void* values_v, void* indices_v, void* meta_v) {
  const char* fn = "sy_samoyeds_encode";
  if (sy_status st = sy::check_samoyeds_dtype(fn, dtype)) return st;
  if (sy_status st = sy::check_samoyeds_params(fn, m, k, V, N, M)) return st;
  SY_CHECK(Wv && values_v && indices_v && meta_v, "sy_samoyeds_encode", "null pointer (W, values, indices and meta are host buffers)");
  const uint16_t* W = (const uint16_t*)Wv;
  uint16_t* values = (uint16_t*)values_v;
  uint8_t* indices = (uint8_t*)indices_v;
  uint32_t* meta = (uint32_t*)meta_v;
  SamoyedsShape s = shape_of(m, k, V, N, M);
  const int64_t KV = s.k_vectors(), C = s.c_rows(), groups = m / M;
  // A 16-bit word is zero when its value is +0 or -0 (both formats keep the sign in bit 15).
  auto nz = [&](int64_t r, int64_t c) { return (W[r * k + c] & 0x7fff) != 0; };
  std::fill(meta, meta + sy::samoyeds::meta_words(C, k), sy::samoyeds::kPadWord);
  for (int64_t G = 0; G < groups; G++) {
    for (int64_t v = 0; v < KV; v++) {
      // rows of the group with any non-zero in this k-vector
      int kept[4], n_kept = 0;
      for (int i = 0; i < M; i++) {
        int64_t r = G * M + i;
        for (int64_t c = v * V; c < (v + 1) * V; c++)
          if (nz(r, c)) {
            if (n_kept == N) {
              // first offending element: the first non-zero of this, the (N+1)-th non-zero row
              return sy::fail(SY_ERR_PATTERN,
                              "%s: weight is not in the %d:%d x 2:4 pattern (V=%d): row group %lld (rows %lld..%lld), k-vector %lld (cols %lld..%lld) has more than N=%d non-zero row-vectors; first offending element row %lld col %lld",
                              fn, N, M, V, (long long)G, (long long)(G * M), (long long)(G * M + M - 1), (long long)v,
                              (long long)(v * V), (long long)((v + 1) * V - 1), N, (long long)r, (long long)c);
            }
            kept[n_kept++] = i;
            break;
          }
      }
      // fill up with the lowest unused rows (all-zero vectors), keep ascending
      for (int i = 0; i < M && n_kept < N; i++) {
        bool used = false;
        for (int j = 0; j < n_kept; j++) used |= kept[j] == i;
        if (!used) kept[n_kept++] = i;
      }
      std::sort(kept, kept + N);
      for (int i = 0; i < N; i++) {
        int64_t c_row = G * N + i, r = G * M + kept[i];
        indices[c_row * KV + v] = (uint8_t)kept[i];
        for (int64_t grp = v * V / 4; grp < (v + 1) * V / 4; grp++) {
          int pos[2], n_pos = 0;
          for (int p = 0; p < 4; p++)
            if (nz(r, grp * 4 + p)) {
              if (n_pos == 2)
                return sy::fail(SY_ERR_PATTERN,
                                "%s: weight is not 2:4 along k: row %lld, cols %lld..%lld has more than 2 non-zeros; first offending element row %lld col %lld",
                                fn, (long long)r, (long long)grp * 4, (long long)grp * 4 + 3, (long long)r, (long long)(grp * 4 + p));
              pos[n_pos++] = p;
            }
          // pad to two distinct ascending positions (the hardware rejects equal positions)
          if (n_pos == 0) { pos[0] = 0; pos[1] = 1; }
          else if (n_pos == 1) {
            if (pos[0] == 3) { pos[1] = 3; pos[0] = 2; }
            else pos[1] = pos[0] + 1;
          }
          values[c_row * (k / 2) + grp * 2 + 0] = W[r * k + grp * 4 + pos[0]];
          values[c_row * (k / 2) + grp * 2 + 1] = W[r * k + grp * 4 + pos[1]];
          sy::samoyeds::MetaPos mp = sy::samoyeds::meta_pos(c_row, grp, k);
          uint32_t nib = (uint32_t)pos[0] | ((uint32_t)pos[1] << 2);
          meta[mp.word] = (meta[mp.word] & ~(0xFu << mp.shift)) | (nib << mp.shift);
        }
      }
    }
  }
  return SY_OK;
}

SY_API sy_status sy_samoyeds_decode(int32_t dtype, int32_t m, int32_t k, int32_t V, int32_t N, int32_t M, const void* values_v,
                                    const void* indices_v, const void* meta_v, void* Wout_v) {
  const char* fn = "sy_samoyeds_decode";
  if (sy_status st = sy::check_samoyeds_dtype(fn, dtype)) return st;
  if (sy_status st = sy::check_samoyeds_params(fn, m, k, V, N, M)) return st;
  SY_CHECK(values_v && indices_v && meta_v && Wout_v, "sy_samoyeds_decode", "null pointer (values, indices, meta and W_out are host buffers)");
  const uint16_t* values = (const uint16_t*)values_v;
  const uint8_t* indices = (const uint8_t*)indices_v;
  const uint32_t* meta = (const uint32_t*)meta_v;
  uint16_t* W = (uint16_t*)Wout_v;
  SamoyedsShape s = shape_of(m, k, V, N, M);
  if (sy_status st = sy::check_samoyeds_arrays(fn, s, indices, meta)) return st;
  const int64_t KV = s.k_vectors(), C = s.c_rows();
  std::fill(W, W + (int64_t)m * k, (uint16_t)0);
  for (int64_t c = 0; c < C; c++) {
    int64_t G = c / N;
    for (int64_t v = 0; v < KV; v++) {
      int64_t r = G * M + indices[c * KV + v];
      for (int64_t grp = v * V / 4; grp < (v + 1) * V / 4; grp++) {
        sy::samoyeds::MetaPos mp = sy::samoyeds::meta_pos(c, grp, k);
        uint32_t nib = (meta[mp.word] >> mp.shift) & 0xF;
        W[r * k + grp * 4 + (nib & 3)] = values[c * (k / 2) + grp * 2];
        W[r * k + grp * 4 + (nib >> 2)] = values[c * (k / 2) + grp * 2 + 1];
      }
    }
  }
  return SY_OK;
}

SY_API sy_status sy_samoyeds_prune(int32_t dtype, int32_t m, int32_t k, int32_t V, int32_t N, int32_t M, const void* Wv,
                                   void* Wp_v, double* kept_energy_out) {
  const char* fn = "sy_samoyeds_prune";
  if (sy_status st = sy::check_samoyeds_dtype(fn, dtype)) return st;
  if (sy_status st = sy::check_samoyeds_params(fn, m, k, V, N, M)) return st;
  SY_CHECK(Wv && Wp_v, "sy_samoyeds_prune", "null pointer (W and W_pruned are host buffers)");
  const uint16_t* W = (const uint16_t*)Wv;
  uint16_t* P = (uint16_t*)Wp_v;
  std::vector<uint16_t> out((size_t)m * k, 0);  // separate buffer: W_pruned may alias W
  // row groups in parallel (the CPU build has OpenMP); each group's energies are summed in a fixed order and the
  // groups' sums added in group order, so the kept fraction does not depend on the thread count
  const int64_t KV = k / V, groups = m / M;
  std::vector<double> group_total(groups, 0.0), group_kept(groups, 0.0);
#pragma omp parallel for schedule(static)
  for (int64_t G = 0; G < groups; G++) {
    double total = 0, kept_e = 0;
    for (int64_t i = G * M * (int64_t)k; i < (G + 1) * M * (int64_t)k; i++) {
      double x = sy::half_to_f32(W[i], dtype);
      if (std::isfinite(x)) total += x * x;
    }
    for (int64_t v = 0; v < KV; v++) {
      double norm[4];
      int order[4];
      for (int i = 0; i < M; i++) {
        double e = 0;
        for (int64_t c = v * V; c < (v + 1) * V; c++) {
          double x = sy::half_to_f32(W[(G * M + i) * k + c], dtype);
          e += x * x;
        }
        norm[i] = e;
        order[i] = i;
      }
      // rows by descending norm, ties in row order (a stable insertion sort of at most 4)
      for (int i = 1; i < M; i++)
        for (int j = i; j > 0 && norm[order[j]] > norm[order[j - 1]]; j--) std::swap(order[j], order[j - 1]);
      for (int n = 0; n < N; n++) {
        int64_t r = G * M + order[n];
        for (int64_t grp = v * V / 4; grp < (v + 1) * V / 4; grp++) {
          float mag[4];
          for (int q = 0; q < 4; q++) mag[q] = std::fabs(sy::half_to_f32(W[r * k + grp * 4 + q], dtype));
          // the two largest magnitudes, the lower position first on ties (what a stable sort would keep)
          int first = 0;
          for (int q = 1; q < 4; q++) if (mag[q] > mag[first]) first = q;
          int second = first == 0 ? 1 : 0;
          for (int q = 0; q < 4; q++) if (q != first && mag[q] > mag[second]) second = q;
          for (int q : {first, second}) {
            int64_t idx = r * k + grp * 4 + q;
            out[idx] = W[idx];
            double x = sy::half_to_f32(W[idx], dtype);
            if (std::isfinite(x)) kept_e += x * x;
          }
        }
      }
    }
    group_total[G] = total, group_kept[G] = kept_e;
  }
  double total = 0, kept_e = 0;
  for (int64_t G = 0; G < groups; G++) total += group_total[G], kept_e += group_kept[G];
  std::copy(out.begin(), out.end(), P);
  if (kept_energy_out) *kept_energy_out = total > 0 ? kept_e / total : 1.0;
  return SY_OK;
}
