#!/usr/bin/env bash
# gpu-run: opt-in (A/B tooling: run it by name)
# GPU stage `wgmma-regs-ab`: the wgmma.sp kernel's register split between the producer and the consumer warpgroups,
# setmaxnreg 40 / 232 (this tree, A) against 24 / 240 (a patched copy built in /tmp, B), in one process environment:
# alternating runs of bench/wgmma_variants.ts --default-only at 4096 and 1024 routed tokens, the B library loaded
# through SAMOYEDS_CUDA_LIB. Files wgmma-variants-regs{40,24}-n<N>-<round>.json in the results. Measured in session 8
# (data/wgmma-perf/variants-regs*-eb6dbbb-h200.json): no difference beyond 1%.
set -uo pipefail
R="${SAMOYEDS_RESULTS_DIR:-/tmp}"
rm -rf /tmp/samoyeds-regs-b && mkdir -p /tmp/samoyeds-regs-b
cp -r deno.json deno.lock native lib scripts node_modules /tmp/samoyeds-regs-b/
k=/tmp/samoyeds-regs-b/native/src/cuda/ssmm_wgmma_kernel.cuh
sed -i 's/setmaxnreg.dec.sync.aligned.u32 40;/setmaxnreg.dec.sync.aligned.u32 24;/; s/setmaxnreg.inc.sync.aligned.u32 232;/setmaxnreg.inc.sync.aligned.u32 240;/' "$k"
[ "$(grep -c 'aligned.u32 240;' "$k")" = 1 ] && [ "$(grep -c 'aligned.u32 24;' "$k")" = 1 ] || { echo "the setmaxnreg patch did not apply"; exit 1; }
( cd /tmp/samoyeds-regs-b && deno task build --cuda-only > "$R/build-regs-b.log" 2>&1 ) || { echo "B did not build (results/build-regs-b.log)"; exit 1; }
B=/tmp/samoyeds-regs-b/build/lib/libsamoyeds_cuda.so
if ! SAMOYEDS_CUDA_LIB=$B deno test --allow-all tests/wgmma.test.ts > "$R/tests-regs-b.log" 2>&1; then
  echo "B fails the wgmma tests (results/tests-regs-b.log): no timing"; exit 1
fi
for round in 1 2; do
  for regs in 232 240; do
    if [ $regs = 240 ]; then export SAMOYEDS_CUDA_LIB=$B; tag=regs24; else unset SAMOYEDS_CUDA_LIB; tag=regs40; fi
    for n in 4096 1024; do
      WGMMA_NSEL=$n deno run --allow-all bench/wgmma_variants.ts --default-only --json "$R/wgmma-variants-$tag-n$n-$round.json" 2>&1 |
        grep "m=" | sed "s/^/[$tag n$n round $round] /"
    done
  done
done
