#!/usr/bin/env bash
# gpu-run: opt-in (A/B tooling: run it by name)
# GPU stage `wgmma-variants-n1024`: the variant table of bench/wgmma_variants.ts at the kernel-level token count
# (1024 routed of 16384), where the small Figure 12 shapes run under one wave; file wgmma-variants-n1024.json in the
# results (scripts/gpu-collect.sh: data/wgmma-perf/variants-n1024-<commit>-<device>.json). The default stage
# wgmma_variants runs the 4096-token table.
set -eo pipefail
R="${SAMOYEDS_RESULTS_DIR:-/tmp}"
WGMMA_NSEL=1024 deno run --allow-all bench/wgmma_variants.ts --json "$R/wgmma-variants-n1024.json"
