// CPU backend of the baselines section: V:2:8 SpMM reference (an emulation of the CUDA kernel's mma.sp data path:
// per-lane A registers and metadata words, exactly as the kernel loads them), token gather, cuSPARSELt stubs.
#include <cstring>
#include <vector>
#include "check.h"
#include "half.h"
#include "vnm_format.h"

using namespace sy;

// Y (n x m token-major) = X (n x k) * W^T, W in the V:2:8 format. For each (k-step s, 16-row block rb) it walks the
// 32 lanes' fragment registers; each A element's k position comes from its lane-supplying metadata nibble and the
// cell's colmask, as the hardware (and the kernel's B condensation) would resolve it.
SY_API sy_status sy_vnm_spmm(int32_t dtype, int32_t m, int32_t k, int32_t V, const void* values_v, const void* meta_v,
                             const void* colmask_v, const void* Xv, int32_t n, void* Yv, int32_t y_dtype) {
  const char* fn = "sy_vnm_spmm";
  if (sy_status st = vnm::check_spmm(fn, dtype, m, k, V, values_v, meta_v, colmask_v, Xv, n, Yv, y_dtype)) return st;
  if (n == 0) return SY_OK;
  const uint16_t* values = (const uint16_t*)values_v;
  const uint32_t* meta = (const uint32_t*)meta_v;
  const uint8_t* colmask = (const uint8_t*)colmask_v;
  const uint16_t* X = (const uint16_t*)Xv;
  const int64_t KB = k / 8, RB = vnm::row_blocks16(m), KS = vnm::ksteps(k);
  // Decode each (row, k) weight element once via the fragment path into (row, dense col, value) triples.
  struct Entry { int32_t col; float w; };
  std::vector<std::vector<Entry>> rows(m);
  for (int64_t s = 0; s < KS; s++)
    for (int64_t rb = 0; rb < RB; rb++) {
      const int64_t blk = vnm::block_index(s, rb, m);
      for (int lane = 0; lane < 32; lane++) {
        const int g = lane >> 2, t = lane & 3;
        for (int reg = 0; reg < 4; reg++)
          for (int h = 0; h < 2; h++) {
            const int64_t r = rb * 16 + g + 8 * (reg & 1);
            const int q = t + 4 * (reg >> 1);  // group (column block within the k-step)
            const int64_t cb = s * 8 + q;
            if (r >= m || cb >= KB) continue;  // padding
            // metadata of (row g + 8hi, group q) comes from lane 4g + (q >> 2), bits 16hi + 4(q & 3)
            const uint32_t word = meta[blk * vnm::kBlockWords + vnm::meta_word_of_lane(4 * g + (q >> 2))];
            const uint32_t nib = (word >> (16 * (reg & 1) + 4 * (q & 3))) & 0xF;
            const int slot = h == 0 ? (nib & 3) : (nib >> 2);
            const uint32_t mask = colmask[(r / V) * KB + cb];
            if (vnm::popcount8(mask) != 4)
              return fail(SY_ERR_PATTERN, "%s: colmask 0x%02x (rows %lld.., column block %lld) needs exactly 4 bits set", fn, mask,
                          (long long)(r / V * V), (long long)cb);
            const uint16_t v = values[blk * vnm::kBlockHalves + lane * 8 + reg * 2 + h];
            rows[r].push_back({(int32_t)(cb * 8 + vnm::mask_slot_col(mask, slot)), half_to_f32(v, dtype)});
          }
      }
    }
  std::vector<float> x((size_t)n * k);
  for (size_t i = 0; i < x.size(); i++) x[i] = half_to_f32(X[i], dtype);
#pragma omp parallel for schedule(static)
  for (int32_t tok = 0; tok < n; tok++) {
    const float* xr = &x[(size_t)tok * k];
    for (int64_t r = 0; r < m; r++) {
      float acc = 0.f;
      for (const Entry& e : rows[r]) acc += e.w * xr[e.col];
      const size_t o = (size_t)tok * m + r;
      if (y_dtype == SY_F32) ((float*)Yv)[o] = acc;
      else ((uint16_t*)Yv)[o] = f32_to_half(acc, dtype);
    }
  }
  return SY_OK;
}

SY_API sy_status sy_gather_rows(int32_t dtype, int32_t n, int32_t width, const void* X, int32_t x_rows, const int32_t* idx,
                                void* Xg) {
  const char* fn = "sy_gather_rows";
  if (sy_status st = vnm::check_gather(fn, dtype, n, width, X, x_rows, idx, Xg)) return st;
  const size_t row_bytes = (size_t)width * (dtype == SY_F32 ? 4 : 2);
  for (int32_t j = 0; j < n; j++)
    if (idx[j] < 0 || idx[j] >= x_rows)
      return fail(SY_ERR_INVALID, "%s: idx[%d] = %d is out of range [0, %d)", fn, j, idx[j], x_rows);
  for (int32_t j = 0; j < n; j++) memcpy((char*)Xg + j * row_bytes, (const char*)X + (size_t)idx[j] * row_bytes, row_bytes);
  return SY_OK;
}

// cuSPARSELt exists only on the GPU.
struct sy_splt;
SY_API sy_status sy_splt_create(int32_t, int32_t, int32_t, int32_t, const void*, int32_t, void*, sy_splt**) {
  return fail(SY_ERR_UNSUPPORTED, "sy_splt_create: cuSPARSELt is a CUDA-only baseline; use the cuda backend");
}
SY_API sy_status sy_splt_matmul(sy_splt*, const void*, void*) {
  return fail(SY_ERR_UNSUPPORTED, "sy_splt_matmul: cuSPARSELt is a CUDA-only baseline; use the cuda backend");
}
SY_API sy_status sy_splt_destroy(sy_splt*) {
  return fail(SY_ERR_UNSUPPORTED, "sy_splt_destroy: cuSPARSELt is a CUDA-only baseline; use the cuda backend");
}
SY_API sy_status sy_splt_info(sy_splt*, char*, int32_t) {
  return fail(SY_ERR_UNSUPPORTED, "sy_splt_info: cuSPARSELt is a CUDA-only baseline; use the cuda backend");
}
