#!/usr/bin/env bash
# gpu-run: opt-in (A/B tooling: run it by name)
# GPU stage `kernel-persist-pick`: the kernel-level bench with persistent CTAs or one CTA per tile
# (SAMOYEDS_WGMMA_PERSIST on / off), whichever the `wgmma-persist` stage of the same run measured faster for the
# default variant at 1024 routed tokens (both rounds).
set -eo pipefail
bash scripts/kernel-pick.sh "${SAMOYEDS_RESULTS_DIR:-data}/wgmma-variants-persist-n1024.json" SAMOYEDS_WGMMA_PERSIST \
  "default, persist on," on "default, persist off," off
