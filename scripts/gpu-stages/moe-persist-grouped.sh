#!/usr/bin/env bash
# gpu-run: opt-in (A/B tooling: run it by name)
# GPU stage `moe-persist-grouped`: our MoE layer with one CTA per grouped tile against persistent grouped launches
# (SAMOYEDS_WGMMA_PERSIST_GROUPED off / on, native/src/common/wgmma_tiles.h), every model, T = 256, 1024, 4096, two
# rounds in one process (bench/moe.ts --persist-grouped-ab; file model-level-persist-grouped.json).
set -eo pipefail
deno run --allow-all bench/moe.ts --persist-grouped-ab ${MOE_AB_MODELS:+--models "$MOE_AB_MODELS"}
