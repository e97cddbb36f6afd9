#!/usr/bin/env bash
# gpu-run: opt-in (A/B tooling: run it by name)
# GPU stage `wgmma-split`: the default wgmma.sp variant under each split-k plan (auto, off, 2, 3, 4 pieces) at the
# Figure 12 shapes, with the kernel-level bench's 1024 routed tokens and with 4096 (bench/wgmma_variants.ts --split;
# files wgmma-variants-split-n1024.json, -n4096.json in the results).
set -eo pipefail
for n in 1024 4096; do
  WGMMA_NSEL=$n deno run --allow-all bench/wgmma_variants.ts --split
done
