// sy_wgmma_variants: the variant table of wgmma_variants.h as JSON, the same in both backends (tests and benchmarks
// list the variants from here instead of keeping their own copies), sy_wgmma_split_plan: the split-k plan of
// wgmma_split.h, sy_wgmma_tile_plan: the token-tile plan of wgmma_tiles.h, and sy_wgmma_persist_plan: its persistent
// grid, so that the CPU tests check the rules the CUDA launches follow.
#include <string>
#include "wgmma_split.h"
#include "wgmma_tiles.h"
#include "wgmma_variants.h"

SY_API sy_status sy_wgmma_variants(char* out, int32_t capacity) {
  using namespace sy::wg;
  std::string json = "[";
  for (int i = 0; i < (int)(sizeof(kVariants) / sizeof(kVariants[0])); i++) {
    const Variant& v = kVariants[i];
    json += std::string(i ? "," : "") + "{\"name\":\"" + v.name + "\",\"gather\":" + std::to_string(v.gather) +
            ",\"cluster\":" + std::to_string(v.cluster) + ",\"schedule\":" + std::to_string(v.schedule) +
            ",\"routing\":" + std::to_string(v.routing) + ",\"tile_n\":" + std::to_string(v.tile_n) + ",\"default\":" + (i == kDefaultVariant ? "true" : "false") +
            ",\"description\":\"" + v.description + "\"}";
  }
  return sy::write_string(json + "]", out, capacity, "sy_wgmma_variants");
}

SY_API sy_status sy_wgmma_split_plan(int32_t tiles, int32_t n_iters, int32_t sms, int32_t* plan_out) {
  const char* fn = "sy_wgmma_split_plan";
  SY_CHECK(plan_out, "sy_wgmma_split_plan", "plan_out is null");
  SY_CHECK(tiles >= 0 && n_iters >= 0 && sms >= 0, "sy_wgmma_split_plan", "tiles (%d), n_iters (%d) and sms (%d) must be >= 0", tiles, n_iters, sms);
  sy::wg::SplitPlan plan;
  if (sy_status st = sy::wg::plan_split(fn, tiles, n_iters, [&] { return sms; }, &plan)) return st;
  plan_out[0] = plan.pieces, plan_out[1] = plan.first;
  return SY_OK;
}

SY_API sy_status sy_wgmma_tile_plan(int32_t row_tiles, int32_t n_sel, int32_t n_experts, int32_t sms, int32_t* rows128_out) {
  const char* fn = "sy_wgmma_tile_plan";
  SY_CHECK(rows128_out, "sy_wgmma_tile_plan", "rows128_out is null");
  SY_CHECK(row_tiles >= 0 && n_sel >= 0 && n_experts >= 0 && sms >= 0, "sy_wgmma_tile_plan",
           "row_tiles (%d), n_sel (%d), n_experts (%d) and sms (%d) must be >= 0", row_tiles, n_sel, n_experts, sms);
  sy::wg::TilePlan plan;
  if (sy_status st = sy::wg::plan_tiles(fn, row_tiles, n_sel, n_experts, [&] { return sms; }, &plan)) return st;
  *rows128_out = plan.rows128;
  return SY_OK;
}

SY_API sy_status sy_wgmma_persist_plan(int32_t tiles, int32_t sms, int32_t grouped, int32_t* ctas_out) {
  const char* fn = "sy_wgmma_persist_plan";
  SY_CHECK(ctas_out, "sy_wgmma_persist_plan", "ctas_out is null");
  SY_CHECK(tiles >= 0 && sms >= 0, "sy_wgmma_persist_plan", "tiles (%d) and sms (%d) must be >= 0", tiles, sms);
  SY_CHECK(grouped == 0 || grouped == 1, "sy_wgmma_persist_plan", "grouped must be 0 or 1, got %d", grouped);
  return sy::wg::plan_persist(fn, tiles, [&] { return sms; }, ctas_out, grouped == 1);
}
