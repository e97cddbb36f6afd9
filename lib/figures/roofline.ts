// Roofline of the SSMM kernels on the GPU (issue 5): achieved dense-equivalent TFLOP/s against arithmetic intensity
// (dense-equivalent flops per byte of minimum device-memory traffic), under the measured ceilings of
// data/wgmma.json: dense wgmma peak, wgmma.sp peak (2:4 counted as 2x), the Samoyeds ceiling 2 x wgmma.sp (the
// 1:2 row selection skipped for free) and the memory roof (measured copy bandwidth x intensity).
// rooflineFigure(rooflineFromWgmmaJson(JSON.parse(text))) returns an SVG string.

export interface RooflinePoint {
  kernel: string;
  label: string;
  /** dense-equivalent flops per byte */
  intensity: number;
  tflops: number;
}
export interface RooflineData {
  ceilings: { name: string; tflops: number }[];
  bandwidthGBs: number;
  points: RooflinePoint[];
  title: string;
}

interface WgmmaJsonPoint { m: number; k: number; n_sel: number; kernel: string; ms: number; tflops_dense_eq: number; bytes: number; model?: string }

/** Builds the roofline data from data/wgmma.json (written by bench/wgmma.ts). */
export function rooflineFromWgmmaJson(json: {
  peaks: Record<string, number>;
  fig12: WgmmaJsonPoint[];
  sweeps?: Record<string, WgmmaJsonPoint[]>;
  provenance?: { device?: { name?: string } };
}): RooflineData {
  const sp = json.peaks.wgmma_sp_m64n256k32_tflops, dense = json.peaks.wgmma_dense_m64n256k16_tflops;
  const pts: RooflinePoint[] = [];
  const add = (p: WgmmaJsonPoint, label: string) => {
    if (!(p.bytes > 0) || !Number.isFinite(p.tflops_dense_eq)) return;
    pts.push({ kernel: p.kernel, label, intensity: (2 * p.m * p.k * p.n_sel) / p.bytes, tflops: p.tflops_dense_eq });
  };
  for (const p of json.fig12) add(p, `${p.model ?? ""} ${p.m}x${p.k}`);
  for (const [axis, list] of Object.entries(json.sweeps ?? {})) for (const p of list) add(p, `sweep ${axis}: ${p.m}x${p.k}x${p.n_sel}`);
  return {
    ceilings: [
      { name: "dense wgmma peak", tflops: dense },
      { name: "wgmma.sp peak", tflops: sp },
      { name: "Samoyeds ceiling (2 x wgmma.sp)", tflops: 2 * sp },
    ].filter((c) => Number.isFinite(c.tflops)),
    bandwidthGBs: json.peaks.copy_bandwidth_gbs,
    points: pts,
    title: `SSMM roofline${json.provenance?.device?.name ? ` (${json.provenance.device.name})` : ""}`,
  };
}

const COLORS = ["#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];

/** SVG roofline, log-log axes. */
export function rooflineFigure(data: RooflineData, opts: { width?: number; height?: number } = {}): string {
  const W = opts.width ?? 760, H = opts.height ?? 460, L = 70, R = 230, T = 40, B = 50;
  const xs = data.points.map((p) => p.intensity), ys = data.points.map((p) => p.tflops);
  const xmin = Math.min(10, ...xs) / 2, xmax = Math.max(2000, ...xs) * 2;
  const ymax = Math.max(...data.ceilings.map((c) => c.tflops), ...ys, 1) * 1.6;
  const ymin = Math.max(1, Math.min(ymax / 1000, ...ys.filter((y) => y > 0)) / 2);
  const lx = (x: number) => L + ((Math.log10(x) - Math.log10(xmin)) / (Math.log10(xmax) - Math.log10(xmin))) * (W - L - R);
  const ly = (y: number) => H - B - ((Math.log10(y) - Math.log10(ymin)) / (Math.log10(ymax) - Math.log10(ymin))) * (H - T - B);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<text x="${L}" y="20" font-size="14">${esc(data.title)}</text>`);
  // grid + ticks (decades)
  for (let e = Math.ceil(Math.log10(xmin)); e <= Math.floor(Math.log10(xmax)); e++) {
    const x = lx(10 ** e);
    out.push(`<line x1="${x}" y1="${T}" x2="${x}" y2="${H - B}" stroke="#eee"/><text x="${x}" y="${H - B + 15}" text-anchor="middle">${10 ** e}</text>`);
  }
  for (let e = Math.ceil(Math.log10(ymin)); e <= Math.floor(Math.log10(ymax)); e++) {
    const y = ly(10 ** e);
    out.push(`<line x1="${L}" y1="${y}" x2="${W - R}" y2="${y}" stroke="#eee"/><text x="${L - 5}" y="${y + 4}" text-anchor="end">${10 ** e}</text>`);
  }
  out.push(`<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#444"/>`);
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">arithmetic intensity (dense-equivalent flop / byte)</text>`);
  out.push(`<text transform="translate(16 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">dense-equivalent TFLOP/s</text>`);
  // ceilings: min(peak, bandwidth * intensity)
  const bw = data.bandwidthGBs / 1000; // TB/s -> TFLOP/s per flop/byte
  for (const [i, c] of data.ceilings.entries()) {
    const knee = c.tflops / bw;
    const x0 = xmin, x1 = Math.min(Math.max(knee, xmin), xmax);
    const path = Number.isFinite(bw) && bw > 0
      ? `M ${lx(x0)} ${ly(Math.max(ymin, bw * x0))} L ${lx(x1)} ${ly(c.tflops)} L ${lx(xmax)} ${ly(c.tflops)}`
      : `M ${lx(xmin)} ${ly(c.tflops)} L ${lx(xmax)} ${ly(c.tflops)}`;
    out.push(`<path d="${path}" fill="none" stroke="#555" stroke-dasharray="${i === 2 ? "6 3" : "none"}"/>`);
    out.push(`<text x="${lx(xmax) - 4}" y="${ly(c.tflops) - 4}" text-anchor="end" fill="#333">${esc(c.name)} ${c.tflops.toFixed(0)}</text>`);
  }
  if (Number.isFinite(bw)) out.push(`<text x="${lx(xmin) + 6}" y="${ly(Math.max(ymin, bw * xmin)) - 6}" fill="#333">memory ${data.bandwidthGBs.toFixed(0)} GB/s</text>`);
  // points by kernel
  const kernels = [...new Set(data.points.map((p) => p.kernel))];
  for (const p of data.points) {
    const color = COLORS[kernels.indexOf(p.kernel) % COLORS.length];
    out.push(`<circle cx="${lx(p.intensity)}" cy="${ly(Math.max(p.tflops, ymin))}" r="3.5" fill="${color}" fill-opacity="0.8"><title>${esc(`${p.kernel}: ${p.label}: ${p.tflops.toFixed(1)} TFLOP/s`)}</title></circle>`);
  }
  for (const [i, k] of kernels.entries()) {
    out.push(`<circle cx="${W - R + 15}" cy="${T + 10 + 18 * i}" r="4" fill="${COLORS[i % COLORS.length]}"/><text x="${W - R + 24}" y="${T + 14 + 18 * i}">${esc(k)}</text>`);
  }
  out.push(`</svg>`);
  return out.join("\n");
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
