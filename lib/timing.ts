// Timing, one protocol for the project. GPU: capture the enqueued ops into a CUDA graph (sy_capture_begin/end),
// replay it `warmup` times, then `iters` replays each bracketed by CUDA events (sy_graph_time); report the median.
// CPU backend: wall-clock performance.now() around synchronous calls. No timing in unit tests.
import { Backend } from "./native/library.ts";

export interface Timing {
  /** median milliseconds per run */
  ms: number;
  p10: number;
  p90: number;
  iters: number;
  method: "cuda-graph" | "host-wallclock";
}

function summarize(times: number[], method: Timing["method"]): Timing {
  const s = [...times].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))];
  return { ms: q(0.5), p10: q(0.1), p90: q(0.9), iters: s.length, method };
}

export interface GraphTimingOptions {
  warmup?: number;
  iters?: number;
  /** adaptive: time 5 probe replays, then as many replays as fit in about targetMs (10 to 100) */
  targetMs?: number;
}

/** Times `enqueue` (which only enqueues work on b's stream) as a CUDA graph: median of `iters` replays. */
export function timeGraph(b: Backend, enqueue: () => void, opts: GraphTimingOptions = {}): Timing {
  const warmup = opts.warmup ?? 3;
  let iters = opts.iters ?? 20;
  b.call("sy_synchronize");
  b.call("sy_capture_begin");
  try {
    enqueue();
  } catch (e) {
    // end the capture so the stream is usable again, then report the original error
    const g = new BigUint64Array(1);
    try {
      b.call("sy_capture_end", g);
      if (g[0]) b.call("sy_graph_destroy", Deno.UnsafePointer.create(g[0]));
    } catch { /* capture already invalid */ }
    throw e;
  }
  const out = new BigUint64Array(1);
  b.call("sy_capture_end", out);
  const graph = Deno.UnsafePointer.create(out[0]);
  try {
    if (opts.targetMs !== undefined) {
      const probe = new Float32Array(5);
      b.call("sy_graph_time", graph, warmup, probe.length, probe);
      const est = Math.max(1e-3, [...probe].sort((x, y) => x - y)[2]);
      iters = Math.max(10, Math.min(100, Math.floor(opts.targetMs / est)));
    }
    const times = new Float32Array(iters);
    b.call("sy_graph_time", graph, opts.targetMs !== undefined ? 2 : warmup, iters, times);
    return summarize(Array.from(times), "cuda-graph");
  } finally {
    b.call("sy_graph_destroy", graph);
  }
}

/** Times a synchronous host call (CPU backend) with performance.now(): median of `iters` runs after `warmup`. */
export function timeHost(run: () => void, opts: { warmup?: number; iters?: number } = {}): Timing {
  const warmup = opts.warmup ?? 1, iters = opts.iters ?? 5;
  for (let i = 0; i < warmup; i++) run();
  const times: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  }
  return summarize(times, "host-wallclock");
}

/** Times `enqueue` the way its backend allows: CUDA graph on "cuda", wall clock on "cpu". */
export function timeOp(b: Backend, enqueue: () => void, opts: { warmup?: number; iters?: number } = {}): Timing {
  return b.name === "cuda" ? timeGraph(b, enqueue, opts) : timeHost(enqueue, opts);
}
