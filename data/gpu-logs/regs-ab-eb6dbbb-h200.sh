#!/usr/bin/env bash
# One-off A/B (session 8): the wgmma.sp kernel with setmaxnreg 40/232 (A, the tree) against 24/240 (B, a patched copy),
# same process environment, alternating runs of bench/wgmma_variants.ts --default-only.
set -uo pipefail
O="${OUT:-/tmp/out}"; mkdir -p "$O"
mkdir -p /tmp/samoyeds-bin && xz -dc .gpu/deno.xz > /tmp/samoyeds-bin/deno && chmod +x /tmp/samoyeds-bin/deno
export PATH="/tmp/samoyeds-bin:$PATH:/usr/local/cuda/bin" DENO_DIR=/tmp/samoyeds-deno-dir DENO_NO_UPDATE_CHECK=1 NO_COLOR=1
export SAMOYEDS_CUDA_ARCHS=90a SAMOYEDS_COMMIT="$(cat .gpu/commit)" SAMOYEDS_RESULTS_DIR="$O"
[ -d node_modules/.deno ] || tar -xJf .gpu/node_modules.tar.xz
rm -rf /tmp/b && mkdir -p /tmp/b && cp -r deno.json deno.lock native lib scripts node_modules /tmp/b/
sed -i 's/setmaxnreg.dec.sync.aligned.u32 40;/setmaxnreg.dec.sync.aligned.u32 24;/; s/setmaxnreg.inc.sync.aligned.u32 232;/setmaxnreg.inc.sync.aligned.u32 240;/' /tmp/b/native/src/cuda/ssmm_wgmma_kernel.cuh
echo "B patched: $(grep -c 'aligned.u32 240;' /tmp/b/native/src/cuda/ssmm_wgmma_kernel.cuh) x 240, $(grep -c 'aligned.u32 24;' /tmp/b/native/src/cuda/ssmm_wgmma_kernel.cuh) x 24"
( cd /tmp/b && deno task build --cuda-only > "$O/build-b.log" 2>&1; echo "B built rc=$?" ) &
deno task build > "$O/build-a.log" 2>&1; echo "A built rc=$?"
wait
B=/tmp/b/build/lib/libsamoyeds_cuda.so
grep -h "bytes spill" "$O/build-b.log" | sort | uniq -c
SAMOYEDS_CUDA_LIB=$B timeout 60 deno test --allow-all tests/wgmma.test.ts 2>&1 | grep -E "passed|FAILED|failed" | tail -3
for r in 1 2; do
  for t in A B; do
    if [ $t = B ]; then export SAMOYEDS_CUDA_LIB=$B; else unset SAMOYEDS_CUDA_LIB; fi
    timeout 60 deno run --allow-all bench/wgmma_variants.ts --default-only --json "$O/regs-$t-n4096-$r.json" 2>&1 | grep "m=" | sed "s/^/[$t$r n4096] /"
    WGMMA_NSEL=1024 timeout 60 deno run --allow-all bench/wgmma_variants.ts --default-only --json "$O/regs-$t-n1024-$r.json" 2>&1 | grep "m=" | sed "s/^/[$t$r n1024] /"
  done
done
