// Server-side figures: Observable Plot rendered with linkedom to SVG, framed with a title, legend and a caption
// that names the data source and the device, then rasterized to PNG with resvg. One place for this concept:
// every figure of the project goes through saveFigure() so each one carries where its numbers came from.
import * as Plot from "@observablehq/plot";
import { parseHTML } from "linkedom";
import { Resvg } from "@resvg/resvg-js";
import { join, relative } from "node:path";
import { repoRoot } from "../native/build.ts";

export const figuresDir = join(repoRoot, "figures");
const FONT = "DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif";
const SVG_NS = "http://www.w3.org/2000/svg";

/** What we need of a DOM node (no DOM lib in Deno's type environment). */
export interface SvgNode {
  outerHTML: string;
  tagName?: string;
}

/** A fresh DOM document for Plot (Plot needs `document` when there is no browser). */
export function plotDocument(): unknown {
  return (parseHTML("<!DOCTYPE html><html><head></head><body></body></html>") as unknown as { document: unknown }).document;
}

/** Plot.plot() with a server-side document and readable defaults (font size, white background). */
export function plot(options: Plot.PlotOptions): SvgNode {
  const el = Plot.plot({
    document: plotDocument(),
    style: { fontSize: "12px", fontFamily: FONT, background: "white", color: "black" },
    width: 720,
    height: 420,
    marginLeft: 70,
    marginBottom: 50,
    ...options,
  } as Plot.PlotOptions);
  // title/caption/swatch legends make Plot return an HTML <figure>: we draw those ourselves in pure SVG
  if (String((el as unknown as SvgNode).tagName).toLowerCase() !== "svg") {
    throw new Error("plot(): Plot returned HTML (title, caption or legend option); pass title/legend to saveFigure instead");
  }
  return el as unknown as SvgNode;
}

export interface LegendEntry {
  label: string;
  color: string;
  /** "line" (default) or "dot" */
  symbol?: "line" | "dot" | "dash";
}

export interface FigureMeta {
  /** file stem: writes figures/<name>.svg and figures/<name>.png */
  name: string;
  title: string;
  subtitle?: string;
  /** data file(s) the figure was drawn from (paths, shown relative to the repo root) */
  source: string | string[];
  /** device(s) the data came from, e.g. "NVIDIA H100 80GB HBM3 (sm_90, CUDA 12.8)" */
  device: string | string[];
  legend?: LegendEntry[];
  /** extra caption lines (e.g. "random weights", "median of 50 CUDA-graph replays") */
  notes?: string[];
  /** output folder (default figures/) */
  dir?: string;
}

const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

function asList(x: string | string[]): string[] {
  return Array.isArray(x) ? x : [x];
}

/** Serializes a Plot SVG element (or passes an SVG string through) and makes sure it has the SVG namespace. */
export function svgString(figure: SvgNode | string): string {
  let s = typeof figure === "string" ? figure : figure.outerHTML;
  s = s.trim();
  if (!s.startsWith("<svg")) throw new Error("svgString: expected an <svg> element or string");
  if (!/^<svg[^>]*\sxmlns=/.test(s)) s = s.replace(/^<svg/, `<svg xmlns="${SVG_NS}"`);
  if (!/^<svg[^>]*\sxmlns:xlink=/.test(s) && s.includes("xlink:")) s = s.replace(/^<svg/, `<svg xmlns:xlink="http://www.w3.org/1999/xlink"`);
  return s;
}

function sizeOf(svg: string): { width: number; height: number } {
  const head = svg.slice(0, svg.indexOf(">"));
  const num = (attr: string) => {
    const m = head.match(new RegExp(`\\s${attr}="([0-9.]+)`));
    return m ? Number(m[1]) : undefined;
  };
  const vb = head.match(/viewBox="([-0-9. ]+)"/);
  const [, , vw, vh] = vb ? vb[1].trim().split(/\s+/).map(Number) : [0, 0, undefined, undefined];
  const width = num("width") ?? vw, height = num("height") ?? vh;
  if (!width || !height) throw new Error("svg has no width/height or viewBox");
  return { width, height };
}

/** Splits a caption line at spaces into lines of at most `max` characters (a longer word stays whole). */
export function wrapWords(line: string, max: number): string[] {
  const out: string[] = [];
  let cur = "";
  for (const word of line.split(" ")) {
    if (cur && cur.length + 1 + word.length > max) {
      out.push(cur);
      cur = "  " + word;
    } else {
      cur = cur ? `${cur} ${word}` : word;
    }
  }
  if (cur) out.push(cur);
  return out;
}

/** Wraps a chart SVG with title, subtitle, legend row and caption (source + device) into one standalone SVG. */
export function frameFigure(chart: SvgNode | string, meta: FigureMeta): string {
  const inner = svgString(chart);
  const { width: cw, height: ch } = sizeOf(inner);
  const width = Math.max(cw, 520);
  const pad = 12;
  let y = 26;
  const parts: string[] = [];
  parts.push(`<text x="${pad}" y="${y}" font-size="17" font-weight="bold">${esc(meta.title)}</text>`);
  if (meta.subtitle) {
    y += 20;
    parts.push(`<text x="${pad}" y="${y}" font-size="13" fill="#444">${esc(meta.subtitle)}</text>`);
  }
  // legend: entries laid out left to right, wrapping at the figure width
  if (meta.legend?.length) {
    y += 22;
    let x = pad;
    for (const e of meta.legend) {
      const w = 34 + e.label.length * 7.2;
      if (x + w > width - pad && x > pad) {
        x = pad;
        y += 18;
      }
      const sym = e.symbol === "dot"
        ? `<circle cx="${x + 10}" cy="${y - 4}" r="4.5" fill="${e.color}"/>`
        : `<line x1="${x}" y1="${y - 4}" x2="${x + 20}" y2="${y - 4}" stroke="${e.color}" stroke-width="2.5"${e.symbol === "dash" ? ' stroke-dasharray="5 3"' : ""}/>`;
      parts.push(`${sym}<text x="${x + 26}" y="${y}" font-size="12">${esc(e.label)}</text>`);
      x += w;
    }
  }
  y += 10;
  const chartY = y;
  y += ch + 6;
  const caption = [
    `data: ${asList(meta.source).map((s) => (s.startsWith("/") ? relative(repoRoot, s) : s)).join(", ")}`,
    ...asList(meta.device).map((d, i, all) => `${all.length > 1 ? `device ${i + 1}` : "device"}: ${d}`),
    ...(meta.notes ?? []),
  ];
  // caption lines wrap at the figure width (about 6.1 px a character at 11 px), continuation lines indented
  const perLine = Math.max(40, Math.floor((width - 2 * pad) / 6.1));
  for (const line of caption.flatMap((l) => wrapWords(l, perLine))) {
    y += 15;
    parts.push(`<text x="${pad}" y="${y}" font-size="11" fill="#555">${esc(line)}</text>`);
  }
  const height = Math.ceil(y + pad);
  // the chart keeps its own coordinate system as a nested <svg> placed below the header
  const placed = inner.replace(/^<svg/, `<svg x="0" y="${chartY}"`);
  return `<svg xmlns="${SVG_NS}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `font-family="${FONT}" fill="black">` +
    `<rect width="100%" height="100%" fill="white"/>${parts.join("")}${placed}</svg>\n`;
}

let fontFiles: string[] | undefined;
function systemFontFiles(): string[] {
  if (fontFiles) return fontFiles;
  fontFiles = [];
  for (const dir of ["/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/liberation"]) {
    try {
      for (const e of Deno.readDirSync(dir)) if (e.isFile && e.name.endsWith(".ttf")) fontFiles.push(join(dir, e.name));
    } catch { /* folder absent */ }
  }
  return fontFiles;
}

/** Rasterizes a standalone SVG string to PNG bytes (scale 2 for crisp text). */
export function svgToPng(svg: string, scale = 2): Uint8Array {
  const r = new Resvg(svg, {
    fitTo: { mode: "zoom", value: scale },
    background: "white",
    font: { loadSystemFonts: true, fontFiles: systemFontFiles(), defaultFontFamily: "DejaVu Sans", sansSerifFamily: "DejaVu Sans" },
  });
  return r.render().asPng();
}

let warnedFonts = false;

/** Writes figures/<name>.svg and figures/<name>.png, stamped with title, legend, data source and device. */
export function saveFigure(chart: SvgNode | string, meta: FigureMeta): { svg: string; png: string } {
  const dir = meta.dir ?? figuresDir;
  Deno.mkdirSync(dir, { recursive: true });
  const svg = frameFigure(chart, meta);
  const svgPath = join(dir, `${meta.name}.svg`), pngPath = join(dir, `${meta.name}.png`);
  Deno.writeTextFileSync(svgPath, svg);
  if (!warnedFonts && systemFontFiles().length === 0) {
    warnedFonts = true;
    console.warn("figures: no DejaVu/Liberation fonts found; PNG text may be missing (apt-get install fonts-dejavu-core)");
  }
  Deno.writeFileSync(pngPath, svgToPng(svg));
  return { svg: svgPath, png: pngPath };
}

/** A qualitative palette (colorblind-friendly, Tableau 10). */
export const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

export { Plot };
