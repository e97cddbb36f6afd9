// CPU backend: "backend memory" is host memory; graphs are not supported (time on the host instead).
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include "error.h"
#include "half.h"

#ifndef SY_VERSION
#define SY_VERSION "0.1.0"
#endif

SY_API const char* sy_backend_name(void) { return "cpu"; }

SY_API sy_status sy_build_info(char* out, int32_t capacity) {
  std::string json = std::string("{\"backend\":\"cpu\",\"version\":\"") + SY_VERSION +
                     "\",\"compiler\":\"g++ " __VERSION__ "\",\"cuda_runtime\":null}";
  return sy::write_string(json, out, capacity, "sy_build_info");
}

SY_API sy_status sy_device_count(int32_t* count) {
  SY_CHECK(count, "sy_device_count", "count pointer is null");
  *count = 1;
  return SY_OK;
}

SY_API sy_status sy_device_info(int32_t device, char* out, int32_t capacity) {
  SY_CHECK(device == 0, "sy_device_info", "the CPU backend has one device (0), got %d", device);
  std::string name = "host CPU";
  FILE* f = fopen("/proc/cpuinfo", "r");
  if (f) {
    char line[512];
    while (fgets(line, sizeof line, f)) {
      if (!strncmp(line, "model name", 10)) {
        const char* c = strchr(line, ':');
        if (c) { name = c + 2; while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back(); }
        break;
      }
    }
    fclose(f);
  }
  for (auto& ch : name) if (ch == '"' || ch == '\\') ch = ' ';
  std::string json = "{\"name\":\"" + name + "\",\"kind\":\"cpu\",\"threads\":" +
                     std::to_string(std::thread::hardware_concurrency()) + "}";
  return sy::write_string(json, out, capacity, "sy_device_info");
}

SY_API sy_status sy_set_device(int32_t device) {
  SY_CHECK(device == 0, "sy_set_device", "the CPU backend has one device (0), got %d", device);
  return SY_OK;
}

SY_API sy_status sy_malloc(uint64_t bytes, void** ptr) {
  SY_CHECK(ptr, "sy_malloc", "output pointer is null");
  *ptr = std::aligned_alloc(64, ((bytes + 63) / 64) * 64 + 64);
  if (!*ptr) return sy::fail(SY_ERR_OOM, "sy_malloc: could not allocate %llu bytes of host memory", (unsigned long long)bytes);
  return SY_OK;
}
SY_API sy_status sy_free(void* ptr) { std::free(ptr); return SY_OK; }
SY_API sy_status sy_copy_to_backend(void* dst, const void* src, uint64_t bytes) {
  SY_CHECK((dst && src) || bytes == 0, "sy_copy_to_backend", "null pointer");
  if (bytes) memcpy(dst, src, bytes);
  return SY_OK;
}
SY_API sy_status sy_copy_from_backend(void* dst, const void* src, uint64_t bytes) {
  SY_CHECK((dst && src) || bytes == 0, "sy_copy_from_backend", "null pointer");
  if (bytes) memcpy(dst, src, bytes);
  return SY_OK;
}
SY_API sy_status sy_copy_within(void* dst, const void* src, uint64_t bytes) {
  SY_CHECK((dst && src) || bytes == 0, "sy_copy_within", "null pointer");
  if (bytes) memmove(dst, src, bytes);
  return SY_OK;
}
SY_API sy_status sy_memset(void* dst, int32_t value, uint64_t bytes) {
  SY_CHECK(dst || bytes == 0, "sy_memset", "null pointer");
  if (bytes) memset(dst, value, bytes);
  return SY_OK;
}
SY_API sy_status sy_synchronize(void) { return SY_OK; }

SY_API sy_status sy_convert(const void* src, int32_t sdt, void* dst, int32_t ddt, uint64_t n) {
  SY_CHECK((src && dst) || n == 0, "sy_convert", "null pointer");
  SY_CHECK(sdt >= SY_F16 && sdt <= SY_F32 && ddt >= SY_F16 && ddt <= SY_F32, "sy_convert",
           "dtypes must be f16 (0), bf16 (1) or f32 (2); got %d -> %d", sdt, ddt);
#pragma omp parallel for schedule(static) if (n >= (1u << 16))
  for (uint64_t i = 0; i < n; i++) {
    float v = sdt == SY_F32 ? ((const float*)src)[i] : sy::half_to_f32(((const uint16_t*)src)[i], sdt);
    if (ddt == SY_F32) ((float*)dst)[i] = v;
    else ((uint16_t*)dst)[i] = sy::f32_to_half(v, ddt);
  }
  return SY_OK;
}

#define SY_CPU_NO_GRAPHS(fn) sy::fail(SY_ERR_UNSUPPORTED, fn ": the CPU backend has no graph timing; time host calls with performance.now()")
SY_API sy_status sy_capture_begin(void) { return SY_CPU_NO_GRAPHS("sy_capture_begin"); }
SY_API sy_status sy_capture_end(sy_graph**) { return SY_CPU_NO_GRAPHS("sy_capture_end"); }
SY_API sy_status sy_graph_time(sy_graph*, int32_t, int32_t, float*) { return SY_CPU_NO_GRAPHS("sy_graph_time"); }
SY_API sy_status sy_graph_destroy(sy_graph*) { return SY_CPU_NO_GRAPHS("sy_graph_destroy"); }
