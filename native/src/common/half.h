// fp16 / bf16 <-> f32 conversions on the host (round to nearest even), shared by both backends.
#pragma once
#include <cstdint>
#include <cstring>
#include <cmath>

namespace sy {
inline float f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
  if (exp == 0) {
    if (man == 0) bits = sign;
    else {  // subnormal: normalise
      int e = -1;
      do { e++; man <<= 1; } while (!(man & 0x400));
      bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
    }
  } else if (exp == 0x1f) bits = sign | 0x7f800000u | (man << 13);
  else bits = sign | ((exp + 112) << 23) | (man << 13);
  float f; memcpy(&f, &bits, 4); return f;
}
inline uint16_t f32_to_f16(float f) {
  uint32_t x; memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  uint32_t absx = x & 0x7fffffffu;
  if (absx > 0x7f800000u) return (uint16_t)(sign | 0x7e00);          // NaN
  if (absx >= 0x477ff000u) return (uint16_t)(sign | 0x7c00);         // overflow -> inf (>= 65520)
  if (absx < 0x38800000u) {                                          // subnormal or zero in fp16
    if (absx < 0x33000000u) return (uint16_t)sign;                   // < 2^-25 rounds to 0
    uint32_t e = absx >> 23, man = (absx & 0x7fffff) | 0x800000;
    uint32_t sh = 126 - e;  // value / 2^-24 = man >> (126 - e); sh in 14..24
    uint32_t r = man >> sh, rem = man & ((1u << sh) - 1), half = 1u << (sh - 1);
    if (rem > half || (rem == half && (r & 1))) r++;
    return (uint16_t)(sign | r);
  }
  uint32_t r = ((absx >> 13) - (112u << 10));
  uint32_t rem = absx & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (r & 1))) r++;
  return (uint16_t)(sign | r);
}
inline float bf16_to_f32(uint16_t h) { uint32_t b = (uint32_t)h << 16; float f; memcpy(&f, &b, 4); return f; }
inline uint16_t f32_to_bf16(float f) {
  uint32_t x; memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40);
  x += 0x7fff + ((x >> 16) & 1);
  return (uint16_t)(x >> 16);
}
// dtype-generic accessors (dtype: SY_F16 or SY_BF16)
inline float half_to_f32(uint16_t h, int dtype) { return dtype == 1 ? bf16_to_f32(h) : f16_to_f32(h); }
inline uint16_t f32_to_half(float f, int dtype) { return dtype == 1 ? f32_to_bf16(f) : f32_to_f16(f); }
}  // namespace sy
