// SSMM on Sparse Tensor Cores: Y = X[selected tokens] * W^T, W in the Samoyeds format (N:M row-vectors x 2:4).
// mma.sp::ordered_metadata.sync.aligned.m16n8k32 (sm_80+), ldmatrix, multi-stage cp.async pipeline, XOR-swizzled
// shared memory, tokens gathered while loading (only rows token_idx[..] of X are read). Row selection, two ways:
//   running sum (1:2, f32 accumulation; the default there): the mma accumulates S = the sum over all k-vectors, and at
//     each k-vector boundary D += (sel_v-1 - sel_v) * S (one FFMA per accumulator, no branch); at the end D += sel * S,
//     row 2G+1 = D, row 2G = S - D (Abel summation of sum_v sel_v * T_v). Rounds slightly differently from the swaps.
//   swaps (2:4, 1:4, f16 accumulation, or SAMOYEDS_MMA_SP_ROUTING=swap): one accumulator set per row of a group, the
//     active one swapped in at each boundary. Its lane-divergent swaps were a third of the kernel's instructions
//     (ncu, data/wgmma-perf/ncu-ssmm-16384x6144-n1024-db656b1-*).
// One kernel serves sy_ssmm (one "expert") and sy_ssmm_grouped (all experts in one launch, tiles found on the device).
//
// Tiling (rows are condensed rows c = row group * N + i; the format's layout: samoyeds_layout.h):
//   CTA: kWarpsM x kWarpsN warps; warp tile kWM m16 tiles x kWN n8 tiles; CTA tile kCtaC condensed rows x kBN tokens;
//   pipeline stage: kSubs sub-stages of kBK = 64 original k (2 mma k32 steps) each -> per sub-stage an A image of
//   kCtaC x 32 compressed halves, an X image of kBN x 64 and the metadata (the layout of samoyeds_layout.h). Two
//   sub-stages (128 k) a stage by default: the per-stage work (cp.async address set-up, the barrier, the fragment
//   addresses) was about half of the k loop's instructions with one (ncu, ncu-ssmm-16384x6144-n1024-2cc7cdd-*).
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <algorithm>
#include "cuda_common.cuh"
#include "group_tiles.cuh"
#include "mma_sp_routing.h"
#include "samoyeds_layout.h"
#include "ssmm_check.h"

namespace {
namespace lay = sy::samoyeds;
using lay::a_smem_off;
using lay::x_smem_off;

__device__ int g_ssmm_index_errors = 0;

constexpr int kBK = 64;      // original k per sub-stage
constexpr int kBN = 64;      // tokens per CTA tile
constexpr int kWarpsM = 2, kWarpsN = 2, kThreads = 32 * kWarpsM * kWarpsN;
constexpr int kWN = kBN / kWarpsN / 8;  // n8 tiles per warp (4)

struct Params {
  const uint16_t* values;   // expert 0; expert e at + e * value_stride (elements)
  const uint8_t* indices;
  const uint32_t* meta;
  int64_t value_stride, index_stride, meta_stride;
  const uint16_t* X;
  int x_rows;
  const int32_t* load_idx;  // selection j -> token row of X
  const int32_t* offsets;   // E+1 (grouped) or null (single: [0, n_sel))
  int n_sel;                // single: number of selections; grouped: max_selections
  int n_experts;
  void* Y;
  int y_dtype, y_layout, y_mode, y_rows;
  int y_vec;                // Y is 16-byte aligned: vector stores of a group's rows (token-major)
  const int32_t* store_idx;
  int epilogue;
  const float* row_scale;
  int m, k, V, C, KV, KS;   // C condensed rows, KV k-vectors, KS k32 steps
};

__device__ __forceinline__ uint32_t smem_addr(const void* p) { return (uint32_t)__cvta_generic_to_shared(p); }
__device__ __forceinline__ void cp_async16(uint32_t dst, const void* src, bool valid) {
  // src-size 0 zero-fills the 16 bytes (tails: rows beyond C, tokens beyond the selection, k beyond k)
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int n>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(n)); }
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(addr));
}

// mma.sp m16n8k32, A 16x32 (compressed 16x16) x B 32x8, selector 0, ordered metadata.
template <bool kBf16>
__device__ __forceinline__ void mma_sp_f32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[4], uint32_t e) {
  if constexpr (kBf16) {
    asm volatile(
        "mma.sp::ordered_metadata.sync.aligned.m16n8k32.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9,%10,%11}, {%0,%1,%2,%3}, %12, 0x0;\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "r"(b[2]), "r"(b[3]), "r"(e));
  } else {
    asm volatile(
        "mma.sp::ordered_metadata.sync.aligned.m16n8k32.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9,%10,%11}, {%0,%1,%2,%3}, %12, 0x0;\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "r"(b[2]), "r"(b[3]), "r"(e));
  }
}
__device__ __forceinline__ void mma_sp_f16acc(uint32_t (&d)[2], const uint32_t (&a)[4], const uint32_t (&b)[4], uint32_t e) {
  asm volatile(
      "mma.sp::ordered_metadata.sync.aligned.m16n8k32.row.col.f16.f16.f16.f16 {%0,%1}, {%2,%3,%4,%5}, "
      "{%6,%7,%8,%9}, {%0,%1}, %10, 0x0;\n"
      : "+r"(d[0]), "+r"(d[1])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "r"(b[2]), "r"(b[3]), "r"(e));
}

template <int kM, int kWM, int kSubs>
struct Cfg {
  // stages of the ring: 4 x 64 k, or 3 x 128 k (3 x 34 KB keeps two CTAs on an SM)
  static constexpr int kStages = kSubs == 2 ? 3 : 4;
  static constexpr int kCtaC = kWarpsM * kWM * 16;  // condensed rows per CTA
  static constexpr int kAStage = kCtaC * (kBK / 2) * 2;
  static constexpr int kXStage = kBN * kBK * 2;
  static constexpr int kMetaBlocks = kCtaC / 16 * (kBK / 32);
  static constexpr int kMStage = kMetaBlocks * 64;
  static constexpr int kSubBytes = kAStage + kXStage + kMStage;
  static constexpr int kStageBytes = kSubs * kSubBytes;
  static constexpr int kSmem = kStages * kStageBytes + kBN * 4 /* token rows */;
};

// The epilogue's operation (Params::epilogue, sy::SsmmEpilogueOp) and output form, both uniform over a launch.
using sy::kOpNone, sy::kOpRowScale, sy::kOpSilu, sy::kOpSwiglu;
enum OutputForm : int {
  kScatterF32,   // grouped y_mode 1: f32 add into row store_idx[j] (one vector atomic per group)
  kTokenVecF32,  // token-major f32, Y 16-byte aligned: a group's rows in one vector store
  kTokenVec16,   // token-major f16/bf16, the same
  kScalar,       // feature-major, or Y not 16-byte aligned: one store per element
};

template <bool kBf16>
__device__ __forceinline__ void store_out(const Params& p, int64_t at, float y) {
  if (p.y_dtype == SY_F32) ((float*)p.Y)[at] = y;
  else if (kBf16) ((__nv_bfloat16*)p.Y)[at] = __float2bfloat16(y);
  else ((__half*)p.Y)[at] = __float2half(y);
}

// kN:kM row selection, kWM m16 tiles per warp, kF16Acc: f16 accumulators (f16 operands only), kSum: running-sum
// routing (1:2, f32 accumulation only), kSubs: 64-k sub-stages per pipeline stage (1 or 2).
template <int kN, int kM, int kWM, bool kBf16, bool kF16Acc, bool kSum, int kSubs>
__global__ void __launch_bounds__(kThreads) ssmm_kernel(const Params p_in) {
  static_assert(!kSum || (kN == 1 && kM == 2 && !kF16Acc), "running-sum routing is for 1:2 with f32 accumulators");
  const Params p = p_in;  // a local copy: fields addressed through a pointer into the parameter space are slower (ssmm_wgmma_kernel.cuh)
  using C = Cfg<kM, kWM, kSubs>;
  constexpr int kStages = C::kStages;
  constexpr int kRegs = kF16Acc ? 2 : 4;   // accumulator registers per (m16, n8) tile per thread
  constexpr int kHalfRegs = kRegs / 2;     // registers of one of the two rows (g, g+8)
  using Reg = typename std::conditional<kF16Acc, uint32_t, float>::type;
  extern __shared__ __align__(128) unsigned char smem[];
  int* s_tok = (int*)(smem + kStages * C::kStageBytes);

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int warp_m = warp / kWarpsN, warp_n = warp % kWarpsN;
  const int g = lane >> 2, t = lane & 3;

  // ---- which (expert, token tile) this CTA computes ----
  int expert = 0, sel_begin = 0, sel_end = p.n_sel, tile = blockIdx.y;
  if (p.offsets) {
    // grouped: warp 0 finds this CTA's (expert, tile) from the device offsets (no host sync)
    __shared__ int s_found[2];
    if (warp == 0) {
      const sy::GroupTile f = sy::find_group_tile(p.offsets, p.n_experts, kBN, blockIdx.y);
      if (lane == 0) s_found[0] = f.expert, s_found[1] = f.tile;
      if (lane == 0 && blockIdx.x == 0 && blockIdx.y == 0 && p.offsets[p.n_experts] > p.n_sel)
        atomicAdd(&g_ssmm_index_errors, 1);  // selections beyond max_selections are not computed
    }
    __syncthreads();
    if (s_found[0] < 0) return;  // beyond the last tile: nothing to do (uniform over the CTA)
    expert = s_found[0];
    tile = s_found[1];
    sel_begin = p.offsets[expert];
    sel_end = min(p.offsets[expert + 1], p.n_sel);
  }
  const int j0 = sel_begin + tile * kBN;
  if (j0 >= sel_end) return;
  const int m0c = blockIdx.x * C::kCtaC;  // first condensed row of the CTA
  const uint16_t* values = p.values + expert * p.value_stride;
  const uint8_t* indices = p.indices + expert * p.index_stride;
  const uint32_t* meta = p.meta + expert * p.meta_stride;

  // token rows of this tile (gather on load); out-of-range ids are clamped and counted once (by the m-tile 0 CTA)
  for (int i = tid; i < kBN; i += kThreads) {
    int j = j0 + i, row = -1;
    if (j < sel_end) {
      row = p.load_idx ? p.load_idx[j] : j;  // null: rows already compact
      if (row < 0 || row >= p.x_rows) {
        if (blockIdx.x == 0) atomicAdd(&g_ssmm_index_errors, 1);
        row = min(max(row, 0), p.x_rows - 1);
      }
    }
    s_tok[i] = row;
  }
  __syncthreads();

  const int n_kstages = (p.KS + 2 * kSubs - 1) / (2 * kSubs);
  // The stage loads. Each thread copies the same chunks in every stage, so their coordinates, shared-memory offsets
  // and source rows are fixed here; the loops have constant trip counts (a per-stage loop over i = tid, tid + 128,
  // ... with run-time bounds, and 64-bit index math per chunk, were most of the k loop's instructions in ncu).
  constexpr int kAChunks = C::kCtaC * 4 / kThreads, kXChunks = kBN * 8 / kThreads, kMChunks = C::kMetaBlocks * 4;
  static_assert(C::kCtaC * 4 % kThreads == 0 && kBN * 8 % kThreads == 0 && kMChunks <= kThreads, "chunk split");
  constexpr int kARowStep = kThreads / 4, kXRowStep = kThreads / 8;  // rows between a thread's chunks
  // a_smem_off / x_smem_off of row + step: the swizzle repeats every 16 (A) / 8 (X) rows
  static_assert(kARowStep % 16 == 0 && kXRowStep % 8 == 0, "swizzle period");
  const int a_row = tid >> 2, a_ch = tid & 3, x_row = tid >> 3, x_ch = tid & 7;
  uint32_t sbase = smem_addr(smem);
  asm volatile("" : "+r"(sbase));  // kept in a register, not rebuilt from the CTA id in every stage
  const uint32_t a_off = a_smem_off(a_row, a_ch), x_off = C::kAStage + x_smem_off(x_row, x_ch);
  const int64_t a_row_stride = (int64_t)kARowStep * (p.k / 2);
  const uint16_t* a_src = values + (int64_t)(m0c + a_row) * (p.k / 2) + a_ch * 8;
  const int m_blk = tid >> 2, m_ch = tid & 3, m_grb = m0c / 16 + (m_blk >> 1);
  const bool m_thread = tid < kMChunks, m_row_ok = m_grb < (p.C + 15) / 16;
  const uint32_t m_off = C::kAStage + C::kXStage + m_blk * 64 + m_ch * 16;
  const uint32_t* m_src = meta + ((int64_t)m_grb * p.KS + (m_blk & 1)) * lay::kMetaWordsPerBlock + m_ch * 4;
  int x_tok[kXChunks];  // the token rows of this thread's X chunks, the same in every stage (no shared load per stage)
#pragma unroll
  for (int q = 0; q < kXChunks; q++) x_tok[q] = s_tok[x_row + q * kXRowStep];
  auto load_sub = [&](const uint32_t st, const int ks) {  // 64-k sub-stage ks into the image at st
    const int k0 = ks * kBK;
    // A: kCtaC rows x 4 chunks (16 bytes = 8 compressed halves)
    const bool a_k_ok = k0 + 16 * a_ch < p.k;
#pragma unroll
    for (int q = 0; q < kAChunks; q++) {
      const bool ok = a_k_ok && m0c + a_row + q * kARowStep < p.C;
      cp_async16(st + a_off + q * (kARowStep / 2) * 128, ok ? a_src + q * a_row_stride + k0 / 2 : values, ok);
    }
    // X: kBN token rows x 8 chunks of the selected tokens
    const int kk = k0 + x_ch * 8;
#pragma unroll
    for (int q = 0; q < kXChunks; q++) {
      const bool ok = x_tok[q] >= 0 && kk < p.k;
      cp_async16(st + x_off + q * kXRowStep * 128, ok ? p.X + (int64_t)x_tok[q] * p.k + kk : p.X, ok);
    }
    // metadata: (kCtaC/16) row blocks x 2 k32 steps x 64 bytes; missing blocks get valid padding nibbles
    if (m_thread) {
      const uint32_t dst = st + m_off;
      if (m_row_ok && ks * 2 + (m_blk & 1) < p.KS) {
        cp_async16(dst, m_src + (int64_t)ks * 2 * lay::kMetaWordsPerBlock, true);
      } else {
        asm volatile("st.shared.v4.u32 [%0], {%1,%1,%1,%1};\n" ::"r"(dst), "r"(lay::kPadWord));
      }
    }
  };
  auto load_stage = [&](int buf, int ks) {
#pragma unroll
    for (int u = 0; u < kSubs; u++) load_sub(sbase + buf * C::kStageBytes + u * C::kSubBytes, ks * kSubs + u);
  };

  // accumulators: phys[0] is the active set the mma writes; phys[1..kM-1] are parked. perm[mi][h] packs, 2 bits per
  // physical set, which row of the group (0..kM-1) each set accumulates for this thread's row g + 8h of tile mi.
  Reg acc[kM][kWM][kWN][kRegs];
#pragma unroll
  for (int s = 0; s < kM; s++)
#pragma unroll
    for (int mi = 0; mi < kWM; mi++)
#pragma unroll
      for (int ni = 0; ni < kWN; ni++)
#pragma unroll
        for (int r = 0; r < kRegs; r++) acc[s][mi][ni][r] = Reg(0);
  uint32_t perm[kWM][2];
#pragma unroll
  for (int mi = 0; mi < kWM; mi++) perm[mi][0] = perm[mi][1] = (kM == 2) ? 0x4u : 0xE4u;  // identity 0,1(,2,3)

  // the condensed rows of this thread: cr(mi, h) = m0c + (warp_m*kWM + mi)*16 + g + 8h
  auto row_index = [&](int mi, int h, int v) -> int {
    int cr = m0c + (warp_m * kWM + mi) * 16 + g + 8 * h;
    return cr < p.C ? __ldg(indices + (int64_t)cr * p.KV + v) : 0;
  };
  // makes the set of group row `want` active for (mi, h) by swapping it into phys[0]
  auto activate = [&](int mi, int h, int want) {
    uint32_t pm = perm[mi][h];
    if ((int)(pm & 3) == want) return;
#pragma unroll
    for (int s = 1; s < kM; s++) {
      if ((int)((pm >> (2 * s)) & 3) == want) {
#pragma unroll
        for (int ni = 0; ni < kWN; ni++)
#pragma unroll
          for (int r = 0; r < kHalfRegs; r++) {
            Reg tmp = acc[0][mi][ni][h * kHalfRegs + r];
            acc[0][mi][ni][h * kHalfRegs + r] = acc[s][mi][ni][h * kHalfRegs + r];
            acc[s][mi][ni][h * kHalfRegs + r] = tmp;
          }
        uint32_t a = pm & 3, b = (pm >> (2 * s)) & 3;
        pm = (pm & ~(3u | (3u << (2 * s)))) | b | (a << (2 * s));
      }
    }
    perm[mi][h] = pm;
  };

  int next_sel[kWM][2];  // row choice of each of this thread's rows in the k-vector that starts next
  float cur_sel[kWM][2];  // kSum: the choice of the k-vector running now (next_sel then holds the one after it)
#pragma unroll
  for (int mi = 0; mi < kWM; mi++)
#pragma unroll
    for (int h = 0; h < 2; h++) {
      if constexpr (kSum) {
        cur_sel[mi][h] = (float)row_index(mi, h, 0);
        next_sel[mi][h] = p.KV > 1 ? row_index(mi, h, 1) : 0;
      } else {
        next_sel[mi][h] = row_index(mi, h, 0);
      }
    }
#pragma unroll
  for (int s = 0; s < kStages - 1; s++) {
    if (s < n_kstages) load_stage(s, s);
    cp_async_commit();
  }
  const int wl = lay::meta_word_of_lane(lane);
  const int v_shift = p.V == 128 ? 2 : p.V == 64 ? 1 : 0, v_mask = (1 << v_shift) - 1;  // k32 steps per k-vector
  for (int it = 0; it < n_kstages; it++) {
    cp_async_wait<kStages - 2>();
    __syncthreads();
    {
      int nxt = it + kStages - 1;
      if (nxt < n_kstages) load_stage(nxt % kStages, nxt);
      cp_async_commit();
    }
#pragma unroll
    for (int q = 0; q < 2 * kSubs; q++) {
      const int s = q & 1, u = q >> 1;  // k32 step s of sub-stage u
      const int gks = it * 2 * kSubs + q;  // global k32 step
      if (gks >= p.KS) break;      // the last stage may hold fewer steps
      const unsigned char* st = smem + (it % kStages) * C::kStageBytes + u * C::kSubBytes;
      const uint32_t a_base = sbase + (it % kStages) * C::kStageBytes + u * C::kSubBytes, x_base = a_base + C::kAStage;
      const uint32_t* m_st = (const uint32_t*)(st + C::kAStage + C::kXStage);
      // row selection: at the first step of a k-vector, activate each row's chosen set
      if constexpr (kSum) {
        if (gks > 0 && (gks & v_mask) == 0) {
          // boundary between k-vectors v-1 and v: D += (sel_v-1 - sel_v) * S
          const int v = gks >> v_shift;
#pragma unroll
          for (int mi = 0; mi < kWM; mi++)
#pragma unroll
            for (int h = 0; h < 2; h++) {
              const float c = cur_sel[mi][h] - (float)next_sel[mi][h];
#pragma unroll
              for (int ni = 0; ni < kWN; ni++)
#pragma unroll
                for (int r = 0; r < 2; r++)
                  acc[1][mi][ni][2 * h + r] = fmaf(c, acc[0][mi][ni][2 * h + r], acc[1][mi][ni][2 * h + r]);
              cur_sel[mi][h] = (float)next_sel[mi][h];
              next_sel[mi][h] = v + 1 < p.KV ? row_index(mi, h, v + 1) : 0;
            }
        }
      } else if ((gks & v_mask) == 0) {
        const int v = gks >> v_shift;
#pragma unroll
        for (int mi = 0; mi < kWM; mi++) {
          activate(mi, 0, next_sel[mi][0]);
          activate(mi, 1, next_sel[mi][1]);
          // prefetch the next vector's choices: their latency hides behind this vector's mma steps
          next_sel[mi][0] = v + 1 < p.KV ? row_index(mi, 0, v + 1) : 0;
          next_sel[mi][1] = v + 1 < p.KV ? row_index(mi, 1, v + 1) : 0;
        }
      }
      uint32_t a[kWM][4], b[kWN][4], e[kWM];
#pragma unroll
      for (int mi = 0; mi < kWM; mi++) {
        const int row = (warp_m * kWM + mi) * 16 + (lane & 7) + 8 * ((lane >> 3) & 1);
        ldmatrix_x4(a[mi], a_base + a_smem_off(row, 2 * s + (lane >> 4)));
        e[mi] = m_st[(((warp_m * kWM + mi) * 2) + s) * 16 + wl];
      }
#pragma unroll
      for (int ni = 0; ni < kWN; ni++) {
        const int row = (warp_n * kWN + ni) * 8 + (lane & 7);
        ldmatrix_x4(b[ni], x_base + x_smem_off(row, 4 * s + (lane >> 3)));
      }
#pragma unroll
      for (int mi = 0; mi < kWM; mi++)
#pragma unroll
        for (int ni = 0; ni < kWN; ni++) {
          if constexpr (kF16Acc) mma_sp_f16acc(acc[0][mi][ni], a[mi], b[ni], e[mi]);
          else mma_sp_f32<kBf16>(acc[0][mi][ni], a[mi], b[ni], e[mi]);
        }
    }
  }
  cp_async_wait<0>();
  if constexpr (kSum) {
#pragma unroll
    for (int mi = 0; mi < kWM; mi++)
#pragma unroll
      for (int h = 0; h < 2; h++)
#pragma unroll
        for (int ni = 0; ni < kWN; ni++)
#pragma unroll
          for (int r = 0; r < 2; r++)
            acc[1][mi][ni][2 * h + r] = fmaf(cur_sel[mi][h], acc[0][mi][ni][2 * h + r], acc[1][mi][ni][2 * h + r]);
  }

  // ---- epilogue: un-permute the sets (or finish the running sums), combine the N condensed rows of a group,
  // apply, store. The operation and the output form are uniform over a launch and chosen once here, as template
  // arguments: resolved per element (p's fields re-read, a branch each) the epilogue took 15% of the warp samples
  // at 16384 x 6144 and 40% at 1408 x 2048 (ncu, data/wgmma-perf/ncu-ssmm-*-db656b1-*).
  // the kM rows of group row g + 8h of m tile mi, for the two tokens (c) of n tile ni: out[row of the group][c]
  auto rows_of = [&](int mi, int h, int ni, float (&out)[kM][2]) {
    if constexpr (kSum) {  // row 2G = S - D, row 2G+1 = D
#pragma unroll
      for (int c = 0; c < 2; c++) {
        out[1][c] = acc[1][mi][ni][2 * h + c];
        out[0][c] = acc[0][mi][ni][2 * h + c] - out[1][c];
      }
    } else {
      const uint32_t pm = perm[mi][h];
#pragma unroll
      for (int want = 0; want < kM; want++) {
        out[want][0] = out[want][1] = 0.f;
#pragma unroll
        for (int s = 0; s < kM; s++) {
          if ((int)((pm >> (2 * s)) & 3) == want) {
            if constexpr (kF16Acc) {
              uint32_t u = acc[s][mi][ni][h];
              __half2 hv = *reinterpret_cast<__half2*>(&u);
              out[want][0] = __low2float(hv);
              out[want][1] = __high2float(hv);
            } else {
              out[want][0] = acc[s][mi][ni][2 * h];
              out[want][1] = acc[s][mi][ni][2 * h + 1];
            }
          }
        }
      }
    }
    if constexpr (kN == 2) {  // rows 2G, 2G+1 sit in quads g, g^1 (lanes 4 apart): add the partner's sets
#pragma unroll
      for (int want = 0; want < kM; want++) {
        out[want][0] += __shfl_xor_sync(0xffffffffu, out[want][0], 4);
        out[want][1] += __shfl_xor_sync(0xffffffffu, out[want][1], 4);
      }
    }
  };
  // SwiGLU (epilogue 3, 1:2 only; swiglu_layout.h): the thread's pair cr (h = 0, cr % 16 < 8) holds the gate rows
  // 2cr, 2cr + 1 of features f, f + 1 and its pair cr + 8 (h = 1) their up rows; Y rows have m / 2 columns.
  auto swiglu_epilogue = [&](auto form_c) {
    constexpr int kForm = decltype(form_c)::value;
    static_assert(kN == 1 && kM == 2 && kForm != kScatterF32, "SwiGLU: 1:2, compact token-major rows");
    const int64_t width = p.m / 2;
#pragma unroll
    for (int mi = 0; mi < kWM; mi++) {
      const int cr = m0c + (warp_m * kWM + mi) * 16 + g;  // cr % 16 == g: m0c and the m tiles are 16-aligned
      const int f = 16 * (cr / 16) + 2 * g;
#pragma unroll
      for (int ni = 0; ni < kWN; ni++) {
        float gate[kM][2], up[kM][2];
        rows_of(mi, 0, ni, gate);
        rows_of(mi, 1, ni, up);
        if (cr >= p.C) continue;  // m % 32 == 0 (checked on the host): both pairs are in range or neither
#pragma unroll
        for (int c = 0; c < 2; c++) {
          const int j = j0 + (warp_n * kWN + ni) * 8 + 2 * t + c;
          if (j >= sel_end) continue;
          const float v0 = sy::silu(gate[0][c]) * up[0][c], v1 = sy::silu(gate[1][c]) * up[1][c];
          const int64_t at = (int64_t)j * width + f;
          if constexpr (kForm == kTokenVecF32) {
            *reinterpret_cast<float2*>((float*)p.Y + at) = make_float2(v0, v1);
          } else if constexpr (kForm == kTokenVec16) {
            if constexpr (kBf16) {
              __nv_bfloat162 v = __floats2bfloat162_rn(v0, v1);
              *reinterpret_cast<__nv_bfloat162*>((uint16_t*)p.Y + at) = v;
            } else {
              __half2 v = __floats2half2_rn(v0, v1);
              *reinterpret_cast<__half2*>((uint16_t*)p.Y + at) = v;
            }
          } else {
            store_out<kBf16>(p, at, v0);
            store_out<kBf16>(p, at + 1, v1);
          }
        }
      }
    }
  };
  auto epilogue = [&](auto op_c, auto form_c) {
    constexpr int kOp = decltype(op_c)::value, kForm = decltype(form_c)::value;
#pragma unroll
    for (int mi = 0; mi < kWM; mi++)
#pragma unroll
      for (int h = 0; h < 2; h++) {
        const int cr = m0c + (warp_m * kWM + mi) * 16 + g + 8 * h;
#pragma unroll
        for (int ni = 0; ni < kWN; ni++) {
          float out[kM][2];
          rows_of(mi, h, ni, out);
          if (cr >= p.C || (kN == 2 && (cr & 1))) continue;
          const int G = cr / kN;
#pragma unroll
          for (int c = 0; c < 2; c++) {
            const int jl = (warp_n * kWN + ni) * 8 + 2 * t + c, j = j0 + jl;
            if (j >= sel_end) continue;
            float ys[kM];
            const float scale = kOp == kOpRowScale ? __ldg(p.row_scale + j) : 1.f;
#pragma unroll
            for (int want = 0; want < kM; want++) {
              float y = out[want][c];
              if constexpr (kOp == kOpSilu) y = sy::silu(y);
              if constexpr (kOp == kOpRowScale) y *= scale;
              ys[want] = y;
            }
            if constexpr (kForm == kScatterF32) {
              const int64_t dst_row = __ldg(p.store_idx + j);
              if (dst_row < 0 || dst_row >= p.y_rows) {
                if (blockIdx.x == 0 && mi == 0 && h == 0 && warp_m == 0 && g == 0) atomicAdd(&g_ssmm_index_errors, 1);
                continue;
              }
              float* y = (float*)p.Y + dst_row * p.m + (int64_t)G * kM;
#if __CUDA_ARCH__ >= 900
              if (p.y_vec) {  // vector atomics: sm_90, and Y 16-byte aligned (m is a multiple of kM)
                if constexpr (kM == 2) atomicAdd(reinterpret_cast<float2*>(y), make_float2(ys[0], ys[1]));
                else atomicAdd(reinterpret_cast<float4*>(y), make_float4(ys[0], ys[1], ys[2], ys[3]));
                continue;
              }
#endif
#pragma unroll
              for (int want = 0; want < kM; want++) atomicAdd(y + want, ys[want]);
            } else if constexpr (kForm == kTokenVecF32 || kForm == kTokenVec16) {
              // token-major, 16-byte aligned Y: the kM rows of the group are contiguous -> one 8/16-byte (f32) or
              // 4/8-byte (half) store
              const int64_t base = (int64_t)j * p.m + (int64_t)G * kM;
              if constexpr (kForm == kTokenVecF32) {
                if constexpr (kM == 2) *reinterpret_cast<float2*>((float*)p.Y + base) = make_float2(ys[0], ys[1]);
                else *reinterpret_cast<float4*>((float*)p.Y + base) = make_float4(ys[0], ys[1], ys[2], ys[3]);
              } else {
                uint32_t w[kM / 2];
#pragma unroll
                for (int q = 0; q < kM / 2; q++) {
                  if constexpr (kBf16) {
                    __nv_bfloat162 v = __floats2bfloat162_rn(ys[2 * q], ys[2 * q + 1]);
                    w[q] = *reinterpret_cast<uint32_t*>(&v);
                  } else {
                    __half2 v = __floats2half2_rn(ys[2 * q], ys[2 * q + 1]);
                    w[q] = *reinterpret_cast<uint32_t*>(&v);
                  }
                }
                if constexpr (kM == 2) *reinterpret_cast<uint32_t*>((uint16_t*)p.Y + base) = w[0];
                else *reinterpret_cast<uint2*>((uint16_t*)p.Y + base) = make_uint2(w[0], w[1]);
              }
            } else {  // kScalar: feature-major, or token-major Y not 16-byte aligned; dtype and layout read here
#pragma unroll
              for (int want = 0; want < kM; want++) {
                const int row = G * kM + want;
                store_out<kBf16>(p, p.y_layout == 0 ? (int64_t)j * p.m + row : (int64_t)row * p.n_sel + j, ys[want]);
              }
            }
          }
        }
      }
  };
  auto with_op = [&](auto form) {
    if constexpr (kN == 1 && kM == 2 && decltype(form)::value != kScatterF32)  // SwiGLU: compact 1:2 launches (host-checked)
      if (p.epilogue == kOpSwiglu) return swiglu_epilogue(form);
    if (p.epilogue == kOpSilu) epilogue(std::integral_constant<int, kOpSilu>{}, form);
    else if (p.epilogue == kOpRowScale) epilogue(std::integral_constant<int, kOpRowScale>{}, form);
    else epilogue(std::integral_constant<int, kOpNone>{}, form);
  };
  if (p.y_mode == 1) with_op(std::integral_constant<int, kScatterF32>{});
  else if (p.y_layout == 0 && p.y_vec && p.y_dtype == SY_F32) with_op(std::integral_constant<int, kTokenVecF32>{});
  else if (p.y_layout == 0 && p.y_vec) with_op(std::integral_constant<int, kTokenVec16>{});
  else with_op(std::integral_constant<int, kScalar>{});
}

template <int kN, int kM, int kWM, bool kBf16, bool kF16Acc, bool kSum = false, int kSubs = 2>
sy_status launch_one(const char* fn, const Params& p, int token_tiles) {
  using C = Cfg<kM, kWM, kSubs>;
  auto kern = ssmm_kernel<kN, kM, kWM, kBf16, kF16Acc, kSum, kSubs>;
  static bool attr_set[64] = {};  // per device
  int dev = sy::current_device();
  if (!attr_set[dev]) {
    SY_CUDA(fn, cudaFuncSetAttribute(kern, cudaFuncAttributeMaxDynamicSharedMemorySize, C::kSmem));
    attr_set[dev] = true;
  }
  dim3 grid((p.C + C::kCtaC - 1) / C::kCtaC, token_tiles);
  if (grid.y > 65535u)
    return sy::fail(SY_ERR_INVALID, "%s: %d token tiles exceed the grid limit 65535 (at most %d selections per call)", fn,
                    token_tiles, 65535 * kBN);
  kern<<<grid, kThreads, C::kSmem, sy::stream()>>>(p);
  return sy::check_launch(fn);
}

template <bool kBf16, bool kF16Acc>
sy_status launch_nm(const char* fn, const Params& p, int N, int M, int token_tiles) {
  // 1:2 and 2:4 keep 2 / 4 sets per row: warp tile 64 (1:2) or 32 (x:4) condensed rows keeps registers <= ~200
  if (N == 1 && M == 2) {
    int stage_k = 128;
    if (sy_status st = sy::mma_sp_stage_k(fn, &stage_k)) return st;
    if constexpr (!kF16Acc) {
      bool sum = true;
      if (sy_status st = sy::mma_sp_routing(fn, &sum)) return st;
      if (sum) return stage_k == 64 ? launch_one<1, 2, 4, kBf16, false, true, 1>(fn, p, token_tiles)
                                    : launch_one<1, 2, 4, kBf16, false, true, 2>(fn, p, token_tiles);
    }
    return stage_k == 64 ? launch_one<1, 2, 4, kBf16, kF16Acc, false, 1>(fn, p, token_tiles)
                         : launch_one<1, 2, 4, kBf16, kF16Acc, false, 2>(fn, p, token_tiles);
  }
  if (N == 2 && M == 4) return launch_one<2, 4, 2, kBf16, kF16Acc>(fn, p, token_tiles);
  return launch_one<1, 4, 2, kBf16, kF16Acc>(fn, p, token_tiles);
}

sy_status launch(const char* fn, int dtype, int N, int M, int accum, const Params& p, int token_tiles) {
  if (dtype == SY_BF16) return launch_nm<true, false>(fn, p, N, M, token_tiles);
  if (accum == 1) return launch_nm<false, true>(fn, p, N, M, token_tiles);
  return launch_nm<false, false>(fn, p, N, M, token_tiles);
}

sy_status check_alignment(const char* fn, const void* values, const void* meta, const void* X) {
  if (((uintptr_t)values | (uintptr_t)meta | (uintptr_t)X) & 15)
    return sy::fail(SY_ERR_INVALID, "%s: values, meta and X must be 16-byte aligned device pointers (sy_malloc memory is)", fn);
  return SY_OK;
}

Params make_params(int m, int k, int V, int N, int M, const void* values, const void* indices, const void* meta,
                   const void* X, int x_rows) {
  sy::SamoyedsShape s{m, k, V, N, M};
  Params p{};
  p.values = (const uint16_t*)values;
  p.indices = (const uint8_t*)indices;
  p.meta = (const uint32_t*)meta;
  p.value_stride = (int64_t)(s.value_bytes() / 2);
  p.index_stride = (int64_t)s.index_bytes();
  p.meta_stride = (int64_t)(s.meta_bytes() / 4);
  p.X = (const uint16_t*)X;
  p.x_rows = x_rows;
  p.m = m;
  p.k = k;
  p.V = V;
  p.C = (int)s.c_rows();
  p.KV = k / V;
  p.KS = k / 32;
  p.n_experts = 1;
  return p;
}
}  // namespace

SY_API sy_status sy_ssmm(int32_t dtype, int32_t m, int32_t k, int32_t V, int32_t N, int32_t M, const void* values,
                         const void* indices, const void* meta, const void* X, int32_t x_rows, const int32_t* token_idx,
                         int32_t n_sel, void* Y, int32_t y_dtype, int32_t y_layout, int32_t epilogue, const float* row_scale,
                         int32_t accum) {
  const char* fn = "sy_ssmm";
  SY_ENTER(fn);
  if (sy_status st = sy::check_ssmm_args(fn, dtype, m, k, V, N, M, values, indices, meta, X, x_rows, token_idx, n_sel, Y,
                                         y_dtype, y_layout, epilogue, row_scale, accum))
    return st;
  if (n_sel == 0) return SY_OK;
  if (sy_status st = check_alignment(fn, values, meta, X)) return st;
  Params p = make_params(m, k, V, N, M, values, indices, meta, X, x_rows);
  p.load_idx = token_idx;
  p.offsets = nullptr;
  p.n_sel = n_sel;
  p.Y = Y;
  p.y_vec = ((uintptr_t)Y & 15) == 0;
  p.y_dtype = y_dtype;
  p.y_layout = y_layout;
  p.y_mode = 0;
  p.epilogue = epilogue;
  p.row_scale = row_scale;
  return launch(fn, dtype, N, M, accum, p, (n_sel + kBN - 1) / kBN);
}

SY_API sy_status sy_ssmm_grouped(int32_t dtype, int32_t m, int32_t k, int32_t V, int32_t N, int32_t M, int32_t n_experts,
                                 const void* values, const void* indices, const void* meta, const void* X, int32_t x_rows,
                                 const int32_t* load_idx, const int32_t* offsets, int32_t max_selections, void* Y,
                                 int32_t y_dtype, int32_t y_mode, const int32_t* store_idx, int32_t y_rows, int32_t epilogue,
                                 const float* row_scale, int32_t accum) {
  const char* fn = "sy_ssmm_grouped";
  SY_ENTER(fn);
  if (sy_status st = sy::check_ssmm_grouped_args(fn, dtype, m, k, V, N, M, n_experts, values, indices, meta, X, x_rows,
                                                 load_idx, offsets, max_selections, Y, y_dtype, y_mode, store_idx, y_rows,
                                                 epilogue, row_scale, accum))
    return st;
  if (epilogue == 3 && !(N == 1 && M == 2))
    return sy::fail(SY_ERR_UNSUPPORTED, "%s: epilogue 3 (SwiGLU) is implemented by the mma.sp kernel for 1:2 only, got %d:%d; "
                    "use epilogue 0 and then sy_moe_silu_mul_pair", fn, N, M);
  if (max_selections == 0) return SY_OK;
  if (n_experts > 32 * 1024)
    return sy::fail(SY_ERR_UNSUPPORTED, "%s: at most 32768 experts per launch, got %d", fn, n_experts);
  if (sy_status st = check_alignment(fn, values, meta, X)) return st;
  Params p = make_params(m, k, V, N, M, values, indices, meta, X, x_rows);
  p.load_idx = load_idx;
  p.offsets = offsets;
  p.n_sel = max_selections;
  p.n_experts = n_experts;
  p.Y = Y;
  p.y_vec = ((uintptr_t)Y & 15) == 0;
  p.y_dtype = y_dtype;
  p.y_layout = 0;
  p.y_mode = y_mode;
  p.store_idx = store_idx;
  p.y_rows = y_rows;
  p.epilogue = epilogue;
  p.row_scale = row_scale;
  // upper bound of the tiles over all experts: sum ceil(c_e / kBN) <= ceil(total / kBN) + E
  return launch(fn, dtype, N, M, accum, p, (max_selections + kBN - 1) / kBN + n_experts);
}

namespace sy {
namespace wg {
sy_status take_bad_tokens(const char* fn, int* count);  // ssmm_wgmma.cu
}
}  // namespace sy

SY_API sy_status sy_ssmm_index_errors(int32_t* count_out) {
  const char* fn = "sy_ssmm_index_errors";
  SY_ENTER(fn);
  SY_CHECK(count_out, "sy_ssmm_index_errors", "count_out is null");
  SY_CUDA(fn, cudaStreamSynchronize(sy::stream()));
  int zero = 0, count = 0;
  SY_CUDA(fn, cudaMemcpyFromSymbol(&count, g_ssmm_index_errors, sizeof(int)));
  SY_CUDA(fn, cudaMemcpyToSymbol(g_ssmm_index_errors, &zero, sizeof(int)));
  int wgmma_count = 0;  // the grouped wgmma.sp kernel counts into its own device counter
  if (sy_status st = sy::wg::take_bad_tokens(fn, &wgmma_count)) return st;
  *count_out = count + wgmma_count;
  return SY_OK;
}
