#!/usr/bin/env bash
# gpu-run: opt-in (a characterization: run it by name)
# GPU stage `wgmma-peaks`: the wgmma instruction peaks (sparse m64n256k32 / m64n128k32 / m64n64k32, dense m64n256k16;
# zero and random operands) and the SSMM k-loop's structure on the same operands (sy_wgmma_peak kinds 4-9: routed
# chains, ping-pong turns, two T buffers) -> wgmma-peaks.json. A few seconds.
set -eo pipefail
deno run --allow-all bench/wgmma.ts --peaks-only
