#!/usr/bin/env bash
# gpu-run: opt-in (a characterization: run it by name)
# GPU stage `wgmma-probe-loads`: the kernel's loads and epilogue alone (SAMOYEDS_WGMMA_PROBE=loads-only, no
# wgmmas) against the whole kernel: persistent gathered-tma-pp on every SM, and a CTA per tile for gathered-tma-pp and
# gathered-tma-mc2 (token tiles multicast to row-tile pairs), at the Figure 12 shapes with 1024 and 4096 routed tokens; files wgmma-variants-probe-loads-n1024.json and -n4096.json in the results.
set -eo pipefail
WGMMA_NSEL=1024 deno run --allow-all bench/wgmma_variants.ts --probe-loads
WGMMA_NSEL=4096 deno run --allow-all bench/wgmma_variants.ts --probe-loads
