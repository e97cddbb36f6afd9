#!/usr/bin/env bash
# Run THERE (GPU machine, like scripts/gpu-run.sh) in ONE device call: (1) build, the wgmma and MoE GPU tests (every variant)
# and bench/wgmma_variants.ts; (2) only if all passed, the benchmark stages given after `--` (default: kernel moe)
# with SAMOYEDS_WGMMA_VARIANT set to the fastest of the challengers when it beats the incumbent by more than 2%
# (scripts/wgmma-pick-variant.ts), else the incumbent. The data files record the variant (CUDA build info).
#   bash scripts/gpu-ab-then-bench.sh <incumbent> <challenger> [...] [-- stage ...]
# Results: $OUT/ab/results.tar.gz and $OUT/bench/results.tar.gz (bring both back; gpu-collect.sh each).
# Env: SAMOYEDS_AB_TIMEOUT (seconds per stage of part 1, default 150), SAMOYEDS_STAGE_TIMEOUT (part 2, default 280).
set -uo pipefail
cd "$(dirname "$0")/.."
O="${OUT:-$PWD/gpu-out}"
incumbent="$1"; shift
challengers=(); stages=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then shift; stages=("$@"); break; fi
  challengers+=("$1"); shift
done
[ ${#stages[@]} -eq 0 ] && stages=(kernel moe)
OUT="$O/ab" SAMOYEDS_STAGE_TIMEOUT="${SAMOYEDS_AB_TIMEOUT:-150}" \
  bash scripts/gpu-run.sh tests:wgmma.test.ts,moe_wgmma.test.ts,moe.test.ts,swiglu.test.ts wgmma_variants > /dev/null 2>&1
rc=$?
grep -E "m=|passed|FAILED|failed|stage" "$O/ab/log.txt" | tail -60
if [ $rc -ne 0 ]; then echo "gpu-ab-then-bench: part 1 failed (rc=$rc); no benchmarks run"; exit $rc; fi
mkdir -p /tmp/samoyeds-ab && tar -xzf "$O/ab/results.tar.gz" -C /tmp/samoyeds-ab
deno_bin=$(command -v deno || echo /tmp/samoyeds-bin/deno)  # gpu-run.sh unpacks it there from .gpu/
pick=$("$deno_bin" run --allow-read scripts/wgmma-pick-variant.ts /tmp/samoyeds-ab/results/wgmma-variants.json "$incumbent" "${challengers[@]}")
echo "gpu-ab-then-bench: SAMOYEDS_WGMMA_VARIANT=$pick for: ${stages[*]}"
OUT="$O/bench" SAMOYEDS_WGMMA_VARIANT="$pick" SAMOYEDS_STAGE_TIMEOUT="${SAMOYEDS_STAGE_TIMEOUT:-280}" \
  bash scripts/gpu-run.sh --no-build "${stages[@]}"
