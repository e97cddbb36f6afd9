// The variants of the wgmma.sp SSMM kernel (native/src/cuda/ssmm_wgmma_kernel.cuh): how the token tile is gathered
// and how the consumer warpgroups issue. One table for the CUDA backend (which launches them) and the CPU emulator
// (which models the data path of the variant in effect). SAMOYEDS_WGMMA_VARIANT (benchmarks, tests) overrides the
// default per call.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include "error.h"

namespace sy {
namespace wg {
struct Variant {
  const char* name;
  // the kernel's kGather, kCluster, kSchedule, kRouting, kTileN (selected tokens per CTA tile: 128, or 64 for twice
  // the CTAs on small grids). Variants of the same routing do the same arithmetic in the same order (bit-identical
  // results); the two routings round differently.
  int gather, cluster, schedule, routing, tile_n;
  const char* description;
};
constexpr Variant kVariants[] = {
    {"cpasync", 0, 1, 0, 0, 128, "cp.async gather by the producer warpgroup, single CTA"},
    {"gathered-tma", 1, 1, 0, 0, 128, "pre-gather, one TMA box per stage, single CTA"},
    {"gathered-tma-mc2", 1, 2, 0, 0, 128, "pre-gather, TMA multicast, clusters of 2 row tiles"},
    {"gathered-tma-mc4", 1, 4, 0, 0, 128, "pre-gather, TMA multicast, clusters of 4 row tiles"},
    {"gathered-tma-pp", 1, 1, 1, 0, 128, "pre-gather, TMA tiles, consumer warpgroups take turns (ping-pong)"},
    {"gathered-tma-h2", 1, 1, 2, 0, 128, "pre-gather, TMA tiles, two N = 64 halves per warpgroup, one routed while the other runs"},
    {"gathered-tma-h2pp", 1, 1, 3, 0, 128, "gathered-tma-h2 with ping-pong turns"},
    {"gathered-tma-sd", 1, 1, 0, 1, 128, "gathered-tma, routing by running sum and difference (one FFMA per element)"},
    {"gathered-tma-pp-sd", 1, 1, 1, 1, 128, "gathered-tma-pp, routing by running sum and difference (one FFMA per element)"},
    {"gathered-tma-pp-mc2", 1, 2, 1, 0, 128, "gathered-tma-pp with the token tile multicast to clusters of 2 row tiles"},
    {"gathered-tma-pp-n64", 1, 1, 1, 0, 64, "gathered-tma-pp with 64-token tiles (twice the CTAs of a small grid)"}};
// gathered-tma-pp is the default: pre-gather, one TMA box per stage, single CTA, the consumer warpgroups taking
// turns. On the H200 at the Figure 12 shapes (pre-gather included): gathered-tma was 1.20-1.38x cp.async at four of
// the five shapes, equal at 1408 x 2048 (data/wgmma-perf/variants-b9bfe9d-h200.json); the turns add 1.04-1.09x
// (variants-3e3d5f0-h200.json). Multicast over 2 or 4 row tiles was not faster than the single CTA (d5ec448). With
// the specialized epilogue (variants-9a0a895-h200.json) it is 1.15-1.33x faster again, and still ahead of the
// running-sum routing (-sd) and the N = 64 halves (-h2, -h2pp) in the geometric mean. Ping-pong with the multicast
// clusters (-pp-mc2, -pp-mc4, built and measured at 0c22286, then removed) was 7-20% and 13-45% slower than -pp at
// every Figure 12 shape, at 1024 and 4096 routed tokens (docs/notes/wgmma-perf.md, session 8). -pp-mc2 is back
// (session 14) for the loads-only probe: multicast shortens the loads of the large shapes (variants-probe-loads-*).
// -pp-n64 (64-token tiles) was 1.19x -pp at 1408 x 2048 with 1024 routed tokens (one partial wave: 96 CTAs instead of 48 on 132 SMs)
// and slower at every larger grid (variants-n1024-6735fc2-h200.json, variants-6735fc2-h200.json): the default runs
// it where the token-tile plan (wgmma_tiles.h) says so. Two T buffers at 64-token tiles (-2t-n64: a k-vector's
// wgmmas run while the one before is routed; built, tested and measured at 254a699, then removed) took 1.01-1.05x
// the time of -pp-n64 at every Figure 12 shape (variants-two-t-n{1024,4096}-254a699-h200.json).
constexpr int kDefaultVariant = 4;
inline const char* default_variant_name() { return kVariants[kDefaultVariant].name; }

// Whether the kernel starts as a programmatic dependent of the launch before it (its pre-gather; the 128-token
// launch of a mixed token-tile plan): on unless SAMOYEDS_WGMMA_PDL=0.
inline bool pdl_enabled() {
  const char* pdl = getenv("SAMOYEDS_WGMMA_PDL");
  return !(pdl && !strcmp(pdl, "0"));
}

// The variant with v's gather, cluster, schedule and routing and 64-token tiles (the token-tile plan of
// wgmma_tiles.h runs it where 128-token tiles leave SMs idle); null if the table has none.
inline const Variant* tile64_sibling(const Variant& v) {
  for (const Variant& s : kVariants)
    if (s.tile_n == 64 && s.gather == v.gather && s.cluster == v.cluster && s.schedule == v.schedule && s.routing == v.routing) return &s;
  return nullptr;
}

// The variant in effect: the default, or SAMOYEDS_WGMMA_VARIANT (an unknown name is an error listing the names).
// *named: whether the environment named it (a named variant runs as it is, without the token-tile plan).
inline sy_status pick_variant(const char* fn, Variant* out, bool* named = nullptr) {
  const char* want = getenv("SAMOYEDS_WGMMA_VARIANT");
  *out = kVariants[kDefaultVariant];
  if (named) *named = want && *want;
  if (!want || !*want) return SY_OK;
  for (const Variant& v : kVariants)
    if (!strcmp(v.name, want)) return *out = v, SY_OK;
  char names[512] = "";
  for (const Variant& v : kVariants) snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", names[0] ? ", " : "", v.name);
  return fail(SY_ERR_INVALID, "%s: SAMOYEDS_WGMMA_VARIANT=%s is not one of %s", fn, want, names);
}
}  // namespace wg
}  // namespace sy
