// Hopper SSMM with wgmma.mma_async.sp (sm_90a), issue 5: the entry points (sy_ssmm_wgmma, sy_ssmm_wgmma_grouped,
// sy_ssmm_wgmma_bad_tokens, sy_wgmma_peak), the choice of the token-gather variant, the pre-gather and tensor maps of
// the TMA variants, and the instruction-peak microbenchmark. The kernel and its design: ssmm_wgmma_kernel.cuh.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include "ssmm_check.h"
#include "wgmma_check.h"
#include "wgmma_split.h"
#include "wgmma_tiles.h"
#include "wgmma_variants.h"
#include "ssmm_wgmma_kernel.cuh"

namespace sy {
namespace wg {
__device__ int g_bad_tokens;  // clamped or skipped indices (read and reset by take_bad_tokens)

// Pre-gather of the TMA-tile variant: Xg[j] = X[token_idx[j]] (k values), one warp a row, 16-byte copies. A bad index
// is clamped and counted (as the cp.async gather does); grouped (offsets): rows past offsets[n_experts] are skipped
// (the kernel reads them only into token columns it does not store). Block 0 also zeroes the n_zero split-k
// counters of the launch that follows (saves a memset).
__global__ void gather_tokens_kernel(const uint16_t* __restrict__ X, int x_rows, int k, const int32_t* __restrict__ token_idx,
                                     const int32_t* __restrict__ offsets, int n_experts, int n, uint16_t* __restrict__ Xg,
                                     int* __restrict__ zero, int n_zero) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  // the SSMM launched next (as a programmatic dependent) may start now: it requests its weight blocks, then waits
  // for this grid's writes (griddepcontrol.wait)
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
  if (blockIdx.x == 0)
    for (int i = threadIdx.x; i < n_zero; i += blockDim.x) zero[i] = 0;
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

// ---------------- instruction-peak microbenchmark ----------------
constexpr int kPeakIters = 4;  // wgmmas per commit group
constexpr int kPeakSmemBytes = 2048 + 256 * 64;  // A: 64 x 16 halves; B: 256 tokens x 32 (sparse) / 16 k
// The operands of the peak and loop-probe kernels: zeros, or (random) pairs of f16 of magnitude < 1 (exponent below
// 15) with random signs and mantissas; visible to the async proxy (wgmma) when this returns.
__device__ __forceinline__ void fill_peak_operands(uint8_t* sm, int random) {
  for (int i = threadIdx.x; i < kPeakSmemBytes / 4; i += blockDim.x) {
    uint32_t h = (uint32_t)i * 2654435761u;
    h ^= h >> 15;
    const uint32_t two = ((h & 0x83ffu) | 0x3800u) | (((h >> 16) & 0x83ffu) | 0x3800u) << 16;
    reinterpret_cast<uint32_t*>(sm)[i] = random ? two : 0u;
  }
  fence_proxy_async();
  __syncthreads();
}
// kN: the instruction's N (sparse: 256, 128 or 64, the SSMM kernel's tiles use 128 and 64; dense: 256). random:
// operands of random halves (magnitude in [0.5, 1), random signs) instead of zeros (the tensor core draws more power on real data, which can
// lower the clock under the power limit; zeros give the unthrottled instruction rate).
template <bool kSparse, int kN>
__global__ void __launch_bounds__(256, 1) wgmma_peak_kernel(int iters, int random, float* sink) {
#ifdef SY_HAS_WGMMA
  __shared__ __align__(1024) uint8_t sm[kPeakSmemBytes];
  fill_peak_operands(sm, random);
  const uint32_t base = smem_u32(sm);
  const uint32_t kchunks = kSparse ? 4 : 2;
  const uint64_t a_desc = make_desc(base, kALbo, kASbo);
  const uint64_t b_desc = make_desc(base + 2048, 128, kchunks * 128);
  float d[kN / 2];
#pragma unroll
  for (int i = 0; i < kN / 2; i++) d[i] = 0.f;
  for (int it = 0; it < iters; it += kPeakIters) {
    wgmma_fence();
#pragma unroll
    for (int j = 0; j < kPeakIters; j++) {
      fence_regs(d);
      if constexpr (!kSparse) wgmma_m64n256k16_f16(d, a_desc, b_desc, 1);
      else if constexpr (kN == 256) wgmma_sp_m64n256k32_f16(d, a_desc, b_desc, 0x44444444u, 1);
      else if constexpr (kN == 128) wgmma_sp_m64n128k32_f16(d, a_desc, b_desc, 0x44444444u, 1);
      else wgmma_sp_m64n64k32_f16(d, a_desc, b_desc, 0x44444444u, 1);
      fence_regs(d);
    }
    wgmma_commit();
    wgmma_wait<0>();
    fence_regs(d);
  }
  float sum = 0.f;
#pragma unroll
  for (int i = 0; i < kN / 2; i++) sum += d[i];
  if (sum == 12345.f) sink[threadIdx.x] = sum;  // practically never true; keeps the work observable
#endif
}

// The SSMM kernel's k-loop structure on the peak's operands (sy_wgmma_peak kinds 4-9; no global traffic, no
// stage barriers): chains of 4 wgmma.sp (one V = 128 k-vector, the first with scale-d = 0) into T, then T routed into
// acc0 / acc1 by a per-thread selection that changes every chain (the kernel's two predicated adds per element).
// kMode 0: the two warpgroups run freely; 1: they take ping-pong turns (named barriers 1 and 2, as the kernel);
// 2: two T buffers, the chain of step c runs while T of step c - 1 is routed (wgmma.wait_group 1; N <= 96: four
// accumulator sets must fit the registers). The gap between these and the plain peak is the cost of the routing
// structure; the gap between them and the kernel's k-loop is the memory pipeline's.
template <int kN, int kMode>
__global__ void __launch_bounds__(256, 1) wgmma_loop_probe_kernel(int chains, int random, float* sink) {
#ifdef SY_HAS_WGMMA
  __shared__ __align__(1024) uint8_t sm[kPeakSmemBytes];
  fill_peak_operands(sm, random);
  constexpr int R = kN / 2;
  const uint32_t base = smem_u32(sm);
  const uint64_t a_desc = make_desc(base, kALbo, kASbo);
  const uint64_t b_desc = make_desc(base + 2048, 128, 4 * 128);
  const int wg = threadIdx.x >> 7;
  float T0[R], T1[R], acc0[R], acc1[R];
#pragma unroll
  for (int i = 0; i < R; i++) T0[i] = T1[i] = acc0[i] = acc1[i] = 0.f;
  uint32_t s = threadIdx.x * 2654435761u + 1u;
  auto chain = [&](float (&T)[R]) {
#pragma unroll
    for (int j = 0; j < 4; j++) {
      if constexpr (kN == 128) wgmma_sp_m64n128k32_f16(T, a_desc, b_desc, 0x44444444u, j > 0);
      else if constexpr (kN == 96) wgmma_sp_m64n96k32_f16(T, a_desc, b_desc, 0x44444444u, j > 0);
      else wgmma_sp_m64n64k32_f16(T, a_desc, b_desc, 0x44444444u, j > 0);
    }
    wgmma_commit();
  };
  auto route = [&](float (&T)[R]) {
    s = s * 1664525u + 1013904223u;
    const int sel0 = s >> 31, sel1 = (s >> 30) & 1;
#pragma unroll
    for (int i = 0; i < R; i++) {
      if (((i >> 1) & 1) ? sel1 : sel0) acc1[i] += T[i];
      else acc0[i] += T[i];
    }
  };
  if constexpr (kMode == 2) {
    // blocks of 8 chains, unrolled, drained at the block's end: ptxas serializes every wgmma (C7514) when one is
    // still in flight at a loop back edge
    for (int c = 0; c < chains; c += 8) {
      wgmma_fence();
      chain(T0);
#pragma unroll
      for (int j = 1; j < 8; j += 2) {
        wgmma_fence();
        chain(T1);
        wgmma_wait<1>();
        fence_regs(T0);
        route(T0);
        fence_regs(T0);
        if (j + 1 < 8) {
          wgmma_fence();
          chain(T0);
          wgmma_wait<1>();
        } else {
          wgmma_wait<0>();
        }
        fence_regs(T1);
        route(T1);
        fence_regs(T1);
      }
    }
  } else {
    for (int c = 0; c < chains; c++) {
      if constexpr (kMode == 1)
        if (wg == 1 || c > 0) named_sync(wg == 0 ? 1 : 2);
      wgmma_fence();
      chain(T0);
      if constexpr (kMode == 1)
        if (wg == 0 || c < chains - 1) named_arrive(wg == 0 ? 2 : 1);
      wgmma_wait<0>();
      fence_regs(T0);
      route(T0);
      fence_regs(T0);
    }
  }
  float sum = 0.f;
#pragma unroll
  for (int i = 0; i < R; i++) sum += acc0[i] - acc1[i];
  if (sum == 12345.f) sink[threadIdx.x] = sum;
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

// The SM count of the current device (the width of a wave of one-CTA-per-SM kernels); 0 if unknown.
int sm_count() {
  int n = 0;
  if (cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, current_device()) != cudaSuccess) cudaGetLastError(), n = 0;
  return n;
}

// Launches `variant` of the kernel over `grid` (the instance of its gather, cluster, schedule, routing and token tile).
sy_status launch_by_variant(const char* fn, int dtype, const Variant& variant, dim3 grid, const Params& p, const CUtensorMap& x_map) {
  if (variant.gather == 0) return launch_variant<0, 1, 0, 0>(fn, dtype, grid, p, x_map);
  if (variant.cluster == 2)
    return variant.schedule == 1 ? launch_variant<1, 2, 1, 0>(fn, dtype, grid, p, x_map) : launch_variant<1, 2, 0, 0>(fn, dtype, grid, p, x_map);
  if (variant.cluster == 4) return launch_variant<1, 4, 0, 0>(fn, dtype, grid, p, x_map);
  if (variant.tile_n == 64) {
    // the one 64-token instance: ping-pong, routing 0 (a table entry with other settings would otherwise run as it)
    if (variant.schedule != 1 || variant.routing != 0)
      return fail(SY_ERR_INTERNAL, "%s: variant %s: 64-token tiles are built for ping-pong with routing 0 only", fn, variant.name);
    return launch_variant<1, 1, 1, 0, 64>(fn, dtype, grid, p, x_map);
  }
  if (variant.routing == 1) return variant.schedule == 1 ? launch_variant<1, 1, 1, 1>(fn, dtype, grid, p, x_map)
                                                         : launch_variant<1, 1, 0, 1>(fn, dtype, grid, p, x_map);
  if (variant.schedule == 1) return launch_variant<1, 1, 1, 0>(fn, dtype, grid, p, x_map);
  if (variant.schedule == 2) return launch_variant<1, 1, 2, 0>(fn, dtype, grid, p, x_map);
  if (variant.schedule == 3) return launch_variant<1, 1, 3, 0>(fn, dtype, grid, p, x_map);
  return launch_variant<1, 1, 0, 0>(fn, dtype, grid, p, x_map);
}

// Launches the kernel over (token tiles, row tiles) for the single and the grouped entry points; a single launch may
// split its last wave's tiles along k (wgmma_split.h), then over a flat grid. The default variant follows the
// token-tile plan (wgmma_tiles.h): all its tiles at 128 or 64 tokens, or (single launches) its first row tiles at 128
// and the rest at 64 in a second launch.
sy_status launch_ssmm_wgmma(const char* fn, int dtype, Params p) {
  if (((uintptr_t)p.X & 15) || ((uintptr_t)p.wvalues & 15) || ((uintptr_t)p.wmeta & 15))
    return fail(SY_ERR_INVALID, "%s: X, values and meta must be 16-byte aligned (sy_malloc memory is)", fn);
  // the epilogue stores (and adds) an output row pair at once: 8 bytes in f32, 4 in f16/bf16
  if ((uintptr_t)p.Y & (p.y_f32 ? 7 : 3))
    return fail(SY_ERR_INVALID, "%s: Y must be %d-byte aligned (sy_malloc memory is)", fn, p.y_f32 ? 8 : 4);
  Variant variant;
  bool named = false;  // a variant named by SAMOYEDS_WGMMA_VARIANT runs without the token-tile plan
  sy_status st = pick_variant(fn, &variant, &named);
  if (st) return st;
  const int row_tiles = ceil_div(p.m / 2, kRowsPerCta), cluster = variant.cluster;
  // SAMOYEDS_WGMMA_RASTER=r walks row tiles fastest (single CTAs only; default token tiles fastest, measured 10-15%
  // faster on the H100)
  const char* raster = getenv("SAMOYEDS_WGMMA_RASTER");
  p.row_tile_fastest = cluster == 1 && raster && !strcmp(raster, "r") && !p.offsets ? 1 : 0;
  // split-k of the last wave (wgmma_split.h): single launches of one-CTA 128-token variants in the default raster
  SplitPlan split;
  if (!p.offsets && cluster == 1 && !p.row_tile_fastest && variant.tile_n == kBN) {
    const int spi = p.V >= kBK ? p.V / kBK : 1;
    if ((st = plan_split(fn, ceil_div(p.n_sel, kBN) * row_tiles, ceil_div(p.k, kBK) / spi, sm_count, &split))) return st;
  }
  // the token-tile plan: row tiles [0, rows128) at 128 tokens, the rest with the 64-token sibling
  int rows128 = row_tiles;
  const Variant* sibling = tile64_sibling(variant);
  if (!named && sibling && variant.tile_n == kBN && split.pieces == 1 && !p.row_tile_fastest) {
    TilePlan tp;
    if ((st = plan_tiles(fn, row_tiles, p.n_sel, p.offsets ? p.n_experts : 0, sm_count, &tp))) return st;
    rows128 = tp.rows128;
    if (rows128 == 0) variant = *sibling, rows128 = row_tiles;
  }
  const bool mixed = rows128 < row_tiles;  // two launches: 128-token row tiles, then 64-token ones
  // the variant's token tiles; grouped: at most ceil(max_selections / tile) + one partial tile per expert
  const int tile_n = variant.tile_n;
  auto token_tiles_of = [&](int tn) { return (int64_t)ceil_div(p.n_sel, tn) + (p.offsets ? p.n_experts : 0); };
  const int64_t tiles = token_tiles_of(mixed ? 64 : tile_n);  // the most of any launch below
  if (tiles > 65535) return fail(SY_ERR_UNSUPPORTED, "%s: %lld token tiles, more than the grid allows (65535)", fn, (long long)tiles);
  const int token_tiles = (int)token_tiles_of(tile_n);
  const int row_grid = ceil_div(row_tiles, cluster) * cluster;  // a cluster spans `cluster` row tiles: pad
  dim3 grid = p.row_tile_fastest ? dim3(row_grid, token_tiles) : dim3(token_tiles, mixed ? rows128 : row_grid);
  if (row_grid > 65535) return fail(SY_ERR_UNSUPPORTED, "%s: m=%d needs %d row tiles, more than the grid allows (65535)", fn, p.m, row_tiles);
  SY_CUDA(fn, cudaGetSymbolAddress((void**)&p.bad_tokens, g_bad_tokens));
  void* split_mem = nullptr;
  int split_counters = 0;  // global-memory fixup: one counter per split tile
  if (split.pieces > 1) {
    const int split_tiles = token_tiles * row_tiles - split.first;
    // 2 pieces: cluster pairs, the partial goes through distributed shared memory (the pairs start at an even CTA:
    // one padding CTA if needed). More: a global workspace (measured: its write and re-read of 128 KB a piece cost
    // about 5 us a wave on the H200, more than the split saved at every Figure 12 shape).
    const bool pair = split.pieces == 2;
    const int pad = pair ? (split.first & 1) : 0;
    p.split_pieces = split.pieces, p.split_tile0 = split.first, p.split_first = split.first + pad, p.token_tiles = token_tiles;
    p.split_cluster = pair ? 1 : 0;
    grid = dim3(split.first + pad + split_tiles * split.pieces);
    if (!pair) {
      split_counters = split_tiles;
      const size_t counter_bytes = ((size_t)split_tiles * 4 + 255) & ~(size_t)255;
      const size_t ws_bytes = (size_t)split_tiles * split.pieces * (kThreads - 128) * kBN * 4;  // 2 R = kBN floats a thread
      SY_CUDA(fn, cudaMallocAsync(&split_mem, counter_bytes + ws_bytes, stream()));
      p.split_counters = (int*)split_mem, p.split_ws = (float*)((uint8_t*)split_mem + counter_bytes);
    }
  }
  // frees the scratch buffers (stream-ordered) on every way out after they were allocated
  // (the first error wins: a failed free is reported only when nothing failed before)
  auto release = [&](sy_status s, void* xg) -> sy_status {
    for (void* b : {xg, split_mem})
      if (b)
        if (cudaError_t e = cudaFreeAsync(b, stream()); e && s == SY_OK) s = cuda_fail(fn, "cudaFreeAsync(scratch)", e);
    return s;
  };
  // gathered-tma: the selected rows are first copied into a stream-ordered scratch buffer (capturable: a graph gets
  // allocation and free nodes), which the kernel reads in TMA tiles (boxes of a tile's rows: 128 and 64 if mixed)
  CUtensorMap x_map = {}, x_map64 = {};
  void* xg = nullptr;
  bool counters_zeroed = false;
  const void* x_src = p.X;
  int x_src_rows = p.x_rows;
  const bool pdl_on = pdl_enabled();
  if (variant.gather == 1 && p.token_idx) {
    if (cudaError_t e = cudaMallocAsync(&xg, (size_t)p.n_sel * p.k * 2, stream()))
      return release(cuda_fail(fn, "cudaMallocAsync(pre-gather buffer)", e), nullptr);
    const int warps = 8;
    gather_tokens_kernel<<<ceil_div(p.n_sel, warps), 32 * warps, 0, stream()>>>(p.X, p.x_rows, p.k, p.token_idx, p.offsets, p.n_experts,
                                                                                p.n_sel, (uint16_t*)xg, p.split_counters, split_counters);
    counters_zeroed = true;
    // programmatic dependent launch of the kernel after the gather (not for split launches: their consumers read
    // the counters this gather zeroes, and only the producer waits)
    p.pdl = split.pieces == 1 && pdl_on ? 1 : 0;
    x_src = xg, x_src_rows = p.n_sel;
  }
  // (gather == 1 without token_idx: rows already compact, grouped with load_idx null; n_sel <= x_rows was checked:
  // the tiles come straight from X)
  if (variant.gather == 1) {
    if ((st = encode_token_map(fn, dtype, x_src, x_src_rows, p.k, tile_n / cluster, &x_map))) return release(st, xg);
    if (mixed && (st = encode_token_map(fn, dtype, x_src, x_src_rows, p.k, 64, &x_map64))) return release(st, xg);
  }
  if (split_mem && !counters_zeroed)
    if (cudaError_t e = cudaMemsetAsync(p.split_counters, 0, (size_t)split_counters * 4, stream()))
      return release(cuda_fail(fn, "cudaMemsetAsync(split-k counters)", e), xg);
  // a launch of grid g (token tiles x row tiles) as it is, or persistent (wgmma_tiles.h): plan_persist's CTAs walk its
  // tiles in the same order (grouped: g.x is the upper bound of the token tiles, the CTAs count the real ones)
  auto launch_tiles = [&](const Variant& v, dim3 g, Params q, const CUtensorMap& map) -> sy_status {
    if (v.gather == 1 && v.cluster == 1 && v.schedule == 1 && !q.offsets && q.split_pieces <= 1 && !q.row_tile_fastest) {
      int ctas = 0;
      if (sy_status e = plan_persist(fn, (long long)g.x * g.y, sm_count, &ctas)) return e;
      if (ctas > 0) q.persist_tiles = (int)(g.x * g.y), q.token_tiles = (int)g.x, g = dim3(ctas);
    }
    // SAMOYEDS_WGMMA_PROBE=loads-only (benchmarks): the loads and the epilogue without the wgmmas (kLaunch 7 and 8;
    // wrong results by design), for single launches of gathered-tma-pp (persistent or not), gathered-tma-mc2 and
    // gathered-tma-pp-mc2 without split-k: anything else is an error
    if (const char* probe = getenv("SAMOYEDS_WGMMA_PROBE"); probe && *probe) {
      if (strcmp(probe, "loads-only")) return fail(SY_ERR_INVALID, "%s: SAMOYEDS_WGMMA_PROBE=%s is not loads-only", fn, probe);
      const bool pp = v.gather == 1 && v.cluster == 1 && v.schedule == 1 && v.routing == 0 && v.tile_n == 128;
      const bool pair = v.gather == 1 && v.cluster == 2 && v.routing == 0 && v.tile_n == 128;  // -mc2, -pp-mc2
      if (q.offsets || q.split_pieces > 1 || !(pp || pair))
        return fail(SY_ERR_INVALID, "%s: SAMOYEDS_WGMMA_PROBE=loads-only needs a single launch (no split-k) of gathered-tma-pp or "
                    "gathered-tma-mc2 / -pp-mc2 (SAMOYEDS_WGMMA_VARIANT); this launch is variant %s%s", fn, v.name, q.offsets ? ", grouped" : "");
      q.probe_loads_only = 1;
    }
    // grouped: the instances of kernel launch kinds 5 and 6 (the default variant and its sibling, V = 128); the
    // setting is checked for every grouped launch, so that a bad value is an error wherever it is set
    if (q.offsets) {
      int ctas = 0;
      if (sy_status e = plan_persist(fn, (long long)g.x * g.y, sm_count, &ctas, true)) return e;
      const bool has_instance = v.gather == 1 && v.cluster == 1 && v.schedule == 1 && v.routing == 0 && q.V == 128 &&
                                q.n_experts <= kMaxPersistExperts && !q.row_tile_fastest;
      if (ctas > 0 && has_instance) q.persist_row_tiles = (int)g.y, g = dim3(ctas);
    }
    return launch_by_variant(fn, dtype, v, g, q, map);
  };
  if (!mixed) {
    st = launch_tiles(variant, grid, p, x_map);
  } else {
    // row tiles [0, rows128) at 128 tokens, then [rows128, row_tiles) at 64 as a programmatic dependent: its CTAs
    // take the SMs the first launch's last wave leaves free, request their weight blocks and wait for its end
    p.trigger_dependents = pdl_on ? 1 : 0;
    st = launch_tiles(variant, grid, p, x_map);
    if (!st) {
      Params q = p;
      q.row_tile0 = rows128, q.trigger_dependents = 0, q.pdl = pdl_on ? 1 : 0;
      st = launch_tiles(*sibling, dim3((int)token_tiles_of(64), row_tiles - rows128), q, x_map64);
    }
  }
  if ((st = release(st, xg))) return st;
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
  return launch_ssmm_wgmma(fn, dtype, p);
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
  return launch_ssmm_wgmma(fn, dtype, p);
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

SY_API sy_status sy_wgmma_peak(int32_t kind, int32_t iters, int32_t random, float* ms_out, double* flops_out) {
  const char* fn = "sy_wgmma_peak";
  SY_ENTER(fn);
  SY_CHECK(kind >= 0 && kind <= 9, "sy_wgmma_peak",
           "kind must be 0 (wgmma.sp m64n256k32), 1 (dense m64n256k16), 2 (wgmma.sp m64n128k32), 3 (wgmma.sp m64n64k32) or "
           "4-9 (the SSMM k-loop structure: N = 128 routed, N = 128 routed with ping-pong turns, N = 64 routed with turns, "
           "N = 64 with two T buffers, N = 96 routed with turns, N = 96 with two T buffers), got %d", kind);
  SY_CHECK(random == 0 || random == 1, "sy_wgmma_peak", "random must be 0 (zero operands) or 1 (random halves), got %d", random);
  SY_CHECK(iters > 0 && iters % kPeakIters == 0, "sy_wgmma_peak", "iters must be a positive multiple of %d, got %d", kPeakIters, iters);
  SY_CHECK((kind != 7 && kind != 9) || iters % (8 * kPeakIters) == 0, "sy_wgmma_peak",
           "kinds 7 and 9 run blocks of 8 chains of %d: iters must be a multiple of %d, got %d", kPeakIters, 8 * kPeakIters, iters);
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
  const int chains = iters / kPeakIters;
  auto launch = [&]() {
    if (kind == 0) wgmma_peak_kernel<true, 256><<<sms, 256, 0, stream()>>>(iters, random, sink);
    else if (kind == 1) wgmma_peak_kernel<false, 256><<<sms, 256, 0, stream()>>>(iters, random, sink);
    else if (kind == 2) wgmma_peak_kernel<true, 128><<<sms, 256, 0, stream()>>>(iters, random, sink);
    else if (kind == 3) wgmma_peak_kernel<true, 64><<<sms, 256, 0, stream()>>>(iters, random, sink);
    else if (kind == 4) wgmma_loop_probe_kernel<128, 0><<<sms, 256, 0, stream()>>>(chains, random, sink);
    else if (kind == 5) wgmma_loop_probe_kernel<128, 1><<<sms, 256, 0, stream()>>>(chains, random, sink);
    else if (kind == 6) wgmma_loop_probe_kernel<64, 1><<<sms, 256, 0, stream()>>>(chains, random, sink);
    else if (kind == 7) wgmma_loop_probe_kernel<64, 2><<<sms, 256, 0, stream()>>>(chains, random, sink);
    else if (kind == 8) wgmma_loop_probe_kernel<96, 1><<<sms, 256, 0, stream()>>>(chains, random, sink);
    else wgmma_loop_probe_kernel<96, 2><<<sms, 256, 0, stream()>>>(chains, random, sink);
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
  const double per = kind == 0 ? 2.0 * 64 * 256 * 32
                     : kind == 1 ? 2.0 * 64 * 256 * 16
                     : kind == 2 || kind == 4 || kind == 5 ? 2.0 * 64 * 128 * 32
                     : kind == 8 || kind == 9             ? 2.0 * 64 * 96 * 32
                                                          : 2.0 * 64 * 64 * 32;
  *flops_out = per * (double)chains * kPeakIters * 2 /* warpgroups */ * sms;
  return SY_OK;
}
