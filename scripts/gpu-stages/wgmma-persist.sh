#!/usr/bin/env bash
# gpu-run: opt-in (A/B tooling: run it by name)
# GPU stage `wgmma-persist`: one CTA per tile against persistent CTAs (SAMOYEDS_WGMMA_PERSIST off / on,
# native/src/common/wgmma_tiles.h) for the default variant and gathered-tma-pp-sd at the Figure 12 shapes, 1024 and
# 4096 routed tokens (bench/wgmma_variants.ts --persist; files wgmma-variants-persist-n1024.json, -n4096.json).
set -eo pipefail
for n in 1024 4096; do
  WGMMA_NSEL=$n deno run --allow-all bench/wgmma_variants.ts --persist
done
