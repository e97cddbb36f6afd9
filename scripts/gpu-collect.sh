#!/usr/bin/env bash
# Run HERE after a GPU run: unpacks results.tar.gz (from scripts/gpu-run.sh) into data/: result files (*.json, *.csv)
# go to data/, except the wgmma variant A/B file (data/wgmma-perf/variants-<commit>-<device>.json) and ncu profiles
# (data/wgmma-perf/); everything else (logs, junit, nvidia-smi, SASS dumps) to data/gpu-logs/. Then commit data/.
#   bash scripts/gpu-collect.sh path/to/results.tar.gz
set -euo pipefail
cd "$(dirname "$0")/.."
src="${1:?usage: scripts/gpu-collect.sh path/to/results.tar.gz}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
tar -xzf "$src" -C "$tmp"
[ -d "$tmp/results" ] || { echo "gpu-collect: $src has no results/ folder" >&2; exit 1; }
mkdir -p data/gpu-logs
n=0
while IFS= read -r -d '' f; do
  rel="${f#"$tmp/results/"}"
  case "$rel" in
    # kernel A/B files and profiles are performance-work records, named by commit and device
    # (wgmma-variants-<mode>-n<tokens>.json: the --split / --pdl A/B files -> variants-<mode>-n<tokens>-<tag>.json)
    wgmma-variants.json|wgmma-variants-*.json)
      tag="$(deno eval "const p = JSON.parse(Deno.readTextFileSync('$f')).provenance ?? {}; const d = String(p.device?.name ?? 'gpu').replace(/^NVIDIA /, '').split(' ')[0].toLowerCase(); console.log(String(p.commit ?? 'unknown').slice(0, 7) + '-' + d)" 2>/dev/null || echo unknown)"
      mode="${rel#wgmma-variants}"; mode="${mode%.json}"
      dest="data/wgmma-perf/variants${mode}-$tag.json" ;;
    ncu-*) dest="data/wgmma-perf/$rel" ;;
    *.json|*.csv) dest="data/$rel" ;;
    *) dest="data/gpu-logs/$rel" ;;
  esac
  mkdir -p "$(dirname "$dest")"
  cp "$f" "$dest"
  n=$((n + 1))
  device=""
  if [[ "$dest" == *.json ]]; then
    device="$(deno eval "const p = JSON.parse(Deno.readTextFileSync('$dest')).provenance ?? {}; console.log((p.device?.name ?? '?') + ', commit ' + String(p.commit ?? '?').slice(0, 10) + ', ' + String(p.date ?? p.finished ?? ''))" 2>/dev/null || true)"
  fi
  echo "gpu-collect: $dest${device:+  ($device)}"
done < <(find "$tmp/results" -type f -print0)
echo "gpu-collect: $n files. Review, then: git add data && git commit -m 'GPU results' -- data"
