// Synthetic expert weights and activations with the statistics that matter for pruning (all drawn from a seed):
//  weights      W_ij = s_i * c_j * t_ij / sqrt(k): t Student-t (nu = 4, unit variance: heavy-tailed entries), row scales
//               s_i = exp(0.5 g_i) (log-normal: heavy-tailed row norms), column scales c_j = exp(0.2 h_j), g, h ~ N(0,1);
//  activations  x_t = a * (z_t + B u_t): z Student-t (nu = 5, unit variance), a low-rank shared part B u_t (rank 8,
//               variance 2 per channel: channels are correlated, as in real hidden states), channel scales
//               a_j = exp(0.3 h'_j), and 1% of the channels (at least 2) are outliers scaled x20 (LLM.int8-style
//               "massive activation" channels).
// Trained weights are not like this in every respect (no learned structure); the LM study (lm.ts) covers real training.
import { rng } from "../tensor.ts";
import { Calibration } from "./pruners.ts";

export interface WeightStats {
  /** Student-t degrees of freedom of the entries */
  nu: number;
  /** sigma of log row scale */
  rowSigma: number;
  /** sigma of log column scale */
  colSigma: number;
}
export const WEIGHT_STATS: WeightStats = { nu: 4, rowSigma: 0.5, colSigma: 0.2 };

export interface ActivationStats {
  nu: number;
  /** rank of the shared (correlated) component */
  rank: number;
  /** variance per channel of the shared component (the iid part has variance 1) */
  sharedVariance: number;
  channelSigma: number;
  /** fraction of outlier channels and their scale */
  outlierFraction: number;
  outlierScale: number;
}
export const ACTIVATION_STATS: ActivationStats = { nu: 5, rank: 8, sharedVariance: 2, channelSigma: 0.3, outlierFraction: 0.01, outlierScale: 20 };

/** Gaussian and Student-t samplers over one PRNG stream. */
export function samplers(seed: number) {
  const r = rng(seed);
  let spare: number | undefined;
  const normal = () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const u = Math.max(r(), 1e-300), v = r();
    const mag = Math.sqrt(-2 * Math.log(u));
    spare = mag * Math.sin(2 * Math.PI * v);
    return mag * Math.cos(2 * Math.PI * v);
  };
  /** Student-t with nu (integer) degrees of freedom, scaled to unit variance (nu > 2). */
  const studentT = (nu: number) => {
    let chi = 0;
    for (let i = 0; i < nu; i++) chi += normal() ** 2;
    return (normal() / Math.sqrt(chi / nu)) * Math.sqrt((nu - 2) / nu);
  };
  return { uniform: r, normal, studentT };
}

export function syntheticWeight(m: number, k: number, seed: number, st: WeightStats = WEIGHT_STATS): Float64Array {
  const s = samplers(seed);
  const row = Float64Array.from({ length: m }, () => Math.exp(st.rowSigma * s.normal()));
  const col = Float64Array.from({ length: k }, () => Math.exp(st.colSigma * s.normal()));
  const W = new Float64Array(m * k);
  const scale = 1 / Math.sqrt(k);
  for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) W[i * k + j] = row[i] * col[j] * s.studentT(st.nu) * scale;
  return W;
}

/** The per-channel structure of an activation distribution (fixed by `structureSeed`), sampled by activations(). */
export interface ActivationSource {
  k: number;
  stats: ActivationStats;
  channelScale: Float64Array;
  outliers: number[];
  B: Float64Array;
}

export function activationSource(k: number, structureSeed: number, st: ActivationStats = ACTIVATION_STATS): ActivationSource {
  const s = samplers(structureSeed);
  const channelScale = Float64Array.from({ length: k }, () => Math.exp(st.channelSigma * s.normal()));
  const nOut = Math.max(2, Math.round(st.outlierFraction * k));
  const outliers: number[] = [];
  while (outliers.length < nOut) {
    const j = Math.floor(s.uniform() * k);
    if (!outliers.includes(j)) outliers.push(j);
  }
  for (const j of outliers) channelScale[j] *= st.outlierScale;
  const B = new Float64Array(k * st.rank);
  const bs = Math.sqrt(st.sharedVariance / st.rank);
  for (let t = 0; t < B.length; t++) B[t] = bs * s.normal();
  return { k, stats: st, channelScale, outliers: outliers.sort((a, b) => a - b), B };
}

/** n tokens from a source (different `seed` = different tokens of the same distribution: calibration vs held-out). */
export function activations(src: ActivationSource, n: number, seed: number): Calibration {
  const s = samplers(seed);
  const { k, stats: st, channelScale, B } = src;
  const X = new Float64Array(n * k);
  const u = new Float64Array(st.rank);
  for (let t = 0; t < n; t++) {
    for (let l = 0; l < st.rank; l++) u[l] = s.normal();
    for (let j = 0; j < k; j++) {
      let shared = 0;
      for (let l = 0; l < st.rank; l++) shared += B[j * st.rank + l] * u[l];
      X[t * k + j] = channelScale[j] * (s.studentT(st.nu) + shared);
    }
  }
  return { X, n, k };
}

/** Shortcut for tests: n tokens of a k-channel source whose structure and tokens both come from `seed`. */
export function syntheticCalibration(n: number, k: number, seed: number): Calibration {
  return activations(activationSource(k, seed), n, seed + 1);
}
