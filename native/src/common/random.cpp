// Host random numbers, the same sequence as randn() of lib/tensor.ts (mulberry32 draws, Box-Muller pairs in double,
// stored as f32): that function is the specification and the tests compare the two bit for bit. Native because the
// benchmarks fill weights of up to 100 M elements (about 5 s in JavaScript on a 2-core machine); the i-th draw depends only on the seed
// and i (mulberry32's state advances by a constant), so the pairs are filled in parallel.
// Compiled into both backend libraries (host memory on every backend; OpenMP in the CPU build only).
#include <cmath>
#include <cstdint>
#include "error.h"
#include "samoyeds.h"

namespace {
constexpr uint32_t kMulberryStep = 0x6d2b79f5u;
// draw j (0-based) of rng(seed): its state after j + 1 steps, mixed
inline double mulberry_draw(uint32_t seed, uint64_t j) {
  uint32_t t = seed + (uint32_t)(j + 1) * kMulberryStep;
  t = (t ^ (t >> 15)) * (t | 1u);
  t ^= t + (t ^ (t >> 7)) * (t | 61u);
  return (double)(t ^ (t >> 14)) / 4294967296.0;
}
}  // namespace

SY_API sy_status sy_randn_f32(uint64_t n, uint32_t seed, double scale, float* out) {
  SY_CHECK(out || n == 0, "sy_randn_f32", "null output buffer");
  const int64_t pairs = (int64_t)((n + 1) / 2);
  const double two_pi = 2 * M_PI;
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < pairs; p++) {
    const double u = std::fmax(mulberry_draw(seed, 2 * (uint64_t)p), 1e-12), v = mulberry_draw(seed, 2 * (uint64_t)p + 1);
    const double m = std::sqrt(-2 * std::log(u)) * scale;
    out[2 * p] = (float)(m * std::cos(two_pi * v));
    if ((uint64_t)(2 * p + 1) < n) out[2 * p + 1] = (float)(m * std::sin(two_pi * v));
  }
  return SY_OK;
}
