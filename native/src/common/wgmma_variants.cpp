// sy_wgmma_variants: the variant table of wgmma_variants.h as JSON, the same in both backends (tests and benchmarks
// list the variants from here instead of keeping their own copies).
#include <string>
#include "wgmma_variants.h"

SY_API sy_status sy_wgmma_variants(char* out, int32_t capacity) {
  using namespace sy::wg;
  std::string json = "[";
  for (int i = 0; i < (int)(sizeof(kVariants) / sizeof(kVariants[0])); i++) {
    const Variant& v = kVariants[i];
    json += std::string(i ? "," : "") + "{\"name\":\"" + v.name + "\",\"gather\":" + std::to_string(v.gather) +
            ",\"cluster\":" + std::to_string(v.cluster) + ",\"schedule\":" + std::to_string(v.schedule) +
            ",\"routing\":" + std::to_string(v.routing) + ",\"default\":" + (i == kDefaultVariant ? "true" : "false") +
            ",\"description\":\"" + v.description + "\"}";
  }
  return sy::write_string(json + "]", out, capacity, "sy_wgmma_variants");
}
