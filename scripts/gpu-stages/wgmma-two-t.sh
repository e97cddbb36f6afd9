#!/usr/bin/env bash
# gpu-run: opt-in (A/B tooling: run it by name)
# GPU stage `wgmma-two-t`: the variant with two T buffers (gathered-tma-2t-n64) against the default, gathered-tma-pp
# and gathered-tma-pp-n64 at the Figure 12 shapes, two interleaved rounds, at 1024 and 4096 routed tokens; files
# wgmma-variants-two-t-n1024.json and -n4096.json in the results.
set -eo pipefail
WGMMA_NSEL=1024 deno run --allow-all bench/wgmma_variants.ts --two-t
WGMMA_NSEL=4096 deno run --allow-all bench/wgmma_variants.ts --two-t
