#!/usr/bin/env bash
# gpu-run: opt-in (A/B tooling: run it by name)
# GPU stage `kernel-split-pick`: the kernel-level bench under the split-k setting (auto or off) that the
# `wgmma-split` stage of the same run measured faster at the kernel-level token count (1024 routed).
set -eo pipefail
bash scripts/kernel-pick.sh "${SAMOYEDS_RESULTS_DIR:-data}/wgmma-variants-split-n1024.json" SAMOYEDS_WGMMA_SPLIT \
  "default, split auto" auto "default, split off" off
