// Prints the wgmma.sp gather variant to use for the following benchmark stages of one GPU run: `challenger` if it
// was faster than `incumbent` by more than 2% in the geometric mean over the shapes of a bench/wgmma_variants.ts
// rows file, else `incumbent`. Both are SAMOYEDS_WGMMA_VARIANT names; the rows name variants "<name>: <what>".
//   deno run --allow-read scripts/wgmma-pick-variant.ts <wgmma-variants.json> <incumbent> <challenger>
const [file, incumbent, challenger] = Deno.args;
const { rows } = JSON.parse(Deno.readTextFileSync(file)) as { rows: { m: number; k: number; variant: string; ms: number }[] };
const msOf = (name: string) => new Map(rows.filter((r) => r.variant.split(":")[0] === name).map((r) => [`${r.m}x${r.k}`, r.ms]));
const a = msOf(incumbent), b = msOf(challenger);
const shapes = [...a.keys()].filter((s) => b.has(s));
if (shapes.length === 0) {
  console.error(`no shape has both ${incumbent} and ${challenger}; keeping ${incumbent}`);
  console.log(incumbent);
} else {
  const ratio = Math.exp(shapes.reduce((s, x) => s + Math.log(a.get(x)! / b.get(x)!), 0) / shapes.length);
  console.error(`${challenger} vs ${incumbent}: ${ratio.toFixed(3)}x (geometric mean of ${shapes.length} shapes)`);
  console.log(ratio > 1.02 ? challenger : incumbent);
}
