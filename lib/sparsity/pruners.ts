// Pruners of a weight W (m x k, rows = output features, k = inputs) to a sparse format (lib/sparsity/masks.ts):
//  magnitude  score w_ij^2;
//  wanda      activation-aware (Wanda, Sun et al. 2023): |w_ij| * ||x_j|| over calibration tokens (we rank by its square,
//             so group sums are the diagonal-Hessian estimate of the output error a group removes);
//  obs        second-order, SparseGPT-style (Frantar & Alistarh 2023): H = X^T X + 0.01 * mean(diag H) * I, columns
//             processed left to right; the mask of each column block is chosen from the CURRENT (already compensated)
//             weights with score w^2 / [U_jj]^2 (U: upper Cholesky factor of H^-1), and every pruned weight's error is
//             spread over the later columns of its row (w_i,j+1: -= err * U_j,j+1:).
// All arithmetic in Float64Array. The result is the pruned (and for OBS updated) weight plus its mask.
import { buildMask, checkShape, fillMaskColumns, Format, maskBlockWidth } from "./masks.ts";

export type PrunerName = "magnitude" | "wanda" | "obs";
export const PRUNERS: readonly PrunerName[] = ["magnitude", "wanda", "obs"];

/** OBS damping: lambda = OBS_DAMPING * mean(diag(X^T X)) added to the diagonal (SparseGPT's percdamp default). */
export const OBS_DAMPING = 0.01;

/** Calibration activations: n tokens x k inputs, token-major. */
export interface Calibration {
  X: Float64Array | Float32Array;
  n: number;
  k: number;
}

export interface PruneResult {
  W: Float64Array;
  mask: Uint8Array;
}

function asF64(W: ArrayLike<number>): Float64Array {
  return Float64Array.from(W);
}

function applyMask(W: Float64Array, mask: Uint8Array): Float64Array {
  for (let t = 0; t < W.length; t++) if (!mask[t]) W[t] = 0;
  return W;
}

/** Per-input-channel squared L2 norm over the calibration tokens: sum_t x_tj^2. */
export function channelSquaredNorms(c: Calibration): Float64Array {
  const s = new Float64Array(c.k);
  for (let t = 0; t < c.n; t++) for (let j = 0; j < c.k; j++) s[j] += c.X[t * c.k + j] ** 2;
  return s;
}

export function pruneMagnitude(W: ArrayLike<number>, m: number, k: number, f: Format): PruneResult {
  const w = asF64(W);
  const score = new Float64Array(m * k);
  for (let t = 0; t < m * k; t++) score[t] = w[t] * w[t];
  const mask = buildMask(score, m, k, f);
  return { W: applyMask(w, mask), mask };
}

export function pruneWanda(W: ArrayLike<number>, m: number, k: number, f: Format, calib: Calibration): PruneResult {
  if (calib.k !== k) throw new RangeError(`pruneWanda: calibration has ${calib.k} channels, W has k = ${k}`);
  const w = asF64(W);
  const xn = channelSquaredNorms(calib);
  const score = new Float64Array(m * k);
  for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) score[i * k + j] = w[i * k + j] ** 2 * xn[j];
  const mask = buildMask(score, m, k, f);
  return { W: applyMask(w, mask), mask };
}

/** X^T X (k x k, f64) of the calibration tokens. */
export function gram(c: Calibration): Float64Array {
  const { X, n, k } = c;
  const H = new Float64Array(k * k);
  const row = new Float64Array(k);
  for (let t = 0; t < n; t++) {
    for (let j = 0; j < k; j++) row[j] = X[t * k + j];
    for (let a = 0; a < k; a++) {
      const xa = row[a];
      if (xa === 0) continue;
      const base = a * k;
      for (let b = a; b < k; b++) H[base + b] += xa * row[b];
    }
  }
  for (let a = 0; a < k; a++) for (let b = 0; b < a; b++) H[a * k + b] = H[b * k + a];
  return H;
}

/** In-place lower Cholesky factor of a symmetric positive definite k x k matrix (upper part zeroed). */
function choleskyLower(A: Float64Array, k: number, what: string): void {
  for (let j = 0; j < k; j++) {
    let d = A[j * k + j];
    for (let p = 0; p < j; p++) d -= A[j * k + p] ** 2;
    if (!(d > 0)) throw new Error(`${what}: matrix not positive definite at column ${j} (pivot ${d}); raise the damping`);
    const ljj = Math.sqrt(d);
    A[j * k + j] = ljj;
    for (let i = j + 1; i < k; i++) {
      let s = A[i * k + j];
      for (let p = 0; p < j; p++) s -= A[i * k + p] * A[j * k + p];
      A[i * k + j] = s / ljj;
    }
    for (let i = 0; i < j; i++) A[i * k + j] = 0;
  }
}

/**
 * The OBS factor: U upper triangular with H^-1 = U^T U, from H = X^T X + damping * mean(diag) * I. Channels that are
 * never active (H_jj = 0) get H_jj = 1 (their weights can be dropped at no cost; SparseGPT does the same).
 */
export function obsFactor(calib: Calibration, damping = OBS_DAMPING): Float64Array {
  const k = calib.k;
  const H = gram(calib);
  let mean = 0;
  for (let j = 0; j < k; j++) mean += H[j * k + j];
  mean /= k;
  const lambda = damping * (mean > 0 ? mean : 1);
  for (let j = 0; j < k; j++) {
    if (H[j * k + j] === 0) H[j * k + j] = 1;
    H[j * k + j] += lambda;
  }
  // H = L L^T -> H^-1 = L^-T L^-1
  choleskyLower(H, k, "obsFactor(H)");
  const Linv = new Float64Array(k * k);
  for (let j = 0; j < k; j++) {
    Linv[j * k + j] = 1 / H[j * k + j];
    for (let i = j + 1; i < k; i++) {
      let s = 0;
      for (let p = j; p < i; p++) s += H[i * k + p] * Linv[p * k + j];
      Linv[i * k + j] = -s / H[i * k + i];
    }
  }
  const Hinv = new Float64Array(k * k);
  for (let a = 0; a < k; a++) {
    for (let b = a; b < k; b++) {
      let s = 0;
      for (let p = b; p < k; p++) s += Linv[p * k + a] * Linv[p * k + b];
      Hinv[a * k + b] = s;
      Hinv[b * k + a] = s;
    }
  }
  choleskyLower(Hinv, k, "obsFactor(H^-1)");
  // U = L2^T
  const U = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j <= i; j++) U[j * k + i] = Hinv[i * k + j];
  return U;
}

/**
 * SparseGPT-style pruning with error compensation. `U` (from obsFactor) may be passed to share it across formats.
 * Mask choice: at the start of each format block (N:M: M columns, VNM: M, Samoyeds: V, unstructured: 128) from the
 * current weights; for Samoyeds the 2:4 positions inside the kept row-vectors are re-chosen at every 4 columns from the
 * then-current weights (the row choice stays), as SparseGPT does for N:M.
 */
export function pruneObs(W: ArrayLike<number>, m: number, k: number, f: Format, calib: Calibration, U?: Float64Array): PruneResult {
  checkShape(m, k, f);
  if (calib.k !== k) throw new RangeError(`pruneObs: calibration has ${calib.k} channels, W has k = ${k}`);
  const u = U ?? obsFactor(calib);
  if (u.length !== k * k) throw new RangeError(`pruneObs: U must be ${k} x ${k}`);
  const w = asF64(W);
  const mask = new Uint8Array(m * k);
  const score = new Float64Array(m * k);
  const bw = maskBlockWidth(f, k);
  const sel = [0, 1, 2, 3];
  for (let j = 0; j < k; j++) {
    if (j % bw === 0) {
      const c1 = Math.min(k, j + bw);
      for (let i = 0; i < m; i++) for (let c = j; c < c1; c++) score[i * k + c] = (w[i * k + c] / u[c * k + c]) ** 2;
      fillMaskColumns(score, m, k, f, j, c1, mask);
    } else if (f.kind === "samoyeds" && j % 4 === 0) {
      for (let i = 0; i < m; i++) {
        const b = i * k + j;
        if (mask[b] + mask[b + 1] + mask[b + 2] + mask[b + 3] === 0) continue; // row-vector not kept
        const s = (q: number) => (w[b + q] / u[(j + q) * k + j + q]) ** 2;
        sel.sort((a, c) => (s(c) - s(a)) || (a - c));
        for (let q = 0; q < 4; q++) mask[b + q] = q === sel[0] || q === sel[1] ? 1 : 0;
      }
    }
    const d = u[j * k + j];
    for (let i = 0; i < m; i++) {
      if (mask[i * k + j]) continue;
      const err = w[i * k + j] / d;
      w[i * k + j] = 0;
      if (err === 0) continue;
      const row = i * k, urow = j * k;
      for (let c = j + 1; c < k; c++) w[row + c] -= err * u[urow + c];
    }
  }
  return { W: w, mask };
}

/** One entry point: `calib` is required by wanda and obs. */
export function prune(pruner: PrunerName, W: ArrayLike<number>, m: number, k: number, f: Format, calib?: Calibration, U?: Float64Array): PruneResult {
  if (W.length !== m * k) throw new RangeError(`prune: W has ${W.length} elements, need ${m} x ${k}`);
  if (pruner === "magnitude") return pruneMagnitude(W, m, k, f);
  if (!calib) throw new Error(`prune: the ${pruner} pruner needs calibration activations`);
  return pruner === "wanda" ? pruneWanda(W, m, k, f, calib) : pruneObs(W, m, k, f, calib, U);
}

/** Y (n x m) = X (n x k) W^T, f64. */
export function matmulT(X: ArrayLike<number>, n: number, k: number, W: ArrayLike<number>, m: number): Float64Array {
  const Y = new Float64Array(n * m);
  for (let t = 0; t < n; t++) {
    for (let i = 0; i < m; i++) {
      let s = 0;
      const xo = t * k, wo = i * k;
      for (let j = 0; j < k; j++) s += X[xo + j] * W[wo + j];
      Y[t * m + i] = s;
    }
  }
  return Y;
}
