#!/usr/bin/env bash
# The kernel-level bench (bench/kernel.ts) under whichever of two settings of a launch environment variable an A/B
# file of bench/wgmma_variants.ts (same GPU run) measured faster in the geometric mean over its shapes (rows whose
# label starts with the given one: the --persist file has two rounds of each). Used by the gpu stages
# kernel-split-pick, kernel-pdl-pick and kernel-persist-pick; the setting is recorded in the file's provenance (build).
#   bash scripts/kernel-pick.sh <ab.json> <ENV_VAR> <row A> <value A> <row B> <value B>
set -eo pipefail
f="$1" var="$2" row_a="$3" val_a="$4" row_b="$5" val_b="$6"
[ -f "$f" ] || { echo "kernel-pick: $f missing (run its A/B stage first)"; exit 1; }
pick=$(deno eval --quiet "
  const rows = JSON.parse(Deno.readTextFileSync('$f')).rows;
  const gm = (name) => { const r = rows.filter((x) => x.variant.startsWith(name)); return Math.exp(r.reduce((s, x) => s + Math.log(x.ms), 0) / r.length); };
  const a = gm('$row_a'), b = gm('$row_b');
  console.error('kernel-pick: geometric mean $row_a ' + (a * 1000).toFixed(2) + ' us, $row_b ' + (b * 1000).toFixed(2) + ' us');
  console.log(a < b ? '$val_a' : '$val_b');")
echo "kernel-pick: $var=$pick"
env "$var=$pick" deno run --allow-all bench/kernel.ts
