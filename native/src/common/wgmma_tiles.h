// The token-tile plan of a wgmma.sp SSMM launch of the default variant: which row tiles run 128-token CTA tiles and
// which run 64-token ones (the variant's 64-token sibling in wgmma_variants.h).
//
// A 64-token tile does half a 128-token tile's tensor work and routing but keeps its serial chain per k-vector
// (stage waits, metadata, descriptors), so it takes more than half the time: on the H200 a 64-token tile took 0.72 of a
// 128-token tile's time at 16384 x 6144 with 1024 routed tokens (about 4 waves, data/wgmma-perf/variants-n1024-6735fc2-h200.json),
// and one wave of them took 0.84 of one wave of 128-token tiles at 1408 x 2048 (the same file: 16.2 against 19.3 us,
// 96 against 48 CTAs on 132 SMs). So 64-token tiles pay where 128-token tiles leave SMs idle:
//  * single launches: the last, partial wave of 128-token tiles. Row tiles [0, rows128) run in full waves of 128-token
//    tiles; the rest, if their 64-token tiles fit in one wave, run as 64-token tiles in a second launch (a
//    programmatic dependent of the first, ssmm_wgmma.cu), replacing a wave of 128-token tiles by a shorter one.
//    Figure 12 at 1024 routed tokens on 132 SMs: 1408 x 2048 all 64 (48 CTAs become 96), 5760 x 2304 16 of 23 row
//    tiles at 128 then 7 x 16 CTAs at 64, 14336 x 4096 49 of 56; 12288 x 3072 and 16384 x 6144 unchanged (their
//    remainder would need more than a wave of 64-token tiles).
//  * at most 64 selected tokens: all 64 (a 128-token tile would be at least half padding).
//  * grouped launches (per-expert token tiles, counts known only on the device): all 64 when the mean selections per
//    expert is at most 48, where most experts fit in one 64-token tile (MoE layers at small batch).
//
// SAMOYEDS_WGMMA_TILES: unset or "auto" the rule above on the device's SM count; "128" or "64" every tile;
// "auto:W" the rule for a wave of W CTAs (tests use it to mix the two on small shapes). The plan applies only to
// the default variant (an explicit SAMOYEDS_WGMMA_VARIANT runs as named) and not to split-k launches.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include "error.h"

namespace sy {
namespace wg {
constexpr int kTile64MaxMeanSelections = 48;  // grouped: mean selections per expert up to which 64-token tiles run

// Row tiles [0, rows128) run 128-token tiles, [rows128, row_tiles) 64-token tiles.
struct TilePlan {
  int rows128 = 0;
};

// The rule for `row_tiles` row tiles and n_sel selections (n_experts > 0: a grouped launch) on a wave of `wave` CTAs.
inline TilePlan tile_rule(int row_tiles, int n_sel, int n_experts, int wave) {
  TilePlan all128, all64;
  all128.rows128 = row_tiles;
  if (n_sel <= 64) return all64;
  if (n_experts > 0) return (long long)n_sel <= (long long)kTile64MaxMeanSelections * n_experts ? all64 : all128;
  if (wave < 1 || row_tiles < 1) return all128;
  const long long t128 = (n_sel + 127) / 128, t64 = (n_sel + 63) / 64, tiles = t128 * row_tiles;
  const long long waves = (tiles + wave - 1) / wave;
  long long full_rows = (waves - 1) * wave / t128;  // row tiles whose 128-token tiles fill the waves before the last
  if (full_rows > row_tiles) full_rows = row_tiles;
  if ((row_tiles - full_rows) * t64 > wave) return all128;  // the rest would take more than one wave at 64
  TilePlan plan;
  plan.rows128 = (int)full_rows;
  return plan;
}

// The plan under SAMOYEDS_WGMMA_TILES; sms() gives the wave width (asked only by the rule on the device's count).
template <class Sms>
sy_status plan_tiles(const char* fn, int row_tiles, int n_sel, int n_experts, Sms sms, TilePlan* out) {
  *out = TilePlan{};
  const char* want = getenv("SAMOYEDS_WGMMA_TILES");
  if (!want || !*want || !strcmp(want, "auto")) return *out = tile_rule(row_tiles, n_sel, n_experts, sms()), SY_OK;
  if (!strcmp(want, "128")) return out->rows128 = row_tiles, SY_OK;
  if (!strcmp(want, "64")) return SY_OK;
  int wave = 0, used = 0;
  if (sscanf(want, "auto:%d%n", &wave, &used) == 1 && want[used] == 0 && wave >= 1)
    return *out = tile_rule(row_tiles, n_sel, n_experts, wave), SY_OK;
  return fail(SY_ERR_INVALID, "%s: SAMOYEDS_WGMMA_TILES=%s is not auto, 128, 64 or auto:W (W CTAs a wave)", fn, want);
}

// Persistent single launches (the kernel's kLaunch 4; ping-pong variants, no split-k, no cluster): instead of one CTA
// a tile, `ctas` CTAs walk the launch's tiles, and the stage ring runs on from one tile into the next, so the loads of
// a tile's first stages overlap the routing and epilogue of the one before (a CTA per tile pays its pipeline fill and
// its epilogue with the tensor core idle: ~4 us a CTA at the Figure 12 shapes, from the k sweep of
// data/kernel-level.json). Tiles stay in the order of the grid they replace (token tiles fastest), so a CTA's tiles
// are the ones its SM would have run in successive waves.
// Measured on the H200 in the same process (bf16, f32 out, data/wgmma-perf/variants-persist-n{1024,4096}-e93ed3b-h200.json):
// 1.02x-1.04x at the three largest Figure 12 shapes with 1024 routed tokens, 1.04x-1.09x at the four largest with
// 4096; equal where the launch fits in one wave (nothing to walk). Hence on by default.
// SAMOYEDS_WGMMA_PERSIST: "on" (one CTA per SM where the launch has more tiles than SMs), "off", or "ctas:C" (at
// most C CTAs, any tile count: tests use it to walk many tiles on small shapes). Unset: kPersistDefault.
constexpr const char* kPersistDefault = "on";

// Persistent grouped launches (MoE; kLaunch 5 and 6; the default variant and its 64-token sibling, V = 128): the same
// walk over (row tiles x every expert's token tiles). The real token tiles are counted on the device, so the host
// plans for the upper bound (ceil(max_selections / tile) + one partial tile per expert, the grid it would launch) and
// each CTA resolves its tiles at its start into a shared-memory list of at most kMaxPersistTiles
// (group_tiles.cuh), from a scan of at most kMaxPersistExperts experts' counts.
// SAMOYEDS_WGMMA_PERSIST_GROUPED: on, off or ctas:C as above (checked for every grouped launch, applied where the
// instances exist); unset: kPersistGroupedDefault.
// Measured on the H200 in our MoE layer, same process, best of two rounds per setting (every model, three variants;
// data/wgmma-perf/model-level-persist-grouped-9d24c0f-h200.json): geometric mean 1.07x at T = 256 (1.00x-1.15x),
// 1.05x at T = 1024 (0.99x-1.10x), 1.01x at T = 4096 (0.97x-1.04x). Hence on by default.
constexpr const char* kPersistGroupedDefault = "on";
constexpr int kMaxPersistTiles = 128, kMaxPersistExperts = 256;

// *ctas = the persistent grid for `tiles` tiles (grouped: their upper bound) on `sms` SMs, or 0 for a CTA per tile.
// Grouped grids have at least ceil(tiles / kMaxPersistTiles) CTAs.
template <class Sms>
sy_status plan_persist(const char* fn, long long tiles, Sms sms, int* ctas, bool grouped = false) {
  *ctas = 0;
  const char* env = grouped ? "SAMOYEDS_WGMMA_PERSIST_GROUPED" : "SAMOYEDS_WGMMA_PERSIST";
  const char* want = getenv(env);
  if (!want || !*want) want = grouped ? kPersistGroupedDefault : kPersistDefault;
  int c = 0, used = 0;
  if (!strcmp(want, "off")) return SY_OK;
  if (!strcmp(want, "on")) {
    const int n = sms();
    if (n > 0 && tiles > n) *ctas = n;
  } else if (sscanf(want, "ctas:%d%n", &c, &used) == 1 && want[used] == 0 && c >= 1) {
    if (tiles > 0) *ctas = (int)(tiles < c ? tiles : c);
  } else {
    return fail(SY_ERR_INVALID, "%s: %s=%s is not on, off or ctas:C (C >= 1 CTAs)", fn, env, want);
  }
  if (grouped && *ctas > 0) {
    const long long least = (tiles + kMaxPersistTiles - 1) / kMaxPersistTiles;
    if (*ctas < least) *ctas = (int)least;
  }
  return SY_OK;
}
}  // namespace wg
}  // namespace sy
