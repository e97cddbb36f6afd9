// VENOM-style V:2:8 weight-only SpMM (baseline) on pre-gathered tokens with mma.sp.sync.m16n8k32, plus the
// token gather kernel. Layout contract: native/src/common/vnm_layout.h.
//
// CTA tile: 128 weight rows x 128 tokens, 64 dense k (one mma k-step of 32 condensed columns) per stage; 8 warps as
// 2 (rows) x 4 (tokens), warp tile 64 x 32. The A fragments (values + metadata) are stored in fragment order, so
// they stream global -> shared with cp.async and each lane reads its registers with one 16-byte and one 4-byte load.
// The B side needs the cell's 4-of-8 column selection: each thread loads 8 dense columns of one token (16 bytes),
// keeps the 4 selected ones in registers and stores the condensed tile (token-major, XOR-swizzled) for ldmatrix.
// Those global loads for stage s+1 are issued before the mma of stage s (register double buffering). Since a warp's
// 64 rows lie in one V-row block (V in {64, 128}), each warp uses one condensed tile; V = 64 keeps two per stage.
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <algorithm>
#include <type_traits>
#include "cuda_common.cuh"
#include "vnm_format.h"

namespace {
using namespace sy::vnm;
constexpr int BM = 128, BN = 128, THREADS = 256;
constexpr int A_STAGE_BYTES = (BM / 16) * 512;       // 8 fragment blocks
constexpr int M_STAGE_BYTES = (BM / 16) * 64;        // 8 metadata blocks
constexpr int B_TILE_BYTES = BN * 64;                // 128 tokens x 32 condensed halves
constexpr int B_UNITS_PER_THREAD = BN * 8 / THREADS; // (token, column block) units: 4

__device__ __forceinline__ uint32_t smem_addr(const void* p) { return (uint32_t)__cvta_generic_to_shared(p); }
__device__ __forceinline__ void cp_async16(void* dst, const void* src) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(smem_addr(dst)), "l"(src));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_all;\n" ::); }

// Condensed B tile: token row of 64 bytes = 4 chunks of 16 bytes; chunk c of token t is stored at c ^ ((t >> 1) & 3)
// so an ldmatrix phase (8 consecutive tokens, same chunk) hits 8 distinct 16-byte bank groups.
__device__ __forceinline__ int b_offset(int token, int chunk) { return token * 64 + ((chunk ^ ((token >> 1) & 3)) << 4); }

// The 4 halves of an 8-half vector (v[0..3] as 4 x u32) at the set bits of mask, packed into 2 x u32.
__device__ __forceinline__ uint2 select4(const uint4 v, uint32_t mask) {
  const uint64_t lo = (uint64_t)v.x | ((uint64_t)v.y << 32), hi = (uint64_t)v.z | ((uint64_t)v.w << 32);
  uint32_t h[4];
#pragma unroll
  for (int i = 0; i < 4; i++) {
    const int c = __ffs(mask) - 1;
    mask &= mask - 1;
    const uint64_t src = c < 4 ? lo : hi;
    h[i] = (uint32_t)(src >> (16 * (c & 3))) & 0xffffu;
  }
  return make_uint2(h[0] | (h[1] << 16), h[2] | (h[3] << 16));
}

template <bool BF16>
__device__ __forceinline__ void mma_sp(float (&d)[4], const uint4& a, const uint32_t (&b)[4], uint32_t e) {
  if constexpr (BF16) {
    asm volatile(
        "mma.sp::ordered_metadata.sync.aligned.m16n8k32.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9,%10,%11}, "
        "{%0,%1,%2,%3}, %12, 0x0;\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a.x), "r"(a.y), "r"(a.z), "r"(a.w), "r"(b[0]), "r"(b[1]), "r"(b[2]), "r"(b[3]), "r"(e));
  } else {
    asm volatile(
        "mma.sp::ordered_metadata.sync.aligned.m16n8k32.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9,%10,%11}, "
        "{%0,%1,%2,%3}, %12, 0x0;\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a.x), "r"(a.y), "r"(a.z), "r"(a.w), "r"(b[0]), "r"(b[1]), "r"(b[2]), "r"(b[3]), "r"(e));
  }
}

template <bool BF16, typename YT>
__device__ __forceinline__ YT to_out(float v) {
  if constexpr (sizeof(YT) == 4) return v;
  else if constexpr (BF16) { __nv_bfloat16 h = __float2bfloat16_rn(v); return *reinterpret_cast<uint16_t*>(&h); }
  else { __half h = __float2half_rn(v); return *reinterpret_cast<uint16_t*>(&h); }
}

template <bool BF16, typename YT>
__global__ void __launch_bounds__(THREADS, 2)
vnm_spmm_kernel(const uint16_t* __restrict__ values, const uint32_t* __restrict__ meta, const uint8_t* __restrict__ colmask,
                const uint16_t* __restrict__ X, YT* __restrict__ Y, int m, int k, int n, int V) {
  __shared__ __align__(128) uint8_t a_smem[2][A_STAGE_BYTES];
  __shared__ __align__(128) uint8_t m_smem[2][M_STAGE_BYTES];
  __shared__ __align__(128) uint8_t b_smem[2][2][B_TILE_BYTES];  // [stage][row block of V within the CTA][tile]

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int wm = warp >> 2, wn = warp & 3;
  const int n0 = blockIdx.x * BN, m0 = blockIdx.y * BM;
  const int KB = k / 8, KS = (int)ksteps(k), RB = (int)row_blocks16(m), NV = (int)cdiv(m, V);
  const int nvb = BM / V;                 // V-row blocks in the CTA: 1 (V = 128) or 2 (V = 64)
  const int vb0 = m0 / V;

  // ---- producers ----
  auto load_a = [&](int s, int buf) {  // 8 x 512 B values (one 16 B chunk per thread) + 8 x 64 B metadata
    const int b = tid >> 5, part = tid & 31;
    const int rb = min(m0 / 16 + b, RB - 1);  // rows past m: reuse a valid block, results are never stored
    cp_async16(a_smem[buf] + b * 512 + part * 16, values + (block_index(s, rb, m) * kBlockHalves + part * 8));
    if (tid < 32) {
      const int mb = tid >> 2, mpart = tid & 3;
      const int mrb = min(m0 / 16 + mb, RB - 1);
      cp_async16(m_smem[buf] + mb * 64 + mpart * 16, meta + (block_index(s, mrb, m) * kBlockWords + mpart * 4));
    }
  };
  uint4 xr[B_UNITS_PER_THREAD];
  auto load_x = [&](int s) {  // unit u: token u / 8, column block u % 8 of the stage
#pragma unroll
    for (int i = 0; i < B_UNITS_PER_THREAD; i++) {
      const int u = tid + THREADS * i, tok = min(n0 + (u >> 3), n - 1), cb = s * 8 + (u & 7);
      xr[i] = cb < KB ? __ldg(reinterpret_cast<const uint4*>(X + (size_t)tok * k + (size_t)cb * 8)) : make_uint4(0, 0, 0, 0);
    }
  };
  auto store_b = [&](int s, int buf) {
#pragma unroll
    for (int i = 0; i < B_UNITS_PER_THREAD; i++) {
      const int u = tid + THREADS * i, tok = u >> 3, q = u & 7, cb = s * 8 + q;
      for (int v = 0; v < nvb; v++) {
        const int vb = min(vb0 + v, NV - 1);
        const uint32_t mask = cb < KB ? colmask[(size_t)vb * KB + cb] : kPadMask;
        const uint2 sel = select4(xr[i], mask);
        *reinterpret_cast<uint2*>(b_smem[buf][v] + b_offset(tok, q >> 1) + (q & 1) * 8) = sel;
      }
    }
  };

  float acc[4][4][4];
#pragma unroll
  for (int i = 0; i < 4; i++)
#pragma unroll
    for (int j = 0; j < 4; j++)
#pragma unroll
      for (int r = 0; r < 4; r++) acc[i][j][r] = 0.f;

  const int my_vb = nvb == 2 ? wm : 0;
  load_a(0, 0);
  cp_async_commit();
  load_x(0);
  store_b(0, 0);
  cp_async_wait_all();
  __syncthreads();

  for (int s = 0; s < KS; s++) {
    const int buf = s & 1;
    const bool more = s + 1 < KS;
    if (more) {
      load_a(s + 1, buf ^ 1);
      cp_async_commit();
      load_x(s + 1);
    }
    // ---- consumer: 4 (m16) x 4 (n8) mma.sp of this stage ----
    uint4 af[4];
    uint32_t ef[4];
#pragma unroll
    for (int i = 0; i < 4; i++) {
      af[i] = *reinterpret_cast<const uint4*>(a_smem[buf] + (4 * wm + i) * 512 + lane * 16);
      ef[i] = *reinterpret_cast<const uint32_t*>(m_smem[buf] + (4 * wm + i) * 64 + 4 * meta_word_of_lane(lane));
    }
    const uint8_t* bt = b_smem[buf][my_vb];
#pragma unroll
    for (int j = 0; j < 4; j++) {
      uint32_t bf[4];
      const int tok = wn * 32 + 8 * j + (lane & 7), chunk = lane >> 3;
      asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                   : "=r"(bf[0]), "=r"(bf[1]), "=r"(bf[2]), "=r"(bf[3])
                   : "r"(smem_addr(bt + b_offset(tok, chunk))));
#pragma unroll
      for (int i = 0; i < 4; i++) mma_sp<BF16>(acc[i][j], af[i], bf, ef[i]);
    }
    if (more) store_b(s + 1, buf ^ 1);
    cp_async_wait_all();
    __syncthreads();
  }

  // ---- epilogue: Y[token][row], token-major ----
  const int g = lane >> 2, t = lane & 3;
#pragma unroll
  for (int i = 0; i < 4; i++)
#pragma unroll
    for (int j = 0; j < 4; j++)
#pragma unroll
      for (int r = 0; r < 4; r++) {
        const int row = m0 + wm * 64 + 16 * i + g + 8 * (r >> 1);
        const int tok = n0 + wn * 32 + 8 * j + 2 * t + (r & 1);
        if (row < m && tok < n) Y[(size_t)tok * m + row] = to_out<BF16, YT>(acc[i][j][r]);
      }
}

template <int BYTES>
__global__ void gather_rows_kernel(const uint8_t* __restrict__ X, int x_rows, const int32_t* __restrict__ idx,
                                   uint8_t* __restrict__ Xg, int n, size_t row_bytes) {
  // one CTA per gathered row; BYTES-wide copies (16 when rows are 16-byte aligned)
  const int j = blockIdx.x;
  if (j >= n) return;
  const int src = idx[j];
  const bool ok = src >= 0 && src < x_rows;
  const size_t units = row_bytes / BYTES;
  using U = typename std::conditional<BYTES == 16, uint4, typename std::conditional<BYTES == 4, uint32_t, uint16_t>::type>::type;
  const U* s = reinterpret_cast<const U*>(X + (size_t)(ok ? src : 0) * row_bytes);
  U* d = reinterpret_cast<U*>(Xg + (size_t)j * row_bytes);
  for (size_t u = threadIdx.x; u < units; u += blockDim.x) d[u] = ok ? s[u] : U{};
}
}  // namespace

SY_API sy_status sy_vnm_spmm(int32_t dtype, int32_t m, int32_t k, int32_t V, const void* values, const void* meta,
                             const void* colmask, const void* X, int32_t n, void* Y, int32_t y_dtype) {
  const char* fn = "sy_vnm_spmm";
  SY_ENTER(fn);
  if (sy_status st = sy::vnm::check_spmm(fn, dtype, m, k, V, values, meta, colmask, X, n, Y, y_dtype)) return st;
  if (n == 0) return SY_OK;
  if (((uintptr_t)X & 15) || ((uintptr_t)values & 15) || ((uintptr_t)meta & 15))
    return sy::fail(SY_ERR_INVALID, "%s: X, values and meta must be 16-byte aligned (sy_malloc memory is)", fn);
  dim3 grid((unsigned)cdiv(n, BN), (unsigned)cdiv(m, BM));
  if (grid.y > 65535) return sy::fail(SY_ERR_INVALID, "%s: m = %d too large (max %d)", fn, m, 65535 * BM);
  auto v = (const uint16_t*)values;
  auto e = (const uint32_t*)meta;
  auto c = (const uint8_t*)colmask;
  auto x = (const uint16_t*)X;
  cudaStream_t st = sy::stream();
  if (dtype == SY_BF16) {
    if (y_dtype == SY_F32) vnm_spmm_kernel<true, float><<<grid, THREADS, 0, st>>>(v, e, c, x, (float*)Y, m, k, n, V);
    else vnm_spmm_kernel<true, uint16_t><<<grid, THREADS, 0, st>>>(v, e, c, x, (uint16_t*)Y, m, k, n, V);
  } else {
    if (y_dtype == SY_F32) vnm_spmm_kernel<false, float><<<grid, THREADS, 0, st>>>(v, e, c, x, (float*)Y, m, k, n, V);
    else vnm_spmm_kernel<false, uint16_t><<<grid, THREADS, 0, st>>>(v, e, c, x, (uint16_t*)Y, m, k, n, V);
  }
  return sy::check_launch(fn);
}

SY_API sy_status sy_gather_rows(int32_t dtype, int32_t n, int32_t width, const void* X, int32_t x_rows, const int32_t* idx,
                                void* Xg) {
  const char* fn = "sy_gather_rows";
  SY_ENTER(fn);
  if (sy_status st = sy::vnm::check_gather(fn, dtype, n, width, X, x_rows, idx, Xg)) return st;
  if (n == 0) return SY_OK;
  const size_t row_bytes = (size_t)width * (dtype == SY_F32 ? 4 : 2);
  const bool a16 = row_bytes % 16 == 0 && !((uintptr_t)X & 15) && !((uintptr_t)Xg & 15);
  const bool a4 = row_bytes % 4 == 0 && !((uintptr_t)X & 3) && !((uintptr_t)Xg & 3);
  const size_t units = row_bytes / (a16 ? 16 : a4 ? 4 : 2);
  const int threads = (int)std::min<size_t>(256, ((units + 31) / 32) * 32);
  auto x = (const uint8_t*)X;
  auto xg = (uint8_t*)Xg;
  if (a16) gather_rows_kernel<16><<<n, threads, 0, sy::stream()>>>(x, x_rows, idx, xg, n, row_bytes);
  else if (a4) gather_rows_kernel<4><<<n, threads, 0, sy::stream()>>>(x, x_rows, idx, xg, n, row_bytes);
  else gather_rows_kernel<2><<<n, threads, 0, sy::stream()>>>(x, x_rows, idx, xg, n, row_bytes);
  return sy::check_launch(fn);
}
