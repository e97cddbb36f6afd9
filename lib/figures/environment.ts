// Figure of the environment experiment: dense GEMM throughput (TFLOP/s) vs square size, one line per
// device/backend and dtype, drawn from every data/environment-*.json (CPU runs here, committed GPU runs).
import { join } from "node:path";
import { listResults, readResults } from "../data.ts";
import type { EnvironmentResult } from "../experiments/environment.ts";
import { PALETTE, plot, Plot, saveFigure } from "./render.ts";

export function environmentFigure(opts: { dataDir?: string; outDir?: string } = {}): string[] {
  const files = listResults("environment-", opts.dataDir);
  const results = files.map((f) => ({ file: f, r: readResults<EnvironmentResult>(f)! })).filter((x) => x.r?.rows?.length);
  if (results.length === 0) {
    console.log("environment figure: no data/environment-*.json yet (run `deno task reproduce`)");
    return [];
  }
  const points = results.flatMap(({ r }) =>
    r.rows.map((row) => ({
      series: `${r.device_label.split(" (")[0]} [${r.provenance.backend}] ${row.dtype}`,
      size: row.size,
      tflops: row.tflops,
    }))
  );
  const series = [...new Set(points.map((p) => p.series))];
  const colors = series.map((_, i) => PALETTE[i % PALETTE.length]);
  const chart = plot({
    x: { type: "log", label: "Matrix size n = m = k (log scale)", tickFormat: "~g" },
    y: { type: "log", label: "Throughput (TFLOP/s, log scale)", grid: true, tickFormat: "~g" },
    color: { domain: series, range: colors },
    marks: [
      Plot.line(points, { x: "size", y: "tflops", stroke: "series", strokeWidth: 2 }),
      Plot.dot(points, { x: "size", y: "tflops", fill: "series", r: 3 }),
    ],
  });
  const devices = results.map(({ r }) => `${r.device_label}, build ${String(r.provenance.build?.compiler ?? "?")}, commit ${r.provenance.commit.slice(0, 10)}, ${r.provenance.date.slice(0, 10)}`);
  const out = saveFigure(chart, {
    name: "environment-gemm-throughput",
    title: "Dense GEMM throughput through FFI (sy_gemm)",
    subtitle: "Y = X W^T, f32 output; GPU: cuBLAS in a CUDA graph (median of replays); CPU: reference loop (wall clock)",
    source: files,
    device: devices,
    legend: series.map((s, i) => ({ label: s, color: colors[i] })),
    dir: opts.outDir,
  });
  return [out.svg, out.png];
}

export const environmentFigurePath = (dir = "figures") => join(dir, "environment-gemm-throughput.png");
