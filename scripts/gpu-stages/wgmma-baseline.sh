#!/usr/bin/env bash
# A/B reference for kernel work: builds the tree in .gpu/baseline.tar (made here with
#   git archive -o .gpu/baseline.tar <commit>
# ) in /tmp and runs ITS bench/wgmma_variants.ts on this machine, so that a change is compared with the old kernel
# in the same GPU session (clocks and neighbours change between sessions).
set -euo pipefail
[ -f .gpu/baseline.tar ] || { echo "no .gpu/baseline.tar: nothing to compare with"; exit 0; }
rm -rf /tmp/samoyeds-baseline && mkdir -p /tmp/samoyeds-baseline
tar -xf .gpu/baseline.tar -C /tmp/samoyeds-baseline
cp -r node_modules /tmp/samoyeds-baseline/ 2>/dev/null || true
cd /tmp/samoyeds-baseline
deno task build 2>&1 | grep -v "^  compile" || true
deno run --allow-all bench/wgmma_variants.ts --json "$SAMOYEDS_RESULTS_DIR/wgmma-variants-baseline.json"
