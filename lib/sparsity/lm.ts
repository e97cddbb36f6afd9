// A small character-level MoE language model trained here on CPU with hand-written backprop (no downloads), so the
// accuracy study can prune the experts of a model that actually learned something and measure held-out perplexity.
//
// Architecture (one token; the context is the previous `context` characters):
//   c    = concat(emb[ctx_1], ..., emb[ctx_C])                     (C*E)
//   h    = W_in c + b_in                                           (d)   residual stream
//   xn   = h / rms(h)                                              RMSNorm without gain
//   p    = softmax(W_r xn); top-2 experts, weights g = p / (p_1 + p_2)   (Mixtral-style router)
//   y_e  = W_down,e (silu(W_gate,e xn) * (W_up,e xn))              SwiGLU expert (gate/up: I x d, down: d x I)
//   out  = h + sum_e g_e y_e;   logits = W_o out + b_o
// Loss: cross-entropy + alpha * Switch-style load-balancing term (E * sum_e f_e * mean p_e, f_e from an EMA).
// Adam, linear warm-up and decay, global-norm clipping. Float32 parameters, float64 arithmetic in the loops.
import { rng } from "../tensor.ts";

export interface LmConfig {
  context: number;
  embed: number;
  hidden: number;
  intermediate: number;
  experts: number;
  topK: number;
}
export const LM_CONFIG: LmConfig = { context: 16, embed: 16, hidden: 256, intermediate: 256, experts: 8, topK: 2 };

export interface ExpertWeights {
  /** I x d */
  gate: Float32Array;
  /** I x d */
  up: Float32Array;
  /** d x I */
  down: Float32Array;
}

/** default weight of the load-balancing term */
export const AUX_ALPHA = 0.01;

export class Vocabulary {
  readonly chars: string[];
  readonly index = new Map<string, number>();
  constructor(text: string) {
    this.chars = [...new Set(text)].sort();
    this.chars.forEach((c, i) => this.index.set(c, i));
  }
  get size(): number {
    return this.chars.length;
  }
  encode(text: string): Uint8Array {
    if (this.size > 256) throw new RangeError("Vocabulary: more than 256 symbols");
    return Uint8Array.from(text, (c) => {
      const i = this.index.get(c);
      if (i === undefined) throw new RangeError(`Vocabulary: unknown character ${JSON.stringify(c)}`);
      return i;
    });
  }
}

type Params = Record<string, Float32Array>;

/** Per-token activations kept for the backward pass (and read by calibration). */
interface TokenCache {
  c: Float64Array;
  h: Float64Array;
  rms: number;
  xn: Float64Array;
  p: Float64Array;
  sel: number[];
  g: number[];
  a: Float64Array[];
  b: Float64Array[];
  hm: Float64Array[];
  y: Float64Array[];
  out: Float64Array;
  logits: Float64Array;
}

export class MoeLm {
  readonly params: Params = {};
  readonly experts: ExpertWeights[] = [];
  constructor(readonly cfg: LmConfig, readonly vocab: number, seed = 1) {
    const r = rng(seed);
    const normal = () => Math.sqrt(-2 * Math.log(Math.max(r(), 1e-300))) * Math.cos(2 * Math.PI * r());
    const init = (n: number, scale: number) => Float32Array.from({ length: n }, () => normal() * scale);
    const { context: C, embed: E, hidden: d, intermediate: I, experts: X } = cfg;
    this.params.emb = init(vocab * E, 1);
    this.params.w_in = init(d * C * E, 1 / Math.sqrt(C * E));
    this.params.b_in = new Float32Array(d);
    this.params.w_router = init(X * d, 0.01);
    for (let e = 0; e < X; e++) {
      const ex = { gate: init(I * d, 1 / Math.sqrt(d)), up: init(I * d, 1 / Math.sqrt(d)), down: init(d * I, 0.5 / Math.sqrt(I)) };
      this.experts.push(ex);
      this.params[`gate${e}`] = ex.gate;
      this.params[`up${e}`] = ex.up;
      this.params[`down${e}`] = ex.down;
    }
    this.params.w_out = init(vocab * d, 1 / Math.sqrt(d));
    this.params.b_out = new Float32Array(vocab);
  }

  /** A copy whose experts are replaced (weights shared with this model otherwise). */
  withExperts(experts: ExpertWeights[]): MoeLm {
    if (experts.length !== this.cfg.experts) throw new RangeError(`withExperts: need ${this.cfg.experts} experts`);
    const m = Object.create(MoeLm.prototype) as MoeLm;
    const params: Params = { ...this.params };
    experts.forEach((ex, e) => {
      params[`gate${e}`] = ex.gate;
      params[`up${e}`] = ex.up;
      params[`down${e}`] = ex.down;
    });
    Object.assign(m, { cfg: this.cfg, vocab: this.vocab, params, experts });
    return m;
  }

  /** Forward pass for the token at `pos` of `tokens` (context = the `context` tokens before it; pos >= context). */
  forward(tokens: Uint8Array, pos: number): TokenCache {
    const { context: C, embed: E, hidden: d, intermediate: I, experts: X, topK } = this.cfg;
    const P = this.params;
    const CE = C * E;
    const c = new Float64Array(CE);
    for (let q = 0; q < C; q++) {
      const t = tokens[pos - C + q] * E;
      for (let e = 0; e < E; e++) c[q * E + e] = P.emb[t + e];
    }
    const h = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      let s = P.b_in[i];
      const o = i * CE;
      for (let j = 0; j < CE; j++) s += P.w_in[o + j] * c[j];
      h[i] = s;
    }
    let ms = 0;
    for (let i = 0; i < d; i++) ms += h[i] * h[i];
    const rms = Math.sqrt(ms / d + 1e-6);
    const xn = h.map((v) => v / rms);
    const p = new Float64Array(X);
    for (let e = 0; e < X; e++) {
      let s = 0;
      for (let i = 0; i < d; i++) s += P.w_router[e * d + i] * xn[i];
      p[e] = s;
    }
    softmaxInPlace(p);
    const order = Array.from({ length: X }, (_, e) => e).sort((a, b) => (p[b] - p[a]) || (a - b));
    const sel = order.slice(0, topK);
    const S = sel.reduce((a, e) => a + p[e], 0);
    const g = sel.map((e) => p[e] / S);
    const out = Float64Array.from(h);
    const as: Float64Array[] = [], bs: Float64Array[] = [], hms: Float64Array[] = [], ys: Float64Array[] = [];
    sel.forEach((e, si) => {
      const Wg = P[`gate${e}`], Wu = P[`up${e}`], Wd = P[`down${e}`];
      const a = new Float64Array(I), b = new Float64Array(I), hm = new Float64Array(I), y = new Float64Array(d);
      for (let r = 0; r < I; r++) {
        let sa = 0, sb = 0;
        const o = r * d;
        for (let i = 0; i < d; i++) {
          sa += Wg[o + i] * xn[i];
          sb += Wu[o + i] * xn[i];
        }
        a[r] = sa;
        b[r] = sb;
        hm[r] = (sa / (1 + Math.exp(-sa))) * sb;
      }
      for (let i = 0; i < d; i++) {
        let s = 0;
        const o = i * I;
        for (let r = 0; r < I; r++) s += Wd[o + r] * hm[r];
        y[i] = s;
        out[i] += g[si] * s;
      }
      as.push(a), bs.push(b), hms.push(hm), ys.push(y);
    });
    const V = this.vocab;
    const logits = new Float64Array(V);
    for (let v = 0; v < V; v++) {
      let s = P.b_out[v];
      const o = v * d;
      for (let i = 0; i < d; i++) s += P.w_out[o + i] * out[i];
      logits[v] = s;
    }
    return { c, h, rms, xn, p, sel, g, a: as, b: bs, hm: hms, y: ys, out, logits };
  }

  /** -log p(tokens[pos] | context) */
  nll(tokens: Uint8Array, pos: number): number {
    const z = this.forward(tokens, pos).logits;
    return logSumExp(z) - z[tokens[pos]];
  }

  /** Accumulates scale * d(loss)/d(params) into `grads` for one token; returns its cross-entropy. */
  backward(tokens: Uint8Array, pos: number, grads: Params, scale: number, loadEma: Float64Array, counts?: Float64Array, auxAlpha = AUX_ALPHA): number {
    const { context: C, embed: E, hidden: d, intermediate: I, experts: X } = this.cfg;
    const P = this.params;
    const CE = C * E;
    const k = this.forward(tokens, pos);
    const V = this.vocab;
    const probs = Float64Array.from(k.logits);
    softmaxInPlace(probs);
    const target = tokens[pos];
    const loss = -Math.log(Math.max(probs[target], 1e-300));
    const dl = probs.map((q, v) => (q - (v === target ? 1 : 0)) * scale);
    const dout = new Float64Array(d);
    for (let v = 0; v < V; v++) {
      const o = v * d, gv = dl[v];
      grads.b_out[v] += gv;
      for (let i = 0; i < d; i++) {
        grads.w_out[o + i] += gv * k.out[i];
        dout[i] += P.w_out[o + i] * gv;
      }
    }
    const dxn = new Float64Array(d);
    const dg: number[] = [];
    k.sel.forEach((e, si) => {
      const Wg = P[`gate${e}`], Wu = P[`up${e}`], Wd = P[`down${e}`];
      const gWg = grads[`gate${e}`], gWu = grads[`up${e}`], gWd = grads[`down${e}`];
      const y = k.y[si], hm = k.hm[si], a = k.a[si], b = k.b[si];
      let dgi = 0;
      for (let i = 0; i < d; i++) dgi += dout[i] * y[i];
      dg.push(dgi);
      const dhm = new Float64Array(I);
      for (let i = 0; i < d; i++) {
        const dy = k.g[si] * dout[i];
        const o = i * I;
        for (let r = 0; r < I; r++) {
          gWd[o + r] += dy * hm[r];
          dhm[r] += Wd[o + r] * dy;
        }
      }
      for (let r = 0; r < I; r++) {
        const s = 1 / (1 + Math.exp(-a[r]));
        const da = dhm[r] * b[r] * s * (1 + a[r] * (1 - s));
        const db = dhm[r] * a[r] * s;
        const o = r * d;
        for (let i = 0; i < d; i++) {
          gWg[o + i] += da * k.xn[i];
          gWu[o + i] += db * k.xn[i];
          dxn[i] += Wg[o + i] * da + Wu[o + i] * db;
        }
      }
    });
    // router: g_j = p_j / S over the selected experts, then softmax; plus the load-balancing term
    const S = k.sel.reduce((acc, e) => acc + k.p[e], 0);
    const dp = new Float64Array(X);
    let gdg = 0;
    k.sel.forEach((_, si) => (gdg += dg[si] * k.g[si]));
    k.sel.forEach((e, si) => (dp[e] = (dg[si] - gdg) / S));
    for (let e = 0; e < X; e++) dp[e] += auxAlpha * X * loadEma[e] * scale;
    let pdp = 0;
    for (let e = 0; e < X; e++) pdp += k.p[e] * dp[e];
    for (let e = 0; e < X; e++) {
      const dlr = k.p[e] * (dp[e] - pdp);
      const o = e * d;
      for (let i = 0; i < d; i++) {
        grads.w_router[o + i] += dlr * k.xn[i];
        dxn[i] += P.w_router[o + i] * dlr;
      }
    }
    let dot = 0;
    for (let i = 0; i < d; i++) dot += dxn[i] * k.xn[i];
    dot /= d;
    const dh = new Float64Array(d);
    for (let i = 0; i < d; i++) dh[i] = dout[i] + (dxn[i] - k.xn[i] * dot) / k.rms;
    const dc = new Float64Array(CE);
    for (let i = 0; i < d; i++) {
      const o = i * CE, gi = dh[i];
      grads.b_in[i] += gi;
      for (let j = 0; j < CE; j++) {
        grads.w_in[o + j] += gi * k.c[j];
        dc[j] += P.w_in[o + j] * gi;
      }
    }
    for (let q = 0; q < C; q++) {
      const t = tokens[pos - C + q] * E;
      for (let e = 0; e < E; e++) grads.emb[t + e] += dc[q * E + e];
    }
    if (counts) for (const e of k.sel) counts[e]++;
    return loss;
  }
}

function softmaxInPlace(z: Float64Array): void {
  let mx = -Infinity;
  for (const v of z) mx = Math.max(mx, v);
  let s = 0;
  for (let i = 0; i < z.length; i++) s += (z[i] = Math.exp(z[i] - mx));
  for (let i = 0; i < z.length; i++) z[i] /= s;
}

function logSumExp(z: Float64Array): number {
  let mx = -Infinity;
  for (const v of z) mx = Math.max(mx, v);
  let s = 0;
  for (const v of z) s += Math.exp(v - mx);
  return mx + Math.log(s);
}

export interface TrainOptions {
  steps: number;
  batch: number;
  lr: number;
  seed: number;
  /** log every n steps */
  logEvery?: number;
  log?: (s: string) => void;
  /** train only these parameters (fine-tuning), all when absent */
  only?: (name: string) => boolean;
  /** multiply each named parameter's update elementwise by this 0/1 mask (keeps pruned weights at zero) */
  masks?: Record<string, Uint8Array>;
  /** weight of the load-balancing term (default AUX_ALPHA) */
  auxAlpha?: number;
}

export interface TrainLog {
  step: number;
  loss: number;
}

/** Adam over random positions of tokens[lo, hi). Returns the loss curve (mean over each logging window). */
export function train(model: MoeLm, tokens: Uint8Array, lo: number, hi: number, o: TrainOptions): TrainLog[] {
  const C = model.cfg.context, X = model.cfg.experts;
  const r = rng(o.seed);
  const names = Object.keys(model.params).filter((n) => !o.only || o.only(n));
  const grads: Params = {};
  for (const n of Object.keys(model.params)) grads[n] = new Float32Array(model.params[n].length);
  const m1: Params = {}, m2: Params = {};
  for (const n of names) (m1[n] = new Float32Array(model.params[n].length)), (m2[n] = new Float32Array(model.params[n].length));
  const load = new Float64Array(X).fill(model.cfg.topK / X);
  const b1 = 0.9, b2 = 0.99, eps = 1e-8, clip = 1.0;
  const warm = Math.max(1, Math.round(o.steps * 0.05));
  const curve: TrainLog[] = [];
  let window = 0, wn = 0;
  for (let step = 1; step <= o.steps; step++) {
    for (const n of Object.keys(grads)) grads[n].fill(0);
    const counts = new Float64Array(X);
    let loss = 0;
    for (let bi = 0; bi < o.batch; bi++) {
      const pos = lo + C + Math.floor(r() * (hi - lo - C));
      loss += model.backward(tokens, pos, grads, 1 / o.batch, load, counts, o.auxAlpha ?? AUX_ALPHA);
    }
    // routing load f_e of this batch, smoothed, drives the next steps' balancing gradient
    for (let e = 0; e < X; e++) load[e] = 0.9 * load[e] + 0.1 * counts[e] / (o.batch * model.cfg.topK);
    let norm = 0;
    for (const n of names) for (const v of grads[n]) norm += v * v;
    norm = Math.sqrt(norm);
    const gscale = norm > clip ? clip / norm : 1;
    const lr = o.lr * Math.min(step / warm, (o.steps - step + 1) / (o.steps - warm + 1));
    const c1 = 1 - b1 ** step, c2 = 1 - b2 ** step;
    for (const n of names) {
      const p = model.params[n], g = grads[n], a = m1[n], v = m2[n], mk = o.masks?.[n];
      for (let i = 0; i < p.length; i++) {
        const gi = g[i] * gscale;
        a[i] = b1 * a[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        if (mk && !mk[i]) continue;
        p[i] -= (lr * (a[i] / c1)) / (Math.sqrt(v[i] / c2) + eps);
      }
    }
    window += loss / o.batch;
    wn++;
    if (step % (o.logEvery ?? 100) === 0 || step === o.steps) {
      curve.push({ step, loss: window / wn });
      o.log?.(`step ${step}/${o.steps}: train loss ${(window / wn).toFixed(3)} (lr ${lr.toExponential(2)})`);
      window = 0;
      wn = 0;
    }
  }
  return curve;
}

/** Mean negative log-likelihood (nats/char) over positions [lo + context, hi) with the given stride. */
export function evaluateNll(model: MoeLm, tokens: Uint8Array, lo: number, hi: number, stride = 1): number {
  let s = 0, n = 0;
  for (let pos = lo + model.cfg.context; pos < hi; pos += stride) {
    s += model.nll(tokens, pos);
    n++;
  }
  return s / n;
}

/**
 * Calibration activations of each expert from `count` positions of tokens[lo, hi): the normalized inputs xn of the
 * tokens routed to it (for gate/up) and its intermediate activations silu(a) * b (for down), from the dense model.
 */
export function collectExpertActivations(model: MoeLm, tokens: Uint8Array, lo: number, hi: number, count: number, seed: number) {
  const { hidden: d, intermediate: I, experts: X, context: C } = model.cfg;
  const r = rng(seed);
  const xs: number[][] = Array.from({ length: X }, () => []);
  const hs: number[][] = Array.from({ length: X }, () => []);
  const tokensPerExpert = new Array<number>(X).fill(0);
  for (let t = 0; t < count; t++) {
    const pos = lo + C + Math.floor(r() * (hi - lo - C));
    const k = model.forward(tokens, pos);
    k.sel.forEach((e, si) => {
      for (let i = 0; i < d; i++) xs[e].push(k.xn[i]);
      for (let q = 0; q < I; q++) hs[e].push(k.hm[si][q]);
      tokensPerExpert[e]++;
    });
  }
  return Array.from({ length: X }, (_, e) => ({
    inputs: { X: Float64Array.from(xs[e]), n: tokensPerExpert[e], k: d },
    intermediate: { X: Float64Array.from(hs[e]), n: tokensPerExpert[e], k: I },
  }));
}
