// Prints the wgmma.sp kernel variant to use for the later benchmark stages of one GPU run: the fastest of the
// challengers (geometric mean over the shapes of a bench/wgmma_variants.ts rows file) if it beats the incumbent by
// more than 2%, else the incumbent. Names are SAMOYEDS_WGMMA_VARIANT values; the rows name variants "<name>: <what>".
// The comparison goes to stderr.
//   deno run --allow-read scripts/wgmma-pick-variant.ts <wgmma-variants.json> <incumbent> <challenger> [...]
const [file, incumbent, ...challengers] = Deno.args;
const { rows } = JSON.parse(Deno.readTextFileSync(file)) as { rows: { m: number; k: number; variant: string; ms: number }[] };
const msOf = (name: string) => new Map(rows.filter((r) => r.variant.split(":")[0] === name).map((r) => [`${r.m}x${r.k}`, r.ms]));
const base = msOf(incumbent);
let best = incumbent, bestRatio = 1.02;
for (const c of challengers) {
  const b = msOf(c);
  const shapes = [...base.keys()].filter((s) => b.has(s));
  if (shapes.length === 0) {
    console.error(`${c}: no shape measured together with ${incumbent}`);
    continue;
  }
  const ratio = Math.exp(shapes.reduce((s, x) => s + Math.log(base.get(x)! / b.get(x)!), 0) / shapes.length);
  console.error(`${c} vs ${incumbent}: ${ratio.toFixed(3)}x (geometric mean of ${shapes.length} shapes)`);
  if (ratio > bestRatio) best = c, bestRatio = ratio;
}
console.log(best);
