#!/usr/bin/env bash
# GPU stage `kernel-split-pick`: the kernel-level bench (bench/kernel.ts) under the split-k setting that the
# `wgmma-split` stage of the same run measured faster at the kernel-level token count (1024 routed): auto when its
# geometric-mean time over the Figure 12 shapes beats off, else off. The choice is in the file's provenance
# (build.wgmma_split).
set -eo pipefail
R="${SAMOYEDS_RESULTS_DIR:-data}"
f="$R/wgmma-variants-split-n1024.json"
[ -f "$f" ] || { echo "kernel-split-pick: $f missing (run the wgmma-split stage first)"; exit 1; }
pick=$(deno eval --quiet "
  const rows = JSON.parse(Deno.readTextFileSync('$f')).rows;
  const gm = (name) => Math.exp(rows.filter((r) => r.variant === name).reduce((s, r) => s + Math.log(r.ms), 0) / rows.filter((r) => r.variant === name).length);
  const a = gm('default, split auto'), o = gm('default, split off');
  console.error('kernel-split-pick: geometric mean auto ' + (a * 1000).toFixed(2) + ' us, off ' + (o * 1000).toFixed(2) + ' us');
  console.log(a < o ? 'auto' : 'off');")
echo "kernel-split-pick: SAMOYEDS_WGMMA_SPLIT=$pick"
SAMOYEDS_WGMMA_SPLIT="$pick" deno run --allow-all bench/kernel.ts
