// Process-global last-error message shared by all entry points of one backend library.
#pragma once
#include <string>
#include "samoyeds.h"

namespace sy {
// Records the message and returns the status, so callers can write `return fail(SY_ERR_INVALID, ...)`.
sy_status fail(sy_status status, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void clear_error();
// Copies a string into a caller buffer; SY_ERR_INVALID if it does not fit.
sy_status write_string(const std::string& s, char* out, int32_t capacity, const char* fn);
}  // namespace sy

// Validation helper: `SY_CHECK(cond, fn, "fmt", ...)` returns SY_ERR_INVALID with a message naming fn.
#define SY_CHECK(cond, fn, ...)                                                  \
  do {                                                                           \
    if (!(cond)) return ::sy::fail(SY_ERR_INVALID, fn ": " __VA_ARGS__);       \
  } while (0)
