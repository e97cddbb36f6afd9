// Grouped launches (MoE): which expert and which of its token tiles a CTA computes, from the experts' selection
// offsets on the device (no host sync). Shared by the mma.sp and wgmma.sp grouped SSMM kernels.
#pragma once
#include <cstdint>

namespace sy {
struct GroupTile {
  int expert;  // -1: the flat index is past the last tile (the CTA has nothing to do)
  int tile;    // token tile within the expert
};

// Flat tile index `flat` walks the experts in order, expert e owning ceil(count_e / tile_rows) tiles, count_e =
// offsets[e+1] - offsets[e] (negative counts own none). Called by every lane of one full warp; every lane gets
// the answer. Lanes take contiguous expert ranges, then a warp scan of the per-lane tile counts.
__device__ __forceinline__ GroupTile find_group_tile(const int32_t* offsets, int n_experts, int tile_rows, int flat) {
  const int lane = threadIdx.x & 31, per = (n_experts + 31) / 32;
  const int lo = min(n_experts, lane * per), hi = min(n_experts, lo + per);
  auto tiles_of = [&](int e) { return max(0, (offsets[e + 1] - offsets[e] + tile_rows - 1) / tile_rows); };
  int local = 0;
  for (int e = lo; e < hi; e++) local += tiles_of(e);
  int incl = local;
#pragma unroll
  for (int d = 1; d < 32; d <<= 1) {
    const int v = __shfl_up_sync(0xffffffffu, incl, d);
    if (lane >= d) incl += v;
  }
  int found_e = -1, found_t = 0;
  if (flat >= incl - local && flat < incl) {
    int acc = incl - local;
    for (int e = lo; e < hi; e++) {
      const int n = tiles_of(e);
      if (flat < acc + n) {
        found_e = e, found_t = flat - acc;
        break;
      }
      acc += n;
    }
  }
  const unsigned who = __ballot_sync(0xffffffffu, found_e >= 0);
  if (!who) return GroupTile{-1, 0};
  const int src = __ffs(who) - 1;
  return GroupTile{__shfl_sync(0xffffffffu, found_e, src), __shfl_sync(0xffffffffu, found_t, src)};
}
}  // namespace sy
