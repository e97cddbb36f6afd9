// Writes a SYNTHETIC kernel-level JSON (made-up numbers, provenance.synthetic = true) to check that the figure code
// renders without GPU data. Never write it into data/.  deno run --allow-all scripts/kernel_level_example.ts OUT.json
import type { KernelPoint } from "../bench/kernel.ts";

export function syntheticKernelLevel(): { provenance: Record<string, unknown>; points: KernelPoint[] } {
  const points: KernelPoint[] = [];
  const rate: Record<string, number> = { cublas: 650, cusparselt: 600, vnm: 520, "vnm+gather": 470, gather: 0, "cublas+gather": 600, "cusparselt+gather": 550, samoyeds_ssmm: 560 };
  const add = (figure: "fig12" | "fig13", sweep: "m" | "k" | "n" | undefined, m: number, k: number, n: number) => {
    const nr = n / 4;
    for (const [method, tokensList] of Object.entries({ cublas: ["all", "routed"], cusparselt: ["all", "routed"], vnm: ["all", "routed"], "vnm+gather": ["routed"], "cublas+gather": ["routed"], "cusparselt+gather": ["routed"], gather: ["routed"], samoyeds_ssmm: ["routed"] })) {
      for (const tokens of tokensList as ("all" | "routed")[]) {
        const nw = tokens === "all" ? n : nr;
        const eff = Math.min(1, (m * k * nw) / 4e9) ** 0.3;
        const tflops = method === "gather" ? 0 : rate[method] * eff;
        const ms = method === "gather" ? (nr * k * 4) / 3e9 : (2 * m * k * nw) / (tflops * 1e9);
        points.push({ figure, sweep, m, k, n, n_routed: nr, method, tokens, ms, p10_ms: ms * 0.98, p90_ms: ms * 1.03, iters: 100, tflops: (2 * m * k * nw) / (ms * 1e9), tflops_required: (2 * m * k * nr) / (ms * 1e9) });
      }
    }
  };
  for (const [m, k] of [[1408, 2048], [5760, 2304], [12288, 3072], [14336, 4096], [16384, 6144]]) add("fig12", undefined, m, k, 4096);
  for (const sw of ["m", "k", "n"] as const) {
    for (const v of [256, 512, 1024, 2048, 4096, 8192, 16384]) add("fig13", sw, sw === "m" ? v : 4096, sw === "k" ? v : 4096, sw === "n" ? v : 4096);
  }
  return { provenance: { synthetic: true, device: { name: "no device (synthetic)" }, dtype: "f16", date: new Date().toISOString() }, points };
}

if (import.meta.main) {
  const out = Deno.args[0] ?? "/tmp/kernel-level-synthetic.json";
  if (/(^|\/)data\//.test(out)) throw new Error("synthetic data must not go into data/");
  await Deno.writeTextFile(out, JSON.stringify(syntheticKernelLevel(), null, 1));
  console.log(out);
}
