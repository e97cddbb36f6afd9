// Grouped launches (MoE): which expert and which of its token tiles a CTA computes, from the experts' selection
// offsets on the device (no host sync). Shared by the mma.sp and wgmma.sp grouped SSMM kernels.
#pragma once
#include <cstdint>

namespace sy {
struct GroupTile {
  int expert;  // -1: the flat index is past the last tile (the CTA has nothing to do)
  int tile;    // token tile within the expert
};

// The experts' token tiles, as a warp sees them: lane l owns the contiguous experts [lo, hi), `local` of their tiles,
// and `incl` is the inclusive warp scan of `local` (lane 31: the total). Called by every lane of one full warp.
struct WarpTileScan {
  int lo, hi, local, incl;
};
__device__ __forceinline__ int expert_tiles(const int32_t* offsets, int tile_rows, int e) {
  return max(0, (offsets[e + 1] - offsets[e] + tile_rows - 1) / tile_rows);
}
__device__ __forceinline__ WarpTileScan warp_tile_scan(const int32_t* offsets, int n_experts, int tile_rows) {
  const int lane = threadIdx.x & 31, per = (n_experts + 31) / 32;
  const int lo = min(n_experts, lane * per), hi = min(n_experts, lo + per);
  int local = 0;
  for (int e = lo; e < hi; e++) local += expert_tiles(offsets, tile_rows, e);
  int incl = local;
#pragma unroll
  for (int d = 1; d < 32; d <<= 1) {
    const int v = __shfl_up_sync(0xffffffffu, incl, d);
    if (lane >= d) incl += v;
  }
  return {lo, hi, local, incl};
}

// Flat tile index `flat` walks the experts in order, expert e owning ceil(count_e / tile_rows) tiles, count_e =
// offsets[e+1] - offsets[e] (negative counts own none). Called by every lane of one full warp; every lane gets
// the answer. Lanes take contiguous expert ranges, then a warp scan of the per-lane tile counts.
__device__ __forceinline__ GroupTile find_group_tile(const int32_t* offsets, int n_experts, int tile_rows, int flat) {
  const WarpTileScan w = warp_tile_scan(offsets, n_experts, tile_rows);
  const int lo = w.lo, hi = w.hi, local = w.local, incl = w.incl;
  auto tiles_of = [&](int e) { return expert_tiles(offsets, tile_rows, e); };
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
// Persistent grouped launches (the wgmma.sp kernel's kLaunch 5 and 6): the launch covers row_tiles row tiles x every
// expert's token tiles, token tiles fastest, and the CTA takes the flat tiles blockIdx.x + i gridDim.x, i = 0, 1, ...
// Resolves them into list[] as (expert, first selection, end of the expert's selection range, row tile + row_tile0),
// skipping tiles without selections (those past n_sel), and returns their count. The host launches enough CTAs that a
// CTA has at most max_tiles (ceil(upper bound of the tiles / CTAs) <= max_tiles). Called by every lane of one full
// warp; tile_start is shared scratch of n_experts + 1 ints (every expert's first token tile). One scan of the counts,
// then 32 tiles at a time, each by a binary search of tile_start (a tile at a time with find_group_tile re-read the
// offsets per tile).
__device__ __forceinline__ int resolve_persistent_group_tiles(const int32_t* offsets, int n_experts, int n_sel, int tile_rows,
                                                              int row_tiles, int row_tile0, int* tile_start, int4* list,
                                                              int max_tiles) {
  const int lane = threadIdx.x & 31;
  const WarpTileScan w = warp_tile_scan(offsets, n_experts, tile_rows);
  const int lo = w.lo, hi = w.hi, local = w.local, incl = w.incl;
  auto tiles_of = [&](int e) { return expert_tiles(offsets, tile_rows, e); };
  for (int e = lo, acc = incl - local; e < hi; e++) tile_start[e] = acc, acc += tiles_of(e);
  if (lane == 31) tile_start[n_experts] = incl;  // the last lane's scan is the total
  __syncwarp();
  const int token_tiles = tile_start[n_experts];
  const long long total = (long long)token_tiles * row_tiles;
  int count = 0;
  for (int base = 0; base < max_tiles; base += 32) {
    const long long f = (long long)blockIdx.x + (long long)(base + lane) * gridDim.x;
    const bool in_range = f < total && base + lane < max_tiles;
    bool real = false;
    int4 v = make_int4(0, 0, 0, 0);
    if (in_range) {
      const int ntile = (int)(f % token_tiles), rt = (int)(f / token_tiles);
      int e = 0, e_hi = n_experts;  // tile_start[e] <= ntile < tile_start[e_hi]
      while (e_hi - e > 1) {
        const int mid = (e + e_hi) >> 1;
        if (tile_start[mid] <= ntile) e = mid;
        else e_hi = mid;
      }
      const int jb = offsets[e] + (ntile - tile_start[e]) * tile_rows, se = min(offsets[e + 1], n_sel);
      real = jb < se;
      v = make_int4(e, jb, se, rt + row_tile0);
    }
    const unsigned m = __ballot_sync(0xffffffffu, real);
    if (real) list[count + __popc(m & ((1u << lane) - 1u))] = v;
    count += __popc(m);
    if (!__any_sync(0xffffffffu, in_range)) break;
  }
  return count;
}
}  // namespace sy
