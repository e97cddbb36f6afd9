#!/usr/bin/env bash
# Run THERE: on the GPU machine, in the repo root (a copy of the working tree plus the carried .gpu/ from
# scripts/pack-gpu.sh), with $OUT set by the device tool. No Deno and no registry are needed there.
#   bash scripts/gpu-run.sh [--no-build] [stage ...]
# Stages, run in the order given (default: tests, then every bench/*.ts, then every scripts/gpu-stages/*.sh not
# marked "# gpu-run: opt-in"):
#   tests      deno test --allow-all tests/ (GPU tests run; junit in results/tests-junit.xml)
#   tests:a,b  only tests/a and tests/b (e.g. tests:wgmma.test.ts,moe.test.ts)
#   <name>     scripts/gpu-stages/<name>.sh if it exists (custom: compute-sanitizer, SASS checks, ...), else
#              deno run --allow-all bench/<name>.ts
# Every stage gets SAMOYEDS_RESULTS_DIR=$OUT/results and writes its files there. A failing stage does not stop the
# next; the exit status is non-zero when any failed. At the end $OUT/results is packed into ONE file
# $OUT/results.tar.gz (bring it back, then `bash scripts/gpu-collect.sh <file>` here), the whole output is in
# $OUT/log.txt and a summary table is printed last.
# Env: SAMOYEDS_CUDA_ARCHS (default 90a), SAMOYEDS_STAGE_TIMEOUT (seconds per stage after the build, default none;
#      the build itself, ~190 s from scratch, is never cut: a cut build leaves no usable library),
#      SAMOYEDS_PREBUILD_BASELINES=1 (build the wgmma-baseline trees in the background from the start).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
OUT="${OUT:-$ROOT/gpu-out}"
mkdir -p "$OUT/results"
exec > >(tee -a "$OUT/log.txt") 2>&1
TEE_PID=$!
export SAMOYEDS_RESULTS_DIR="$OUT/results"
export SAMOYEDS_CUDA_ARCHS="${SAMOYEDS_CUDA_ARCHS:-90a}"
export DENO_NO_UPDATE_CHECK=1 NO_COLOR=1
export DENO_DIR="${DENO_DIR:-/tmp/samoyeds-deno-dir}"
[ -f .gpu/commit ] && export SAMOYEDS_COMMIT="$(cat .gpu/commit)"
[ -d /usr/local/cuda/bin ] && export PATH="$PATH:/usr/local/cuda/bin"  # nvcc, compute-sanitizer, cuobjdump
T0=$(date +%s)
say() { echo "[gpu-run +$(( $(date +%s) - T0 ))s] $*"; }

# --- deno and npm packages from .gpu/ ---
if ! command -v deno >/dev/null 2>&1; then
  [ -f .gpu/deno.xz ] || { say "no deno and no .gpu/deno.xz: run scripts/pack-gpu.sh here first and carry .gpu"; exit 2; }
  mkdir -p /tmp/samoyeds-bin
  if [ ! -x /tmp/samoyeds-bin/deno ] || [ .gpu/deno.xz -nt /tmp/samoyeds-bin/deno ]; then
    xz -dc .gpu/deno.xz > /tmp/samoyeds-bin/deno.part && chmod +x /tmp/samoyeds-bin/deno.part && mv /tmp/samoyeds-bin/deno.part /tmp/samoyeds-bin/deno
  fi
  export PATH="/tmp/samoyeds-bin:$PATH"
fi
if [ -f .gpu/node_modules.tar.xz ] && [ ! -d node_modules/.deno ]; then tar -xJf .gpu/node_modules.tar.xz; fi
say "$(deno --version | head -1); commit ${SAMOYEDS_COMMIT:-unknown}; results -> $SAMOYEDS_RESULTS_DIR"

# older trees for the wgmma-baseline stage build in the background while this tree builds and its tests run
if [ -n "${SAMOYEDS_PREBUILD_BASELINES:-}" ]; then
  bash scripts/gpu-stages/wgmma-baseline.sh --build-only > "$OUT/results/prebuild-baselines.log" 2>&1 &
fi

# --- device ---
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit --format=csv 2>&1 || say "nvidia-smi failed"
nvcc --version 2>/dev/null | tail -2
nvidia-smi > "$OUT/results/nvidia-smi.txt" 2>&1

declare -a NAMES=() STATUS=() SECS=()
record() { NAMES+=("$1"); STATUS+=("$2"); SECS+=("$3"); }
run_stage() { # name, command...
  local name="$1"; shift
  local t=$(date +%s) rc
  say "=== stage $name: $*"
  if [ -n "${SAMOYEDS_STAGE_TIMEOUT:-}" ] && [ "$name" != build ]; then timeout "$SAMOYEDS_STAGE_TIMEOUT" "$@"; else "$@"; fi
  rc=$?
  local s=$(( $(date +%s) - t ))
  if [ $rc -eq 0 ]; then record "$name" ok "$s"; say "=== stage $name: ok (${s}s)"
  else record "$name" "FAILED rc=$rc" "$s"; say "=== stage $name: FAILED rc=$rc (${s}s)"; fi
}

# --- build (incremental: objects already built on this machine are kept) ---
BUILD=1; STAGES=()
for a in "$@"; do if [ "$a" = "--no-build" ]; then BUILD=0; else STAGES+=("$a"); fi; done
cuda_check() {
  deno eval 'import { callJson, openBackend } from "./lib/native/library.ts";
    try { const b = openBackend("cuda"); console.log("cuda backend:", JSON.stringify(callJson(b, "sy_build_info")), JSON.stringify(callJson(b, "sy_device_info", 0))); }
    catch (e) { console.log("cuda backend NOT usable:", (e as Error).message); Deno.exit(1); }'
}
if [ $BUILD -eq 1 ]; then
  # a CUDA library prebuilt by scripts/pack-gpu.sh --with-cuda, if it was built from exactly these sources: then only
  # the CPU backend is built here (seconds); any mismatch or load failure falls back to the full build
  prebuilt=0
  if [ -s .gpu/libsamoyeds_cuda.so.xz ] && [ -s .gpu/native.sha256 ]; then
    if [ "$(bash scripts/native-hash.sh)" = "$(cat .gpu/native.sha256)" ]; then
      mkdir -p build/lib && xz -dc .gpu/libsamoyeds_cuda.so.xz > build/lib/libsamoyeds_cuda.so.part && mv build/lib/libsamoyeds_cuda.so.part build/lib/libsamoyeds_cuda.so
      run_stage build-cpu deno task build --cpu-only
      if [ "${STATUS[-1]}" = ok ] && cuda_check; then prebuilt=1; say "using the prebuilt CUDA library from .gpu/ (sources hash $(cat .gpu/native.sha256))"
      else say "the prebuilt CUDA library is not usable here: building"; rm -f build/lib/libsamoyeds_cuda.so; fi
    else
      say "the prebuilt CUDA library in .gpu/ was built from other sources: building"
    fi
  fi
  if [ $prebuilt -eq 0 ]; then
    run_stage build deno task build
    if [ "${STATUS[-1]}" != ok ]; then say "build failed; GPU stages would use a stale or missing library"; fi
    cuda_check || true
  fi
fi

if [ ${#STAGES[@]} -eq 0 ]; then
  STAGES=(tests)
  for f in bench/*.ts; do STAGES+=("$(basename "$f" .ts)"); done
  # stages marked "# gpu-run: opt-in" (A/B tooling that re-runs a bench) run only when named
  for f in scripts/gpu-stages/*.sh; do [ -e "$f" ] && ! grep -q '^# gpu-run: opt-in' "$f" && STAGES+=("$(basename "$f" .sh)"); done
  # de-duplicate (a custom .sh replaces the plain bench/<name>.ts run)
  mapfile -t STAGES < <(printf '%s\n' "${STAGES[@]}" | awk '!seen[$0]++')
fi

for st in "${STAGES[@]}"; do
  if [ "$st" = tests ]; then
    run_stage tests deno test --allow-all --junit-path="$OUT/results/tests-junit.xml" tests/
  elif [[ "$st" == tests:* ]]; then  # tests:wgmma,moe runs tests/wgmma.test.ts and tests/moe.test.ts only
    IFS=, read -ra picked <<< "${st#tests:}"
    run_stage "$st" deno test --allow-all --junit-path="$OUT/results/tests-$(echo "${st#tests:}" | tr , +)-junit.xml" "${picked[@]/#/tests/}"
  elif [ -f "scripts/gpu-stages/$st.sh" ]; then
    run_stage "$st" bash "scripts/gpu-stages/$st.sh"
  elif [ -f "bench/$st.ts" ]; then
    run_stage "$st" deno run --allow-all "bench/$st.ts"
  else
    say "unknown stage '$st' (no scripts/gpu-stages/$st.sh, no bench/$st.ts)"; record "$st" "FAILED unknown" 0
  fi
done

# --- pack results: ONE file comes back (with a copy of the log so far: gpu-collect files it under data/gpu-logs/) ---
cp "$OUT/log.txt" "$OUT/results/gpu-run-$(echo "${SAMOYEDS_COMMIT:-unknown}" | cut -c1-7)-$(date -u +%Y%m%dT%H%M%SZ).log" 2>/dev/null
( cd "$OUT" && tar -czf results.tar.gz results && rm -rf results )
say "packed $OUT/results.tar.gz ($(du -h "$OUT/results.tar.gz" | cut -f1)); log in $OUT/log.txt"
say "bring results.tar.gz back, then here: bash scripts/gpu-collect.sh <path>/results.tar.gz"

FAILED=0
echo
printf '%-22s %-16s %8s\n' STAGE STATUS SECONDS
for i in "${!NAMES[@]}"; do
  printf '%-22s %-16s %8s\n' "${NAMES[$i]}" "${STATUS[$i]}" "${SECS[$i]}"
  [ "${STATUS[$i]}" = ok ] || FAILED=$((FAILED + 1))
done
echo "gpu-run: ${#NAMES[@]} stages, $FAILED failed, $(( $(date +%s) - T0 ))s"
# let tee write the last lines before exiting
exec 1>&- 2>&-
wait "$TEE_PID" 2>/dev/null
[ $FAILED -eq 0 ]
