#!/usr/bin/env bash
# GPU stage `sass-spills`: local-memory traffic (spills: LDL/STL) and sparse GMMA instructions per wgmma.sp SSMM
# kernel in the built library (cuobjdump on the GPU machine; the CPU machines have no disassembler), plus the SASS of
# the default single-expert V = 128 bf16 kernel (gathered-tma-pp), xz-compressed, in the results.
set -eo pipefail
R="${SAMOYEDS_RESULTS_DIR:-data}"
command -v cuobjdump >/dev/null || { echo "cuobjdump not found (CUDA toolkit bin/ not on PATH)"; exit 1; }
lib=build/lib/libsamoyeds_cuda.so
cuobjdump -sass "$lib" > /tmp/samoyeds-sass.txt
awk '/Function : / { if (name) printf "%-100s LDL %4d STL %4d GMMA.SP %4d\n", name, ldl, stl, gmma; name = $3; ldl = stl = gmma = 0; next }
     / LDL/ { ldl++ } / STL/ { stl++ } /HGMMA.*\.SP|GMMA.*SP/ { gmma++ }
     END { if (name) printf "%-100s LDL %4d STL %4d GMMA.SP %4d\n", name, ldl, stl, gmma }' /tmp/samoyeds-sass.txt |
  grep ssmm_wgmma_kernel | tee "$R/sass-spills.txt"
awk '/Function : / { keep = /ssmm_wgmma_kernelILb1ELi8ELi1ELi1ELi1ELi0ELi128ELi0EEEv/ } keep' /tmp/samoyeds-sass.txt | xz -T2 -6 > "$R/sass-gathered-tma-pp-v128-single.txt.xz"
