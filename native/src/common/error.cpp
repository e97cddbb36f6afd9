#include "error.h"
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>

namespace {
std::mutex g_mutex;
std::string g_message;  // global, not thread-local: Deno's nonblocking calls run on pool threads
}

namespace sy {
sy_status fail(sy_status status, const char* fmt, ...) {
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  std::lock_guard<std::mutex> lock(g_mutex);
  g_message = buf;
  return status;
}
void clear_error() {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_message.clear();
}
sy_status write_string(const std::string& s, char* out, int32_t capacity, const char* fn) {
  if (!out || capacity <= 0) return fail(SY_ERR_INVALID, "%s: output buffer is null or empty", fn);
  if ((int64_t)s.size() + 1 > capacity)
    return fail(SY_ERR_INVALID, "%s: output needs %zu bytes, buffer has %d", fn, s.size() + 1, capacity);
  memcpy(out, s.c_str(), s.size() + 1);
  return SY_OK;
}
}  // namespace sy

SY_API const char* sy_last_error(void) {
  static thread_local std::string copy;  // stable pointer for the caller's thread
  std::lock_guard<std::mutex> lock(g_mutex);
  copy = g_message;
  return copy.c_str();
}
