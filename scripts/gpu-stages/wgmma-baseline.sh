#!/usr/bin/env bash
# A/B reference for kernel work: for each .gpu/baseline-<name>.tar[.xz] (made here with
#   git archive -o .gpu/baseline-<name>.tar <commit> && xz .gpu/baseline-<name>.tar
# ) builds that tree in /tmp (all trees at once, in parallel) and then runs ITS bench/wgmma_variants.ts on this
# machine, one tree after the other, so that a change is compared with older kernels in the same GPU session (clocks
# and neighbours change between sessions). The current tree is timed first (every variant) and again at the end
# (default only). The SASS of the bf16 V=128 single-launch kernels of every tree goes to results/sass-<name>.txt.
#   --build-only   only build the trees (scripts/gpu-run.sh starts this in the background when
#                  SAMOYEDS_PREBUILD_BASELINES=1, so that the stage itself finds them built)
set -uo pipefail
shopt -s nullglob
tars=(.gpu/baseline*.tar .gpu/baseline*.tar.xz)
[ ${#tars[@]} -gt 0 ] || { echo "no .gpu/baseline*.tar: nothing to compare with"; exit 0; }
R="${SAMOYEDS_RESULTS_DIR:-/tmp}"
tree_dir() { echo "/tmp/samoyeds-$(basename "${1%.xz}" .tar)"; }
build_tree() { # tar: unpack and build once (a marker says built; a concurrent caller waits for it)
  local tar="$1" dir name
  dir=$(tree_dir "$tar"); name=$(basename "$dir")
  if [ -f "$dir/.built" ]; then return; fi
  if [ -f "$dir/.building" ]; then while [ ! -f "$dir/.built" ]; do sleep 2; done; return; fi
  rm -rf "$dir" && mkdir -p "$dir" && touch "$dir/.building"
  tar -xf "$tar" -C "$dir"
  cp -r node_modules "$dir"/ 2>/dev/null || true
  ( cd "$dir" && deno task build > "$R/build-$name.log" 2>&1; echo "built $name: rc=$?" )
  touch "$dir/.built"
}
for tar in "${tars[@]}"; do build_tree "$tar" & done
if [ "${1:-}" = "--build-only" ]; then wait; exit 0; fi
sass() { # library, name: the SASS of every bf16 V=128 ssmm_wgmma kernel instance (single launch)
  command -v cuobjdump >/dev/null || { echo "no cuobjdump"; return; }
  cuobjdump -sass "$1" 2>/dev/null | awk '/Function : .*ssmm_wgmma_kernel/ { keep = /ILb1ELi8E.*Li128ELi0EEEv|ILb1ELi8ELi1ELi128EEEv/ } keep' > "$R/sass-$2.txt"
  echo "sass-$2.txt: $(grep -c '^ */\*[0-9a-f]*\*/' "$R/sass-$2.txt") instructions"
}
sass build/lib/libsamoyeds_cuda.so current
deno run --allow-all bench/wgmma_variants.ts --json "$R/wgmma-variants-current.json" 2>&1 | sed 's/^/[current] /'
wait
for tar in "${tars[@]}"; do
  dir=$(tree_dir "$tar"); name=$(basename "$dir")
  sass "$dir/build/lib/libsamoyeds_cuda.so" "$name"
  only=$(grep -q -- "--default-only" "$dir/bench/wgmma_variants.ts" && echo --default-only)
  # the copied node_modules as they are (no registry here: an install attempt could wait on the network; session 8's
  # two runs of this stage printed nothing from the baseline tree until the stage's limit), and a bound per tree
  ( cd "$dir" && timeout "${SAMOYEDS_BASELINE_TIMEOUT:-180}" deno run --node-modules-dir=manual --allow-all bench/wgmma_variants.ts $only --json "$R/wgmma-variants-$name.json" 2>&1 | sed "s/^/[$name] /"
    rc=${PIPESTATUS[0]}; [ "$rc" -eq 124 ] && echo "[$name] timed out after ${SAMOYEDS_BASELINE_TIMEOUT:-180} s (SAMOYEDS_BASELINE_TIMEOUT)" )
done
# the current tree once more at the end: drift over the stage shows up as a difference between its two runs
deno run --allow-all bench/wgmma_variants.ts --default-only --json "$R/wgmma-variants-current-again.json" 2>&1 | sed 's/^/[current again] /'
