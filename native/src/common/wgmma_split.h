// Split-k of the wgmma.sp SSMM's last, partial wave (single-expert launches). With one CTA per SM, a launch of
// `tiles` output tiles runs in ceil(tiles / SMs) waves of equal length; the last wave often holds only a few
// tiles (Figure 12 at 1024 routed tokens: 48 tiles of 1408 x 2048 on 132 SMs, 448 = 3 x 132 + 52 of 14336 x 4096).
// Those last tiles are cut into `pieces` k ranges (whole iterations of the kernel's k loop, so that no k-vector is
// split), one CTA each; every piece writes its f32 partial tile to a workspace and the last piece of a tile to
// finish adds them in piece order (the same bits whichever piece finishes last) and runs the epilogue.
//
// SAMOYEDS_WGMMA_SPLIT picks the plan per call: unset or "off" none (the default), "auto" the rule below, "S" every
// tile in S pieces, "S:W" the rule with S pieces at most, planned for a wave of W CTAs (tests use it to mix whole
// and split tiles on small shapes).
// Off by default because it measured slower (H200, data/wgmma-perf/split-*): the fixup costs about 3.5 us a piece
// (cluster pairs through distributed shared memory; 5 us through a global workspace) and the split kernel instance
// runs its k loop a few % slower than the plain one, so "auto" was 0.5-3.5% slower than "off" at the Figure 12
// shapes with 1024 routed tokens.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include "error.h"

namespace sy {
namespace wg {
constexpr int kSplitMaxPieces = 4;       // auto: the last piece re-reads (pieces - 1) partial tiles of 128 KB
constexpr int kSplitMinIterations = 4;   // auto: k-loop iterations per piece (keeps the 8-stage ring worth filling)
constexpr int kSplitMaxForced = 16;

struct SplitPlan {
  int pieces = 1;  // k ranges per split tile (1: no split)
  int first = 0;   // tiles [first, tiles) are split (flat tile order: token tiles fastest)
};

// The k-loop iterations [begin, end) of piece z of n_iters (whole iterations; the last piece also takes the tail
// stage, see the kernel).
#if defined(__CUDACC__)
__host__ __device__
#endif
inline void split_iterations(int n_iters, int pieces, int z, int* begin, int* end) {
  *begin = (int)((long long)z * n_iters / pieces);
  *end = (int)((long long)(z + 1) * n_iters / pieces);
}

// The plan for `tiles` tiles of n_iters iterations on a wave of `wave` CTAs.
inline SplitPlan split_rule(int tiles, int n_iters, int wave, int max_pieces, int min_iterations) {
  SplitPlan plan;
  if (wave < 1) return plan;
  const int last = tiles % wave;  // tiles of the partial last wave (0: the waves are full)
  if (last == 0) return plan;
  int pieces = wave / last;
  if (pieces > max_pieces) pieces = max_pieces;
  if (pieces > n_iters / min_iterations) pieces = n_iters / min_iterations;
  if (pieces < 2) return plan;
  plan.pieces = pieces;
  plan.first = tiles - last;
  return plan;
}

// sms() gives the wave width; it is asked only when the rule runs (the default, off, needs no device query).
template <class Sms>
sy_status plan_split(const char* fn, int tiles, int n_iters, Sms sms, SplitPlan* out) {
  *out = SplitPlan{};
  const char* want = getenv("SAMOYEDS_WGMMA_SPLIT");
  if (!want || !*want || !strcmp(want, "off")) return SY_OK;
  if (!strcmp(want, "auto")) return *out = split_rule(tiles, n_iters, sms(), kSplitMaxPieces, kSplitMinIterations), SY_OK;
  int pieces = 0, wave = 0, used = 0;
  const int got = sscanf(want, "%d%n:%d%n", &pieces, &used, &wave, &used);
  if (got < 1 || want[used] != 0 || pieces < 1 || pieces > kSplitMaxForced || (got == 2 && wave < 1))
    return fail(SY_ERR_INVALID, "%s: SAMOYEDS_WGMMA_SPLIT=%s is not auto, off, S or S:W (S pieces, 1..%d; W CTAs a wave)", fn, want,
                kSplitMaxForced);
  if (pieces > n_iters) pieces = n_iters;  // whole iterations per piece
  if (pieces < 2) return SY_OK;
  if (got == 2) return *out = split_rule(tiles, n_iters, wave, pieces, 1), SY_OK;
  out->pieces = pieces;
  return SY_OK;
}
}  // namespace wg
}  // namespace sy
