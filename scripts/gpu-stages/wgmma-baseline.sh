#!/usr/bin/env bash
# A/B reference for kernel work: for each .gpu/baseline*.tar (made here with
#   git archive -o .gpu/baseline-<name>.tar <commit>
# ) builds that tree in /tmp and runs ITS bench/wgmma_variants.ts on this machine, so that a change is compared
# with older kernels in the same GPU session (clocks and neighbours change between sessions).
set -uo pipefail
shopt -s nullglob
tars=(.gpu/baseline*.tar)
[ ${#tars[@]} -gt 0 ] || { echo "no .gpu/baseline*.tar: nothing to compare with"; exit 0; }
for tar in "${tars[@]}"; do
  name=$(basename "$tar" .tar)
  dir=/tmp/samoyeds-$name
  rm -rf "$dir" && mkdir -p "$dir"
  tar -xf "$tar" -C "$dir"
  cp -r node_modules "$dir"/ 2>/dev/null || true
  echo "=== $name"
  ( cd "$dir" && deno task build 2>&1 | grep -v "^  compile"; deno run --allow-all bench/wgmma_variants.ts --json "$SAMOYEDS_RESULTS_DIR/wgmma-variants-$name.json" )
done
