// Host-side Samoyeds format: parameter checks shared by both backends (encode/decode/prune/sizes are exported from
// samoyeds_format.cpp, compiled into both libraries; they work on host memory on every backend).
#pragma once
#include <cstdint>
#include "error.h"
#include "samoyeds_layout.h"

namespace sy {
struct SamoyedsShape {
  int64_t m, k, V, N, M;
  int64_t c_rows() const { return m / M * N; }
  int64_t k_vectors() const { return k / V; }
  uint64_t value_bytes() const { return (uint64_t)c_rows() * (k / 2) * 2; }
  uint64_t index_bytes() const { return (uint64_t)c_rows() * k_vectors(); }
  uint64_t meta_bytes() const { return (uint64_t)samoyeds::meta_words(c_rows(), k) * 4; }
};
// Validates (m, k, V, N, M) and, when check_dtype, the operand dtype. Messages name fn and the rule.
sy_status check_samoyeds_params(const char* fn, int m, int k, int V, int N, int M);
sy_status check_samoyeds_dtype(const char* fn, int dtype);
// Validates an encoded weight's indices and metadata (host memory): SY_ERR_INVALID naming the first bad entry.
sy_status check_samoyeds_arrays(const char* fn, const SamoyedsShape& s, const uint8_t* indices, const uint32_t* meta);
}  // namespace sy
