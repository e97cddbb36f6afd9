// The Hopper wgmma.sp SSMM kernel (issue 5) and its launcher, shared by the translation units that instantiate it:
// ssmm_wgmma.cu (entry points, variant choice, pre-gather, tensor maps) declares launch_variant<G, C>, and each
// ssmm_wgmma_<variant>.cu instantiates one (gather, cluster) variant, so that the build compiles them in parallel
// (one file with every instance was the slowest step of the build).
//
// Y = X[token_idx] * W^T, W in the Samoyeds format (1:2 rows
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
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda.h>  // CUtensorMap (the type only: the encoder is found at run time)
#include <type_traits>
#include "cuda_common.cuh"
#include "group_tiles.cuh"
#include "ssmm_check.h"
#include "swiglu_layout.h"
#include "wgmma_layout.h"
#include "wgmma_split.h"
#include "wgmma_tiles.h"
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
  int pdl;               // host only: launch as a programmatic dependent of the launch before (ssmm_wgmma.cu)
  // single launches of a mixed token-tile plan (wgmma_tiles.h): the first row tile of this launch, and whether its
  // CTAs let the launch of the 64-token row tiles start (griddepcontrol.launch_dependents)
  int row_tile0, trigger_dependents;
  int* bad_tokens;       // the device counter of clamped or skipped indices (ssmm_wgmma.cu owns it)
  // split-k of the last wave (single launches, wgmma_split.h): tiles >= split_tile0 run as split_pieces CTAs each,
  // from flat CTA split_first on; grid.x = flat CTAs, tile = token tile + token_tiles * row tile
  int split_pieces, split_first, split_tile0, token_tiles;
  // persistent single launches (kLaunch 4): flat tiles token_tiles x (row tiles from row_tile0); 0: one CTA a tile
  int persist_tiles;
  // SAMOYEDS_WGMMA_PROBE=loads-only: single launches run as kLaunch 7 (persistent) or 8 (ssmm_wgmma.cu)
  int probe_loads_only;
  // persistent grouped launches (kLaunch 5, 6): the row tiles (from row_tile0) of the walk over (row tile, token tile)
  int persist_row_tiles;
  // split_cluster: 2 pieces a tile, launched as clusters of 2 CTAs: piece 1 hands its partial sums to piece 0
  // through distributed shared memory (CTAs [split_tile0, split_first) are padding that keeps the pairs aligned).
  // Otherwise through global memory:
  int split_cluster;
  float* split_ws;      // (split tile, piece) -> 256 consumer threads x 2 R partial values, float4-interleaved
  int* split_counters;  // per split tile: pieces finished (zeroed before the launch)
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
  asm volatile("{\n.reg .pred p;\nsetp.ne.u32 p, %1, 0;\n@p mbarrier.arrive.shared::cluster.b64 _, [%0];\n}\n" ::"r"(cluster_bar),
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

// 16-byte store into a cluster peer's shared memory (addr from peer_addr) and 16-byte shared load
__device__ __forceinline__ void st_cluster_v4(uint32_t addr, float a, float b, float c, float d) {
  asm volatile("st.shared::cluster.v4.f32 [%0], {%1, %2, %3, %4};\n" ::"r"(addr), "f"(a), "f"(b), "f"(c), "f"(d) : "memory");
}
__device__ __forceinline__ float4 lds_v4(uint32_t addr) {
  float4 v;
  asm volatile("ld.shared.v4.f32 {%0, %1, %2, %3}, [%4];\n" : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w) : "r"(addr) : "memory");
  return v;
}
__device__ __forceinline__ uint32_t lds32(uint32_t addr) {
  uint32_t v;
  asm volatile("ld.shared.u32 %0, [%1];\n" : "=r"(v) : "r"(addr) : "memory");
  return v;
}

// Named barriers among the 256 consumer threads (id 0 is __syncthreads).
__device__ __forceinline__ void named_sync(uint32_t id) { asm volatile("bar.sync %0, 256;\n" ::"r"(id) : "memory"); }
__device__ __forceinline__ void named_arrive(uint32_t id) { asm volatile("bar.arrive %0, 256;\n" ::"r"(id) : "memory"); }

template <bool kBf16>
__device__ __forceinline__ uint16_t to_half_bits(float v) {
  if constexpr (kBf16) return __bfloat16_as_ushort(__float2bfloat16_rn(v));
  else return __half_as_ushort(__float2half_rn(v));
}

// The epilogue's operation (Params::epilogue, SsmmEpilogueOp of ssmm_check.h) and output form; both are uniform over
// a launch.
enum OutputForm : int {
  kTokenF32,    // token-major f32: rows 2c, 2c+1 of token j are adjacent (one 8-byte store)
  kToken16,     // token-major f16/bf16 (one 4-byte store)
  kFeatureF32,  // feature-major (y_layout 1) f32
  kFeature16,   // feature-major f16/bf16
  kScatterF32,  // grouped y_mode 1: f32 add into row store_idx[j] (one 8-byte vector atomic)
};

// A consumer thread's epilogue: the operation, then the stores of its R accumulator pairs (acc0/acc1[i] = output
// rows 2c and 2c+1, c = c0 + 8 ((i >> 1) & 1), token j = jt + 8 (i >> 2) + (i & 1): d_row, d_col of
// wgmma_layout.h). Operation and form are template parameters because, resolved per element at run time (with
// p's fields re-read each time), the epilogue was ~6800 SASS instructions per warp and took about a quarter of
// the CTA's time at 16384 x 6144, as much as 15 of its 48 k-vectors (ncu warp samples,
// data/wgmma-perf/ncu-wgmma-16384x6144-default-sass.csv.xz). The per-token operands (row scale, store row) are
// loaded first, all in flight together.
template <bool kBf16, int kOp, int kForm, int R>
__device__ __forceinline__ void store_accumulators(const Params& p, const float (&acc0)[R], const float (&acc1)[R], int c0,
                                                   int jt, int mc, int sel_end, bool count_bad) {
  // i = 4 g + 2 h + b: token group g (tokens jt + 8 g + b), row half h (pair c0 + 8 h); q = 2 g + b the token
  constexpr int kGroups = R / 4, kTokens = R / 2;
  float scale[kTokens];
  int dst[kTokens];
#pragma unroll
  for (int q = 0; q < kTokens; q++) {
    const int j = jt + (q >> 1) * 8 + (q & 1);
    if constexpr (kOp == kOpRowScale) scale[q] = j < sel_end ? __ldg(p.row_scale + j) : 0.f;
    if constexpr (kForm == kScatterF32) dst[q] = j < sel_end ? __ldg(p.store_idx + j) : 0;
  }
  const bool row_ok[2] = {c0 < mc, c0 + 8 < mc};
  const size_t m = (size_t)p.m, n_sel = (size_t)p.n_sel;
  if constexpr (kOp == kOpSwiglu) {
    // SwiGLU (swiglu_layout.h): pair c0 (h = 0) holds the gate rows of features f, f + 1 and pair c0 + 8 (h = 1)
    // their up rows (c0 % 16 < 8; m % 32 == 0, so both pairs are in range or neither). Y rows have m / 2 columns.
    static_assert(kForm == kTokenF32 || kForm == kToken16, "SwiGLU writes compact token-major rows");
    const int r = 2 * c0, f = (r / (2 * kSwigluBlock)) * kSwigluBlock + r % kSwigluBlock;
    const size_t width = m / 2;
    if (!row_ok[0]) return;
#pragma unroll
    for (int g = 0; g < kGroups; g++) {
#pragma unroll
      for (int b = 0; b < 2; b++) {
        const int j = jt + 8 * g + b, i_gate = 4 * g + b, i_up = i_gate + 2;
        if (j >= sel_end) continue;
        const float v0 = silu(acc0[i_gate]) * acc0[i_up], v1 = silu(acc1[i_gate]) * acc1[i_up];
        const size_t at = (size_t)j * width + f;
        if constexpr (kForm == kTokenF32) *reinterpret_cast<float2*>((float*)p.Y + at) = make_float2(v0, v1);
        else *reinterpret_cast<uint32_t*>((uint16_t*)p.Y + at) = (uint32_t)to_half_bits<kBf16>(v0) | ((uint32_t)to_half_bits<kBf16>(v1) << 16);
      }
    }
    return;
  }
  // token-major: element (token j, row 2c) at j m + 2c; a pointer per token parity b, 8 tokens (8 m) per group
  // feature-major: element at 2c n_sel + j; a pointer per (row half, row of the pair), tokens at immediate offsets
  const size_t tm_base = (size_t)jt * m + 2 * (size_t)c0, fm_base = 2 * (size_t)c0 * n_sel + jt;
#pragma unroll
  for (int g = 0; g < kGroups; g++) {
#pragma unroll
    for (int b = 0; b < 2; b++) {
      const int q = 2 * g + b, j = jt + 8 * g + b;
      if (j >= sel_end) continue;
      const size_t tm = tm_base + (size_t)(8 * g + b) * m;
#pragma unroll
      for (int h = 0; h < 2; h++) {
        const int i = 4 * g + 2 * h + b;
        if (!row_ok[h]) continue;
        float v0 = acc0[i], v1 = acc1[i];
        if constexpr (kOp == kOpSilu) v0 = silu(v0), v1 = silu(v1);
        if constexpr (kOp == kOpRowScale) v0 *= scale[q], v1 *= scale[q];
        if constexpr (kForm == kScatterF32) {
          const int r = dst[q];
          if (r < 0 || r >= p.y_rows) {
            if (count_bad && h == 0) atomicAdd(p.bad_tokens, 1);
            continue;
          }
          atomicAdd(reinterpret_cast<float2*>((float*)p.Y + (size_t)r * m + 2 * (size_t)(c0 + 8 * h)), make_float2(v0, v1));
        } else if constexpr (kForm == kTokenF32) {
          *reinterpret_cast<float2*>((float*)p.Y + tm + 16 * h) = make_float2(v0, v1);
        } else if constexpr (kForm == kToken16) {
          *reinterpret_cast<uint32_t*>((uint16_t*)p.Y + tm + 16 * h) =
              (uint32_t)to_half_bits<kBf16>(v0) | ((uint32_t)to_half_bits<kBf16>(v1) << 16);
        } else {
          const size_t a0 = fm_base + 16 * h * n_sel + 8 * g + b, a1 = a0 + n_sel;
          if constexpr (kForm == kFeatureF32) ((float*)p.Y)[a0] = v0, ((float*)p.Y)[a1] = v1;
          else ((uint16_t*)p.Y)[a0] = to_half_bits<kBf16>(v0), ((uint16_t*)p.Y)[a1] = to_half_bits<kBf16>(v1);
        }
      }
    }
  }
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
// kSchedule, how the consumer warpgroups issue (docs/notes/wgmma-perf.md, session 5):
//  0 together: each warpgroup issues a k-vector's wgmmas, waits for them, routes. Both wait on the same stage and
//    issue together, then both drain and route while the tensor core idles (ncu, 16384 x 6144: 29% of the warp
//    samples on the wgmma wait, tensor pipe active 28%: data/wgmma-perf/ncu-wgmma-16384x6144-default-*).
//  1 ping-pong: the two warpgroups take turns issuing (named barriers 1 and 2), so that the tensor core runs one's
//    k-vector while the other waits for its own and routes it. 1.04-1.09x schedule 0 (H200).
//  2 halves (kV >= 64; V = 32 runs schedule 0): each warpgroup's 128 tokens are two N = 64 halves with their own T,
//    one wgmma group each; the warpgroup waits for the first half only (wgmma.wait_group 1) and routes it while the
//    second runs, so that half of its routing overlaps its own tensor work. Costs one more read of A per k32 step
//    (A is read per instruction). Measured slower than schedule 1 at every Figure 12 shape (H200, variants-9a0a895).
//  3 halves and ping-pong turns. Also slower.
// kRouting, how a k-vector's product reaches the output row of its pair (schedules 0 and 1):
//  0 the wgmmas write a temporary T (scale-d = 0 at each k-vector's start); at the k-vector's end each element of T
//    is added into set 0 or set 1 (two predicated FADDs per element: 128 per thread and k-vector at N = 128).
//  1 running sum and difference: the wgmmas accumulate into S over the whole k loop (never reset); at the end of
//    k-vector v, D += (sel_v - sel_v+1) S with sel = 0 past the last k-vector (one FFMA per element: half the routing
//    instructions, two accumulator sets instead of three). Then D = sum of the products of the k-vectors whose
//    selection is 1 (output row 2c + 1) and S - D the others (row 2c). Not bit-identical to 0 (other roundings; the
//    subtraction loses accuracy only where row 2c is much smaller than row 2c + 1). Measured (H200, variants-9a0a895):
//    with ping-pong 1-2.5% faster at two mid shapes, 3-10% slower at the two largest: the loop waits, it does not
//    issue-bind, so fewer routing instructions do not pay.
// kLaunch: 0 single expert, 1 grouped with compact output rows, 2 grouped with f32 scatter-add into store_idx rows,
// 3 single expert with split-k of the last wave (wgmma_split.h). The split code is its own instance: compiled into
// the single-expert kernel (unused there), the cluster-pair fixup made the unsplit k loop 4-9% slower on the H200.
// 4 single expert, persistent: gridDim.x CTAs walk the p.persist_tiles flat tiles (token tiles fastest) in strides of
// gridDim.x; the stage ring runs on across tiles, so the producer loads a tile's first stages while the consumers
// route and store the one before (a CTA per tile pays the pipeline fill and its epilogue with the tensor core idle).
// 5, 6: 1 and 2, persistent (wgmma_tiles.h): the same walk over row tiles x every expert's token tiles; each CTA
// resolves its tiles into shared memory at its start (group_tiles.cuh), its roles then read them from there.
// 7, 8: benchmark probes of 4 and 0 (SAMOYEDS_WGMMA_PROBE=loads-only): the loads and the epilogue without wgmmas.
// kTileN: selected tokens per CTA tile, the wgmma N (128; 64 gives a small grid twice the CTAs, each with half the
// tensor work and routing per k-vector; TMA tiles, one CTA, schedules 0 and 1, no split-k).
template <bool kBf16, int kStages, int kGather, int kCluster, int kSchedule, int kRouting, int kV, int kLaunch, int kTileN>
__global__ void __launch_bounds__(kThreads, 1) ssmm_wgmma_kernel(const Params p_in, const __grid_constant__ CUtensorMap x_map) {
#ifdef SY_HAS_WGMMA
  static_assert(kTileN == kBN || (kTileN == 64 && kGather == 1 && kCluster == 1 && kSchedule <= 1 && kLaunch != 3),
                "64-token tiles: TMA tiles, one CTA, schedules 0 and 1, no split-k");
  static_assert(kGather == 1 || kCluster == 1, "the cp.async gather has no cluster variant");
  static_assert(kCluster == 1 || kCluster == 2 || kCluster == 4, "cluster of 1, 2 or 4 CTAs");
  static_assert(kRouting == 0 || kSchedule <= 1, "the running-sum routing exists for schedules 0 and 1");
  static_assert(kLaunch < 4 || kLaunch == 8 || (kGather == 1 && kCluster == 1 && kSchedule <= 1), "persistent: TMA tiles, one CTA, schedules 0 and 1");
  static_assert(kLaunch != 7 || (kSchedule == 1 && kRouting == 0 && kTileN == kBN), "the persistent loads-only probe: the default variant");
  static_assert(kLaunch != 8 || (kGather == 1 && kRouting == 0 && kTileN == kBN), "the loads-only probe: TMA tiles, routing 0, 128 tokens");
  // A local copy: read straight from the parameter space, the fields were addressed through a pointer into it and
  // the single launch ran 1.26x slower on the H100 (same session, data/wgmma-perf/bisect-params-copy.log).
  const Params p = p_in;
  constexpr bool kPersistGrouped = kLaunch == 5 || kLaunch == 6;
  constexpr bool kCompact = kLaunch == 1 || kLaunch == 5, kScatter = kLaunch == 2 || kLaunch == 6;
  // kLaunch 7, 8: probes of 4 and 0 whose consumers only wait for each stage and release it (no wgmma, no routing;
  // the epilogue stores zeros): the time of the loads and the epilogue alone (SAMOYEDS_WGMMA_PROBE=loads-only)
  constexpr bool kLoadsOnly = kLaunch == 7 || kLaunch == 8, kPersistSingle = kLaunch == 4 || kLaunch == 7;
  constexpr bool kGrouped = kCompact || kScatter, kSplit = kLaunch == 3, kPersist = kPersistSingle || kPersistGrouped;
  using Map = SmemMap<kStages>;
  constexpr int kSmemA = Map::kA, kSmemB = Map::kB, kSmemMeta = Map::kMeta, kSmemBar = Map::kBar;
  extern __shared__ uint8_t smem_raw[];
  uint32_t sbase = (smem_u32(smem_raw) + 1023u) & ~1023u;  // 1024-aligned: the 128B swizzle atoms of B
  // Opaque to ptxas, so that it stays in a register: otherwise it was rematerialized in every k-loop iteration from
  // the CTA's shared window (S2UR SR_CgaCtaId + ULEA), a short-scoreboard stall at the iteration's start (ncu,
  // data/wgmma-perf/ncu-wgmma-16384x6144-pp-ea00926-sass.csv.xz: ~5% of the loop's warp samples)
  asm volatile("" : "+r"(sbase));
  const uint32_t full_bar = sbase + kSmemBar, empty_bar = full_bar + kStages * 8;
  const int wg = threadIdx.x >> 7, t = threadIdx.x & 127;
  const uint32_t rank = kCluster > 1 ? cluster_rank() : 0;
  // the CTA's tile; in a split launch also its piece (split_u: index of the split tile, -1 for a whole tile)
  int ntile, tile, split_u = -1, split_z = 0;
  if constexpr (kSplit) {
    int flat = blockIdx.x;
    if (flat >= p.split_tile0 && flat < p.split_first) return;  // padding before the cluster pairs
    if (flat >= p.split_first) {
      const int u = flat - p.split_first;
      split_u = u / p.split_pieces, split_z = u % p.split_pieces;
      flat = p.split_tile0 + split_u;
    }
    ntile = flat % p.token_tiles, tile = flat / p.token_tiles;
  } else if constexpr (!kPersist) {
    ntile = p.row_tile_fastest ? blockIdx.y : blockIdx.x;
    tile = (p.row_tile_fastest ? blockIdx.x : blockIdx.y) + p.row_tile0;
  }
  // the CTA's tiles: one, or (persistent) flat tiles blockIdx.x + ti gridDim.x for ti < my_tiles; persistent grouped
  // launches resolve theirs into s_ptiles below (my_tiles is then known after the first __syncthreads)
  int my_tiles = kPersistSingle ? ((int)blockIdx.x < p.persist_tiles ? (p.persist_tiles - 1 - (int)blockIdx.x) / (int)gridDim.x + 1 : 0) : 1;
  // persistent grouped: the CTA's tiles (expert, first selection, end of its selection range, row tile), and every
  // expert's first token tile (an exclusive scan of the tile counts; [n_experts] = all the launch's token tiles)
  __shared__ int4 s_ptiles[kPersistGrouped ? kMaxPersistTiles : 1];
  __shared__ int s_tile_start[kPersistGrouped ? kMaxPersistExperts + 1 : 1];
  __shared__ int s_ptile_count;
  int cur_ti = 0;  // persistent grouped: the entry of s_ptiles being loaded (producer) or computed (consumers)
  auto set_tile = [&](int ti) {
    if constexpr (kPersistGrouped) {
      cur_ti = ti;
      tile = (int)lds32(smem_u32(&s_ptiles[ti].w));
    } else if constexpr (kPersist) {
      const int f = (int)blockIdx.x + ti * (int)gridDim.x;
      ntile = f % p.token_tiles, tile = f / p.token_tiles + p.row_tile0;
    }
  };
  if constexpr (kPersistSingle) set_tile(0);
  if (kPersistSingle && my_tiles == 0) return;  // more CTAs than tiles (the host launches at most one a tile)
  // the 64-token launch that follows waits for this grid's end (griddepcontrol.wait in its producer) but may start
  // its CTAs, and their weight requests, on the SMs that this grid's last wave leaves free
  if (p.trigger_dependents && threadIdx.x == 0) asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
  // split launches: split tile, piece, token tile and row tile, re-read after the k loop (lds32 is volatile) so that they
  // hold no registers through it (kept in registers, the consumers spilled)
  __shared__ int s_tile[4];
  if constexpr (kSplit)
    if (threadIdx.x == 0) s_tile[0] = split_u, s_tile[1] = split_z, s_tile[2] = ntile, s_tile[3] = tile;
  __shared__ int s_group[3];  // grouped: expert (-1: nothing to do), first selection, end of the selection range
  if constexpr (kPersistGrouped) {
    if (threadIdx.x < 32) {
      const int n = resolve_persistent_group_tiles(p.offsets, p.n_experts, p.n_sel, kTileN, p.persist_row_tiles, p.row_tile0,
                                                   s_tile_start, s_ptiles, kMaxPersistTiles);
      if (threadIdx.x == 0) {
        s_ptile_count = n;
        if (blockIdx.x == 0 && p.offsets[p.n_experts] > p.n_sel) atomicAdd(p.bad_tokens, 1);  // as below
      }
    }
  } else if constexpr (kGrouped) {
    if (threadIdx.x < 32) {
      const GroupTile f = find_group_tile(p.offsets, p.n_experts, kTileN, ntile);
      if (threadIdx.x == 0) {
        int e = f.expert, jb = 0, se = 0;
        if (e >= 0) {
          jb = p.offsets[e] + f.tile * kTileN;
          se = min(p.offsets[e + 1], p.n_sel);
          if (jb >= se) e = -1;
        }
        s_group[0] = e, s_group[1] = jb, s_group[2] = se;
        if (blockIdx.x == 0 && blockIdx.y == 0 && p.offsets[p.n_experts] > p.n_sel)
          atomicAdd(p.bad_tokens, 1);  // selections beyond max_selections are not computed
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
  if constexpr (kPersistGrouped) {
    my_tiles = (int)lds32(smem_u32(&s_ptile_count));
    if (my_tiles == 0) return;  // uniform: more CTAs than real tiles
    set_tile(0);
  }
  // a padding CTA of a cluster (row tile past the end) loads the last tile's weight and stores nothing
  int a_tile = min(tile, ceil_div(p.m / 2, kRowsPerCta) - 1);
  auto group_expert = [&]() -> int {
    if constexpr (kPersistGrouped) return (int)lds32(smem_u32(&s_ptiles[cur_ti].x));
    else return kGrouped ? (int)lds32(smem_u32(&s_group[0])) : 0;
  };
  auto group_j_base = [&]() -> int {
    if constexpr (kPersistGrouped) return (int)lds32(smem_u32(&s_ptiles[cur_ti].y));
    else if constexpr (kGrouped) return (int)lds32(smem_u32(&s_group[1]));
    else if constexpr (kSplit) return (int)lds32(smem_u32(&s_tile[2])) * kTileN;
    else return ntile * kTileN;
  };
  auto group_sel_end = [&]() -> int {
    if constexpr (kPersistGrouped) return (int)lds32(smem_u32(&s_ptiles[cur_ti].z));
    else return kGrouped ? (int)lds32(smem_u32(&s_group[2])) : p.n_sel;
  };
  if (kGrouped && !kPersistGrouped && group_expert() < 0) return;  // uniform over the CTA (and a cluster: same token tile)
  const int k = p.k, mc = p.m / 2, nk_all = ceil_div(k, kBK);
  // The k loop walks "iterations" of kSpi stages holding kVpi whole k-vectors (see the consumers). A piece of a split
  // tile runs the stages [kt_begin, kt_begin + nk) (whole iterations; the last piece also the tail stage); kt below
  // counts stages from kt_begin (ring slot and phase), kt_begin + kt is the stage in k.
  constexpr int kSpi = kV >= kBK ? kV / kBK : 1;   // stages per iteration
  constexpr int kVpi = kV >= kBK ? 1 : kBK / kV;   // k-vectors per iteration
  int kt_begin = 0, nk = nk_all;
  if (split_u >= 0) {
    int it_b, it_e;
    split_iterations(nk_all / kSpi, p.split_pieces, split_z, &it_b, &it_e);
    kt_begin = it_b * kSpi;
    nk = (split_z == p.split_pieces - 1 ? nk_all : it_e * kSpi) - kt_begin;
  }

  if (wg == 0) {
    // ---------------- producer warpgroup ----------------
    asm volatile("setmaxnreg.dec.sync.aligned.u32 40;\n");
    // a cluster pair of split pieces: the producer takes part in the consumers' two cluster barriers (after its loop)
    const bool pair = kSplit && split_u >= 0 && p.split_cluster;
    int j_base = group_j_base();
    const int sel_end = group_sel_end();
    // cp.async: X row of tile token n, -1 for padding past the selection; a bad index is clamped and counted once
    // per token (by row tile 0)
    auto row_of = [&](int n, bool count) -> int {
      const int j = j_base + n;
      if (j >= sel_end) return -1;
      int r = p.token_idx ? p.token_idx[j] : j;  // null (grouped): rows already compact
      if (r < 0 || r >= p.x_rows) {
        if (count && tile == 0 && split_z == 0) atomicAdd(p.bad_tokens, 1);
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
      constexpr int kPer = kTileN / 16;
      const int chunk = t & 7;
      int rows[kPer];
#pragma unroll
      for (int i = 0; i < kPer; i++) rows[i] = row_of((t >> 3) + 16 * i, chunk == 0);
      for (int kt = 0; kt < nk; kt++) {
        const int s = kt % kStages;
        if (kt >= kStages) mbar_wait(empty_bar + 8 * s, ((kt / kStages) - 1) & 1);
        if (t == 0) copy_weight_blocks(kt_begin + kt, s, kAStageBytes + kMetaStageBytes);
        const int kcol = (kt_begin + kt) * kBK + chunk * 8;
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
      constexpr int kMine = kTileN / kCluster;
      asm volatile("prefetch.tensormap [%0];\n" ::"l"(reinterpret_cast<uint64_t>(&x_map)) : "memory");
      // stage kt of the tile into ring slot s
      auto load_tokens = [&](int kt, int s) {
        tma_load_box<kCluster>(sbase + kSmemB + s * kBStageBytes + b_row_offset((int)rank * kMine), &x_map,
                               (kt_begin + kt) * kBK, j_base + (int)rank * kMine, full_bar + 8 * s);
      };
      // Programmatic dependent launch (ssmm_wgmma.cu): this grid may start while the pre-gather that wrote the
      // token rows still runs. The weight blocks of the first ring do not depend on it and are requested first;
      // griddepcontrol.wait (a no-op in a launch without the attribute) then waits for the gather's writes.
      const int first = nk < kStages ? nk : kStages;
      // a stage's transaction bytes: the weight and metadata blocks and the token box (kTileN rows of 128 bytes)
      constexpr uint32_t kTx = kAStageBytes + kMetaStageBytes + kTileN * kBRowBytes;
      for (int kt = 0; kt < first; kt++) copy_weight_blocks(kt_begin + kt, kt, kTx);
      asm volatile("griddepcontrol.wait;\n" ::: "memory");
      for (int kt = 0; kt < first; kt++) load_tokens(kt, kt);
      for (int kt = first; kt < nk; kt++) {
        const int s = kt % kStages;
        mbar_wait(empty_bar + 8 * s, ((kt / kStages) - 1) & 1);
        copy_weight_blocks(kt_begin + kt, s, kTx);
        load_tokens(kt, s);
      }
      // persistent: the next tiles' stages continue the ring (ring position g = ti nk + kt; every tile has nk stages)
      for (int ti = 1; ti < my_tiles; ti++) {
        set_tile(ti);
        a_tile = tile, j_base = group_j_base();
        for (int kt = 0; kt < nk; kt++) {
          const int g = ti * nk + kt, s = g % kStages;
          if (g >= kStages) mbar_wait(empty_bar + 8 * s, ((g / kStages) - 1) & 1);
          copy_weight_blocks(kt_begin + kt, s, kTx);
          load_tokens(kt, s);
        }
      }
    }
    if (pair) {
      cluster_sync();
      cluster_sync();
    }
  } else {
    // ---------------- consumer warpgroups ----------------
    asm volatile("setmaxnreg.inc.sync.aligned.u32 232;\n");
    const int cw = wg - 1;
    const uint32_t lane0 = (t & 31) == 0;
    constexpr int R = kTileN / 2;
    // persistent launches: one pass of this body per tile; ring0 = the ring position of the tile's first stage,
    // ti n_iters its first iteration in the ping-pong turn order (every tile has nk stages and n_iters iterations)
    for (int ti = 0; ti < my_tiles; ti++) {
    if (ti > 0) set_tile(ti);
    const int ring0 = ti * nk;
    // kRouting 0: T per k-vector, sets acc0 and acc1; 1: T is the running sum S and acc1 the difference D (acc0 only
    // in the epilogue)
    float T[R], acc0[R], acc1[R];
#pragma unroll
    for (int i = 0; i < R; i++) acc0[i] = acc1[i] = T[i] = 0.f;
    const int c0 = tile * kRowsPerCta + cw * kRowsPerWg + d_row(t, 0), c1 = c0 + 8;
    // The iterations are fully unrolled, with an explicit wgmma wait at each k-vector end: nothing is in flight at
    // the loop's back edge, so ptxas injects no warpgroup.wait of its own (it did, once per stage, when the vector
    // end was a run-time branch).
    constexpr int kStepsPerVec = kV / 32;
    const int nv = ceil_div(k, kV);
    // this CTA's k-vectors [v_begin, v_end) (a piece's stages start a k-vector: kt_begin is a multiple of kSpi)
    const int v_begin = kt_begin * kBK / kV, v_end = kt_begin + nk == nk_all ? nv : (kt_begin + nk) * kBK / kV;
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
    // the selection of pair c in k-vector v; kRouting 1 needs 0 past the last k-vector (the clamp of routing 0 is
    // harmless there: those k-vectors add zeros)
    auto sel_of = [&](int c, int v) -> int {
      const uint8_t* indices = p.indices + (uint64_t)group_expert() * p.index_stride;
      if constexpr (kRouting == 1) return c < mc && v < v_end ? indices[(size_t)c * nv + v] : 0;
      else return c < mc ? indices[(size_t)c * nv + (v < nv ? v : nv - 1)] : 0;
    };
    // kRouting 1 at the end of a k-vector: D += (sel_v - sel_v+1) S for each of the thread's two rows
    auto route_sd = [&](int sel0, int sel1, int next0, int next1) {
      const float f0 = (float)(sel0 - next0), f1 = (float)(sel1 - next1);
#pragma unroll
      for (int i = 0; i < R; i++) acc1[i] = fmaf(((i >> 1) & 1) ? f1 : f0, T[i], acc1[i]);
    };
    auto wait_full = [&](int kt) {
      mbar_wait(full_bar + 8 * ((ring0 + kt) % kStages), ((ring0 + kt) / kStages) & 1);
      // cp.async writes are generic-proxy writes and wgmma reads through the async proxy: a proxy fence. The TMA and
      // bulk copies of kGather 1 write through the async proxy already (their completion on the barrier is enough),
      // and the fence was 4 of the ~310 instructions of an iteration (MEMBAR.ALL.CTA + FENCE.VIEW.ASYNC.S, twice).
      if constexpr (kGather == 0) fence_proxy_async();
    };
    auto issue = [&](int kt, int js, uint32_t meta, int scale_d) {
      const int s = (ring0 + kt) % kStages;
      const uint64_t a_desc = make_desc(sbase + kSmemA + s * kAStageBytes + (cw * kKSteps + js) * kAStepBytes, kALbo, kASbo);
      const uint64_t b_desc = make_b_desc(sbase + kSmemB + s * kBStageBytes, js);
      if constexpr (kTileN == 64) {
        if constexpr (kBf16) wgmma_sp_m64n64k32_bf16(T, a_desc, b_desc, meta, scale_d);
        else wgmma_sp_m64n64k32_f16(T, a_desc, b_desc, meta, scale_d);
      } else {
        if constexpr (kBf16) wgmma_sp_m64n128k32_bf16(T, a_desc, b_desc, meta, scale_d);
        else wgmma_sp_m64n128k32_f16(T, a_desc, b_desc, meta, scale_d);
      }
    };
    auto meta_of = [&](int kt, int js) -> uint32_t {
      return lds32(sbase + kSmemMeta + ((ring0 + kt) % kStages) * kMetaStageBytes + (uint32_t)((cw * kKSteps + js) * kMetaWordsPerStep + mword) * 4);
    };
    // The routing of iteration it + 1 is loaded during iteration it: a load issued at the iteration's start
    // stalled the routing (ncu: ~half of the consumer's stall cycles waited on these global loads).
    int next_sels[kVpi][2];
#pragma unroll
    for (int j = 0; j < kVpi; j++) next_sels[j][0] = sel_of(c0, v_begin + j), next_sels[j][1] = sel_of(c1, v_begin + j);
    // ping-pong turns: warpgroup 0 issues first; each passes the turn after its iteration's last wgmma (counts match:
    // barrier 2 gets n_iters arrivals and waits, barrier 1 n_iters - 1)
    auto wait_turn = [&](int it) {
      if constexpr (kSchedule == 1 || kSchedule == 3)
        if (cw == 1 || ti * n_iters + it > 0) named_sync(cw == 0 ? 1 : 2);
    };
    auto pass_turn = [&](int it) {
      if constexpr (kSchedule == 1 || kSchedule == 3)
        if (cw == 0 || ti * n_iters + it < my_tiles * n_iters - 1) named_arrive(cw == 0 ? 2 : 1);
    };
    // releases the iteration's stages kt0 .. kt0 + kSpi - 1 once this warp's wgmmas reading them are complete (lane 0,
    // predicated inside the asm: no branch between wgmmas)
    auto release = [&](int kt0) {
#pragma unroll
      for (int j = 0; j < kSpi; j++) {
        const uint32_t bar = empty_bar + 8 * ((ring0 + kt0 + j) % kStages);
        if constexpr (kCluster == 1) mbar_arrive_if(bar, lane0);
        else
#pragma unroll
          for (int r = 0; r < kCluster; r++) mbar_arrive_cluster_if(peer_addr(bar, r), lane0);
      }
    };
    // kV = 128 and an odd number of stages: the last stage alone closes the last (short) k-vector; its stage index,
    // routing and metadata words
    struct Tail {
      int kt, s0, s1;
      uint32_t m0, m1;
    };
    auto tail_stage = [&]() -> Tail {
      const int kt = n_iters * kSpi;
      wait_full(kt);
      return {kt, next_sels[0][0], next_sels[0][1], meta_of(kt, 0), meta_of(kt, 1)};
    };
    constexpr bool kHalves = (kSchedule == 2 || kSchedule == 3) && kV >= kBK;
    if constexpr (kHalves) {
      // schedules 2, 3: two N = 64 halves (tokens 0-63 into Ta, 64-127 into Tb; accumulator index i of a half is index
      // 32 h + i of the N = 128 fragment), one wgmma group per half and k-vector, at most one group left in flight
      // while a half is routed
      constexpr int RH = R / 2;
      using H0 = std::integral_constant<int, 0>;
      using H1 = std::integral_constant<int, 1>;
      float Ta[RH], Tb[RH];
#pragma unroll
      for (int i = 0; i < RH; i++) Ta[i] = Tb[i] = 0.f;
      auto issue_half = [&](auto half, int kt, int js, uint32_t meta, int scale_d) {
        constexpr int h = decltype(half)::value;
        const int s = (ring0 + kt) % kStages;
        const uint64_t a_desc = make_desc(sbase + kSmemA + s * kAStageBytes + (cw * kKSteps + js) * kAStepBytes, kALbo, kASbo);
        const uint64_t b_desc = make_b_desc(sbase + kSmemB + s * kBStageBytes + (h ? b_row_offset(kBN / 2) : 0), js);
        auto& Th = h ? Tb : Ta;
        if constexpr (kBf16) wgmma_sp_m64n64k32_bf16(Th, a_desc, b_desc, meta, scale_d);
        else wgmma_sp_m64n64k32_f16(Th, a_desc, b_desc, meta, scale_d);
      };
      auto route_half = [&](auto half, int sel0, int sel1) {
        constexpr int h = decltype(half)::value;
        auto& Th = h ? Tb : Ta;
#pragma unroll
        for (int i = 0; i < RH; i++) {
          const int sel = ((i >> 1) & 1) ? sel1 : sel0;
          if (sel) acc1[h * RH + i] += Th[i];
          else acc0[h * RH + i] += Th[i];
        }
      };
      uint32_t meta[kSpi][kKSteps];
      auto load_meta = [&](int kt0) {
#pragma unroll
        for (int j = 0; j < kSpi; j++) {
          wait_full(kt0 + j);
#pragma unroll
          for (int js = 0; js < kKSteps; js++) meta[j][js] = meta_of(kt0 + j, js);
        }
      };
      auto issue_vector = [&](auto half, int kt0) {  // one half of a whole k-vector (kSpi stages), one group
        auto& Th = decltype(half)::value ? Tb : Ta;
        fence_regs(Th);
        wgmma_fence();
#pragma unroll
        for (int j = 0; j < kSpi; j++)
#pragma unroll
          for (int js = 0; js < kKSteps; js++) issue_half(half, kt0 + j, js, meta[j][js], (j | js) != 0);
        wgmma_commit();
        fence_regs(Th);
      };
      // Nothing is in flight at the loop's back edge: with a group in flight there, any read of the other half's
      // registers made ptxas serialize every wgmma (C7514), even after the wait that retired it.
      for (int it = 0; it < n_iters; it++) {
        const int kt0 = it * kSpi;
        const int sel0 = next_sels[0][0], sel1 = next_sels[0][1];
        next_sels[0][0] = sel_of(c0, v_begin + it + 1), next_sels[0][1] = sel_of(c1, v_begin + it + 1);
        load_meta(kt0);
        wait_turn(it);
        issue_vector(H0{}, kt0);
        issue_vector(H1{}, kt0);
        pass_turn(it);
        wgmma_wait<1>();  // half 0 done; half 1 runs while it is routed
        fence_regs(Ta);
        route_half(H0{}, sel0, sel1);
        wgmma_wait<0>();
        fence_regs(Tb);
        release(kt0);
        route_half(H1{}, sel0, sel1);
        fence_regs(Ta);
        fence_regs(Tb);
      }
      if (n_iters * kSpi < nk) {
        const Tail tl = tail_stage();
        wgmma_fence();
        issue_half(H0{}, tl.kt, 0, tl.m0, 0);
        issue_half(H0{}, tl.kt, 1, tl.m1, 1);
        issue_half(H1{}, tl.kt, 0, tl.m0, 0);
        issue_half(H1{}, tl.kt, 1, tl.m1, 1);
        wgmma_commit();
        wgmma_wait<0>();
        fence_regs(Ta);
        fence_regs(Tb);
        route_half(H0{}, tl.s0, tl.s1);
        route_half(H1{}, tl.s0, tl.s1);
      }
    } else if constexpr (kLoadsOnly) {
      for (int it = 0; it < n_iters; it++) {
#pragma unroll
        for (int j = 0; j < kSpi; j++) wait_full(it * kSpi + j);
        release(it * kSpi);
      }
      if (n_iters * kSpi < nk) {
        wait_full(n_iters * kSpi);
        if constexpr (kPersist) mbar_arrive_if(empty_bar + 8 * ((ring0 + n_iters * kSpi) % kStages), lane0);
      }
    } else {
      for (int it = 0; it < n_iters; it++) {
        const int kt0 = it * kSpi, vn = (kt_begin + kt0 + kSpi) * kBK / kV;
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
        wait_turn(it);
        wgmma_fence();
  #pragma unroll
        for (int st = 0; st < kSpi * kKSteps; st++) {
          issue(kt0 + st / kKSteps, st % kKSteps, meta[st / kKSteps][st % kKSteps], kRouting == 1 || st % kStepsPerVec != 0);
          if ((st + 1) % kStepsPerVec == 0) {
            wgmma_commit();
            if (st == kSpi * kKSteps - 1) pass_turn(it);
            wgmma_wait<0>();
            fence_regs(T);
            if (st == kSpi * kKSteps - 1) release(kt0);  // this warp's wgmmas reading the iteration's stages are done
            const int vj = st / kStepsPerVec;
            if constexpr (kRouting == 1) {
              // the next k-vector's selections: later in this iteration, or the first of the next
              const bool here = vj + 1 < kVpi;
              const int nj = here ? vj + 1 : 0;  // an index in range either way
              route_sd(sels[vj][0], sels[vj][1], here ? sels[nj][0] : next_sels[0][0], here ? sels[nj][1] : next_sels[0][1]);
            } else {
              route(sels[vj][0], sels[vj][1]);
            }
            fence_regs(T);
            wgmma_fence();
          }
        }
      }
      if (n_iters * kSpi < nk) {
        const Tail tl = tail_stage();
        wgmma_fence();
        issue(tl.kt, 0, tl.m0, kRouting == 1);
        issue(tl.kt, 1, tl.m1, 1);
        wgmma_commit();
        wgmma_wait<0>();
        fence_regs(T);
        // persistent: the ring runs on into the next tile, whose stages reuse this slot
        if constexpr (kPersist) mbar_arrive_if(empty_bar + 8 * ((ring0 + tl.kt) % kStages), lane0);
        if constexpr (kRouting == 1) route_sd(tl.s0, tl.s1, 0, 0);  // the last k-vector
        else route(tl.s0, tl.s1);
      }
      if constexpr (kRouting == 1) {
#pragma unroll
        for (int i = 0; i < R; i++) acc0[i] = T[i] - acc1[i];
      }
    }
    if (const int split_u = kSplit ? (int)lds32(smem_u32(&s_tile[0])) : -1; split_u >= 0) {
      const int split_z = (int)lds32(smem_u32(&s_tile[1]));
      constexpr int kQuads = R / 4;
      if (p.split_cluster) {
        // a cluster pair: once both finished their k loops (barrier 1; piece 0's pipeline ring is then idle), piece 1
        // stores its partial sums into piece 0's ring (128 KB of the 200, same thread-private order as below),
        // barrier 2, and piece 0 adds them to its own: p0 + p1, the order of the global-memory path
        cluster_sync();
        const uint32_t mine = sbase + (uint32_t)(threadIdx.x - 128) * 16;
        if (split_z == 1) {
          const uint32_t dst = peer_addr(mine, 0);
#pragma unroll
          for (int q = 0; q < kQuads; q++) {
            st_cluster_v4(dst + q * 256 * 16, acc0[4 * q], acc0[4 * q + 1], acc0[4 * q + 2], acc0[4 * q + 3]);
            st_cluster_v4(dst + (kQuads + q) * 256 * 16, acc1[4 * q], acc1[4 * q + 1], acc1[4 * q + 2], acc1[4 * q + 3]);
          }
        }
        cluster_sync();
        if (split_z == 1) return;
#pragma unroll
        for (int q = 0; q < kQuads; q++) {
          if (q % 8 == 0) asm volatile("" ::: "memory");
          const float4 x = lds_v4(mine + q * 256 * 16), y = lds_v4(mine + (kQuads + q) * 256 * 16);
          acc0[4 * q] += x.x, acc0[4 * q + 1] += x.y, acc0[4 * q + 2] += x.z, acc0[4 * q + 3] += x.w;
          acc1[4 * q] += y.x, acc1[4 * q + 1] += y.y, acc1[4 * q + 2] += y.z, acc1[4 * q + 3] += y.w;
        }
      } else {
      // split tile (wgmma_split.h): every piece writes its partial sums; the piece that finishes last reads them all
      // back (its own too: keeping it in registers while adding the others in piece order doubled the code) and
      // adds them in piece order, then runs the epilogue. Thread-private order, float4 q of thread ct at
      // (q * 256 + ct): each warp access is 512 contiguous bytes.
      float4* ws = reinterpret_cast<float4*>(p.split_ws) + (size_t)split_u * p.split_pieces * 2 * kQuads * 256 + (threadIdx.x - 128);
      auto piece_at = [&](int piece) { return ws + (size_t)piece * 2 * kQuads * 256; };
      {
        float4* mine = piece_at(split_z);
#pragma unroll
        for (int q = 0; q < kQuads; q++) {
          mine[q * 256] = make_float4(acc0[4 * q], acc0[4 * q + 1], acc0[4 * q + 2], acc0[4 * q + 3]);
          mine[(kQuads + q) * 256] = make_float4(acc1[4 * q], acc1[4 * q + 1], acc1[4 * q + 2], acc1[4 * q + 3]);
        }
      }
      __shared__ int s_split_last;
      __threadfence();  // the partials are visible device-wide before the count says so
      named_sync(3);
      if (threadIdx.x == 128) s_split_last = atomicAdd(p.split_counters + split_u, 1) == p.split_pieces - 1;
      named_sync(3);
      if (!s_split_last) return;
      __threadfence();
      // 0 + x = x: starting from zeros adds the pieces in order with one loop body
#pragma unroll
      for (int i = 0; i < R; i++) acc0[i] = acc1[i] = 0.f;
#pragma unroll 1
      for (int piece = 0; piece < p.split_pieces; piece++) {
        const float4* src = piece_at(piece);
#pragma unroll
        for (int q = 0; q < kQuads; q++) {
          const float4 x = __ldcg(src + q * 256), y = __ldcg(src + (kQuads + q) * 256);
          acc0[4 * q] += x.x, acc0[4 * q + 1] += x.y, acc0[4 * q + 2] += x.z, acc0[4 * q + 3] += x.w;
          acc1[4 * q] += y.x, acc1[4 * q + 1] += y.y, acc1[4 * q + 2] += y.z, acc1[4 * q + 3] += y.w;
        }
      }
      }
    }
    // ---------------- epilogue ----------------
    // the uniform choices (operation, output form) are made once here, not per element (see store_accumulators)
    const int jt = group_j_base() + d_col(t, 0), sel_end = group_sel_end();
    // c0 again (split launches: from shared memory, so that it needs no register through the k loop and the fixup)
    const int c_first = kSplit ? (int)lds32(smem_u32(&s_tile[3])) * kRowsPerCta + cw * kRowsPerWg + d_row(t, 0) : c0;
    const bool count_bad = tile == 0 && cw == 0 && d_row(t, 0) == 0;  // scatter: one count per bad selection
    auto store = [&](auto op, auto form) {
      store_accumulators<kBf16, decltype(op)::value, decltype(form)::value>(p, acc0, acc1, c_first, jt, mc, sel_end, count_bad);
    };
    auto with_op = [&](auto form) {
      if constexpr (kCompact)  // SwiGLU: grouped compact launches only (checked on the host)
        if (p.epilogue == kOpSwiglu) return store(std::integral_constant<int, kOpSwiglu>{}, form);
      if (p.epilogue == kOpSilu) store(std::integral_constant<int, kOpSilu>{}, form);
      else if (p.epilogue == kOpRowScale) store(std::integral_constant<int, kOpRowScale>{}, form);
      else store(std::integral_constant<int, kOpNone>{}, form);
    };
    using TokenF32 = std::integral_constant<int, kTokenF32>;
    using Token16 = std::integral_constant<int, kToken16>;
    if constexpr (kScatter) {
      with_op(std::integral_constant<int, kScatterF32>{});
    } else if constexpr (kCompact) {
      if (p.y_f32) with_op(TokenF32{});
      else with_op(Token16{});
    } else if (p.y_layout == 0) {
      if (p.y_f32) with_op(TokenF32{});
      else with_op(Token16{});
    } else {
      if (p.y_f32) with_op(std::integral_constant<int, kFeatureF32>{});
      else with_op(std::integral_constant<int, kFeature16>{});
    }
    }  // tiles
  }
  if constexpr (kCluster > 1) cluster_sync();  // the peers may still arrive on this CTA's barriers
#endif
}

// Launches variant (kGather, kCluster, kSchedule, kRouting, kTileN) of the kernel over `grid` for the single (p.offsets null) and the grouped
// entry points; f16 or bf16 by dtype, V and the launch kind from p. Instantiated in ssmm_wgmma_<variant>.cu.
template <int kGather, int kCluster, int kSchedule, int kRouting, int kTileN = kBN>
sy_status launch_variant(const char* fn, int dtype, dim3 grid, const Params& p, const CUtensorMap& x_map) {
  constexpr int kS = 8, kSmem = SmemMap<kS>::kBytes;
  auto launch = [&](auto kernel) -> sy_status {
    SY_CUDA(fn, cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmem));
    if (kCluster == 1 && !p.split_cluster && !p.pdl) {
      kernel<<<grid, kThreads, kSmem, stream()>>>(p, x_map);
    } else {
      // multicast clusters span kCluster row tiles (grid.y); split-k pairs are 2 adjacent flat CTAs (grid.x);
      // pdl: may start before the pre-gather ends (the producer waits for it with griddepcontrol.wait)
      cudaLaunchConfig_t cfg = {};
      cfg.gridDim = grid;
      cfg.blockDim = dim3(kThreads);
      cfg.dynamicSmemBytes = kSmem;
      cfg.stream = stream();
      cudaLaunchAttribute attr[2];
      unsigned n = 0;
      if (kCluster > 1 || p.split_cluster) {
        attr[n].id = cudaLaunchAttributeClusterDimension;
        attr[n].val.clusterDim.x = kCluster == 1 ? 2 : 1;
        attr[n].val.clusterDim.y = kCluster;
        attr[n].val.clusterDim.z = 1;
        n++;
      }
      if (p.pdl) {
        attr[n].id = cudaLaunchAttributeProgrammaticStreamSerialization;
        attr[n].val.programmaticStreamSerializationAllowed = 1;
        n++;
      }
      cfg.attrs = attr;
      cfg.numAttrs = n;
      SY_CUDA(fn, cudaLaunchKernelEx(&cfg, kernel, p, x_map));
    }
    return SY_OK;
  };
  auto pick_v = [&](auto bf16, auto mode) -> sy_status {
    constexpr bool B = decltype(bf16)::value;
    constexpr int L = decltype(mode)::value;
    if (p.V == 32) return launch(ssmm_wgmma_kernel<B, kS, kGather, kCluster, kSchedule, kRouting, 32, L, kTileN>);
    if (p.V == 64) return launch(ssmm_wgmma_kernel<B, kS, kGather, kCluster, kSchedule, kRouting, 64, L, kTileN>);
    return launch(ssmm_wgmma_kernel<B, kS, kGather, kCluster, kSchedule, kRouting, 128, L, kTileN>);
  };
  auto pick_mode = [&](auto bf16) -> sy_status {
    using Single = std::integral_constant<int, 0>;
    using Compact = std::integral_constant<int, 1>;
    using Scatter = std::integral_constant<int, 2>;
    using SingleSplit = std::integral_constant<int, 3>;
    using Persistent = std::integral_constant<int, 4>;
    if (!p.offsets) {
      // split-k runs single CTAs of 128-token tiles only (launch_ssmm_wgmma): no split instance for the others
      if constexpr (kCluster == 1 && kTileN == kBN)
        if (p.split_pieces > 1) return pick_v(bf16, SingleSplit{});
      // persistent instances for the ping-pong variants only (launch_tiles of ssmm_wgmma.cu)
      if constexpr (kGather == 1 && kCluster == 1 && kSchedule == 1) {
        if constexpr (kRouting == 0 && kTileN == kBN)
          if (p.persist_tiles > 0 && p.probe_loads_only) return pick_v(bf16, std::integral_constant<int, 7>{});
        if (p.persist_tiles > 0) return pick_v(bf16, Persistent{});
      }
      // the loads-only probe of single launches: gathered-tma-pp, -mc2 and -pp-mc2 (ssmm_wgmma.cu checks the rest)
      if constexpr (kGather == 1 && kRouting == 0 && kTileN == kBN && ((kCluster == 1 && kSchedule == 1) || kCluster == 2))
        if (p.probe_loads_only) return pick_v(bf16, std::integral_constant<int, 8>{});
      return pick_v(bf16, Single{});
    }
    // persistent grouped instances: the default variant and its 64-token sibling, V = 128 (launch_ssmm_wgmma)
    if constexpr (kGather == 1 && kCluster == 1 && kSchedule == 1 && kRouting == 0) {
      if (p.persist_row_tiles > 0) {
        constexpr bool B = decltype(bf16)::value;
        if (p.V != 128) return fail(SY_ERR_INTERNAL, "%s: persistent grouped launch with V = %d (instances exist for V = 128 only)", fn, p.V);
        return p.y_mode == 1 ? launch(ssmm_wgmma_kernel<B, kS, kGather, kCluster, kSchedule, kRouting, 128, 6, kTileN>)
                             : launch(ssmm_wgmma_kernel<B, kS, kGather, kCluster, kSchedule, kRouting, 128, 5, kTileN>);
      }
    }
    return p.y_mode == 1 ? pick_v(bf16, Scatter{}) : pick_v(bf16, Compact{});
  };
  return dtype == SY_BF16 ? pick_mode(std::true_type{}) : pick_mode(std::false_type{});
}
// the (gather, cluster, schedule, routing) variants of wgmma_variants.h, one translation unit each
extern template sy_status launch_variant<0, 1, 0, 0>(const char*, int, dim3, const Params&, const CUtensorMap&);
extern template sy_status launch_variant<1, 1, 0, 0>(const char*, int, dim3, const Params&, const CUtensorMap&);
extern template sy_status launch_variant<1, 2, 0, 0>(const char*, int, dim3, const Params&, const CUtensorMap&);
extern template sy_status launch_variant<1, 2, 1, 0>(const char*, int, dim3, const Params&, const CUtensorMap&);
extern template sy_status launch_variant<1, 4, 0, 0>(const char*, int, dim3, const Params&, const CUtensorMap&);
extern template sy_status launch_variant<1, 1, 1, 0>(const char*, int, dim3, const Params&, const CUtensorMap&);
extern template sy_status launch_variant<1, 1, 2, 0>(const char*, int, dim3, const Params&, const CUtensorMap&);
extern template sy_status launch_variant<1, 1, 3, 0>(const char*, int, dim3, const Params&, const CUtensorMap&);
extern template sy_status launch_variant<1, 1, 0, 1>(const char*, int, dim3, const Params&, const CUtensorMap&);
extern template sy_status launch_variant<1, 1, 1, 1>(const char*, int, dim3, const Params&, const CUtensorMap&);
extern template sy_status launch_variant<1, 1, 1, 0, 64>(const char*, int, dim3, const Params&, const CUtensorMap&);
}  // namespace wg
}  // namespace sy
