// Hopper SSMM with wgmma.mma_async.sp (sm_90a), issue 5.  Y = X[token_idx] * W^T, W in the Samoyeds format (1:2 rows
// x 2:4, V-wide k-vectors).
//
// DESIGN (dense-equivalent accounting; "dense-eq" = 2*m*k*n flops, as if W were dense)
// The condensed weight C ((m/2) x k, 2:4 along k) is the sparse operand A of wgmma.sp, 64 condensed rows per
// warpgroup instruction; the selected tokens are B (tokens along N). One wgmma.sp m64nNk32 costs the tensor core
// what a dense m64nNk16 costs, so the useful work is (m/2) x k x n at half price: the ceiling is 2x the wgmma.sp
// instruction peak in dense-eq terms (1730 x 2 = ~3460 dense-eq TFLOP/s measured-peak-based on H100), IF each
// condensed row's product lands in the right one of its pair's two output rows.
//
// The catch: wgmma adds A row r into accumulator row r for all 64 rows at once, but condensed row r must go to
// output row 2r or 2r+1 depending on indices[r][k-vector]. Options considered:
//  (a) two masked wgmmas per step (rows with index 0 into set 0, rows with index 1 into set 1), or equivalently
//      running wgmma.sp on the decoded m x k weight (dropped vectors are zero, trivially 2:4): half of every
//      instruction multiplies zeros -> ceiling = 1x the wgmma.sp peak (~1730 dense-eq), no routing cost.
//  (b) the paper's trick, adapted: each k-vector's partial product goes into a temporary accumulator set T
//      (first wgmma of the vector with scale-d = 0), and when the vector closes, each thread adds T, row by row,
//      into set 0 or set 1 according to indices (the thread knows its two rows: 16w + lane/4 and +8). No wasted
//      tensor work -> ceiling 2x the wgmma.sp peak, paid for by (i) N FADD-slots per thread per k-vector
//      (predicated adds: N/2 registers x 2), (ii) a wgmma.wait per k-vector, (iii) 3 accumulator sets of registers.
//      For V = 128, N = 128 a k-vector is 4 wgmma.sp m64n128k32 = ~290 tensor cycles per warpgroup vs 128
//      FADD issue slots per warp; with two consumer warpgroups the tensor core runs one warpgroup's wgmmas
//      while the other routes, so (i)+(ii) hide behind the tensor work. V = 32 routes 4x as often (~1:1).
// We implement (b). Registers: T, acc0, acc1 = 3 x 64 f32 at N = 128 per consumer warpgroup (setmaxnreg 232).
//
// CTA: 3 warpgroups (warp specialization). WG0 = producer: per 64-wide k stage, one thread bulk-copies the packed A
// block (8 KB, already in the shared-memory image order, see wgmma_layout.h) and the metadata block (1 KB) with
// cp.async.bulk (mbarrier transaction bytes), and the BN = 128 selected token rows are gathered (cp.async by all 128
// producer threads, or TMA tiles of the pre-gathered tokens, see the kernel) into an 8-stage ring. WG1, WG2 =
// consumers, 64 condensed rows each (the CTA covers 128 condensed = 256 output rows x 128 tokens), sharing the B
// tile; they fence the async proxy after the full-barrier wait and release stages ("empty") once the wgmmas reading
// them completed.
// The consumer k loop runs over whole k-vectors (V is a template parameter, body unrolled) so that no wgmma is in
// flight at the loop's back edge (a run-time "vector ends here" branch made ptxas inject a wait every stage).
// Grid: token tiles fastest. Grouped launches (MoE, sy_ssmm_wgmma_grouped) walk a flat list of every expert's token
// tiles (group_tiles.cuh). Measured numbers, the limiter and the variants: docs/notes/wgmma-perf.md.
// Shared memory: A (and its metadata) in the no-swizzle K-major core-matrix layout, B K-major with the 128B swizzle
// (a token's 64 k values are one 128-byte row, its 16-byte chunks XOR-permuted by row % 8).
// Epilogue straight from registers: rows 2c and 2c+1 are adjacent in token-major Y, so each thread writes pairs.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda.h>  // CUtensorMap (the type only: the encoder is found at run time)
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include "cuda_common.cuh"
#include "group_tiles.cuh"
#include "ssmm_check.h"
#include "wgmma_check.h"
#include "wgmma_layout.h"
#include "wgmma_ops.cuh"

namespace sy {
namespace wg {
constexpr int kThreads = 128 * (1 + kConsumerWgs);
// Shared-memory map of a kernel with S pipeline stages.
template <int S>
struct SmemMap {
  static constexpr int kA = 0;
  static constexpr int kB = kA + S * kAStageBytes;
  static constexpr int kMeta = kB + S * kBStageBytes;
  static constexpr int kBar = kMeta + S * kMetaStageBytes;
  static constexpr int kBytes = kBar + 2 * S * 8 + 1024;  // full and empty barriers + slack to align to 1024
};

__device__ int g_bad_tokens;

struct Params {
  const uint8_t* wvalues;   // expert 0; expert e at + e * wvalue_stride bytes (grouped)
  const uint8_t* indices;
  const uint8_t* wmeta;
  uint64_t wvalue_stride, index_stride, wmeta_stride;
  const uint16_t* X;
  const int32_t* token_idx;  // selection j -> token row of X
  const int32_t* offsets;    // grouped: E+1 selection offsets on the device; null: one group [0, n_sel)
  int n_experts;
  const int32_t* store_idx;  // y_mode 1: selection j adds into Y row store_idx[j]
  const float* row_scale;
  void* Y;
  int m, k, V, x_rows, n_sel, y_f32, y_layout, y_mode, y_rows, epilogue;  // grouped: n_sel = max_selections
  int row_tile_fastest;  // grid raster: blockIdx.x walks row tiles (the weight stays in L2, each token tile is read once)
};

__device__ __forceinline__ uint32_t smem_u32(const void* p) { return (uint32_t)__cvta_generic_to_shared(p); }
__device__ __forceinline__ void mbar_init(uint32_t bar, uint32_t count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
// Waits until the phase with the given parity has completed. kCluster: acquire at cluster scope (the barrier also
// receives arrivals from the other CTAs of a cluster).
template <bool kCluster = false>
__device__ __forceinline__ void mbar_wait(uint32_t bar, uint32_t parity) {
  uint32_t done;
  do {
    if constexpr (kCluster)
      asm volatile(
          "{\n.reg .pred p;\nmbarrier.try_wait.parity.acquire.cluster.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
          : "=r"(done)
          : "r"(bar), "r"(parity)
          : "memory");
    else
      asm volatile(
          "{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
          : "=r"(done)
          : "r"(bar), "r"(parity)
          : "memory");
  } while (!done);
}
// 16-byte global->shared copy; src_bytes = 0 writes zeros (padding tokens / k tail).
__device__ __forceinline__ void cp_async16(uint32_t dst, const void* src, uint32_t src_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(src_bytes) : "memory");
}
// Arrives on the mbarrier once all of this thread's earlier cp.async copies have landed (no wait in the producer).
__device__ __forceinline__ void cp_async_arrive_noinc(uint32_t bar) {
  asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];\n" ::"r"(bar) : "memory");
}
__device__ __forceinline__ void mbar_arrive_expect_tx(uint32_t bar, uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes) : "memory");
}
// Contiguous global->shared bulk copy (async proxy); completes `bytes` transactions on the mbarrier.
__device__ __forceinline__ void bulk_copy(uint32_t dst, const void* src, uint32_t bytes, uint32_t bar) {
  asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];\n" ::"r"(dst), "l"(src),
               "r"(bytes), "r"(bar)
               : "memory");
}
__device__ __forceinline__ void fence_proxy_async() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }
// ---- clusters (CTAs on adjacent row tiles sharing the token tile) ----
__device__ __forceinline__ uint32_t cluster_rank() {
  uint32_t r;
  asm volatile("mov.u32 %0, %%cluster_ctarank;\n" : "=r"(r));
  return r;
}
// The shared::cluster address of the same shared-memory offset in CTA `rank` of the cluster.
__device__ __forceinline__ uint32_t peer_addr(uint32_t addr, uint32_t rank) {
  uint32_t r;
  asm volatile("mapa.shared::cluster.u32 %0, %1, %2;\n" : "=r"(r) : "r"(addr), "r"(rank));
  return r;
}
__device__ __forceinline__ void cluster_sync() {
  asm volatile("barrier.cluster.arrive.release;\nbarrier.cluster.wait.acquire;\n" ::: "memory");
}
// Arrivals by one lane without a branch (the predicate lives inside the asm).
__device__ __forceinline__ void mbar_arrive_if(uint32_t bar, uint32_t pred) {
  asm volatile("{\n.reg .pred p;\nsetp.ne.u32 p, %1, 0;\n@p mbarrier.arrive.shared::cta.b64 _, [%0];\n}\n" ::"r"(bar), "r"(pred) : "memory");
}
__device__ __forceinline__ void mbar_arrive_cluster_if(uint32_t cluster_bar, uint32_t pred) {
  asm volatile("{\n.reg .pred p;\nsetp.ne.u32 p, %1, 0;\n@p mbarrier.arrive.release.cluster.shared::cluster.b64 _, [%0];\n}\n" ::"r"(cluster_bar),
               "r"(pred)
               : "memory");
}
// One box of the tensor map (64 k values x the map's box rows, 128 bytes a row) by the copy engine, at (k0, row0),
// written 128B-swizzled at dst (1024-aligned), transaction bytes completed on bar. kCluster > 1: multicast into the
// same offset of every CTA of the cluster, completing on each CTA's bar.
template <int kCluster>
__device__ __forceinline__ void tma_load_box(uint32_t dst, const CUtensorMap* map, int k0, int row0, uint32_t bar) {
  const uint64_t m = reinterpret_cast<uint64_t>(map);
  if constexpr (kCluster == 1)
    asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n" ::"r"(dst),
                 "l"(m), "r"(k0), "r"(row0), "r"(bar)
                 : "memory");
  else
    asm volatile(
        "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes.multicast::cluster [%0], [%1, {%2, %3}], [%4], %5;\n" ::"r"(dst),
        "l"(m), "r"(k0), "r"(row0), "r"(bar), "h"((uint16_t)((1u << kCluster) - 1))
        : "memory");
}

// Pre-gather of the TMA-tile variant: Xg[j] = X[token_idx[j]] (k values), one warp a row, 16-byte copies. A bad index
// is clamped and counted (as the cp.async gather does); grouped (offsets): rows past offsets[n_experts] are skipped
// (the kernel reads them only into token columns it does not store).
__global__ void gather_tokens_kernel(const uint16_t* __restrict__ X, int x_rows, int k, const int32_t* __restrict__ token_idx,
                                     const int32_t* __restrict__ offsets, int n_experts, int n, uint16_t* __restrict__ Xg) {
  const int j = blockIdx.x * (blockDim.x / 32) + (threadIdx.x >> 5), lane = threadIdx.x & 31;
  if (j >= n || (offsets && j >= offsets[n_experts])) return;
  int r = token_idx[j];
  if (r < 0 || r >= x_rows) {
    if (lane == 0) atomicAdd(&g_bad_tokens, 1);
    r = r < 0 ? 0 : x_rows - 1;
  }
  const uint4* src = reinterpret_cast<const uint4*>(X + (size_t)r * k);
  uint4* dst = reinterpret_cast<uint4*>(Xg + (size_t)j * k);
  for (int c = lane; c < k / 8; c += 32) dst[c] = src[c];
}

__device__ __forceinline__ uint32_t lds32(uint32_t addr) {
  uint32_t v;
  asm volatile("ld.shared.u32 %0, [%1];\n" : "=r"(v) : "r"(addr) : "memory");
  return v;
}

template <bool kBf16>
__device__ __forceinline__ uint16_t to_half_bits(float v) {
  if constexpr (kBf16) return __bfloat16_as_ushort(__float2bfloat16_rn(v));
  else return __half_as_ushort(__float2half_rn(v));
}

// kStages: pipeline depth; up to kStages stages are in flight (the producer never waits for its own copies). The
// packed weight and metadata blocks of a stage come by cp.async.bulk (one thread, mbarrier transaction bytes). The
// B tile (the stage's 128 selected token rows, 64 k each = one 128-byte line per token) lands in the 128B-swizzled
// K-major layout of wgmma_layout.h, in one of two ways (kGather):
//  0 cp.async from X: every producer thread copies 16-byte chunks; a warp instruction reads 4 whole token lines and,
//    with the software swizzle, writes them without bank conflicts; each thread's completion arrives on the stage's
//    "full" barrier (cp.async.mbarrier.arrive.noinc). The default.
//  1 TMA tiles of the pre-gathered tokens (x_map describes Xg = X[token_idx], gathered by gather_tokens_kernel just
//    before): one tensor copy per stage (box 64 k x 128 / kCluster rows, 128B swizzle by the copy engine, zeros
//    out of bounds). One TMA copy per token row straight from X was measured instead and was 4-6x slower than
//    cp.async: row copies are issued at ~60-85 cycles each (docs/notes/wgmma-perf.md, session 4).
//    kCluster > 1: a cluster of kCluster CTAs on adjacent row tiles (same token tile) shares the B tile: each CTA
//    loads 128 / kCluster of the rows and multicasts them into every CTA of the cluster, so each SM reads
//    16 / kCluster KB of tokens per stage from L2 instead of 16 (B is 2/3 of a stage's bytes). A stage is then
//    released only when the consumers of every CTA of the cluster are done with it (each consumer warp arrives on
//    the empty barrier of every CTA).
// Grouped launches (kLaunch 1, 2) cover several experts (p.offsets); the CTA's expert and selection range are
// resolved once and kept in shared memory, read where needed. Resolving them at run time in every launch made the
// single-expert kernel ~2x slower on the H100 (docs/notes/wgmma-perf.md); the single launch keeps compile-time
// constants instead.
// kLaunch: 0 single expert, 1 grouped with compact output rows, 2 grouped with f32 scatter-add into store_idx rows.
template <bool kBf16, int kStages, int kGather, int kCluster, int kV, int kLaunch>
__global__ void __launch_bounds__(kThreads, 1) ssmm_wgmma_kernel(const Params p_in, const __grid_constant__ CUtensorMap x_map) {
#ifdef SY_HAS_WGMMA
  static_assert(kGather == 1 || kCluster == 1, "the cp.async gather has no cluster variant");
  static_assert(kCluster == 1 || kCluster == 2 || kCluster == 4, "cluster of 1, 2 or 4 CTAs");
  // A local copy: read straight from the parameter space, the fields were addressed through a pointer into it and
  // the single launch ran 1.26x slower on the H100 (same session, data/wgmma-perf/bisect-params-copy.log).
  const Params p = p_in;
  constexpr bool kGrouped = kLaunch != 0;
  using Map = SmemMap<kStages>;
  constexpr int kSmemA = Map::kA, kSmemB = Map::kB, kSmemMeta = Map::kMeta, kSmemBar = Map::kBar;
  extern __shared__ uint8_t smem_raw[];
  const uint32_t sbase = (smem_u32(smem_raw) + 1023u) & ~1023u;  // 1024-aligned: the 128B swizzle atoms of B
  const uint32_t full_bar = sbase + kSmemBar, empty_bar = full_bar + kStages * 8;
  const int wg = threadIdx.x >> 7, t = threadIdx.x & 127;
  const uint32_t rank = kCluster > 1 ? cluster_rank() : 0;
  const int ntile = p.row_tile_fastest ? blockIdx.y : blockIdx.x;
  __shared__ int s_group[3];  // grouped: expert (-1: nothing to do), first selection, end of the selection range
  if constexpr (kGrouped) {
    if (threadIdx.x < 32) {
      const GroupTile f = find_group_tile(p.offsets, p.n_experts, kBN, ntile);
      if (threadIdx.x == 0) {
        int e = f.expert, jb = 0, se = 0;
        if (e >= 0) {
          jb = p.offsets[e] + f.tile * kBN;
          se = min(p.offsets[e + 1], p.n_sel);
          if (jb >= se) e = -1;
        }
        s_group[0] = e, s_group[1] = jb, s_group[2] = se;
        if (blockIdx.x == 0 && blockIdx.y == 0 && p.offsets[p.n_experts] > p.n_sel)
          atomicAdd(&g_bad_tokens, 1);  // selections beyond max_selections are not computed
      }
    }
  }
  if (threadIdx.x == 0) {
    for (int s = 0; s < kStages; s++) {
      // cp.async: every producer thread's copies + the weight copier's expect_tx; TMA: the one expect_tx arrival
      mbar_init(full_bar + 8 * s, kGather == 0 ? 128 + 1 : 1);
      mbar_init(empty_bar + 8 * s, kConsumerWgs * 4 * kCluster);  // every consumer warp of every CTA releases
    }
    if constexpr (kCluster > 1) asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  if constexpr (kCluster > 1) cluster_sync();  // the peers' barriers are initialized before any remote operation
  else __syncthreads();
  const int tile = p.row_tile_fastest ? blockIdx.x : blockIdx.y;
  // a padding CTA of a cluster (row tile past the end) loads the last tile's weight and stores nothing
  const int a_tile = min(tile, ceil_div(p.m / 2, kRowsPerCta) - 1);
  auto group_expert = [&]() -> int { return kGrouped ? (int)lds32(smem_u32(&s_group[0])) : 0; };
  auto group_j_base = [&]() -> int { return kGrouped ? (int)lds32(smem_u32(&s_group[1])) : ntile * kBN; };
  auto group_sel_end = [&]() -> int { return kGrouped ? (int)lds32(smem_u32(&s_group[2])) : p.n_sel; };
  if (kGrouped && group_expert() < 0) return;  // uniform over the CTA (and a cluster: same token tile)
  const int k = p.k, mc = p.m / 2, nk = ceil_div(k, kBK);

  if (wg == 0) {
    // ---------------- producer warpgroup ----------------
    asm volatile("setmaxnreg.dec.sync.aligned.u32 40;\n");
    const int j_base = group_j_base(), sel_end = group_sel_end();
    // cp.async: X row of tile token n, -1 for padding past the selection; a bad index is clamped and counted once
    // per token (by row tile 0)
    auto row_of = [&](int n, bool count) -> int {
      const int j = j_base + n;
      if (j >= sel_end) return -1;
      int r = p.token_idx[j];
      if (r < 0 || r >= p.x_rows) {
        if (count && tile == 0) atomicAdd(&g_bad_tokens, 1);
        r = r < 0 ? 0 : p.x_rows - 1;
      }
      return r;
    };
    auto copy_weight_blocks = [&](int kt, int s, uint32_t tx_bytes) {
      const uint64_t e = (uint64_t)group_expert();
      const uint8_t *wvalues = p.wvalues + e * p.wvalue_stride, *wmeta = p.wmeta + e * p.wmeta_stride;
      mbar_arrive_expect_tx(full_bar + 8 * s, tx_bytes);
      bulk_copy(sbase + kSmemA + s * kAStageBytes, wvalues + packed_value_block(a_tile, kt, k), kAStageBytes, full_bar + 8 * s);
      bulk_copy(sbase + kSmemMeta + s * kMetaStageBytes, wmeta + packed_meta_block(a_tile, kt, k), kMetaStageBytes, full_bar + 8 * s);
    };
    if constexpr (kGather == 0) {
      // thread t copies chunk (t & 7) of tokens (t >> 3) + 16 i
      constexpr int kPer = kBN / 16;
      const int chunk = t & 7;
      int rows[kPer];
#pragma unroll
      for (int i = 0; i < kPer; i++) rows[i] = row_of((t >> 3) + 16 * i, chunk == 0);
      for (int kt = 0; kt < nk; kt++) {
        const int s = kt % kStages;
        if (kt >= kStages) mbar_wait(empty_bar + 8 * s, ((kt / kStages) - 1) & 1);
        if (t == 0) copy_weight_blocks(kt, s, kAStageBytes + kMetaStageBytes);
        const int kcol = kt * kBK + chunk * 8;
        const uint32_t b_dst = sbase + kSmemB + s * kBStageBytes;
#pragma unroll
        for (int i = 0; i < kPer; i++) {
          const bool ok = rows[i] >= 0 && kcol < k;
          const uint16_t* src = ok ? p.X + (size_t)rows[i] * k + kcol : p.X;
          cp_async16(b_dst + b_stage_offset((t >> 3) + 16 * i, chunk), src, ok ? 16 : 0);
        }
        cp_async_arrive_noinc(full_bar + 8 * s);  // the consumers fence the async proxy after their wait
      }
    } else if (t == 0) {
      // this CTA's kMine rows of the token tile, one box per stage, multicast into the cluster
      constexpr int kMine = kBN / kCluster;
      asm volatile("prefetch.tensormap [%0];\n" ::"l"(reinterpret_cast<uint64_t>(&x_map)) : "memory");
      for (int kt = 0; kt < nk; kt++) {
        const int s = kt % kStages;
        if (kt >= kStages) mbar_wait<(kCluster > 1)>(empty_bar + 8 * s, ((kt / kStages) - 1) & 1);
        copy_weight_blocks(kt, s, kAStageBytes + kMetaStageBytes + kBStageBytes);
        tma_load_box<kCluster>(sbase + kSmemB + s * kBStageBytes + b_row_offset((int)rank * kMine), &x_map, kt * kBK,
                               j_base + (int)rank * kMine, full_bar + 8 * s);
      }
    }
  } else {
    // ---------------- consumer warpgroups ----------------
    asm volatile("setmaxnreg.inc.sync.aligned.u32 232;\n");
    const int cw = wg - 1;
    const uint32_t lane0 = (t & 31) == 0;
    constexpr int R = kBN / 2;
    float T[R], acc0[R], acc1[R];
#pragma unroll
    for (int i = 0; i < R; i++) acc0[i] = acc1[i] = T[i] = 0.f;
    const int c0 = tile * kRowsPerCta + cw * kRowsPerWg + d_row(t, 0), c1 = c0 + 8;
    // The k loop walks "iterations" of kSpi stages holding kVpi whole k-vectors, fully unrolled, with an explicit
    // wgmma wait at each k-vector end: nothing is in flight at the loop's back edge, so ptxas injects no
    // warpgroup.wait of its own (it did, once per stage, when the vector end was a run-time branch).
    constexpr int kSpi = kV >= kBK ? kV / kBK : 1;   // stages per iteration
    constexpr int kVpi = kV >= kBK ? 1 : kBK / kV;   // k-vectors per iteration
    constexpr int kStepsPerVec = kV / 32;
    const int nv = ceil_div(k, kV);
    const uint32_t mword = (uint32_t)meta_word_index(t);
    const int n_iters = nk / kSpi;
    // Routes T (the finished k-vector's partial product) into set 0 or 1 of each of the thread's two rows.
    auto route = [&](int sel0, int sel1) {
#pragma unroll
      for (int i = 0; i < R; i++) {
        const int sel = ((i >> 1) & 1) ? sel1 : sel0;
        if (sel) acc1[i] += T[i];
        else acc0[i] += T[i];
      }
    };
    auto sel_of = [&](int c, int v) -> int {
      const uint8_t* indices = p.indices + (uint64_t)group_expert() * p.index_stride;
      return c < mc ? indices[(size_t)c * nv + (v < nv ? v : nv - 1)] : 0;
    };
    auto wait_full = [&](int kt) {
      mbar_wait(full_bar + 8 * (kt % kStages), (kt / kStages) & 1);
      // cp.async writes are generic-proxy writes; wgmma reads through the async proxy
      fence_proxy_async();
    };
    auto issue = [&](int kt, int js, uint32_t meta, int scale_d) {
      const int s = kt % kStages;
      const uint64_t a_desc = make_desc(sbase + kSmemA + s * kAStageBytes + (cw * kKSteps + js) * kAStepBytes, kALbo, kASbo);
      const uint64_t b_desc = make_b_desc(sbase + kSmemB + s * kBStageBytes, js);
      if constexpr (kBf16) wgmma_sp_m64n128k32_bf16(T, a_desc, b_desc, meta, scale_d);
      else wgmma_sp_m64n128k32_f16(T, a_desc, b_desc, meta, scale_d);
    };
    auto meta_of = [&](int kt, int js) -> uint32_t {
      return lds32(sbase + kSmemMeta + (kt % kStages) * kMetaStageBytes + (uint32_t)((cw * kKSteps + js) * kMetaWordsPerStep + mword) * 4);
    };
    // The routing of iteration it + 1 is loaded during iteration it: a load issued at the iteration's start
    // stalled the routing (ncu: ~half of the consumer's stall cycles waited on these global loads).
    int next_sels[kVpi][2];
#pragma unroll
    for (int j = 0; j < kVpi; j++) next_sels[j][0] = sel_of(c0, j), next_sels[j][1] = sel_of(c1, j);
    for (int it = 0; it < n_iters; it++) {
      const int kt0 = it * kSpi, vn = (kt0 + kSpi) * kBK / kV;
      int sels[kVpi][2];
#pragma unroll
      for (int j = 0; j < kVpi; j++) {
        sels[j][0] = next_sels[j][0], sels[j][1] = next_sels[j][1];
        next_sels[j][0] = sel_of(c0, vn + j), next_sels[j][1] = sel_of(c1, vn + j);
      }
      uint32_t meta[kSpi][kKSteps];
#pragma unroll
      for (int j = 0; j < kSpi; j++) {
        wait_full(kt0 + j);
#pragma unroll
        for (int js = 0; js < kKSteps; js++) meta[j][js] = meta_of(kt0 + j, js);
      }
      wgmma_fence();
#pragma unroll
      for (int st = 0; st < kSpi * kKSteps; st++) {
        issue(kt0 + st / kKSteps, st % kKSteps, meta[st / kKSteps][st % kKSteps], st % kStepsPerVec != 0);
        if ((st + 1) % kStepsPerVec == 0) {
          wgmma_commit();
          wgmma_wait<0>();
          fence_regs(T);
          if (st == kSpi * kKSteps - 1) {  // this warp's wgmmas reading the stages are complete: lane 0 releases
            // them (predicated inside the asm: no branch between the wgmmas)
#pragma unroll
            for (int j = 0; j < kSpi; j++) {
              const uint32_t bar = empty_bar + 8 * ((kt0 + j) % kStages);
              if constexpr (kCluster == 1) mbar_arrive_if(bar, lane0);
              else
#pragma unroll
                for (int r = 0; r < kCluster; r++) mbar_arrive_cluster_if(peer_addr(bar, r), lane0);
            }
          }
          const int vj = st / kStepsPerVec;
          route(sels[vj][0], sels[vj][1]);
          fence_regs(T);
          wgmma_fence();
        }
      }
    }
    if (n_iters * kSpi < nk) {
      // kV = 128 and an odd number of stages: the last stage alone closes the last (short) k-vector
      const int kt = n_iters * kSpi;
      const int s0 = next_sels[0][0], s1 = next_sels[0][1];
      wait_full(kt);
      const uint32_t m0 = meta_of(kt, 0), m1 = meta_of(kt, 1);
      wgmma_fence();
      issue(kt, 0, m0, 0);
      issue(kt, 1, m1, 1);
      wgmma_commit();
      wgmma_wait<0>();
      fence_regs(T);
      route(s0, s1);
    }
    // ---------------- epilogue ----------------
    const int n_sel = p.n_sel, m = p.m, j_base = group_j_base(), sel_end = group_sel_end();
#pragma unroll
    for (int i = 0; i < R; i++) {
      const int c = tile * kRowsPerCta + cw * kRowsPerWg + d_row(t, i), j = j_base + d_col(t, i);
      if (c >= mc || j >= sel_end) continue;
      const float v0 = apply_epilogue(acc0[i], p.epilogue, p.row_scale, j);
      const float v1 = apply_epilogue(acc1[i], p.epilogue, p.row_scale, j);
      if constexpr (kLaunch == 2) {  // grouped scatter-add (f32) into the token's row
        const int r = p.store_idx[j];
        if (r < 0 || r >= p.y_rows) {
          if (tile == 0 && cw == 0 && d_row(t, i) == 0) atomicAdd(&g_bad_tokens, 1);  // once per selection
          continue;
        }
        float* y = (float*)p.Y + (size_t)r * m + 2 * c;
        atomicAdd(y, v0);
        atomicAdd(y + 1, v1);
      } else if (kLaunch == 1 || p.y_layout == 0) {  // token-major: output rows 2c, 2c+1 are adjacent
        const size_t at = (size_t)j * m + 2 * c;
        if (p.y_f32) *reinterpret_cast<float2*>((float*)p.Y + at) = make_float2(v0, v1);
        else *reinterpret_cast<uint32_t*>((uint16_t*)p.Y + at) = (uint32_t)to_half_bits<kBf16>(v0) | ((uint32_t)to_half_bits<kBf16>(v1) << 16);
      } else {
        const size_t a0 = (size_t)(2 * c) * n_sel + j, a1 = a0 + n_sel;
        if (p.y_f32) {
          ((float*)p.Y)[a0] = v0;
          ((float*)p.Y)[a1] = v1;
        } else {
          ((uint16_t*)p.Y)[a0] = to_half_bits<kBf16>(v0);
          ((uint16_t*)p.Y)[a1] = to_half_bits<kBf16>(v1);
        }
      }
    }
  }
  if constexpr (kCluster > 1) cluster_sync();  // the peers may still arrive on this CTA's barriers
#endif
}

// ---------------- instruction-peak microbenchmark ----------------
constexpr int kPeakIters = 4;  // wgmmas per commit group
template <bool kSparse>
__global__ void __launch_bounds__(256, 1) wgmma_peak_kernel(int iters, float* sink) {
#ifdef SY_HAS_WGMMA
  __shared__ __align__(1024) uint8_t sm[2048 + 256 * 64];  // A: 64 x 16 halves; B: 256 tokens x 32 (sparse) / 16 k
  for (int i = threadIdx.x; i < (int)sizeof(sm) / 4; i += blockDim.x) reinterpret_cast<uint32_t*>(sm)[i] = 0;
  fence_proxy_async();
  __syncthreads();
  const uint32_t base = smem_u32(sm);
  const uint32_t kchunks = kSparse ? 4 : 2;
  const uint64_t a_desc = make_desc(base, kALbo, kASbo);
  const uint64_t b_desc = make_desc(base + 2048, 128, kchunks * 128);
  float d[128];
#pragma unroll
  for (int i = 0; i < 128; i++) d[i] = 0.f;
  for (int it = 0; it < iters; it += kPeakIters) {
    wgmma_fence();
#pragma unroll
    for (int j = 0; j < kPeakIters; j++) {
      fence_regs(d);
      if constexpr (kSparse) wgmma_sp_m64n256k32_f16(d, a_desc, b_desc, 0x44444444u, 1);
      else wgmma_m64n256k16_f16(d, a_desc, b_desc, 1);
      fence_regs(d);
    }
    wgmma_commit();
    wgmma_wait<0>();
    fence_regs(d);
  }
  float sum = 0.f;
#pragma unroll
  for (int i = 0; i < 128; i++) sum += d[i];
  if (sum == 12345.f) sink[threadIdx.x] = sum;  // never true (all zeros); keeps the work observable
#endif
}

sy_status require_sm90(const char* fn) {
  int dev = current_device(), major = 0, minor = 0;
  SY_CUDA(fn, cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev));
  SY_CUDA(fn, cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev));
  if (major != 9 || minor != 0)
    return fail(SY_ERR_UNSUPPORTED, "%s: wgmma.mma_async.sp needs an sm_90 GPU (H100/H200, built for sm_90a); this device is sm_%d%d. Use sy_ssmm",
                fn, major, minor);
  return SY_OK;
}
}  // namespace wg
}  // namespace sy

using namespace sy;
using namespace sy::wg;

namespace sy {
namespace wg {
// How the B tile is gathered (see the kernel). SAMOYEDS_WGMMA_VARIANT (benchmarking and tests) overrides the default.
struct Variant {
  const char* name;
  int gather, cluster;  // kGather, kCluster
};
constexpr Variant kVariants[] = {{"cpasync", 0, 1}, {"gathered-tma", 1, 1}, {"gathered-tma-mc2", 1, 2}, {"gathered-tma-mc4", 1, 4}};
// cp.async: 1.18-1.27x the previous (no-swizzle, half-line) gather at the Figure 12 shapes (H200, same session:
// data/wgmma-perf/variants-3afa48b-h200.json). The gathered-tma variants are not measured yet.
constexpr int kDefaultVariant = 0;

sy_status pick_variant(const char* fn, Variant* out) {
  const char* want = getenv("SAMOYEDS_WGMMA_VARIANT");
  *out = kVariants[kDefaultVariant];
  if (!want || !*want) return SY_OK;
  for (const Variant& v : kVariants)
    if (!strcmp(v.name, want)) return *out = v, SY_OK;
  return fail(SY_ERR_INVALID, "%s: SAMOYEDS_WGMMA_VARIANT=%s is not one of cpasync, gathered-tma, gathered-tma-mc2, gathered-tma-mc4", fn, want);
}

// The tensor map of a rows x k 16-bit token matrix for the TMA tile loads: boxes of box_rows rows x 64 k, 128B
// swizzle, zeros out of bounds. cuTensorMapEncodeTiled is a driver function: found through the runtime (no link to
// libcuda).
sy_status encode_token_map(const char* fn, int dtype, const void* X, int rows, int k, int box_rows, CUtensorMap* map) {
  using Encode = CUresult (*)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*, const cuuint64_t*, const cuuint64_t*,
                              const cuuint32_t*, const cuuint32_t*, CUtensorMapInterleave, CUtensorMapSwizzle,
                              CUtensorMapL2promotion, CUtensorMapFloatOOBfill);
  static Encode encode = nullptr;
  if (!encode) {
    void* f = nullptr;
    cudaDriverEntryPointQueryResult q;
    SY_CUDA(fn, cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &f, 12000, cudaEnableDefault, &q));
    if (q != cudaDriverEntryPointSuccess || !f)
      return fail(SY_ERR_LIBRARY, "%s: the driver has no cuTensorMapEncodeTiled (needs a CUDA 12 driver)", fn);
    encode = (Encode)f;
  }
  const cuuint64_t dims[2] = {(cuuint64_t)k, (cuuint64_t)rows};
  const cuuint64_t strides[1] = {(cuuint64_t)k * 2};
  const cuuint32_t box[2] = {(cuuint32_t)kBK, (cuuint32_t)box_rows}, elem[2] = {1, 1};
  const CUresult r = encode(map, dtype == SY_BF16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 2, const_cast<void*>(X),
                            dims, strides, box, elem, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                            CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS) return fail(SY_ERR_CUDA, "%s: cuTensorMapEncodeTiled failed (error %d) for tokens of %d x %d", fn, (int)r, rows, k);
  return SY_OK;
}

// Launches the kernel over (token tiles, row tiles) for the single and the grouped entry points.
sy_status launch_ssmm_wgmma(const char* fn, int dtype, int token_tiles, Params p) {
  if (((uintptr_t)p.X & 15) || ((uintptr_t)p.wvalues & 15) || ((uintptr_t)p.wmeta & 15))
    return fail(SY_ERR_INVALID, "%s: X, values and meta must be 16-byte aligned (sy_malloc memory is)", fn);
  if (token_tiles > 65535) return fail(SY_ERR_UNSUPPORTED, "%s: %d token tiles, more than the grid allows (65535)", fn, token_tiles);
  Variant variant;
  sy_status st = pick_variant(fn, &variant);
  if (st) return st;
  const int row_tiles = ceil_div(p.m / 2, kRowsPerCta), cluster = variant.cluster;
  // SAMOYEDS_WGMMA_RASTER=r walks row tiles fastest (single CTAs only; default token tiles fastest, measured 10-15%
  // faster on the H100)
  const char* raster = getenv("SAMOYEDS_WGMMA_RASTER");
  p.row_tile_fastest = cluster == 1 && raster && !strcmp(raster, "r") && !p.offsets ? 1 : 0;
  const int row_grid = ceil_div(row_tiles, cluster) * cluster;  // a cluster spans `cluster` row tiles: pad
  const dim3 grid = p.row_tile_fastest ? dim3(row_grid, token_tiles) : dim3(token_tiles, row_grid);
  if (row_grid > 65535) return fail(SY_ERR_UNSUPPORTED, "%s: m=%d needs %d row tiles, more than the grid allows (65535)", fn, p.m, row_tiles);
  // gathered-tma: the selected rows are first copied into a stream-ordered scratch buffer (capturable: a graph gets
  // allocation and free nodes), which the kernel reads in TMA tiles
  CUtensorMap x_map = {};
  void* xg = nullptr;
  if (variant.gather == 1) {
    SY_CUDA(fn, cudaMallocAsync(&xg, (size_t)p.n_sel * p.k * 2, stream()));
    const int warps = 8;
    gather_tokens_kernel<<<ceil_div(p.n_sel, warps), 32 * warps, 0, stream()>>>(p.X, p.x_rows, p.k, p.token_idx, p.offsets, p.n_experts, p.n_sel, (uint16_t*)xg);
    if ((st = encode_token_map(fn, dtype, xg, p.n_sel, p.k, kBN / cluster, &x_map))) {
      cudaFreeAsync(xg, stream());
      return st;
    }
  }
  auto launch = [&](auto kernel, int smem) -> sy_status {
    SY_CUDA(fn, cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    if (cluster == 1) {
      kernel<<<grid, kThreads, smem, stream()>>>(p, x_map);
      return SY_OK;
    }
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = grid;
    cfg.blockDim = dim3(kThreads);
    cfg.dynamicSmemBytes = smem;
    cfg.stream = stream();
    cudaLaunchAttribute attr[1];
    attr[0].id = cudaLaunchAttributeClusterDimension;
    attr[0].val.clusterDim.x = 1;
    attr[0].val.clusterDim.y = cluster;
    attr[0].val.clusterDim.z = 1;
    cfg.attrs = attr;
    cfg.numAttrs = 1;
    SY_CUDA(fn, cudaLaunchKernelEx(&cfg, kernel, p, x_map));
    return SY_OK;
  };
  constexpr int kS = 8, kSmem = SmemMap<kS>::kBytes;
  auto pick_v = [&](auto bf16, auto gather, auto pair, auto mode) -> sy_status {
    constexpr bool B = decltype(bf16)::value;
    constexpr int G = decltype(gather)::value, C = decltype(pair)::value, L = decltype(mode)::value;
    if (p.V == 32) return launch(ssmm_wgmma_kernel<B, kS, G, C, 32, L>, kSmem);
    if (p.V == 64) return launch(ssmm_wgmma_kernel<B, kS, G, C, 64, L>, kSmem);
    return launch(ssmm_wgmma_kernel<B, kS, G, C, 128, L>, kSmem);
  };
  using Yes = std::true_type;
  using No = std::false_type;
  using I0 = std::integral_constant<int, 0>;
  using I1 = std::integral_constant<int, 1>;
  using I2 = std::integral_constant<int, 2>;
  using I4 = std::integral_constant<int, 4>;
  auto pick_mode = [&](auto bf16, auto gather, auto pair) -> sy_status {
    if (!p.offsets) return pick_v(bf16, gather, pair, I0{});                        // single expert
    return p.y_mode == 1 ? pick_v(bf16, gather, pair, I2{}) : pick_v(bf16, gather, pair, I1{});  // scatter-add / compact
  };
  auto pick = [&](auto bf16) -> sy_status {
    if (variant.gather == 0) return pick_mode(bf16, I0{}, I1{});
    if (cluster == 2) return pick_mode(bf16, I1{}, I2{});
    if (cluster == 4) return pick_mode(bf16, I1{}, I4{});
    return pick_mode(bf16, I1{}, I1{});
  };
  st = dtype == SY_BF16 ? pick(Yes{}) : pick(No{});
  if (xg) SY_CUDA(fn, cudaFreeAsync(xg, stream()));
  if (st) return st;
  return check_launch(fn);
}

// Reads and resets the device counter of bad token / store indices (after a stream sync by the caller).
sy_status take_bad_tokens(const char* fn, int* count) {
  int zero = 0;
  SY_CUDA(fn, cudaMemcpyFromSymbol(count, g_bad_tokens, sizeof(int)));
  SY_CUDA(fn, cudaMemcpyToSymbol(g_bad_tokens, &zero, sizeof(int)));
  return SY_OK;
}
}  // namespace wg
}  // namespace sy

SY_API sy_status sy_ssmm_wgmma(int32_t dtype, int32_t m, int32_t k, int32_t V, int32_t N, int32_t M, const void* wvalues,
                               const void* indices, const void* wmeta, const void* X, int32_t x_rows,
                               const int32_t* token_idx, int32_t n_sel, void* Y, int32_t y_dtype, int32_t y_layout,
                               int32_t epilogue, const float* row_scale, int32_t accum) {
  const char* fn = "sy_ssmm_wgmma";
  SY_ENTER(fn);
  sy_status st = check_ssmm_wgmma_args(fn, dtype, m, k, V, N, M, wvalues, indices, wmeta, X, x_rows, token_idx, n_sel, Y,
                                       y_dtype, y_layout, epilogue, row_scale, accum);
  if (st) return st;
  if ((st = require_sm90(fn))) return st;
  if (n_sel == 0) return SY_OK;
  Params p{};
  p.wvalues = (const uint8_t*)wvalues, p.indices = (const uint8_t*)indices, p.wmeta = (const uint8_t*)wmeta;
  p.X = (const uint16_t*)X, p.token_idx = token_idx, p.row_scale = row_scale, p.Y = Y;
  p.m = m, p.k = k, p.V = V, p.x_rows = x_rows, p.n_sel = n_sel, p.y_f32 = y_dtype == SY_F32, p.y_layout = y_layout;
  p.epilogue = epilogue;
  return launch_ssmm_wgmma(fn, dtype, ceil_div(n_sel, kBN), p);
}

SY_API sy_status sy_ssmm_wgmma_grouped(int32_t dtype, int32_t m, int32_t k, int32_t V, int32_t N, int32_t M, int32_t n_experts,
                                       const void* wvalues, const void* indices, const void* wmeta, const void* X,
                                       int32_t x_rows, const int32_t* load_idx, const int32_t* offsets,
                                       int32_t max_selections, void* Y, int32_t y_dtype, int32_t y_mode,
                                       const int32_t* store_idx, int32_t y_rows, int32_t epilogue, const float* row_scale,
                                       int32_t accum) {
  const char* fn = "sy_ssmm_wgmma_grouped";
  SY_ENTER(fn);
  // the grouped contract is sy_ssmm_grouped's (same checks); on top, what the wgmma.sp path supports
  sy_status st = check_wgmma_shape(fn, m, k, V, N, M);
  if (st) return st;
  if (accum == 1) return fail(SY_ERR_UNSUPPORTED, "%s: f16 accumulation (accum=1) is not implemented in the wgmma.sp path; use accum=0 (f32)", fn);
  if ((st = check_ssmm_grouped_args(fn, dtype, m, k, V, N, M, n_experts, wvalues, indices, wmeta, X, x_rows, load_idx, offsets,
                                    max_selections, Y, y_dtype, y_mode, store_idx, y_rows, epilogue, row_scale, accum)))
    return st;
  if (n_experts > 32 * 1024) return fail(SY_ERR_UNSUPPORTED, "%s: at most 32768 experts per launch, got %d", fn, n_experts);
  if ((st = require_sm90(fn))) return st;
  if (max_selections == 0) return SY_OK;
  uint64_t packed[2], format[3];
  if ((st = sy_samoyeds_wgmma_sizes(m, k, V, N, M, packed)) || (st = sy_samoyeds_sizes(m, k, V, N, M, format))) return st;
  Params p{};
  p.wvalues = (const uint8_t*)wvalues, p.indices = (const uint8_t*)indices, p.wmeta = (const uint8_t*)wmeta;
  p.wvalue_stride = packed[0], p.wmeta_stride = packed[1];
  p.index_stride = format[1];
  p.X = (const uint16_t*)X, p.token_idx = load_idx, p.offsets = offsets, p.n_experts = n_experts;
  p.store_idx = store_idx, p.row_scale = row_scale, p.Y = Y;
  p.m = m, p.k = k, p.V = V, p.x_rows = x_rows, p.n_sel = max_selections, p.y_f32 = y_dtype == SY_F32, p.y_layout = 0;
  p.y_mode = y_mode, p.y_rows = y_rows, p.epilogue = epilogue;
  // upper bound of the tiles over all experts: sum ceil(c_e / kBN) <= ceil(total / kBN) + E
  return launch_ssmm_wgmma(fn, dtype, ceil_div(max_selections, kBN) + n_experts, p);
}

SY_API sy_status sy_ssmm_wgmma_emulate(int32_t, int32_t, int32_t, int32_t, int32_t, int32_t, const void*, const void*,
                                       const void*, const void*, int32_t, const int32_t*, int32_t, void*, int32_t, int32_t,
                                       int32_t, const float*, int32_t) {
  return fail(SY_ERR_UNSUPPORTED, "sy_ssmm_wgmma_emulate: CPU backend only (the CUDA backend runs sy_ssmm_wgmma)");
}

SY_API sy_status sy_ssmm_wgmma_bad_tokens(int32_t* count_out) {
  const char* fn = "sy_ssmm_wgmma_bad_tokens";
  SY_ENTER(fn);
  SY_CHECK(count_out, "sy_ssmm_wgmma_bad_tokens", "count_out is null");
  SY_CUDA(fn, cudaStreamSynchronize(stream()));
  return take_bad_tokens(fn, count_out);
}

SY_API sy_status sy_wgmma_peak(int32_t kind, int32_t iters, int32_t, float* ms_out, double* flops_out) {
  const char* fn = "sy_wgmma_peak";
  SY_ENTER(fn);
  SY_CHECK(kind == 0 || kind == 1, "sy_wgmma_peak", "kind must be 0 (wgmma.sp m64n256k32) or 1 (dense m64n256k16), got %d", kind);
  SY_CHECK(iters > 0 && iters % kPeakIters == 0, "sy_wgmma_peak", "iters must be a positive multiple of %d, got %d", kPeakIters, iters);
  SY_CHECK(ms_out && flops_out, "sy_wgmma_peak", "null output pointer");
  sy_status st = require_sm90(fn);
  if (st) return st;
  int sms = 0;
  SY_CUDA(fn, cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, current_device()));
  float* sink;
  SY_CUDA(fn, cudaMalloc(&sink, 256 * sizeof(float)));
  cudaEvent_t e0, e1;
  SY_CUDA(fn, cudaEventCreate(&e0));
  SY_CUDA(fn, cudaEventCreate(&e1));
  auto launch = [&]() {
    if (kind == 0) wgmma_peak_kernel<true><<<sms, 256, 0, stream()>>>(iters, sink);
    else wgmma_peak_kernel<false><<<sms, 256, 0, stream()>>>(iters, sink);
  };
  launch();  // warm-up
  SY_CUDA(fn, cudaEventRecord(e0, stream()));
  launch();
  SY_CUDA(fn, cudaEventRecord(e1, stream()));
  if ((st = check_launch(fn))) return st;
  SY_CUDA(fn, cudaEventSynchronize(e1));
  float ms = 0;
  SY_CUDA(fn, cudaEventElapsedTime(&ms, e0, e1));
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  cudaFree(sink);
  *ms_out = ms;
  const double per = kind == 0 ? 2.0 * 64 * 256 * 32 : 2.0 * 64 * 256 * 16;
  *flops_out = per * (double)iters * 2 /* warpgroups */ * sms;
  return SY_OK;
}
