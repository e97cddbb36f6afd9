// Row-selection routing of the mma.sp SSMM kernel for 1:2 with f32 accumulation (native/src/cuda/ssmm_mma_sp.cu):
// "sum" (default; running sums, one FFMA per accumulator per k-vector) or "swap" (the accumulator swaps every other
// format uses), chosen by SAMOYEDS_MMA_SP_ROUTING for same-process A/B runs. Read by the launcher and sy_build_info.
// Also the kernel's original k per pipeline stage: 128 (default) or 64 (SAMOYEDS_MMA_SP_STAGE_K, 1:2 launches only,
// for A/B runs against the layout of sessions 1-10).
#pragma once
#include <cstdlib>
#include <cstring>
#include "error.h"

namespace sy {
inline sy_status mma_sp_routing(const char* fn, bool* running_sum) {
  const char* want = getenv("SAMOYEDS_MMA_SP_ROUTING");
  *running_sum = true;
  if (!want || !*want || !strcmp(want, "sum")) return SY_OK;
  if (!strcmp(want, "swap")) return *running_sum = false, SY_OK;
  return fail(SY_ERR_INVALID, "%s: SAMOYEDS_MMA_SP_ROUTING=%s is not \"sum\" or \"swap\"", fn, want);
}
// *stage_k: 128 unless SAMOYEDS_MMA_SP_STAGE_K=64 (any other value is an error).
inline sy_status mma_sp_stage_k(const char* fn, int* stage_k) {
  const char* want = getenv("SAMOYEDS_MMA_SP_STAGE_K");
  *stage_k = 128;
  if (!want || !*want || !strcmp(want, "128")) return SY_OK;
  if (!strcmp(want, "64")) return *stage_k = 64, SY_OK;
  return fail(SY_ERR_INVALID, "%s: SAMOYEDS_MMA_SP_STAGE_K=%s is not 64 or 128", fn, want);
}
}  // namespace sy
