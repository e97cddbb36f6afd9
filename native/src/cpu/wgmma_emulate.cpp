// CPU side of the Hopper wgmma.sp SSMM path (issue 5).
//  * sy_ssmm_wgmma / sy_ssmm_wgmma_grouped / sy_wgmma_peak / sy_ssmm_wgmma_bad_tokens: GPU-only, stubs here.
//  * sy_ssmm_wgmma_emulate: a CPU emulation of the CUDA kernel's data path. It builds each pipeline stage's
//    shared-memory image exactly as the producer warpgroup does (packed A block, metadata block, gathered token
//    rows at b_stage_offset), computes the matrix descriptors with the kernel's code, and evaluates every
//    wgmma.sp by locating each operand element through the descriptor fields and each 2:4 position through the
//    per-thread metadata register layout (wgmma_layout.h). Then it routes the per-k-vector partial products into
//    the two accumulator sets per thread as the kernel does. The variant in effect (wgmma_variants.h) decides the
//    consumers' addressing: N = 128 per wgmma, or two N = 64 halves (schedules 2, 3 with V >= 64: half h reads token
//    rows 64 h.. of the B tile and routes into accumulator indices 32 h + i), and the routing: a temporary per k-vector
//    added into set 0 or 1 (routing 0), or a running sum S and D += (sel_v - sel_v+1) S (routing 1, with
//    sel = 0 past the last k-vector; rows 2c + 1 = D, 2c = S - D). Split-k (wgmma_split.h) as the kernel: the tiles of
//    the plan run their k loop in pieces, each from zero accumulators (routing 1: sel = 0 past the piece's last
//    k-vector), and the pieces' sums are added in piece order starting from zeros; "auto" is planned for a
//    kEmulatedSms-wide wave (the H100's and H200's 132 SMs). Checked against sy_gemm on the decoded weight in
//    tests/wgmma.test.ts, so the packer, the metadata layout, the descriptor math and the routing are tested here
//    even though the GPU itself is not.
#include <cmath>
#include <cstring>
#include <vector>
#include "half.h"
#include "wgmma_check.h"
#include "wgmma_layout.h"
#include "wgmma_split.h"
#include "wgmma_variants.h"

using namespace sy;
using namespace sy::wg;

SY_API sy_status sy_ssmm_wgmma(int32_t, int32_t, int32_t, int32_t, int32_t, int32_t, const void*, const void*, const void*,
                               const void*, int32_t, const int32_t*, int32_t, void*, int32_t, int32_t, int32_t,
                               const float*, int32_t) {
  return fail(SY_ERR_UNSUPPORTED, "sy_ssmm_wgmma: needs an sm_90 GPU (CUDA backend); the CPU backend has sy_ssmm_wgmma_emulate");
}
SY_API sy_status sy_ssmm_wgmma_grouped(int32_t, int32_t, int32_t, int32_t, int32_t, int32_t, int32_t, const void*,
                                       const void*, const void*, const void*, int32_t, const int32_t*, const int32_t*,
                                       int32_t, void*, int32_t, int32_t, const int32_t*, int32_t, int32_t, const float*,
                                       int32_t) {
  return fail(SY_ERR_UNSUPPORTED, "sy_ssmm_wgmma_grouped: needs an sm_90 GPU (CUDA backend); the CPU backend has sy_ssmm_grouped");
}
SY_API sy_status sy_wgmma_peak(int32_t, int32_t, int32_t, float*, double*) {
  return fail(SY_ERR_UNSUPPORTED, "sy_wgmma_peak: needs an sm_90 GPU (CUDA backend)");
}
SY_API sy_status sy_ssmm_wgmma_bad_tokens(int32_t*) {
  return fail(SY_ERR_UNSUPPORTED, "sy_ssmm_wgmma_bad_tokens: CUDA backend only (the CPU backend rejects bad tokens up front)");
}

namespace {
inline float ld_half(const std::vector<uint8_t>& sm, uint32_t addr, int dtype) {
  uint16_t h;
  memcpy(&h, sm.data() + addr, 2);
  return half_to_f32(h, dtype);
}

// One wgmma.sp m64nNk32 (f32 accumulate, N = 2 x regs) of a warpgroup: d[t][i] (+)= A*B, operands found through
// descriptors.
sy_status emulate_wgmma_sp(std::vector<float>& d, int regs, const std::vector<uint8_t>& sm, uint64_t a_desc, uint64_t b_desc,
                           const uint32_t* meta_reg, bool scale_d, int dtype) {
  const Desc ad = decode_desc(a_desc), bd = decode_desc(b_desc);
  if (ad.layout != 0 || (bd.layout != 0 && bd.layout != kSwizzle128))
    return fail(SY_ERR_INTERNAL, "wgmma emulation: only no-swizzle and 128B-swizzle descriptors are modelled");
  for (int t = 0; t < 128; t++) {
    for (int i = 0; i < regs; i++) {
      const int row = d_row(t, i), col = d_col(t, i);
      float sum = 0.f;
      for (int q = 0; q < 8; q++) {
        const int supplier = meta_thread(row, q);
        if ((supplier & 3) > 1) return fail(SY_ERR_INTERNAL, "wgmma emulation: metadata supplier lane %d not in {0,1} of its quad", supplier & 31);
        const uint32_t nib = meta_nibble(meta_reg[supplier], row, q);
        const int p0 = nib & 3, p1 = nib >> 2;
        if (p0 >= p1) return fail(SY_ERR_INTERNAL, "wgmma emulation: metadata code 0x%x (row %d, group %d) is not two ascending positions", nib, row, q);
        const float a0 = ld_half(sm, desc_element_addr(ad, row, 2 * q), dtype);
        const float a1 = ld_half(sm, desc_element_addr(ad, row, 2 * q + 1), dtype);
        const float b0 = ld_half(sm, desc_element_addr(bd, col, 4 * q + p0), dtype);
        const float b1 = ld_half(sm, desc_element_addr(bd, col, 4 * q + p1), dtype);
        sum += a0 * b0 + a1 * b1;
      }
      float& acc = d[(size_t)t * regs + i];
      acc = scale_d ? acc + sum : sum;
    }
  }
  return SY_OK;
}
}  // namespace

SY_API sy_status sy_ssmm_wgmma_emulate(int32_t dtype, int32_t m, int32_t k, int32_t V, int32_t N, int32_t M,
                                       const void* wvalues, const void* indices, const void* wmeta, const void* X,
                                       int32_t x_rows, const int32_t* token_idx, int32_t n_sel, void* Y, int32_t y_dtype,
                                       int32_t y_layout, int32_t epilogue, const float* row_scale, int32_t accum) {
  const char* fn = "sy_ssmm_wgmma_emulate";
  sy_status st = check_ssmm_wgmma_args(fn, dtype, m, k, V, N, M, wvalues, indices, wmeta, X, x_rows, token_idx, n_sel, Y,
                                       y_dtype, y_layout, epilogue, row_scale, accum);
  if (st) return st;
  for (int j = 0; j < n_sel; j++)
    if (token_idx[j] < 0 || token_idx[j] >= x_rows)
      return fail(SY_ERR_INVALID, "%s: token_idx[%d] = %d is outside [0, x_rows=%d)", fn, j, token_idx[j], x_rows);
  Variant variant;
  if ((st = pick_variant(fn, &variant))) return st;
  if (n_sel == 0) return SY_OK;
  constexpr int kEmulatedSms = 132;
  const int tile_n = variant.tile_n;  // selected tokens per CTA tile (the wgmma N)
  const int token_tiles = ceil_div(n_sel, tile_n), spi = V >= kBK ? V / kBK : 1;
  SplitPlan split;
  if (variant.cluster == 1 && tile_n == kBN &&
      (st = plan_split(fn, token_tiles * ceil_div(m / 2, kRowsPerCta), ceil_div(k, kBK) / spi, [] { return kEmulatedSms; }, &split)))
    return st;
  const bool halves = (variant.schedule == 2 || variant.schedule == 3) && V >= kBK;  // as the kernel: V = 32 keeps N = 128
  const bool running_sum = variant.routing == 1;
  const int n_parts = halves ? 2 : 1, part_regs = tile_n / 2 / n_parts;
  const int mc = m / 2, nv = ceil_div(k, V), nk = ceil_div(k, kBK), nsteps = num_ksteps(k), regs = tile_n / 2;
  const uint8_t* vals = (const uint8_t*)wvalues;
  const uint8_t* metas = (const uint8_t*)wmeta;
  const uint8_t* idx = (const uint8_t*)indices;
  const uint16_t* x = (const uint16_t*)X;
  // one stage of the kernel's shared memory: [A | B | meta] (B 1024-aligned, as the swizzle needs)
  const uint32_t a_off = 0, b_off = kAStageBytes, m_off = kAStageBytes + kBStageBytes;
  std::vector<uint8_t> sm(kAStageBytes + kBStageBytes + kMetaStageBytes);
  // T per part (the whole N = 128, or each half); acc of a piece; sum of the pieces (split tiles)
  std::vector<float> T[kConsumerWgs][2], acc[kConsumerWgs][2], sum[kConsumerWgs][2];
  for (int w = 0; w < kConsumerWgs; w++) {
    for (int h = 0; h < n_parts; h++) T[w][h].assign(128 * part_regs, 0.f);
    for (int s = 0; s < 2; s++) acc[w][s].resize(128 * regs), sum[w][s].resize(128 * regs);
  }
  for (int tile = 0; tile < ceil_div(mc, kRowsPerCta); tile++) {
    for (int ntile = 0; ntile < token_tiles; ntile++) {
      const int pieces = tile * token_tiles + ntile >= split.first ? split.pieces : 1;
      for (int w = 0; w < kConsumerWgs; w++)
        for (int s = 0; s < 2; s++) std::fill(sum[w][s].begin(), sum[w][s].end(), 0.f);
      for (int piece = 0; piece < pieces; piece++) {
        int it_b = 0, it_e = 0;
        split_iterations(nk / spi, pieces, piece, &it_b, &it_e);
        const int kt_b = it_b * spi, kt_e = piece == pieces - 1 ? nk : it_e * spi;
        const int v_end = kt_e == nk ? nv : kt_e * kBK / V;  // the piece's k-vectors end here (routing 1: sel = 0 past it)
        for (int w = 0; w < kConsumerWgs; w++) {
          std::fill(acc[w][0].begin(), acc[w][0].end(), 0.f);
          std::fill(acc[w][1].begin(), acc[w][1].end(), 0.f);
          for (int h = 0; h < n_parts; h++) std::fill(T[w][h].begin(), T[w][h].end(), 0.f);  // routing 1: S starts at 0
        }
        for (int kt = kt_b; kt < kt_e; kt++) {
          // producer: A and metadata blocks are contiguous copies; token rows land 128B-swizzled, zeros past n_sel and k
          memcpy(sm.data() + a_off, vals + packed_value_block(tile, kt, k), kAStageBytes);
          memcpy(sm.data() + m_off, metas + packed_meta_block(tile, kt, k), kMetaStageBytes);
          for (int n = 0; n < tile_n; n++) {
            const int j = ntile * tile_n + n;
            for (int c = 0; c < kBK / 8; c++) {
              uint8_t* dst = sm.data() + b_off + b_stage_offset(n, c);
              const int kcol = kt * kBK + c * 8;
              if (j < n_sel && kcol < k) memcpy(dst, x + (size_t)token_idx[j] * k + kcol, 16);
              else memset(dst, 0, 16);
            }
          }
          // consumers
          for (int w = 0; w < kConsumerWgs; w++) {
            for (int js = 0; js < kKSteps; js++) {
              const int gk = kt * kKSteps + js;
              uint32_t meta_reg[128];
              for (int t = 0; t < 128; t++)
                memcpy(&meta_reg[t], sm.data() + m_off + ((w * kKSteps + js) * kMetaWordsPerStep + meta_word_index(t)) * 4, 4);
              const uint64_t a_desc = make_desc(a_off + (w * kKSteps + js) * kAStepBytes, kALbo, kASbo);
              for (int h = 0; h < n_parts; h++) {
                const uint64_t b_desc = make_b_desc(b_off + h * b_row_offset(kBN / 2), js);
                const bool scale_d = running_sum || (gk * 32) % V != 0;
                if ((st = emulate_wgmma_sp(T[w][h], part_regs, sm, a_desc, b_desc, meta_reg, scale_d, dtype))) return st;
              }
              if (running_sum && ((gk + 1) * 32 % V == 0 || gk == nk * kKSteps - 1)) {
                // as the kernel: every k-vector that a stage holds ends (those past k too, whose sel is 0), and the last
                // stage ends the last, possibly short, k-vector
                const int v = gk * 32 / V;
                for (int t = 0; t < 128; t++) {
                  for (int i = 0; i < regs; i++) {
                    const int c = tile * kRowsPerCta + w * kRowsPerWg + d_row(t, i);
                    auto sel = [&](int u) { return c < mc && u < v_end ? idx[(size_t)c * nv + u] & 1 : 0; };
                    const float coef = (float)(sel(v) - sel(v + 1));
                    float& d = acc[w][1][(size_t)t * regs + i];
                    d = fmaf(coef, T[w][0][(size_t)t * regs + i], d);
                  }
                }
              } else if (!running_sum && step_ends_kvec(gk, V, nsteps)) {
                const int v = kvec_of_step(gk, V, nv);
                for (int h = 0; h < n_parts; h++) {
                  for (int t = 0; t < 128; t++) {
                    for (int i = 0; i < part_regs; i++) {
                      const int c = tile * kRowsPerCta + w * kRowsPerWg + d_row(t, i);
                      const int s = c < mc ? idx[(size_t)c * nv + v] : 0;
                      acc[w][s & 1][(size_t)t * regs + h * part_regs + i] += T[w][h][(size_t)t * part_regs + i];
                    }
                  }
                }
              }
            }
          }
        }
        if (running_sum)
          for (int w = 0; w < kConsumerWgs; w++)
            for (size_t e = 0; e < acc[w][0].size(); e++) acc[w][0][e] = T[w][0][e] - acc[w][1][e];
        for (int w = 0; w < kConsumerWgs; w++)
          for (int s = 0; s < 2; s++)
            for (size_t e = 0; e < acc[w][s].size(); e++) sum[w][s][e] += acc[w][s][e];
      }
      // epilogue
      for (int w = 0; w < kConsumerWgs; w++) {
        for (int t = 0; t < 128; t++) {
          for (int i = 0; i < regs; i++) {
            const int c = tile * kRowsPerCta + w * kRowsPerWg + d_row(t, i), j = ntile * tile_n + d_col(t, i);
            if (c >= mc || j >= n_sel) continue;
            for (int s = 0; s < 2; s++) {
              const int out = 2 * c + s;
              const float v = apply_epilogue(sum[w][s][(size_t)t * regs + i], epilogue, row_scale, j);
              const size_t at = y_layout == 0 ? (size_t)j * m + out : (size_t)out * n_sel + j;
              if (y_dtype == SY_F32) ((float*)Y)[at] = v;
              else ((uint16_t*)Y)[at] = f32_to_half(v, dtype);
            }
          }
        }
      }
    }
  }
  return SY_OK;
}
