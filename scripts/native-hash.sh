#!/usr/bin/env bash
# Prints one hash of everything the CUDA library is built from (native/, the build scripts, the target archs), so
# that a library built on one machine is used on another only for the same sources: scripts/pack-gpu.sh --with-cuda
# records it next to the prebuilt library, scripts/gpu-run.sh compares it with the tree it was given. The files are
# those a copy of the working tree holds: git's tracked and unignored files where git is at hand, else all of them.
#   bash scripts/native-hash.sh   (SAMOYEDS_CUDA_ARCHS as the build would see it; gpu-run.sh's default is 90a)
set -euo pipefail
cd "$(dirname "$0")/.."
inputs=(native lib/native/build.ts scripts/build.ts)
list() {
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z -co --exclude-standard -- "${inputs[@]}" | while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done
  else
    find "${inputs[@]}" -type f -print0
  fi
}
{
  list | LC_ALL=C sort -z | xargs -0 sha256sum
  echo "archs=${SAMOYEDS_CUDA_ARCHS:-80,90a}"
} | sha256sum | cut -d' ' -f1
