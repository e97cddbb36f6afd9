#!/usr/bin/env bash
# Run HERE (a machine with Deno and the npm registry) before a GPU run: packs into the git-ignored .gpu/ everything
# the GPU machine (no Deno, no registry) needs besides the working tree:
#   .gpu/deno.xz               this deno binary (xz; the real file, not the symlink)
#   .gpu/node_modules.tar.xz   the npm packages of deno.lock (node_modules/), so nothing is fetched there
#   .gpu/commit                git commit (+ "-dirty") recorded into every result's provenance
# With --with-cuda also the CUDA library built HERE (nvcc is on the CPU machines too; about 10 min on 2 cores, which
# the GPU machine would otherwise spend of its device time, ~190 s), for gpu-run.sh's default arch 90a:
#   .gpu/libsamoyeds_cuda.so.xz  and  .gpu/native.sha256 (scripts/native-hash.sh of the sources it was built from)
# gpu-run.sh uses it only when the tree it was given hashes the same, else it builds. Without --with-cuda any such
# files from an earlier pack are removed, so a stale library is never carried.
# Then carry ".gpu" to the GPU machine and run scripts/gpu-run.sh there. Keeps .gpu/ small (about 40 MB).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .gpu
with_cuda=0
for a in "$@"; do
  case "$a" in
    --with-cuda) with_cuda=1 ;;
    *) echo "pack-gpu: unknown argument $a (known: --with-cuda)" >&2; exit 2 ;;
  esac
done
rm -f .gpu/libsamoyeds_cuda.so.xz .gpu/native.sha256
if [ $with_cuda -eq 1 ]; then
  echo "pack-gpu: building the CUDA library here (SAMOYEDS_CUDA_ARCHS=90a, incremental)"
  # the hash of the sources before the build, checked again after it: a source edited during the build would
  # otherwise get a hash that matches it and a library that does not
  hash_before="$(SAMOYEDS_CUDA_ARCHS=90a bash scripts/native-hash.sh)"
  SAMOYEDS_CUDA_ARCHS=90a deno task build >/dev/null
  [ -s build/lib/libsamoyeds_cuda.so ] || { echo "pack-gpu: no build/lib/libsamoyeds_cuda.so after the build (nvcc missing?)" >&2; exit 1; }
  if [ "$(SAMOYEDS_CUDA_ARCHS=90a bash scripts/native-hash.sh)" != "$hash_before" ]; then
    echo "pack-gpu: the native sources changed during the build; not packing the library (run it again)" >&2; exit 1
  fi
  xz -T2 -3 < build/lib/libsamoyeds_cuda.so > .gpu/libsamoyeds_cuda.so.xz
  echo "$hash_before" > .gpu/native.sha256
fi
deno_bin="$(readlink -f "$(command -v deno)")"
[ -x "$deno_bin" ] || { echo "pack-gpu: deno not found on PATH" >&2; exit 1; }
version="$("$deno_bin" --version | head -1)"
if [ ! -s .gpu/deno.xz ] || [ "$(cat .gpu/deno.version 2>/dev/null)" != "$version" ]; then
  echo "pack-gpu: compressing $deno_bin ($version) -> .gpu/deno.xz"
  xz -T2 -3 < "$deno_bin" > ".gpu/deno.xz.$$" && mv ".gpu/deno.xz.$$" .gpu/deno.xz
  echo "$version" > .gpu/deno.version
else
  echo "pack-gpu: .gpu/deno.xz is current ($version)"
fi
if [ ! -d node_modules/.deno ]; then
  echo "pack-gpu: installing npm packages from deno.lock into node_modules/"
  "$deno_bin" install --frozen >/dev/null
fi
tar -cf - node_modules | xz -T2 -3 > ".gpu/node_modules.tar.xz.$$" && mv ".gpu/node_modules.tar.xz.$$" .gpu/node_modules.tar.xz
commit="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then commit="$commit-dirty"; fi
echo "$commit" > .gpu/commit
du -ch .gpu/deno.xz .gpu/node_modules.tar.xz $([ $with_cuda -eq 1 ] && echo .gpu/libsamoyeds_cuda.so.xz) | sed 's/^/pack-gpu: /'
total_kb=$(du -sk .gpu | cut -f1)
if [ "$total_kb" -gt 46000 ]; then echo "pack-gpu: WARNING .gpu/ is $((total_kb / 1024)) MB (carry limit 64 MB in all)" >&2; fi
echo "pack-gpu: done (commit $commit). On the GPU machine: bash scripts/gpu-run.sh [stages...]"
