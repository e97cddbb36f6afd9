// CPU emulation of the CUDA SSMM kernel's data path (native/src/cuda/ssmm_mma_sp.cu), thread by thread:
// the cp.async stage images with the kernel's swizzle (samoyeds_layout.h), ldmatrix.x4 as the PTX ISA defines it
// (lanes 8i..8i+7 give the row addresses of matrix i; lane l receives row l/4, halves 2(l%4), +1 of each matrix),
// mma.sp.m16n8k32 as the PTX ISA defines its fragments and metadata (selector 0: lane 4g+j supplies groups 4j..4j+3
// of rows g (bits 0-15) and g+8 (bits 16-31)), the row selection (accumulator swaps, or for 1:2 the running sums
// S and D, D += (sel_v-1 - sel_v) S at each k-vector boundary) and the epilogue.
// Compared against the CPU backend's sy_ssmm. Built and run by tests/samoyeds.test.ts with g++.
// Exit 0 and "OK" when every case matches; prints the first mismatch otherwise.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>
#include "half.h"
#include "samoyeds.h"
#include "samoyeds_layout.h"

using namespace sy::samoyeds;
constexpr int kBK = 64, kBN = 64, kWarpsM = 2, kWarpsN = 2, kWN = 4;

struct Smem {
  std::vector<uint8_t> a, x;
  std::vector<uint32_t> meta;
};
static uint32_t rd32(const std::vector<uint8_t>& b, int off) { uint32_t v; memcpy(&v, &b[off], 4); return v; }
// ldmatrix.x4: addr[l] is lane l's row address; returns r[lane][i]
static void ldmatrix_x4(const std::vector<uint8_t>& buf, const int addr[32], uint32_t r[32][4]) {
  for (int lane = 0; lane < 32; lane++)
    for (int i = 0; i < 4; i++) r[lane][i] = rd32(buf, addr[8 * i + lane / 4] + 4 * (lane % 4));
}
static float half_at(uint32_t reg, int hi, int dtype) { return sy::half_to_f32((uint16_t)(hi ? reg >> 16 : reg & 0xffff), dtype); }
// mma.sp m16n8k32 per the PTX fragment definitions: d[lane][4] += A(a, e) * B(b)
static void mma_sp(float d[32][4], const uint32_t a[32][4], const uint32_t b[32][4], const uint32_t e[32], int dtype) {
  float A[16][32] = {}, B[32][8];
  for (int r = 0; r < 16; r++)
    for (int q = 0; q < 8; q++) {
      uint32_t nib = (e[(r % 8) * 4 + q / 4] >> (16 * (r / 8) + 4 * (q % 4))) & 0xF;
      for (int w = 0; w < 2; w++) {
        int cc = 2 * q + w;  // compressed column
        int lane = (r % 8) * 4 + (cc % 8) / 2, reg = (r / 8) + 2 * (cc / 8);
        int pos = w == 0 ? (nib & 3) : (nib >> 2);
        A[r][4 * q + pos] = half_at(a[lane][reg], cc % 2, dtype);
      }
    }
  for (int kk = 0; kk < 32; kk++)
    for (int n = 0; n < 8; n++) B[kk][n] = half_at(b[n * 4 + (kk % 8) / 2][kk / 8], kk % 2, dtype);
  for (int r = 0; r < 16; r++)
    for (int n = 0; n < 8; n++) {
      float s = 0;
      for (int kk = 0; kk < 32; kk++) s += A[r][kk] * B[kk][n];
      d[(r % 8) * 4 + (n % 8) / 2][(r / 8) * 2 + n % 2] += s;
    }
}

// Emulates one launch of the f32-accumulating kernel for (N, M, WM); Y token-major f32. sum: running-sum routing
// (1:2 only; the kernel's default there): set 0 is S, set 1 is D. swiglu: epilogue 3 (1:2, m % 32 == 0), Y rows of
// m / 2 columns: SiLU(gate) * up, with gate and up rows taken from the registers the kernel takes them from.
static void emulate(bool sum, bool swiglu, int N, int M, int WM, int dtype, int m, int k, int V, const std::vector<uint16_t>& values,
                    const std::vector<uint8_t>& indices, const std::vector<uint32_t>& meta, const std::vector<uint16_t>& X,
                    const std::vector<int>& tok, std::vector<float>& Y) {
  const int C = m / M * N, KV = k / V, KS = k / 32, n_sel = (int)tok.size();
  const int ctaC = kWarpsM * WM * 16, n_kstages = (KS + 1) / 2, meta_rblocks = (C + 15) / 16;
  for (int bx = 0; bx * ctaC < C; bx++)
    for (int by = 0; by * kBN < n_sel; by++) {
      const int m0c = bx * ctaC, j0 = by * kBN;
      // per-thread state: acc[warp][set][mi][ni][lane][4], perm[warp][mi][h][lane]
      const int W = kWarpsM * kWarpsN;
      std::vector<float> acc((size_t)W * M * WM * kWN * 32 * 4, 0.f);
      auto A_ = [&](int w, int s, int mi, int ni, int lane, int r) -> float& {
        return acc[((((size_t)w * M + s) * WM + mi) * kWN + ni) * 128 + lane * 4 + r];
      };
      std::vector<uint32_t> perm((size_t)W * WM * 2 * 32, M == 2 ? 0x4u : 0xE4u);
      for (int it = 0; it < n_kstages; it++) {
        Smem sm{std::vector<uint8_t>(ctaC * 64, 0xCD), std::vector<uint8_t>(kBN * 128, 0xCD), std::vector<uint32_t>(ctaC / 16 * 2 * 16, 0)};
        const int k0 = it * kBK;
        for (int row = 0; row < ctaC; row++)
          for (int ch = 0; ch < 4; ch++) {
            int cr = m0c + row, kc = k0 / 2 + ch * 8;
            bool ok = cr < C && kc < k / 2;
            for (int e = 0; e < 8; e++) {
              uint16_t v = ok ? values[(size_t)cr * (k / 2) + kc + e] : 0;
              memcpy(&sm.a[a_smem_off(row, ch) + 2 * e], &v, 2);
            }
          }
        for (int row = 0; row < kBN; row++)
          for (int ch = 0; ch < 8; ch++) {
            int j = j0 + row, kk = k0 + ch * 8;
            bool ok = j < n_sel && kk < k;
            for (int e = 0; e < 8; e++) {
              uint16_t v = ok ? X[(size_t)tok[j] * k + kk + e] : 0;
              memcpy(&sm.x[x_smem_off(row, ch) + 2 * e], &v, 2);
            }
          }
        for (int blk = 0; blk < ctaC / 16 * 2; blk++)
          for (int w = 0; w < 16; w++) {
            int grb = m0c / 16 + blk / 2, gs = it * 2 + blk % 2;
            sm.meta[blk * 16 + w] = (grb < meta_rblocks && gs < KS) ? meta[meta_block_word(grb, gs, k) + w] : kPadWord;
          }
        for (int s = 0; s < 2; s++) {
          const int gks = it * 2 + s;
          if (gks >= KS) break;
          for (int warp = 0; warp < W; warp++) {
            const int wm = warp / kWarpsN, wn = warp % kWarpsN;
            if (sum && gks > 0 && (gks * 32) % V == 0) {
              const int v = gks * 32 / V;
              for (int mi = 0; mi < WM; mi++)
                for (int h = 0; h < 2; h++)
                  for (int lane = 0; lane < 32; lane++) {
                    int cr = m0c + (wm * WM + mi) * 16 + lane / 4 + 8 * h;
                    float c = cr < C ? (float)indices[(size_t)cr * KV + v - 1] - (float)indices[(size_t)cr * KV + v] : 0.f;
                    for (int ni = 0; ni < kWN; ni++)
                      for (int r = 0; r < 2; r++)
                        A_(warp, 1, mi, ni, lane, 2 * h + r) = std::fma(c, A_(warp, 0, mi, ni, lane, 2 * h + r), A_(warp, 1, mi, ni, lane, 2 * h + r));
                  }
            } else if (!sum && (gks * 32) % V == 0) {
              const int v = gks * 32 / V;
              for (int mi = 0; mi < WM; mi++)
                for (int h = 0; h < 2; h++)
                  for (int lane = 0; lane < 32; lane++) {
                    int cr = m0c + (wm * WM + mi) * 16 + lane / 4 + 8 * h;
                    int want = cr < C ? indices[(size_t)cr * KV + v] : 0;
                    uint32_t& pm = perm[(((size_t)warp * WM + mi) * 2 + h) * 32 + lane];
                    if ((int)(pm & 3) == want) continue;
                    for (int st = 1; st < M; st++)
                      if ((int)((pm >> (2 * st)) & 3) == want) {
                        for (int ni = 0; ni < kWN; ni++)
                          for (int r = 0; r < 2; r++) std::swap(A_(warp, 0, mi, ni, lane, 2 * h + r), A_(warp, st, mi, ni, lane, 2 * h + r));
                        uint32_t a = pm & 3, b = (pm >> (2 * st)) & 3;
                        pm = (pm & ~(3u | (3u << (2 * st)))) | b | (a << (2 * st));
                      }
                  }
            }
            for (int mi = 0; mi < WM; mi++) {
              int addr[32];
              uint32_t a[32][4], e[32];
              for (int lane = 0; lane < 32; lane++) {
                int row = (wm * WM + mi) * 16 + (lane & 7) + 8 * ((lane >> 3) & 1);
                addr[lane] = a_smem_off(row, 2 * s + (lane >> 4));
                e[lane] = sm.meta[((wm * WM + mi) * 2 + s) * 16 + meta_word_of_lane(lane)];
              }
              ldmatrix_x4(sm.a, addr, a);
              for (int ni = 0; ni < kWN; ni++) {
                uint32_t b[32][4];
                for (int lane = 0; lane < 32; lane++) addr[lane] = x_smem_off((wn * kWN + ni) * 8 + (lane & 7), 4 * s + (lane >> 3));
                ldmatrix_x4(sm.x, addr, b);
                float d[32][4];
                for (int lane = 0; lane < 32; lane++)
                  for (int r = 0; r < 4; r++) d[lane][r] = A_(warp, 0, mi, ni, lane, r);
                mma_sp(d, a, b, e, dtype);
                for (int lane = 0; lane < 32; lane++)
                  for (int r = 0; r < 4; r++) A_(warp, 0, mi, ni, lane, r) = d[lane][r];
              }
            }
          }
        }
      }
      // epilogue (running sums: D += sel_KV-1 S, then row 2G = S - D, row 2G+1 = D, stored as the identity perm)
      if (sum)
        for (int warp = 0; warp < W; warp++)
          for (int mi = 0; mi < WM; mi++)
            for (int h = 0; h < 2; h++)
              for (int lane = 0; lane < 32; lane++) {
                int cr = m0c + (warp / kWarpsN * WM + mi) * 16 + lane / 4 + 8 * h;
                float c = cr < C ? (float)indices[(size_t)cr * KV + KV - 1] : 0.f;
                for (int ni = 0; ni < kWN; ni++)
                  for (int r = 0; r < 2; r++) {
                    float& S = A_(warp, 0, mi, ni, lane, 2 * h + r);
                    float& D = A_(warp, 1, mi, ni, lane, 2 * h + r);
                    D = std::fma(c, S, D);
                    S = S - D;
                  }
              }
      for (int warp = 0; warp < W; warp++) {
        const int wm = warp / kWarpsN, wn = warp % kWarpsN;
        for (int mi = 0; mi < WM; mi++)
          for (int ni = 0; ni < kWN; ni++) {
            // rows[h][(lane * M + row of the group) * 2 + c]: un-permuted sets, partner quads added (N = 2)
            std::vector<float> rows[2];
            for (int h = 0; h < 2; h++) {
              std::vector<float> out((size_t)32 * M * 2, 0.f);
              for (int lane = 0; lane < 32; lane++) {
                uint32_t pm = perm[(((size_t)warp * WM + mi) * 2 + h) * 32 + lane];
                for (int st = 0; st < M; st++) {
                  int want = (pm >> (2 * st)) & 3;
                  for (int c = 0; c < 2; c++) out[((size_t)lane * M + want) * 2 + c] = A_(warp, st, mi, ni, lane, 2 * h + c);
                }
              }
              rows[h] = out;
              if (N == 2)
                for (int lane = 0; lane < 32; lane++)
                  for (int i = 0; i < M * 2; i++) rows[h][lane * M * 2 + i] += out[(lane ^ 4) * M * 2 + i];
            }
            for (int lane = 0; lane < 32; lane++) {
              const int g = lane / 4, t = lane % 4;
              for (int c = 0; c < 2; c++) {
                const int j = j0 + (wn * kWN + ni) * 8 + 2 * t + c;
                if (j >= n_sel) continue;
                if (swiglu) {  // the kernel's mapping: gate rows of pair cr (h = 0), up rows of pair cr + 8 (h = 1)
                  const int cr = m0c + (wm * WM + mi) * 16 + g, f = 16 * (cr / 16) + 2 * g;
                  if (cr >= C) continue;
                  for (int q = 0; q < 2; q++) {
                    const float gate = rows[0][((size_t)lane * M + q) * 2 + c], up = rows[1][((size_t)lane * M + q) * 2 + c];
                    Y[(size_t)j * (m / 2) + f + q] = gate / (1.f + std::exp(-gate)) * up;
                  }
                  continue;
                }
                for (int h = 0; h < 2; h++) {
                  const int cr = m0c + (wm * WM + mi) * 16 + g + 8 * h;
                  if (cr >= C || (N == 2 && (cr & 1))) continue;
                  const int G = cr / N;
                  for (int want = 0; want < M; want++) Y[(size_t)j * m + G * M + want] = rows[h][((size_t)lane * M + want) * 2 + c];
                }
              }
            }
          }
      }
    }
}

int main() {
  struct Case { int N, M, WM, dtype, m, k, V, x_rows, n_sel; };
  const Case cases[] = {
      {1, 2, 4, SY_F16, 256, 256, 128, 100, 64},  {1, 2, 4, SY_BF16, 258, 352, 32, 77, 65},
      {1, 2, 4, SY_F16, 34, 96, 32, 5, 1},        {1, 2, 4, SY_F16, 300, 192, 64, 9, 130},
      {2, 4, 2, SY_F16, 132, 160, 32, 40, 70},    {1, 4, 2, SY_BF16, 68, 192, 64, 40, 17},
      {2, 4, 2, SY_BF16, 520, 320, 64, 300, 129}, {1, 4, 2, SY_F16, 264, 512, 128, 300, 63},
      {1, 2, 4, SY_BF16, 320, 192, 64, 90, 70},
  };
  std::mt19937 gen(42);
  std::normal_distribution<float> nd(0.f, 1.f);
  int failures = 0;
  for (const Case& c : cases) {
    std::vector<uint16_t> W((size_t)c.m * c.k), Wp(W.size()), X((size_t)c.x_rows * c.k);
    for (auto& w : W) w = sy::f32_to_half(nd(gen), c.dtype);
    for (auto& x : X) x = sy::f32_to_half(nd(gen), c.dtype);
    uint64_t sz[3];
    if (sy_samoyeds_sizes(c.m, c.k, c.V, c.N, c.M, sz) || sy_samoyeds_prune(c.dtype, c.m, c.k, c.V, c.N, c.M, W.data(), Wp.data(), nullptr)) {
      printf("setup failed: %s\n", sy_last_error());
      return 2;
    }
    std::vector<uint16_t> values(sz[0] / 2);
    std::vector<uint8_t> indices(sz[1]);
    std::vector<uint32_t> meta(sz[2] / 4);
    if (sy_samoyeds_encode(c.dtype, c.m, c.k, c.V, c.N, c.M, Wp.data(), values.data(), indices.data(), meta.data())) {
      printf("encode failed: %s\n", sy_last_error());
      return 2;
    }
    std::vector<int> tok(c.n_sel);
    for (auto& t : tok) t = (int)(gen() % c.x_rows);
    if (c.n_sel > 2) tok[1] = tok[0];
    std::vector<float> want((size_t)c.n_sel * c.m), got((size_t)c.n_sel * c.m, NAN);
    if (sy_ssmm(c.dtype, c.m, c.k, c.V, c.N, c.M, values.data(), indices.data(), meta.data(), X.data(), c.x_rows, tok.data(),
                c.n_sel, want.data(), SY_F32, 0, 0, nullptr, 0)) {
      printf("cpu ssmm failed: %s\n", sy_last_error());
      return 2;
    }
    for (int sum = 0; sum < (c.N == 1 && c.M == 2 ? 2 : 1); sum++) {
    emulate(sum, false, c.N, c.M, c.WM, c.dtype, c.m, c.k, c.V, values, indices, meta, X, tok, got);
    double num = 0, den = 0;
    size_t first_bad = SIZE_MAX;
    for (size_t i = 0; i < want.size(); i++) {
      double d = (double)got[i] - want[i];
      num += d * d;
      den += (double)want[i] * want[i];
      if (first_bad == SIZE_MAX && !(std::fabs(d) <= 1e-3 * (1 + std::fabs(want[i])))) first_bad = i;
    }
    double rel = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
    printf("case N:M=%d:%d%s V=%d dtype=%d m=%d k=%d n_sel=%d: rel err %.3g\n", c.N, c.M, sum ? " (running sums)" : "", c.V, c.dtype, c.m, c.k, c.n_sel, rel);
    if (first_bad != SIZE_MAX || !(rel < 1e-5)) {
      failures++;
      if (first_bad != SIZE_MAX)
        printf("  first mismatch: token %zu row %zu: emulated %g, reference %g\n", first_bad / c.m, first_bad % c.m, got[first_bad], want[first_bad]);
    }
    }
    // epilogue 3 (SwiGLU), 1:2 with m % 32 == 0, both routings: against the CPU grouped SSMM with one expert
    if (c.N == 1 && c.M == 2 && c.m % 32 == 0) {
      const int32_t offsets[2] = {0, c.n_sel};
      std::vector<float> want_sw((size_t)c.n_sel * c.m / 2), got_sw(want_sw.size(), NAN);
      if (sy_ssmm_grouped(c.dtype, c.m, c.k, c.V, c.N, c.M, 1, values.data(), indices.data(), meta.data(), X.data(), c.x_rows,
                          tok.data(), offsets, c.n_sel, want_sw.data(), SY_F32, 0, nullptr, 0, 3, nullptr, 0)) {
        printf("cpu grouped ssmm (swiglu) failed: %s\n", sy_last_error());
        return 2;
      }
      for (int sum = 0; sum < 2; sum++) {
        emulate(sum, true, c.N, c.M, c.WM, c.dtype, c.m, c.k, c.V, values, indices, meta, X, tok, got_sw);
        double num = 0, den = 0;
        size_t bad = SIZE_MAX;
        for (size_t i = 0; i < want_sw.size(); i++) {
          double d = (double)got_sw[i] - want_sw[i];
          num += d * d, den += (double)want_sw[i] * want_sw[i];
          if (bad == SIZE_MAX && !(std::fabs(d) <= 1e-3 * (1 + std::fabs(want_sw[i])))) bad = i;
        }
        double rel = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
        printf("case N:M=1:2 swiglu%s V=%d m=%d k=%d n_sel=%d: rel err %.3g\n", sum ? " (running sums)" : "", c.V, c.m, c.k, c.n_sel, rel);
        if (bad != SIZE_MAX || !(rel < 1e-5)) {
          failures++;
          if (bad != SIZE_MAX)
            printf("  first mismatch: token %zu feature %zu: emulated %g, reference %g\n", bad / (c.m / 2), bad % (c.m / 2), got_sw[bad], want_sw[bad]);
        }
      }
    }
  }
  printf(failures ? "FAILED\n" : "OK\n");
  return failures ? 1 : 0;
}
