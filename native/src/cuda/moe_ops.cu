// CUDA MoE building blocks: router top-k, per-expert index lists built on the GPU (no host sync), SiLU*mul,
// gather, deterministic combine, atomic scatter-add, shared-expert add, transpose, and the dense grouped GEMM
// baseline through cuBLAS. Every entry enqueues on sy::stream() and never synchronizes (graph-capturable).
#include <algorithm>
#include <cstring>
#include <mutex>
#include <vector>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include "cuda_common.cuh"
#include "dynlib.h"
#include "moe_check.h"
#include "swiglu_layout.h"

namespace {
constexpr int kWarp = 32;

template <typename T>
__device__ __forceinline__ float to_f32(T v);
template <> __device__ __forceinline__ float to_f32<float>(float v) { return v; }
template <> __device__ __forceinline__ float to_f32<__half>(__half v) { return __half2float(v); }
template <> __device__ __forceinline__ float to_f32<__nv_bfloat16>(__nv_bfloat16 v) { return __bfloat162float(v); }
template <typename T>
__device__ __forceinline__ T from_f32(float v);
template <> __device__ __forceinline__ float from_f32<float>(float v) { return v; }
template <> __device__ __forceinline__ __half from_f32<__half>(float v) { return __float2half(v); }
template <> __device__ __forceinline__ __nv_bfloat16 from_f32<__nv_bfloat16>(float v) { return __float2bfloat16(v); }

int grid_for(long long n, int threads) { return (int)std::max<long long>(1, std::min<long long>((n + threads - 1) / threads, 1 << 16)); }

// ---------- reductions (blockDim.x a multiple of 32) ----------
struct Sum {
  template <typename V> __device__ V operator()(V a, V b) const { return a + b; }
};
struct Max {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};
// Every lane of the warp gets op over the warp's values.
template <typename V, typename Op>
__device__ __forceinline__ V warp_reduce(V v, Op op) {
  for (int o = 16; o; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
// Every thread of the block gets op over the block's values; red: 32 values of shared memory, free again on return.
template <typename V, typename Op>
__device__ V block_reduce(V v, Op op, V identity, V* red) {
  v = warp_reduce(v, op);
  if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = v;
  __syncthreads();
  if (threadIdx.x < 32) {
    V w = warp_reduce(threadIdx.x < blockDim.x / 32 ? red[threadIdx.x] : identity, op);
    if (threadIdx.x == 0) red[0] = w;
  }
  __syncthreads();
  const V r = red[0];
  __syncthreads();  // red may be reused by the next reduction
  return r;
}

// ---------- router: one warp per token ----------
// Selection compares logits (softmax is monotonic), ties to the lower expert id: identical picks to the CPU backend.
__global__ void topk_kernel(int T, int E, int k, int renorm, const float* __restrict__ logits, int* __restrict__ ids,
                            float* __restrict__ weights) {
  __shared__ int chosen[8][32];
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  const int t = blockIdx.x * 8 + warp;
  if (t >= T) return;
  const float* l = logits + (size_t)t * E;
  float mx = -INFINITY;
  for (int e = lane; e < E; e += kWarp) mx = fmaxf(mx, l[e]);
  mx = warp_reduce(mx, Max{});
  float sum = 0.f;
  for (int e = lane; e < E; e += kWarp) sum += expf(l[e] - mx);
  sum = warp_reduce(sum, Sum{});
  float wsum = 0.f, my_w = 0.f;
  int my_id = 0;
  for (int i = 0; i < k; i++) {
    float bv = -INFINITY;
    int bi = 0x7fffffff;
    for (int e = lane; e < E; e += kWarp) {
      bool taken = false;
      for (int p = 0; p < i; p++) taken |= chosen[warp][p] == e;
      float v = l[e];
      if (!taken && (bi == 0x7fffffff || v > bv)) { bv = v; bi = e; }  // strided scan: first hit is the lowest id
    }
    for (int o = 16; o; o >>= 1) {
      float ov = __shfl_xor_sync(0xffffffffu, bv, o);
      int oi = __shfl_xor_sync(0xffffffffu, bi, o);
      bool other_valid = oi != 0x7fffffff, mine_valid = bi != 0x7fffffff;
      if (other_valid && (!mine_valid || ov > bv || (ov == bv && oi < bi))) { bv = ov; bi = oi; }
    }
    if (lane == 0) chosen[warp][i] = bi;
    __syncwarp();
    float p = expf(bv - mx) / sum;
    wsum += p;
    if (lane == i) { my_w = p; my_id = bi; }
  }
  if (lane < k) {
    ids[(size_t)t * k + lane] = my_id;
    weights[(size_t)t * k + lane] = renorm ? my_w / wsum : my_w;
  }
}

// ---------- index lists: stable counting sort, one block per expert ----------
constexpr int kIdxThreads = 256;
__device__ __forceinline__ int clamp_expert(int id, int E) { return min(max(id, 0), E - 1); }

__global__ void count_kernel(int S, int E, const int* __restrict__ ids, int* __restrict__ counts) {
  const int e = blockIdx.x;
  int c = 0;
  for (int f = threadIdx.x; f < S; f += blockDim.x) c += clamp_expert(ids[f], E) == e;
  c = warp_reduce(c, Sum{});
  __shared__ int part[kIdxThreads / kWarp];
  if (threadIdx.x % kWarp == 0) part[threadIdx.x / kWarp] = c;
  __syncthreads();
  if (threadIdx.x == 0) {
    int s = 0;
    for (int w = 0; w < kIdxThreads / kWarp; w++) s += part[w];
    counts[e] = s;
  }
}

// counts[e] from count_kernel; writes offsets and, in ascending flat index, the selections of expert e
__global__ void scatter_kernel(int S, int k, int E, const int* __restrict__ ids, const float* __restrict__ w,
                               const int* __restrict__ counts, int* __restrict__ offsets, int* __restrict__ token_of,
                               float* __restrict__ weight_of, int* __restrict__ slot_of) {
  const int e = blockIdx.x;
  __shared__ int warp_tot[kIdxThreads / kWarp];
  __shared__ int base_sh;
  // offset of expert e = sum of counts of lower experts (E is small: a block reduction)
  int part = 0;
  for (int q = threadIdx.x; q < e; q += blockDim.x) part += counts[q];
  part = warp_reduce(part, Sum{});
  if (threadIdx.x % kWarp == 0) warp_tot[threadIdx.x / kWarp] = part;
  __syncthreads();
  if (threadIdx.x == 0) {
    int s = 0;
    for (int q = 0; q < kIdxThreads / kWarp; q++) s += warp_tot[q];
    base_sh = s;
    offsets[e] = s;
    if (e == E - 1) offsets[E] = s + counts[e];
  }
  __syncthreads();
  int base = base_sh;
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
  for (int start = 0; start < S; start += kIdxThreads) {
    const int f = start + threadIdx.x;
    const bool hit = f < S && clamp_expert(ids[f], E) == e;
    const unsigned ballot = __ballot_sync(0xffffffffu, hit);
    __syncthreads();  // warp_tot reuse
    if (lane == 0) warp_tot[warp] = __popc(ballot);
    __syncthreads();
    int before = 0, total = 0;
    for (int q = 0; q < kIdxThreads / kWarp; q++) {
      before += q < warp ? warp_tot[q] : 0;
      total += warp_tot[q];
    }
    if (hit) {
      const int j = base + before + __popc(ballot & ((1u << lane) - 1u));
      token_of[j] = f / k;
      weight_of[j] = w ? w[f] : 1.f;
      slot_of[f] = j;
    }
    base += total;
  }
}

__global__ void iota_kernel(int n, int* out) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) out[i] = i;
}

template <typename T>
__global__ void silu_mul_kernel(long long n, const T* __restrict__ g, const T* __restrict__ u, T* __restrict__ h, int apply) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
    float a = to_f32(g[i]);
    if (apply) a = sy::silu(a);
    h[i] = from_f32<T>(a * to_f32(u[i]));
  }
}

// 8 elements per thread (16-byte loads) when widths and strides allow: G/U rows at stride ld_in, H rows at width
template <typename T>
__global__ void silu_mul_vec_kernel(long long n_vec, int width, const T* __restrict__ G, const T* __restrict__ U,
                                    long long ld_in, T* H, int apply) {
  const int per_row = width / 8;
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n_vec; i += (long long)gridDim.x * blockDim.x) {
    const long long row = i / per_row, c = (i % per_row) * 8;
    uint4 gv = *(const uint4*)(G + row * ld_in + c), uv = *(const uint4*)(U + row * ld_in + c), hv;
    const T* g = (const T*)&gv; const T* u = (const T*)&uv; T* h = (T*)&hv;
#pragma unroll
    for (int e = 0; e < 8; e++) {
      float a = to_f32(g[e]);
      if (apply) a = sy::silu(a);
      h[e] = from_f32<T>(a * to_f32(u[e]));
    }
    *(uint4*)(H + row * width + c) = hv;
  }
}

// 16-byte copies when rows are 8-element aligned, else element copies
__global__ void gather_kernel(int n, int width, const uint16_t* __restrict__ X, int x_rows, const int* __restrict__ idx,
                              uint16_t* __restrict__ Xg) {
  const int j = blockIdx.x;
  if (j >= n) return;
  const int src = min(max(idx[j], 0), x_rows - 1);
  if (width % 8 == 0) {
    const uint4* s = (const uint4*)(X + (size_t)src * width);
    uint4* d = (uint4*)(Xg + (size_t)j * width);
    for (int c = threadIdx.x; c < width / 8; c += blockDim.x) d[c] = s[c];
  } else {
    for (int c = threadIdx.x; c < width; c += blockDim.x) Xg[(size_t)j * width + c] = X[(size_t)src * width + c];
  }
}

template <typename T>
__global__ void combine_kernel(int T_, int k, int width, const T* __restrict__ C, int S, const int* __restrict__ slot_of,
                               const float* __restrict__ weights, float* __restrict__ Y, int accumulate) {
  const int t = blockIdx.y;
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= T_ || c >= width) return;
  float acc = accumulate ? Y[(size_t)t * width + c] : 0.f;
  for (int i = 0; i < k; i++) {  // fixed order: bitwise reproducible
    const int j = min(max(slot_of[(size_t)t * k + i], 0), S - 1);
    const float s = weights ? weights[(size_t)t * k + i] : 1.f;
    acc += s * to_f32(C[(size_t)j * width + c]);
  }
  Y[(size_t)t * width + c] = acc;
}

template <typename T>
__global__ void scatter_add_kernel(int n, int width, const T* __restrict__ C, const int* __restrict__ store_idx,
                                   const float* __restrict__ rw, float* __restrict__ Y, int y_rows) {
  const int j = blockIdx.y;
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= n || c >= width) return;
  const int t = min(max(store_idx[j], 0), y_rows - 1);
  atomicAdd(&Y[(size_t)t * width + c], (rw ? rw[j] : 1.f) * to_f32(C[(size_t)j * width + c]));
}

template <typename T>
__global__ void add_shared_kernel(int T_, int width, const T* __restrict__ S, const float* __restrict__ gate, float* __restrict__ Y) {
  const int t = blockIdx.y;
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= T_ || c >= width) return;
  const float g = gate ? 1.f / (1.f + __expf(-gate[t])) : 1.f;
  Y[(size_t)t * width + c] += g * to_f32(S[(size_t)t * width + c]);
}

template <typename T>
__global__ void transpose_kernel(int rows, int cols, const T* __restrict__ in, T* __restrict__ out) {
  __shared__ T tile[32][33];
  const int c0 = blockIdx.x * 32, r0 = blockIdx.y * 32;
  for (int i = threadIdx.y; i < 32; i += blockDim.y) {
    const int r = r0 + i, c = c0 + threadIdx.x;
    if (r < rows && c < cols) tile[i][threadIdx.x] = in[(size_t)r * cols + c];
  }
  __syncthreads();
  for (int i = threadIdx.y; i < 32; i += blockDim.y) {
    const int c = c0 + i, r = r0 + threadIdx.x;
    if (r < rows && c < cols) out[(size_t)c * rows + r] = tile[threadIdx.x][i];
  }
}

// dispatch on a row dtype (f16 / bf16 / f32)
template <typename F>
void by_dtype(int dt, F&& f) {
  if (dt == SY_F32) f(float{});
  else if (dt == SY_BF16) f(__nv_bfloat16{});
  else f(__half{});
}
}  // namespace

SY_API sy_status sy_moe_topk(int32_t T, int32_t E, int32_t k, int32_t renorm, const float* logits, int32_t* ids,
                             float* weights) {
  SY_ENTER("sy_moe_topk");
  sy_status st = sy::check_moe_topk(T, E, k, renorm, logits, ids, weights);
  if (st || T == 0) return st;
  topk_kernel<<<(T + 7) / 8, 256, 0, sy::stream()>>>(T, E, k, renorm, logits, ids, weights);
  return sy::check_launch("sy_moe_topk");
}

SY_API sy_status sy_moe_build_indices(int32_t T, int32_t k, int32_t E, const int32_t* ids, const float* w,
                                      int32_t* offsets, int32_t* token_of, float* weight_of, int32_t* slot_of) {
  SY_ENTER("sy_moe_build_indices");
  sy_status st = sy::check_moe_indices(T, k, E, ids, offsets, token_of, weight_of, slot_of);
  if (st) return st;
  const int S = T * k;
  if (S == 0) {
    SY_CUDA("sy_moe_build_indices", cudaMemsetAsync(offsets, 0, sizeof(int) * (E + 1), sy::stream()));
    return SY_OK;
  }
  // counts need E ints of scratch: a per-device buffer grown outside the hot path (cudaMalloc is allowed while a
  // relaxed-mode capture is open; reuse across calls is safe because the stream serializes them)
  static std::mutex mu;
  static int* scratch[64] = {};
  static int scratch_n[64] = {};
  int* counts;
  {
    std::lock_guard<std::mutex> lock(mu);
    const int dev = sy::current_device();
    if (scratch_n[dev] < E) {
      if (scratch[dev]) cudaFree(scratch[dev]);
      scratch[dev] = nullptr;
      scratch_n[dev] = 0;
      SY_CUDA("sy_moe_build_indices", cudaMalloc(&scratch[dev], sizeof(int) * std::max(E, 1024)));
      scratch_n[dev] = std::max(E, 1024);
    }
    counts = scratch[dev];
  }
  count_kernel<<<E, kIdxThreads, 0, sy::stream()>>>(S, E, ids, counts);
  if ((st = sy::check_launch("sy_moe_build_indices"))) return st;
  scatter_kernel<<<E, kIdxThreads, 0, sy::stream()>>>(S, k, E, ids, w, counts, offsets, token_of, weight_of, slot_of);
  return sy::check_launch("sy_moe_build_indices");
}

SY_API sy_status sy_moe_iota(int32_t n, int32_t* out) {
  SY_ENTER("sy_moe_iota");
  SY_CHECK(n >= 0 && (n == 0 || out), "sy_moe_iota", "need n >= 0 and an output; got n=%d", n);
  if (!n) return SY_OK;
  iota_kernel<<<grid_for(n, 256), 256, 0, sy::stream()>>>(n, out);
  return sy::check_launch("sy_moe_iota");
}

SY_API sy_status sy_moe_silu_mul(int32_t dt, int32_t n, int32_t width, const void* G, const void* U, void* H,
                                 int32_t apply_silu) {
  SY_ENTER("sy_moe_silu_mul");
  sy_status st = sy::check_rows("sy_moe_silu_mul", n, width, dt, true);
  if (st) return st;
  SY_CHECK(n == 0 || (G && U && H), "sy_moe_silu_mul", "null pointer");
  const long long cnt = (long long)n * width;
  if (!cnt) return SY_OK;
  const bool vec = width % 8 == 0 && ((uintptr_t)G | (uintptr_t)U | (uintptr_t)H) % 16 == 0;
  by_dtype(dt, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (sizeof(T) == 2) {
      if (vec) {
        silu_mul_vec_kernel<T><<<grid_for(cnt / 8, 256), 256, 0, sy::stream()>>>(cnt / 8, width, (const T*)G, (const T*)U, width, (T*)H, apply_silu);
        return;
      }
    }
    silu_mul_kernel<T><<<grid_for(cnt, 256), 256, 0, sy::stream()>>>(cnt, (const T*)G, (const T*)U, (T*)H, apply_silu);
  });
  return sy::check_launch("sy_moe_silu_mul");
}

namespace {
template <typename T>
__global__ void silu_mul_pair_kernel(int n, int width, const T* __restrict__ GU, T* __restrict__ H) {
  const long long total = (long long)n * width;
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total; i += (long long)gridDim.x * blockDim.x) {
    const long long row = i / width, c = i % width;
    const T* g = GU + row * 2 * width + sy::swiglu_gate_row((int)c);
    H[i] = from_f32<T>(sy::silu(to_f32(g[0])) * to_f32(g[sy::kSwigluBlock]));
  }
}
// 8 features per thread (16-byte loads): 8 consecutive features lie in one block, their up values 16 rows further
template <typename T>
__global__ void silu_mul_pair_vec_kernel(long long n_vec, int width, const T* __restrict__ GU, T* __restrict__ H) {
  const int per_row = width / 8;
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n_vec; i += (long long)gridDim.x * blockDim.x) {
    const long long row = i / per_row;
    const int c = (int)(i % per_row) * 8;
    const T* src = GU + row * 2 * width + sy::swiglu_gate_row(c);
    uint4 gv = *(const uint4*)src, uv = *(const uint4*)(src + sy::kSwigluBlock), hv;
    const T* g = (const T*)&gv; const T* u = (const T*)&uv; T* h = (T*)&hv;
#pragma unroll
    for (int e = 0; e < 8; e++) h[e] = from_f32<T>(sy::silu(to_f32(g[e])) * to_f32(u[e]));
    *(uint4*)(H + row * width + c) = hv;
  }
}
}  // namespace

SY_API sy_status sy_moe_silu_mul_pair(int32_t dt, int32_t n, int32_t width, const void* GU, void* H) {
  SY_ENTER("sy_moe_silu_mul_pair");
  sy_status st = sy::check_rows("sy_moe_silu_mul_pair", n, width, dt, true);
  if (st) return st;
  SY_CHECK(n == 0 || (GU && H && GU != H), "sy_moe_silu_mul_pair", "null or aliased pointer");
  SY_CHECK(width % sy::kSwigluBlock == 0, "sy_moe_silu_mul_pair", "width must be a multiple of %d (gate and up rows interleave in blocks of %d), got %d",
           sy::kSwigluBlock, sy::kSwigluBlock, width);
  const long long cnt = (long long)n * width;
  if (!cnt) return SY_OK;
  const bool vec = ((uintptr_t)GU | (uintptr_t)H) % 16 == 0;
  by_dtype(dt, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (sizeof(T) == 2) {
      const T* gu = (const T*)GU;
      if (vec) silu_mul_pair_vec_kernel<T><<<grid_for(cnt / 8, 256), 256, 0, sy::stream()>>>(cnt / 8, width, gu, (T*)H);
      else silu_mul_pair_kernel<T><<<grid_for(cnt, 256), 256, 0, sy::stream()>>>(n, width, gu, (T*)H);
    }
  });
  return sy::check_launch("sy_moe_silu_mul_pair");
}

SY_API sy_status sy_moe_gather_rows(int32_t dt, int32_t n, int32_t width, const void* X, int32_t x_rows,
                                    const int32_t* idx, void* Xg) {
  SY_ENTER("sy_moe_gather_rows");
  sy_status st = sy::check_rows("sy_moe_gather_rows", n, width, dt, true);
  if (st) return st;
  SY_CHECK(n == 0 || (X && idx && Xg && x_rows > 0), "sy_moe_gather_rows", "null pointer or x_rows <= 0");
  if (!n) return SY_OK;
  gather_kernel<<<n, 128, 0, sy::stream()>>>(n, width, (const uint16_t*)X, x_rows, idx, (uint16_t*)Xg);
  return sy::check_launch("sy_moe_gather_rows");
}

SY_API sy_status sy_moe_combine(int32_t T, int32_t k, int32_t width, const void* C, int32_t cdt, const int32_t* slot_of,
                                const float* weights, float* Y, int32_t accumulate) {
  SY_ENTER("sy_moe_combine");
  sy_status st = sy::check_rows("sy_moe_combine", T, width, cdt, false);
  if (st) return st;
  SY_CHECK(k > 0, "sy_moe_combine", "need k > 0, got %d", k);
  SY_CHECK(T == 0 || (C && slot_of && Y), "sy_moe_combine", "null pointer (C, slot_of or Y)");
  SY_CHECK(T <= 65535, "sy_moe_combine", "T=%d exceeds 65535 (grid limit)", T);
  if (!T) return SY_OK;
  dim3 grid((width + 255) / 256, T);
  by_dtype(cdt, [&](auto tag) {
    using E = decltype(tag);
    combine_kernel<E><<<grid, 256, 0, sy::stream()>>>(T, k, width, (const E*)C, T * k, slot_of, weights, Y, accumulate);
  });
  return sy::check_launch("sy_moe_combine");
}

SY_API sy_status sy_moe_scatter_add(int32_t n, int32_t width, const void* C, int32_t cdt, const int32_t* store_idx,
                                    const float* rw, float* Y, int32_t y_rows) {
  SY_ENTER("sy_moe_scatter_add");
  sy_status st = sy::check_rows("sy_moe_scatter_add", n, width, cdt, false);
  if (st) return st;
  SY_CHECK(n == 0 || (C && store_idx && Y && y_rows > 0), "sy_moe_scatter_add", "null pointer (C, store_idx or Y) or y_rows <= 0");
  SY_CHECK(n <= 65535, "sy_moe_scatter_add", "n=%d exceeds 65535 (grid limit)", n);
  if (!n) return SY_OK;
  dim3 grid((width + 255) / 256, n);
  by_dtype(cdt, [&](auto tag) {
    using E = decltype(tag);
    scatter_add_kernel<E><<<grid, 256, 0, sy::stream()>>>(n, width, (const E*)C, store_idx, rw, Y, y_rows);
  });
  return sy::check_launch("sy_moe_scatter_add");
}

SY_API sy_status sy_moe_add_shared(int32_t T, int32_t width, const void* S, int32_t sdt, const float* gate, float* Y) {
  SY_ENTER("sy_moe_add_shared");
  sy_status st = sy::check_rows("sy_moe_add_shared", T, width, sdt, false);
  if (st) return st;
  SY_CHECK(T == 0 || (S && Y), "sy_moe_add_shared", "null pointer (S or Y)");
  SY_CHECK(T <= 65535, "sy_moe_add_shared", "T=%d exceeds 65535 (grid limit)", T);
  if (!T) return SY_OK;
  dim3 grid((width + 255) / 256, T);
  by_dtype(sdt, [&](auto tag) {
    using E = decltype(tag);
    add_shared_kernel<E><<<grid, 256, 0, sy::stream()>>>(T, width, (const E*)S, gate, Y);
  });
  return sy::check_launch("sy_moe_add_shared");
}

SY_API sy_status sy_moe_transpose(int32_t dt, int32_t rows, int32_t cols, const void* in, void* out) {
  SY_ENTER("sy_moe_transpose");
  SY_CHECK(sy::is_row_dtype(dt) && rows >= 0 && cols >= 0, "sy_moe_transpose", "need dtype f16/bf16/f32 and rows, cols >= 0");
  SY_CHECK((size_t)rows * cols == 0 || (in && out), "sy_moe_transpose", "null pointer");
  if ((size_t)rows * cols == 0) return SY_OK;
  SY_CHECK((rows + 31) / 32 <= 65535, "sy_moe_transpose", "rows=%d too large", rows);
  dim3 grid((cols + 31) / 32, (rows + 31) / 32), block(32, 8);
  by_dtype(dt, [&](auto tag) {
    using E = decltype(tag);
    transpose_kernel<E><<<grid, block, 0, sy::stream()>>>(rows, cols, (const E*)in, (E*)out);
  });
  return sy::check_launch("sy_moe_transpose");
}

// ---------- dense grouped GEMM baseline (cuBLAS) ----------
namespace {
typedef int (*GemmExFn)(void*, int, int, int, int, int, const void*, const void*, int, int, const void*, int, int,
                        const void*, void*, int, int, int, int);
typedef int (*GroupedExFn)(void*, const int*, const int*, const int*, const int*, const int*, const void*,
                           const void* const*, int, const int*, const void* const*, int, const int*, const void*,
                           void* const*, int, const int*, int, const int*, int);
typedef int (*StridedExFn)(void*, int, int, int, int, int, const void*, const void*, int, int, long long, const void*, int,
                           int, long long, const void*, void*, int, int, long long, int, int, int);
struct MoeCublas {
  GemmExFn gemm_ex = nullptr;
  StridedExFn strided = nullptr;  // cublasGemmStridedBatchedEx
  GroupedExFn grouped = nullptr;  // cublasGemmGroupedBatchedEx (cuBLAS >= 12.5), may be absent
  bool loaded = false;
};
constexpr int kMaxGroups = 256;
// Pointer arrays are computed on the device from host-known counts passed by value, so no host->device copy
// happens inside a graph capture.
struct GroupFill {
  const char* W; const char* X; char* Y;
  long long w_stride, x_row, y_row;
  int n;
  int expert[kMaxGroups];
  int row0[kMaxGroups];
};
__global__ void fill_ptrs_kernel(GroupFill p, const void** A, const void** B, void** C) {
  const int g = threadIdx.x;
  if (g >= p.n) return;
  A[g] = p.W + p.expert[g] * p.w_stride;
  B[g] = p.X + p.row0[g] * p.x_row;
  C[g] = p.Y + p.row0[g] * p.y_row;
}
enum { OP_N = 0, OP_T = 1, R_32F = 0, R_16F = 2, R_16BF = 14, COMPUTE_32F = 68, GEMM_DEFAULT = -1 };

sy_status moe_cublas(const char* fn, MoeCublas** out) {
  static std::mutex mu;
  static MoeCublas api;
  static sy::DynLib lib;
  std::lock_guard<std::mutex> lock(mu);
  if (!api.loaded) {
    sy_status st = sy::open_library(fn, "cuBLAS (libcublas.so)", "SAMOYEDS_CUBLAS", {"libcublas.so.13", "libcublas.so.12", "libcublas.so"},
                                    {"/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib"}, lib);
    if (st) return st;
    void* p = nullptr;
    if ((st = sy::find_symbol(fn, lib, "cublasGemmEx", &p))) return st;
    api.gemm_ex = (GemmExFn)p;
    if ((st = sy::find_symbol(fn, lib, "cublasGemmStridedBatchedEx", &p))) return st;
    api.strided = (StridedExFn)p;
    p = nullptr;
    if (sy::find_symbol(fn, lib, "cublasGemmGroupedBatchedEx", &p) == SY_OK) api.grouped = (GroupedExFn)p;
    sy::clear_error();
    api.loaded = true;
  }
  *out = &api;
  return SY_OK;
}
}  // namespace

SY_API sy_status sy_moe_dense_grouped_gemm(int32_t dt, int32_t E, int32_t m, int32_t k, const void* W, const void* X,
                                           const int32_t* counts, void* Y, int32_t ydt, int32_t impl, int32_t* used) {
  SY_ENTER("sy_moe_dense_grouped_gemm");
  SY_CHECK(E > 0 && counts && W, "sy_moe_dense_grouped_gemm", "need E > 0, counts_host and W; got E=%d", E);
  SY_CHECK(impl == 0 || impl == 1, "sy_moe_dense_grouped_gemm", "impl must be 0 (auto) or 1 (loop), got %d", impl);
  sy_status st = sy::check_gemm_args("sy_moe_dense_grouped_gemm", dt, 0, m, k, X, W, Y, ydt, 0);
  if (st) return st;
  long long rows = 0;
  for (int e = 0; e < E; e++) {
    SY_CHECK(counts[e] >= 0, "sy_moe_dense_grouped_gemm", "counts_host[%d] = %d is negative", e, counts[e]);
    rows += counts[e];
  }
  if (used) *used = 2;
  if (!rows) return SY_OK;
  SY_CHECK(X && Y, "sy_moe_dense_grouped_gemm", "null X or Y");
  MoeCublas* api;
  if ((st = moe_cublas("sy_moe_dense_grouped_gemm", &api))) return st;
  sy::CublasApi* base;
  void* h;
  if ((st = sy::cublas("sy_moe_dense_grouped_gemm", &base, &h))) return st;  // shared handle, bound to sy::stream()
  const int ab = dt == SY_BF16 ? R_16BF : R_16F, ct = ydt == SY_F32 ? R_32F : ab;
  const size_t ys = ydt == SY_F32 ? 4 : 2;
  const float alpha = 1.f, beta = 0.f;
  std::vector<int> experts, row0;
  {
    long long r = 0;
    for (int e = 0; e < E; e++) {
      if (counts[e]) { experts.push_back(e); row0.push_back((int)r); }
      r += counts[e];
    }
  }
  const int G = (int)experts.size();
  if (impl == 0 && api->grouped && G <= kMaxGroups) {
    static std::mutex mu;
    static void** ptrs[64] = {};
    std::lock_guard<std::mutex> lock(mu);
    const int dev = sy::current_device();
    if (!ptrs[dev]) SY_CUDA("sy_moe_dense_grouped_gemm", cudaMalloc(&ptrs[dev], sizeof(void*) * 3 * kMaxGroups));
    GroupFill f;
    f.W = (const char*)W; f.X = (const char*)X; f.Y = (char*)Y;
    f.w_stride = (long long)m * k * 2; f.x_row = (long long)k * 2; f.y_row = (long long)m * ys;
    f.n = G;
    for (int g = 0; g < G; g++) { f.expert[g] = experts[g]; f.row0[g] = row0[g]; }
    void** A = ptrs[dev];
    fill_ptrs_kernel<<<1, kMaxGroups, 0, sy::stream()>>>(f, (const void**)A, (const void**)(A + kMaxGroups), A + 2 * kMaxGroups);
    if ((st = sy::check_launch("sy_moe_dense_grouped_gemm"))) return st;
    std::vector<int> ta(G, OP_T), tb(G, OP_N), mm(G, m), nn(G), kk(G, k), lda(G, k), ldb(G, k), ldc(G, m), gs(G, 1);
    std::vector<float> al(G, alpha), be(G, beta);
    for (int g = 0; g < G; g++) nn[g] = counts[experts[g]];
    int s = api->grouped(h, ta.data(), tb.data(), mm.data(), nn.data(), kk.data(), al.data(), (const void* const*)A, ab,
                         lda.data(), (const void* const*)(A + kMaxGroups), ab, ldb.data(), be.data(), A + 2 * kMaxGroups,
                         ct, ldc.data(), G, gs.data(), COMPUTE_32F);
    if (s == 0) {
      if (used) *used = 1;
      return SY_OK;
    }
    // not supported for this type combination: fall through to the loop (nothing was enqueued by cuBLAS)
  }
  for (int g = 0; g < G; g++) {
    const int e = experts[g], c = counts[e];
    int s = api->gemm_ex(h, OP_T, OP_N, m, c, k, &alpha, (const char*)W + (size_t)e * m * k * 2, ab, k,
                         (const char*)X + (size_t)row0[g] * k * 2, ab, k, &beta, (char*)Y + (size_t)row0[g] * m * ys, ct, m,
                         COMPUTE_32F, GEMM_DEFAULT);
    if (s) return sy::fail(SY_ERR_LIBRARY, "sy_moe_dense_grouped_gemm: cublasGemmEx failed with status %d (expert %d, n=%d m=%d k=%d)", s, e, c, m, k);
  }
  if (used) *used = 2;
  return SY_OK;
}

namespace {
__global__ void fill_random_kernel(int dt, uint64_t n, uint32_t seed, float scale, int modulo, void* out) {
  for (uint64_t i = blockIdx.x * (uint64_t)blockDim.x + threadIdx.x; i < n; i += (uint64_t)gridDim.x * blockDim.x) {
    uint32_t h = sy::moe_hash(seed, i);
    if (dt == SY_U8) { ((uint8_t*)out)[i] = (uint8_t)(h % (uint32_t)modulo); continue; }
    float v = ((float)(h >> 8) * (1.f / 16777216.f) * 2.f - 1.f) * scale;
    if (dt == SY_F32) ((float*)out)[i] = v;
    else if (dt == SY_BF16) ((__nv_bfloat16*)out)[i] = __float2bfloat16(v);
    else ((__half*)out)[i] = __float2half(v);
  }
}
}  // namespace

SY_API sy_status sy_moe_fill_random(int32_t dt, uint64_t count, uint32_t seed, float scale, int32_t modulo, void* out) {
  SY_ENTER("sy_moe_fill_random");
  sy_status st = sy::check_fill(dt, count, modulo, out);
  if (st || !count) return st;
  fill_random_kernel<<<grid_for((long long)std::min<uint64_t>(count, 1ull << 40), 256), 256, 0, sy::stream()>>>(dt, count, seed, scale, modulo, out);
  return sy::check_launch("sy_moe_fill_random");
}

// ---------- decoder-layer pieces ----------
namespace {
template <typename T>
__global__ void rmsnorm_kernel(int width, const T* __restrict__ X, const T* __restrict__ gamma, float eps, T* __restrict__ out) {
  const size_t row = blockIdx.x;
  __shared__ float part[32];
  float ss = 0.f;
  for (int c = threadIdx.x; c < width; c += blockDim.x) {
    const float v = to_f32(X[row * width + c]);
    ss += v * v;
  }
  const float r = rsqrtf(block_reduce(ss, Sum{}, 0.f, part) / width + eps);
  for (int c = threadIdx.x; c < width; c += blockDim.x)
    out[row * width + c] = from_f32<T>(to_f32(X[row * width + c]) * r * (gamma ? to_f32(gamma[c]) : 1.f));
}
template <typename T>
__global__ void residual_kernel(long long n, const T* __restrict__ X, const float* __restrict__ Y, T* __restrict__ out) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
    out[i] = from_f32<T>(to_f32(X[i]) + Y[i]);
}
// one block per (query row, head): causal softmax of scale * scores over keys 0..q, zeros after
template <typename T>
__global__ void causal_softmax_kernel(int L, float scale, const float* __restrict__ S, T* __restrict__ P) {
  const int q = blockIdx.x, h = blockIdx.y;
  const float* s = S + ((size_t)h * L + q) * L;
  T* p = P + ((size_t)h * L + q) * L;
  __shared__ float red[32];
  float mx = -INFINITY;
  for (int k = threadIdx.x; k <= q; k += blockDim.x) mx = fmaxf(mx, s[k] * scale);
  mx = block_reduce(mx, Max{}, -INFINITY, red);
  float sum = 0.f;
  for (int k = threadIdx.x; k <= q; k += blockDim.x) sum += __expf(s[k] * scale - mx);
  const float inv = 1.f / block_reduce(sum, Sum{}, 0.f, red);
  for (int k = threadIdx.x; k < L; k += blockDim.x) p[k] = from_f32<T>(k <= q ? __expf(s[k] * scale - mx) * inv : 0.f);
}
}  // namespace

SY_API sy_status sy_moe_rmsnorm(int32_t dt, int32_t T, int32_t width, const void* X, const void* gamma, float eps, void* out) {
  SY_ENTER("sy_moe_rmsnorm");
  sy_status st = sy::check_rows("sy_moe_rmsnorm", T, width, dt, true);
  if (st) return st;
  SY_CHECK(T == 0 || (X && out), "sy_moe_rmsnorm", "null pointer");
  if (!T) return SY_OK;
  by_dtype(dt, [&](auto tag) {
    using E = decltype(tag);
    rmsnorm_kernel<E><<<T, 256, 0, sy::stream()>>>(width, (const E*)X, (const E*)gamma, eps, (E*)out);
  });
  return sy::check_launch("sy_moe_rmsnorm");
}

SY_API sy_status sy_moe_residual_add(int32_t dt, int32_t T, int32_t width, const void* X, const float* Y, void* out) {
  SY_ENTER("sy_moe_residual_add");
  sy_status st = sy::check_rows("sy_moe_residual_add", T, width, dt, true);
  if (st) return st;
  SY_CHECK(T == 0 || (X && Y && out), "sy_moe_residual_add", "null pointer");
  const long long n = (long long)T * width;
  if (!n) return SY_OK;
  by_dtype(dt, [&](auto tag) {
    using E = decltype(tag);
    residual_kernel<E><<<grid_for(n, 256), 256, 0, sy::stream()>>>(n, (const E*)X, Y, (E*)out);
  });
  return sy::check_launch("sy_moe_residual_add");
}

SY_API sy_status sy_attention_prefill(int32_t dt, int32_t n_seq, int32_t L, int32_t heads, int32_t kv, int32_t hd,
                                      const void* qkv, float* scores, void* probs, void* out) {
  const char* fn = "sy_attention_prefill";
  SY_ENTER(fn);
  sy_status st = sy::check_attention(dt, n_seq, L, heads, kv, hd, qkv, scores, probs, out);
  if (st || n_seq == 0) return st;
  SY_CHECK(L <= 65535 && heads <= 65535, "sy_attention_prefill", "seq_len and heads must be <= 65535 (grid)");
  MoeCublas* api;
  if ((st = moe_cublas(fn, &api))) return st;
  sy::CublasApi* base;
  void* h;
  if ((st = sy::cublas(fn, &base, &h))) return st;
  const int ab = dt == SY_BF16 ? R_16BF : R_16F;
  const int group = heads / kv;
  const long long ld = (long long)(heads + 2 * kv) * hd, ldo = (long long)heads * hd, LL = (long long)L * L;
  const float one = 1.f, zero = 0.f;
  const char* in = (const char*)qkv;
  for (int s = 0; s < n_seq; s++) {
    const char* seq = in + (size_t)s * L * ld * 2;
    for (int g = 0; g < kv; g++) {
      // scores of query heads g*group .. : row-major L_q x L_k = column-major K Q^T (K shared: stride 0)
      const char* K = seq + (size_t)(heads + g) * hd * 2;
      const char* Q = seq + (size_t)g * group * hd * 2;
      int r = api->strided(h, OP_T, OP_N, L, L, hd, &one, K, ab, (int)ld, 0, Q, ab, (int)ld, (long long)hd, &zero,
                           scores + (size_t)g * group * LL, R_32F, L, LL, group, COMPUTE_32F, GEMM_DEFAULT);
      if (r) return sy::fail(SY_ERR_LIBRARY, "%s: cublasGemmStridedBatchedEx (scores) failed with status %d", fn, r);
    }
    dim3 grid(L, heads);
    by_dtype(dt, [&](auto tag) {
      using E = decltype(tag);
      causal_softmax_kernel<E><<<grid, 256, 0, sy::stream()>>>(L, 1.f / sqrtf((float)hd), scores, (E*)probs);
    });
    if ((st = sy::check_launch(fn))) return st;
    for (int g = 0; g < kv; g++) {
      // out row-major L_q x hd (ld heads*hd) = column-major V^T P^T
      const char* V = seq + (size_t)(heads + kv + g) * hd * 2;
      const char* P = (const char*)probs + (size_t)g * group * LL * 2;
      char* O = (char*)out + ((size_t)s * L * ldo + (size_t)g * group * hd) * 2;
      int r = api->strided(h, OP_N, OP_N, hd, L, L, &one, V, ab, (int)ld, 0, P, ab, L, LL, &zero, O, ab, (int)ldo,
                           (long long)hd, group, COMPUTE_32F, GEMM_DEFAULT);
      if (r) return sy::fail(SY_ERR_LIBRARY, "%s: cublasGemmStridedBatchedEx (probs x V) failed with status %d", fn, r);
    }
  }
  return SY_OK;
}
