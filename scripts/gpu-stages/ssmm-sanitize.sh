#!/usr/bin/env bash
# GPU stage `ssmm-sanitize` (replaces the plain run of bench/ssmm-sanitize.ts): the small SSMM case under
# compute-sanitizer memcheck; the log goes with the results. Example of a custom stage for scripts/gpu-run.sh.
set -o pipefail
command -v compute-sanitizer >/dev/null || { echo "compute-sanitizer not found (CUDA toolkit bin/ not on PATH)"; exit 1; }
compute-sanitizer --tool memcheck --error-exitcode 1 deno run --allow-all bench/ssmm-sanitize.ts 2>&1 |
  tee "${SAMOYEDS_RESULTS_DIR:-data}/ssmm-sanitize-memcheck.log"
