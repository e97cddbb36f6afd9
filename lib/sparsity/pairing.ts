// Row grouping for the Samoyeds format (our addition; the paper groups rows in their given order). In each group of M
// rows the format keeps N row-vectors per V-long k-vector and drops the others entirely, so which rows share a group
// decides what can be kept. The intermediate features of a SwiGLU expert may be permuted for free (the same permutation
// on the rows of gate and up and on the columns of down leaves the expert's function unchanged), so we choose groups
// whose per-k-vector importance is complementary: greedily, the most important ungrouped row first, then the rows that
// add the least dropped importance (sum over k-vectors of the M - N smallest group members' importance).

/**
 * importance: rows x nv (importance of each row in each k-vector, e.g. sum of w^2 * ||x_j||^2 over the vector).
 * Returns perm with perm[i] = original row placed at position i (groups are positions [g*M, (g+1)*M)).
 */
export function groupRowsByImportance(importance: Float64Array, rows: number, nv: number, M: number, N: number): number[] {
  if (rows % M) throw new RangeError(`groupRowsByImportance: rows (${rows}) must be a multiple of M (${M})`);
  if (importance.length !== rows * nv) throw new RangeError(`groupRowsByImportance: importance must be ${rows} x ${nv}`);
  const total = new Float64Array(rows);
  for (let r = 0; r < rows; r++) for (let v = 0; v < nv; v++) total[r] += importance[r * nv + v];
  const order = Array.from({ length: rows }, (_, i) => i).sort((a, b) => total[b] - total[a] || a - b);
  const used = new Uint8Array(rows);
  const perm: number[] = [];
  const members: number[] = [];
  const vals = new Float64Array(M);
  // importance dropped in one k-vector by a group: all but the N largest
  const dropped = (group: number[], v: number) => {
    for (let q = 0; q < group.length; q++) vals[q] = importance[group[q] * nv + v];
    const s = Array.from(vals.subarray(0, group.length)).sort((a, b) => b - a);
    let d = 0;
    for (let q = N; q < s.length; q++) d += s[q];
    return d;
  };
  for (const a of order) {
    if (used[a]) continue;
    used[a] = 1;
    members.length = 0;
    members.push(a);
    while (members.length < M) {
      let best = -1, bestLoss = Infinity;
      for (const b of order) {
        if (used[b]) continue;
        members.push(b);
        let loss = 0;
        for (let v = 0; v < nv; v++) loss += dropped(members, v);
        members.pop();
        if (loss < bestLoss) (bestLoss = loss), (best = b);
      }
      used[best] = 1;
      members.push(best);
    }
    perm.push(...members);
  }
  return perm;
}

/** Rows of W (m x k) reordered: out row i = W row perm[i]. */
export function permuteRows(W: ArrayLike<number>, m: number, k: number, perm: number[]): Float64Array {
  const out = new Float64Array(m * k);
  for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) out[i * k + j] = W[perm[i] * k + j];
  return out;
}

/** Columns of W (m x k) reordered: out column j = W column perm[j]. */
export function permuteColumns(W: ArrayLike<number>, m: number, k: number, perm: number[]): Float64Array {
  const out = new Float64Array(m * k);
  for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) out[i * k + j] = W[i * k + perm[j]];
  return out;
}

/**
 * Permutation of an expert's intermediate features for Samoyeds row groups of gate and up (they share it): importance
 * of intermediate row r in k-vector v = sum over the vector of (gate^2 + up^2) * channelWeight (input-channel squared
 * norms for activation-aware pruners, 1 for magnitude).
 */
export function samoyedsExpertPermutation(gate: ArrayLike<number>, up: ArrayLike<number>, I: number, d: number,
  p: { V: number; N: number; M: number }, channelWeight?: ArrayLike<number>): number[] {
  if (d % p.V) throw new RangeError(`samoyedsExpertPermutation: hidden ${d} is not a multiple of V = ${p.V}`);
  const nv = d / p.V;
  const imp = new Float64Array(I * nv);
  for (let r = 0; r < I; r++) {
    for (let c = 0; c < d; c++) {
      const w = gate[r * d + c] ** 2 + up[r * d + c] ** 2;
      imp[r * nv + Math.floor(c / p.V)] += channelWeight ? w * channelWeight[c] : w;
    }
  }
  return groupRowsByImportance(imp, I, nv, p.M, p.N);
}
