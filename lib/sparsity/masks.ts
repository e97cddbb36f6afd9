// Sparsity patterns of a weight W (m x k row-major: rows = output features, k = reduction dimension) as 0/1 masks,
// built from a per-element importance score (magnitude: w^2; Wanda: w^2 * ||x_j||^2; OBS: w^2 / [H^-1]_jj).
// Groups (a VENOM column set, a Samoyeds row-vector) are ranked by the SUM of their elements' scores; ties go to the
// lower index everywhere, as in the native magnitude pruners (sy_samoyeds_prune, sy_vnm_prune).
import { samoyedsSizes } from "../formats/samoyeds.ts";
import { vnmSizes } from "../kernels/baselines.ts";

/** A sparse weight format. Densities: nm N/M; vnm 2/M; samoyeds N/M * 1/2; unstructured as given. */
export type Format =
  /** N:M along k in every row (2:4 = the Sparse Tensor Core pattern, 50%; 1:4 and 2:8 are 25%) */
  | { kind: "nm"; N: number; M: number }
  /** VENOM V:2:M: blocks of V rows x M columns keep 4 columns shared by the V rows, then 2:4 inside each row */
  | { kind: "vnm"; V: number; M: number }
  /** Samoyeds: groups of M rows x V-long k-vectors keep N of the M row-vectors, each kept one 2:4 along k */
  | { kind: "samoyeds"; V: number; N: number; M: number }
  /** top-density fraction of the scores over the whole matrix ("matrix") or within every row ("row") */
  | { kind: "unstructured"; scope: "matrix" | "row"; density: number };

export type FormatOrDense = Format | { kind: "dense" };

export const FORMAT_2_4: Format = { kind: "nm", N: 2, M: 4 };
export const FORMAT_VNM: Format = { kind: "vnm", V: 64, M: 8 };
export const FORMAT_SAMOYEDS: Format = { kind: "samoyeds", V: 128, N: 1, M: 2 };

export function formatDensity(f: FormatOrDense): number {
  switch (f.kind) {
    case "dense":
      return 1;
    case "nm":
      return f.N / f.M;
    case "vnm":
      return 2 / f.M;
    case "samoyeds":
      return (f.N / f.M) * 0.5;
    case "unstructured":
      return f.density;
  }
}

/** Short stable label, e.g. "2:4", "VNM 64:2:8", "Samoyeds V128 1:2", "unstructured/row 25%". */
export function formatLabel(f: FormatOrDense): string {
  switch (f.kind) {
    case "dense":
      return "dense";
    case "nm":
      return `${f.N}:${f.M}`;
    case "vnm":
      return `VNM ${f.V}:2:${f.M}`;
    case "samoyeds":
      return `Samoyeds V${f.V} ${f.N}:${f.M}`;
    case "unstructured":
      return `unstructured/${f.scope} ${Math.round(f.density * 100)}%`;
  }
}

/** Throws a RangeError naming the rule when the shape does not fit the format. */
export function checkShape(m: number, k: number, f: Format): void {
  const bad = (rule: string) => {
    throw new RangeError(`${formatLabel(f)}: shape ${m} x ${k} not allowed: ${rule}`);
  };
  if (!Number.isInteger(m) || !Number.isInteger(k) || m <= 0 || k <= 0) bad("m and k must be positive integers");
  switch (f.kind) {
    case "nm":
      if (!(f.N >= 1 && f.N <= f.M)) bad("need 1 <= N <= M");
      if (k % f.M) bad(`k must be a multiple of M = ${f.M}`);
      break;
    case "vnm":
      if (f.M < 4 || f.M % 4) bad("M must be a multiple of 4 (>= 4)");
      if (f.V < 1) bad("V must be >= 1");
      if (k % f.M) bad(`k must be a multiple of M = ${f.M}`);
      break;
    case "samoyeds":
      if (!(f.N >= 1 && f.N <= f.M)) bad("need 1 <= N <= M");
      if (f.V % 4) bad("V must be a multiple of 4");
      if (m % f.M) bad(`m must be a multiple of M = ${f.M}`);
      if (k % f.V) bad(`k must be a multiple of V = ${f.V}`);
      break;
    case "unstructured":
      if (!(f.density > 0 && f.density <= 1)) bad("density must be in (0, 1]");
  }
}

/** Indices of the `keep` largest of vals[0..n) (stable: ties to the lower index), written into `out`. */
function topIndices(vals: ArrayLike<number>, n: number, keep: number, out: Int32Array): void {
  const idx = Array.from({ length: n }, (_, i) => i);
  idx.sort((a, b) => (vals[b] - vals[a]) || (a - b));
  for (let i = 0; i < keep; i++) out[i] = idx[i];
}

/**
 * Width of the column block a format decides at once (OBS chooses the mask block by block with updated weights):
 * N:M -> M, VNM -> M, Samoyeds -> V, unstructured -> `unstructuredBlock` (SparseGPT's 128).
 */
export function maskBlockWidth(f: Format, k: number, unstructuredBlock = 128): number {
  switch (f.kind) {
    case "nm":
    case "vnm":
      return f.M;
    case "samoyeds":
      return f.V;
    case "unstructured":
      return Math.min(k, unstructuredBlock);
  }
}

/**
 * Sets mask[i*k + j] (0/1) for columns [c0, c1) from scores (m x k, only those columns read). c0 and c1 must be on the
 * format's block boundaries (multiples of maskBlockWidth except the last). Unstructured: the density is applied within
 * the column range (the whole matrix when c0 = 0, c1 = k).
 */
export function fillMaskColumns(score: ArrayLike<number>, m: number, k: number, f: Format, c0: number, c1: number, mask: Uint8Array): void {
  for (let i = 0; i < m; i++) mask.fill(0, i * k + c0, i * k + c1);
  const tmp = new Float64Array(Math.max(8, f.kind === "samoyeds" ? f.M : 8, c1 - c0));
  const sel = new Int32Array(tmp.length);
  const keepNm = (i: number, g0: number, width: number, keep: number) => {
    for (let q = 0; q < width; q++) tmp[q] = score[i * k + g0 + q];
    topIndices(tmp, width, keep, sel);
    for (let q = 0; q < keep; q++) mask[i * k + g0 + sel[q]] = 1;
  };
  switch (f.kind) {
    case "nm":
      for (let i = 0; i < m; i++) for (let g = c0; g < c1; g += f.M) keepNm(i, g, f.M, f.N);
      return;
    case "vnm": {
      const cols = new Int32Array(4);
      const colScore = new Float64Array(f.M);
      for (let r0 = 0; r0 < m; r0 += f.V) {
        const r1 = Math.min(m, r0 + f.V);
        for (let g = c0; g < c1; g += f.M) {
          colScore.fill(0);
          for (let i = r0; i < r1; i++) for (let q = 0; q < f.M; q++) colScore[q] += score[i * k + g + q];
          topIndices(colScore, f.M, 4, cols);
          cols.sort(); // the 4 kept columns in order: "2:4 inside" is over them
          for (let i = r0; i < r1; i++) {
            for (let q = 0; q < 4; q++) tmp[q] = score[i * k + g + cols[q]];
            topIndices(tmp, 4, 2, sel);
            mask[i * k + g + cols[sel[0]]] = 1;
            mask[i * k + g + cols[sel[1]]] = 1;
          }
        }
      }
      return;
    }
    case "samoyeds": {
      const rowScore = new Float64Array(f.M);
      const rows = new Int32Array(f.M);
      for (let G = 0; G < m / f.M; G++) {
        for (let v = c0; v < c1; v += f.V) {
          for (let r = 0; r < f.M; r++) {
            let s = 0;
            for (let c = v; c < v + f.V; c++) s += score[(G * f.M + r) * k + c];
            rowScore[r] = s;
          }
          topIndices(rowScore, f.M, f.N, rows);
          for (let n = 0; n < f.N; n++) {
            const i = G * f.M + rows[n];
            for (let g = v; g < v + f.V; g += 4) keepNm(i, g, 4, 2);
          }
        }
      }
      return;
    }
    case "unstructured": {
      const w = c1 - c0;
      if (f.scope === "row") {
        const keep = Math.round(f.density * w);
        for (let i = 0; i < m; i++) keepNm(i, c0, w, keep);
      } else {
        const n = m * w;
        const keep = Math.round(f.density * n);
        const idx = new Int32Array(n);
        for (let t = 0; t < n; t++) idx[t] = t;
        const val = (t: number) => score[Math.floor(t / w) * k + c0 + (t % w)];
        const sorted = Array.from(idx).sort((a, b) => (val(b) - val(a)) || (a - b));
        for (let t = 0; t < keep; t++) mask[Math.floor(sorted[t] / w) * k + c0 + (sorted[t] % w)] = 1;
      }
      return;
    }
  }
}

/** The format's mask (m x k, 0/1) chosen from `score` (m x k, higher = more important). */
export function buildMask(score: ArrayLike<number>, m: number, k: number, f: Format): Uint8Array {
  checkShape(m, k, f);
  if (score.length !== m * k) throw new RangeError(`buildMask: score has ${score.length} elements, need ${m} x ${k}`);
  const mask = new Uint8Array(m * k);
  fillMaskColumns(score, m, k, f, 0, k, mask);
  return mask;
}

/**
 * Checks that `mask` is exactly in the format's pattern with exactly its density (every group full, not merely a
 * subset). Returns null when it is, else a message naming the first offending place.
 */
export function checkMaskPattern(mask: ArrayLike<number>, m: number, k: number, f: Format): string | null {
  checkShape(m, k, f);
  const at = (i: number, j: number) => mask[i * k + j];
  switch (f.kind) {
    case "nm":
      for (let i = 0; i < m; i++) {
        for (let g = 0; g < k; g += f.M) {
          let c = 0;
          for (let q = 0; q < f.M; q++) c += at(i, g + q);
          if (c !== f.N) return `row ${i}, columns ${g}..${g + f.M - 1}: ${c} kept, ${f.N}:${f.M} needs ${f.N}`;
        }
      }
      return null;
    case "vnm":
      for (let r0 = 0; r0 < m; r0 += f.V) {
        const r1 = Math.min(m, r0 + f.V);
        for (let g = 0; g < k; g += f.M) {
          const used = new Set<number>();
          for (let i = r0; i < r1; i++) {
            let c = 0;
            for (let q = 0; q < f.M; q++) if (at(i, g + q)) c++, used.add(q);
            if (c !== 2) return `row ${i}, columns ${g}..${g + f.M - 1}: ${c} kept, V:2:M needs 2 per row`;
          }
          if (used.size > 4) return `rows ${r0}..${r1 - 1}, columns ${g}..${g + f.M - 1}: ${used.size} distinct columns, at most 4`;
        }
      }
      return null;
    case "samoyeds":
      for (let G = 0; G < m / f.M; G++) {
        for (let v = 0; v < k; v += f.V) {
          let kept = 0;
          for (let r = 0; r < f.M; r++) {
            const i = G * f.M + r;
            let any = 0;
            for (let c = v; c < v + f.V; c++) any += at(i, c);
            if (any === 0) continue;
            kept++;
            for (let g = v; g < v + f.V; g += 4) {
              const c = at(i, g) + at(i, g + 1) + at(i, g + 2) + at(i, g + 3);
              if (c !== 2) return `row ${i}, columns ${g}..${g + 3}: ${c} kept, a kept row-vector is 2:4`;
            }
          }
          if (kept !== f.N) return `row group ${G}, k-vector ${v / f.V}: ${kept} row-vectors kept, need ${f.N} of ${f.M}`;
        }
      }
      return null;
    case "unstructured": {
      if (f.scope === "row") {
        const keep = Math.round(f.density * k);
        for (let i = 0; i < m; i++) {
          let c = 0;
          for (let j = 0; j < k; j++) c += at(i, j);
          if (c !== keep) return `row ${i}: ${c} kept, need ${keep}`;
        }
        return null;
      }
      let c = 0;
      for (let t = 0; t < m * k; t++) c += mask[t];
      const keep = Math.round(f.density * m * k);
      return c === keep ? null : `${c} kept, need ${keep}`;
    }
  }
}

export interface FormatBytes {
  /** kept values (fp16) */
  values: number;
  /** everything else: 2:4 / N:M position metadata, VNM column masks, Samoyeds row indices, CSR column indices + row pointers */
  metadata: number;
  total: number;
  /** how the numbers were obtained */
  source: string;
}

/**
 * Storage of an m x k fp16 weight in a format. Samoyeds and VENOM V:2:8 (V 64/128) come from the native format code
 * (sy_samoyeds_sizes, sy_vnm_sizes: the arrays our kernels use); the others are formulas: N:M = values + ceil(log2 M)
 * bits per kept value (2:4: the 2-bit indices cuSPARSELt/mma.sp use); CSR = 2-byte values + 4-byte column index per
 * nonzero + 4-byte row pointers.
 */
export function formatBytes(m: number, k: number, f: FormatOrDense): FormatBytes {
  const mk = m * k;
  if (f.kind === "dense") return { values: 2 * mk, metadata: 0, total: 2 * mk, source: "2 bytes per element" };
  checkShape(m, k, f);
  const pack = (values: number, metadata: number, source: string) => ({ values, metadata, total: values + metadata, source });
  switch (f.kind) {
    case "nm": {
      const kept = (mk / f.M) * f.N;
      return pack(2 * kept, Math.ceil((kept * Math.ceil(Math.log2(f.M))) / 8), `fp16 values + ${Math.ceil(Math.log2(f.M))}-bit positions`);
    }
    case "vnm": {
      if (f.M === 8 && (f.V === 64 || f.V === 128)) {
        const s = vnmSizes(m, k, f.V);
        return pack(s.values, s.meta + s.colmask, "sy_vnm_sizes");
      }
      const kept = (mk / f.M) * 2;
      const colmask = Math.ceil(m / f.V) * (k / f.M) * Math.ceil(f.M / 8);
      return pack(2 * kept, Math.ceil((kept * 2) / 8) + colmask, "fp16 values + 2-bit positions + column bitmask per block");
    }
    case "samoyeds": {
      const s = samoyedsSizes(m, k, { V: f.V, N: f.N, M: f.M });
      return pack(s.values, s.indices + s.meta, "sy_samoyeds_sizes");
    }
    case "unstructured": {
      const nnz = f.scope === "row" ? m * Math.round(f.density * k) : Math.round(f.density * mk);
      return pack(2 * nnz, 4 * nnz + 4 * (m + 1), "CSR: fp16 values, int32 column indices and row pointers");
    }
  }
}
