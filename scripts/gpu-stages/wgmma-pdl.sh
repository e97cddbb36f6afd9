#!/usr/bin/env bash
# gpu-run: opt-in (A/B tooling: run it by name)
# GPU stage `wgmma-pdl`: the default wgmma.sp variant with and without the programmatic dependent launch after its
# pre-gather (SAMOYEDS_WGMMA_PDL) at the Figure 12 shapes, 1024 and 4096 routed tokens (bench/wgmma_variants.ts
# --pdl; files wgmma-variants-pdl-n1024.json, -n4096.json in the results).
set -eo pipefail
for n in 1024 4096; do
  WGMMA_NSEL=$n deno run --allow-all bench/wgmma_variants.ts --pdl
done
