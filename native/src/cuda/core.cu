// CUDA backend core: devices, memory, conversions, graph capture and event timing.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include "cuda_common.cuh"
#include "wgmma_tiles.h"
#include "wgmma_variants.h"
#include "mma_sp_routing.h"

#ifndef SY_VERSION
#define SY_VERSION "0.1.0"
#endif

namespace {
int g_device = 0;
std::mutex g_stream_mutex;
cudaStream_t g_streams[64] = {};
}

namespace sy {
sy_status cuda_fail(const char* fn, const char* what, cudaError_t err) {
  return fail(SY_ERR_CUDA, "%s: %s failed: %s (%s)", fn, what, cudaGetErrorString(err), cudaGetErrorName(err));
}
sy_status cuda_enter(const char* fn) {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    cudaGetLastError();
    return fail(SY_ERR_NO_DEVICE, "%s: no CUDA GPU is usable here (%s); use the CPU backend, or run on a machine with an NVIDIA GPU and driver",
                fn, e != cudaSuccess ? cudaGetErrorString(e) : "0 devices");
  }
  e = cudaSetDevice(g_device);
  if (e != cudaSuccess) return cuda_fail(fn, "cudaSetDevice", e);
  return SY_OK;
}
cudaStream_t stream() {
  std::lock_guard<std::mutex> lock(g_stream_mutex);
  if (!g_streams[g_device]) cudaStreamCreateWithFlags(&g_streams[g_device], cudaStreamNonBlocking);
  return g_streams[g_device];
}
int current_device() { return g_device; }
sy_status check_launch(const char* fn) {
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) return cuda_fail(fn, "kernel launch", e);
  return SY_OK;
}
}  // namespace sy

SY_API const char* sy_backend_name(void) { return "cuda"; }


SY_API sy_status sy_build_info(char* out, int32_t capacity) {
  int rt = 0;
  cudaRuntimeGetVersion(&rt);
  // recorded with every result: the wgmma.sp kernel variant in effect and whether it copies the routed tokens first
  // (the memory model counts that copy); an unknown SAMOYEDS_WGMMA_VARIANT is reported, not an error here
  sy::wg::Variant v;
  const bool known = sy::wg::pick_variant("sy_build_info", &v) == SY_OK;
  // whether the kernel starts as a programmatic dependent of its pre-gather (SAMOYEDS_WGMMA_PDL=0: not)
  const bool pdl_off = !sy::wg::pdl_enabled();
  // the split-k policy of the last wave (wgmma_split.h) and the token-tile plan (wgmma_tiles.h): printable copies of
  // SAMOYEDS_WGMMA_SPLIT (or off) and SAMOYEDS_WGMMA_TILES (or auto)
  auto printable = [](const char* name, const char* unset) {
    const char* s = getenv(name);
    if (!s || !*s) return std::string(unset);
    std::string out;
    for (const char* c = s; *c && out.size() < 32; c++) out += (*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') || *c == ':' ? *c : '?';
    return out;
  };
  const std::string split = printable("SAMOYEDS_WGMMA_SPLIT", "off"), tiles = printable("SAMOYEDS_WGMMA_TILES", "auto");
  // persistent single launches (wgmma_tiles.h): SAMOYEDS_WGMMA_PERSIST or its default
  const std::string persist = printable("SAMOYEDS_WGMMA_PERSIST", sy::wg::kPersistDefault);
  const std::string persist_grouped = printable("SAMOYEDS_WGMMA_PERSIST_GROUPED", sy::wg::kPersistGroupedDefault);
  // the mma.sp kernel's 1:2 routing (mma_sp_routing.h)
  bool running_sum = true;
  const bool routing_known = sy::mma_sp_routing("sy_build_info", &running_sum) == SY_OK;
  int stage_k = 128;
  const bool stage_known = sy::mma_sp_stage_k("sy_build_info", &stage_k) == SY_OK;
  std::string json = std::string("{\"backend\":\"cuda\",\"version\":\"") + SY_VERSION + "\",\"compiler\":\"nvcc " +
                     std::to_string(__CUDACC_VER_MAJOR__) + "." + std::to_string(__CUDACC_VER_MINOR__) +
                     "\",\"cuda_runtime\":" + std::to_string(rt) + ",\"wgmma_variant\":\"" + (known ? v.name : "(invalid)") +
                     "\",\"wgmma_pregather\":" + (known && v.gather == 1 ? "true" : "false") +
                     ",\"wgmma_split\":\"" + split + "\",\"wgmma_tiles\":\"" + tiles + "\",\"wgmma_pdl\":" + (pdl_off ? "false" : "true") +
                     ",\"wgmma_persist\":\"" + persist + "\",\"wgmma_persist_grouped\":\"" + persist_grouped + "\"" +
                     ",\"mma_sp_routing\":\"" + (!routing_known ? "(invalid)" : running_sum ? "sum" : "swap") +
                     "\",\"mma_sp_stage_k\":" + (stage_known ? std::to_string(stage_k) : "null") + "}";
  return sy::write_string(json, out, capacity, "sy_build_info");
}

SY_API sy_status sy_device_count(int32_t* count) {
  SY_CHECK(count, "sy_device_count", "count pointer is null");
  int c = 0;
  cudaError_t e = cudaGetDeviceCount(&c);
  if (e != cudaSuccess) {
    cudaGetLastError();
    *count = 0;
    return SY_OK;  // no driver or no GPU: zero devices, not an error
  }
  *count = c;
  return SY_OK;
}

SY_API sy_status sy_device_info(int32_t device, char* out, int32_t capacity) {
  SY_ENTER("sy_device_info");
  int count = 0;
  cudaGetDeviceCount(&count);
  SY_CHECK(device >= 0 && device < count, "sy_device_info", "device %d out of range (%d devices)", device, count);
  cudaDeviceProp p;
  SY_CUDA("sy_device_info", cudaGetDeviceProperties(&p, device));
  int drv = 0, rt = 0, clock_khz = 0, mem_clock_khz = 0, bus_width = 0;
  cudaDriverGetVersion(&drv);
  cudaRuntimeGetVersion(&rt);
  cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, device);
  cudaDeviceGetAttribute(&mem_clock_khz, cudaDevAttrMemoryClockRate, device);
  cudaDeviceGetAttribute(&bus_width, cudaDevAttrGlobalMemoryBusWidth, device);
  size_t free_b = 0, total_b = 0;
  cudaMemGetInfo(&free_b, &total_b);
  char buf[1024];
  snprintf(buf, sizeof buf,
           "{\"name\":\"%s\",\"kind\":\"cuda\",\"cc_major\":%d,\"cc_minor\":%d,\"sm_count\":%d,\"memory_bytes\":%zu,"
           "\"memory_free_bytes\":%zu,\"l2_bytes\":%d,\"smem_per_block_optin\":%zu,\"clock_khz\":%d,"
           "\"memory_clock_khz\":%d,\"memory_bus_bits\":%d,\"driver_version\":%d,\"runtime_version\":%d}",
           p.name, p.major, p.minor, p.multiProcessorCount, p.totalGlobalMem, free_b, p.l2CacheSize,
           p.sharedMemPerBlockOptin, clock_khz, mem_clock_khz, bus_width, drv, rt);
  return sy::write_string(buf, out, capacity, "sy_device_info");
}

SY_API sy_status sy_set_device(int32_t device) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    cudaGetLastError();
    return sy::fail(SY_ERR_NO_DEVICE, "sy_set_device: no CUDA GPU is usable here");
  }
  SY_CHECK(device >= 0 && device < count, "sy_set_device", "device %d out of range (%d devices)", device, count);
  g_device = device;
  SY_CUDA("sy_set_device", cudaSetDevice(device));
  return SY_OK;
}

SY_API sy_status sy_malloc(uint64_t bytes, void** ptr) {
  SY_ENTER("sy_malloc");
  SY_CHECK(ptr, "sy_malloc", "output pointer is null");
  cudaError_t e = cudaMalloc(ptr, bytes ? bytes : 1);
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    size_t f = 0, t = 0;
    cudaMemGetInfo(&f, &t);
    return sy::fail(SY_ERR_OOM, "sy_malloc: out of GPU memory allocating %llu bytes (%zu of %zu free)",
                    (unsigned long long)bytes, f, t);
  }
  if (e != cudaSuccess) return sy::cuda_fail("sy_malloc", "cudaMalloc", e);
  return SY_OK;
}
SY_API sy_status sy_free(void* ptr) {
  SY_ENTER("sy_free");
  SY_CUDA("sy_free", cudaFree(ptr));
  return SY_OK;
}
static sy_status copy(const char* fn, void* dst, const void* src, uint64_t bytes, cudaMemcpyKind kind) {
  SY_ENTER(fn);
  SY_CHECK((dst && src) || bytes == 0, "sy_copy", "null pointer");
  if (!bytes) return SY_OK;
  SY_CUDA(fn, cudaMemcpyAsync(dst, src, bytes, kind, sy::stream()));
  if (kind != cudaMemcpyDeviceToDevice) SY_CUDA(fn, cudaStreamSynchronize(sy::stream()));
  return SY_OK;
}
SY_API sy_status sy_copy_to_backend(void* d, const void* s, uint64_t b) { return copy("sy_copy_to_backend", d, s, b, cudaMemcpyHostToDevice); }
SY_API sy_status sy_copy_from_backend(void* d, const void* s, uint64_t b) { return copy("sy_copy_from_backend", d, s, b, cudaMemcpyDeviceToHost); }
SY_API sy_status sy_copy_within(void* d, const void* s, uint64_t b) { return copy("sy_copy_within", d, s, b, cudaMemcpyDeviceToDevice); }
SY_API sy_status sy_memset(void* dst, int32_t v, uint64_t bytes) {
  SY_ENTER("sy_memset");
  SY_CHECK(dst || bytes == 0, "sy_memset", "null pointer");
  SY_CUDA("sy_memset", cudaMemsetAsync(dst, v, bytes, sy::stream()));
  return SY_OK;
}
SY_API sy_status sy_synchronize(void) {
  SY_ENTER("sy_synchronize");
  SY_CUDA("sy_synchronize", cudaStreamSynchronize(sy::stream()));
  SY_CUDA("sy_synchronize", cudaGetLastError());
  return SY_OK;
}

__device__ inline float load_as_f32(const void* p, int dt, uint64_t i) {
  if (dt == SY_F32) return ((const float*)p)[i];
  if (dt == SY_BF16) return __bfloat162float(((const __nv_bfloat16*)p)[i]);
  return __half2float(((const __half*)p)[i]);
}
__global__ void convert_kernel(const void* src, int sdt, void* dst, int ddt, uint64_t n) {
  for (uint64_t i = blockIdx.x * (uint64_t)blockDim.x + threadIdx.x; i < n; i += (uint64_t)gridDim.x * blockDim.x) {
    float v = load_as_f32(src, sdt, i);
    if (ddt == SY_F32) ((float*)dst)[i] = v;
    else if (ddt == SY_BF16) ((__nv_bfloat16*)dst)[i] = __float2bfloat16(v);
    else ((__half*)dst)[i] = __float2half(v);
  }
}
SY_API sy_status sy_convert(const void* src, int32_t sdt, void* dst, int32_t ddt, uint64_t n) {
  SY_ENTER("sy_convert");
  SY_CHECK((src && dst) || n == 0, "sy_convert", "null pointer");
  SY_CHECK(sdt >= SY_F16 && sdt <= SY_F32 && ddt >= SY_F16 && ddt <= SY_F32, "sy_convert",
           "dtypes must be f16 (0), bf16 (1) or f32 (2); got %d -> %d", sdt, ddt);
  if (!n) return SY_OK;
  int blocks = (int)std::min<uint64_t>((n + 255) / 256, 65535);
  convert_kernel<<<blocks, 256, 0, sy::stream()>>>(src, sdt, dst, ddt, n);
  return sy::check_launch("sy_convert");
}

struct sy_graph {
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
};

SY_API sy_status sy_capture_begin(void) {
  SY_ENTER("sy_capture_begin");
  SY_CUDA("sy_capture_begin", cudaStreamBeginCapture(sy::stream(), cudaStreamCaptureModeRelaxed));
  return SY_OK;
}
SY_API sy_status sy_capture_end(sy_graph** out) {
  SY_ENTER("sy_capture_end");
  SY_CHECK(out, "sy_capture_end", "output pointer is null");
  sy_graph* g = new sy_graph();
  cudaError_t e = cudaStreamEndCapture(sy::stream(), &g->graph);
  if (e != cudaSuccess) { delete g; return sy::cuda_fail("sy_capture_end", "cudaStreamEndCapture (an op in the capture may not be capturable, or it synchronized)", e); }
  e = cudaGraphInstantiate(&g->exec, g->graph, 0);
  if (e != cudaSuccess) { cudaGraphDestroy(g->graph); delete g; return sy::cuda_fail("sy_capture_end", "cudaGraphInstantiate", e); }
  *out = g;
  return SY_OK;
}
SY_API sy_status sy_graph_time(sy_graph* g, int32_t warmup, int32_t iters, float* times_ms) {
  SY_ENTER("sy_graph_time");
  SY_CHECK(g && times_ms && iters > 0 && warmup >= 0, "sy_graph_time", "need a graph, iters > 0, warmup >= 0 and an output array");
  cudaStream_t s = sy::stream();
  for (int i = 0; i < warmup; i++) SY_CUDA("sy_graph_time", cudaGraphLaunch(g->exec, s));
  std::vector<cudaEvent_t> ev(iters + 1);
  for (auto& e : ev) SY_CUDA("sy_graph_time", cudaEventCreate(&e));
  SY_CUDA("sy_graph_time", cudaEventRecord(ev[0], s));
  for (int i = 0; i < iters; i++) {
    SY_CUDA("sy_graph_time", cudaGraphLaunch(g->exec, s));
    SY_CUDA("sy_graph_time", cudaEventRecord(ev[i + 1], s));
  }
  SY_CUDA("sy_graph_time", cudaEventSynchronize(ev[iters]));
  for (int i = 0; i < iters; i++) SY_CUDA("sy_graph_time", cudaEventElapsedTime(&times_ms[i], ev[i], ev[i + 1]));
  for (auto& e : ev) cudaEventDestroy(e);
  SY_CUDA("sy_graph_time", cudaGetLastError());
  return SY_OK;
}
SY_API sy_status sy_graph_destroy(sy_graph* g) {
  if (!g) return SY_OK;
  if (g->exec) cudaGraphExecDestroy(g->exec);
  if (g->graph) cudaGraphDestroy(g->graph);
  delete g;
  return SY_OK;
}
