#!/usr/bin/env bash
# gpu-run: opt-in (A/B tooling: run it by name)
# GPU stage `kernel-pdl-pick`: the kernel-level bench with or without the programmatic dependent launch after the
# pre-gather, whichever the `wgmma-pdl` stage of the same run measured faster at 1024 routed tokens.
set -eo pipefail
bash scripts/kernel-pick.sh "${SAMOYEDS_RESULTS_DIR:-data}/wgmma-variants-pdl-n1024.json" SAMOYEDS_WGMMA_PDL \
  "default, pdl on" 1 "default, pdl off" 0
