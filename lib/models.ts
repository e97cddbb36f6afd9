// MoE model configurations (public config.json values; weights are random in every experiment: no downloads).
// Router rule per model: softmax over all experts, top-k, then renormalize the k weights (renormalize: true) or
// keep the softmax probabilities (false). Sources: each model's Hugging Face config/modeling code
// (norm_topk_prob), stated in `routerSource`; "assumed" marks the two we could not check here.

export interface SharedExpertConfig {
  /** intermediate size of the shared MLP (several shared experts are one MLP of their summed width) */
  intermediate: number;
  /** Qwen-style sigmoid gate: out += sigmoid(x . w_gate) * shared(x) */
  sigmoidGate: boolean;
  /** number of shared experts folded into `intermediate` */
  count: number;
}

export interface AttentionConfig {
  heads: number;
  kvHeads: number;
  headDim: number;
}

export interface MoeModelConfig {
  name: string;
  hidden: number;
  /** intermediate size of one routed expert */
  intermediate: number;
  experts: number;
  topK: number;
  renormalize: boolean;
  routerSource: string;
  shared?: SharedExpertConfig;
  attention: AttentionConfig;
  layers: number;
  /** every `moeEvery`-th layer is MoE, the others dense MLPs of `denseIntermediate` (OpenMoE: 4; others 1) */
  moeEvery: number;
  denseIntermediate?: number;
  vocab: number;
  /** in the paper's evaluation (Figures 14-17) */
  inPaper: boolean;
}

export const MODELS: readonly MoeModelConfig[] = [
  {
    name: "MiniCPM-MoE", hidden: 2304, intermediate: 5760, experts: 8, topK: 2, renormalize: true,
    routerSource: "Mixtral-style MoE block (softmax, top-2, renormalize); assumed from its Mixtral-derived modeling code",
    attention: { heads: 36, kvHeads: 36, headDim: 64 }, layers: 40, moeEvery: 1, vocab: 122753, inPaper: true,
  },
  {
    name: "OpenMoE-34B", hidden: 3072, intermediate: 12288, experts: 32, topK: 2, renormalize: false,
    routerSource: "ST-MoE style top-2 router (softmax probabilities, not renormalized); assumed",
    attention: { heads: 24, kvHeads: 24, headDim: 128 }, layers: 32, moeEvery: 4, denseIntermediate: 12288, vocab: 256384, inPaper: true,
  },
  {
    name: "Mixtral-8x7B", hidden: 4096, intermediate: 14336, experts: 8, topK: 2, renormalize: true,
    routerSource: "HF MixtralSparseMoeBlock: softmax, top-k, divide by the top-k sum",
    attention: { heads: 32, kvHeads: 8, headDim: 128 }, layers: 32, moeEvery: 1, vocab: 32000, inPaper: true,
  },
  {
    name: "Mixtral-8x22B", hidden: 6144, intermediate: 16384, experts: 8, topK: 2, renormalize: true,
    routerSource: "HF MixtralSparseMoeBlock: softmax, top-k, divide by the top-k sum",
    attention: { heads: 48, kvHeads: 8, headDim: 128 }, layers: 56, moeEvery: 1, vocab: 32768, inPaper: true,
  },
  {
    name: "Qwen1.5-MoE-A2.7B", hidden: 2048, intermediate: 1408, experts: 60, topK: 4, renormalize: false,
    routerSource: "HF Qwen2MoeSparseMoeBlock, norm_topk_prob = false; shared expert 5632 with sigmoid gate",
    shared: { intermediate: 5632, sigmoidGate: true, count: 1 },
    attention: { heads: 16, kvHeads: 16, headDim: 128 }, layers: 24, moeEvery: 1, vocab: 151936, inPaper: true,
  },
  {
    name: "DeepSeek-MoE-16B", hidden: 2048, intermediate: 1408, experts: 64, topK: 6, renormalize: false,
    routerSource: "DeepSeek MoEGate: softmax, top-k, norm_topk_prob = false; 2 shared experts (one 2816-wide MLP, no gate)",
    shared: { intermediate: 2816, sigmoidGate: false, count: 2 },
    attention: { heads: 16, kvHeads: 16, headDim: 128 }, layers: 28, moeEvery: 1, denseIntermediate: 10944, vocab: 102400, inPaper: true,
  },
  {
    name: "Qwen2-57B-A14B", hidden: 3584, intermediate: 2560, experts: 64, topK: 8, renormalize: false,
    routerSource: "HF Qwen2MoeSparseMoeBlock, norm_topk_prob = false; shared expert 20480 with sigmoid gate",
    shared: { intermediate: 20480, sigmoidGate: true, count: 1 },
    attention: { heads: 28, kvHeads: 4, headDim: 128 }, layers: 28, moeEvery: 1, vocab: 151936, inPaper: false,
  },
  {
    name: "OLMoE-1B-7B", hidden: 2048, intermediate: 1024, experts: 64, topK: 8, renormalize: false,
    routerSource: "HF OlmoeSparseMoeBlock, norm_topk_prob = false",
    attention: { heads: 16, kvHeads: 16, headDim: 128 }, layers: 16, moeEvery: 1, vocab: 50304, inPaper: false,
  },
  {
    name: "Qwen3-30B-A3B", hidden: 2048, intermediate: 768, experts: 128, topK: 8, renormalize: true,
    routerSource: "HF Qwen3MoeSparseMoeBlock, norm_topk_prob = true",
    attention: { heads: 32, kvHeads: 4, headDim: 128 }, layers: 48, moeEvery: 1, vocab: 151936, inPaper: false,
  },
];

export function modelByName(name: string): MoeModelConfig {
  const m = MODELS.find((x) => x.name === name);
  if (!m) throw new RangeError(`unknown model "${name}"; known: ${MODELS.map((x) => x.name).join(", ")}`);
  return m;
}

/** A tiny model of the same structure for tests (shapes divisible by the Samoyeds tile rules: m % 2, k % V). */
export function tinyModel(over: Partial<MoeModelConfig> = {}): MoeModelConfig {
  return {
    name: "tiny", hidden: 128, intermediate: 256, experts: 4, topK: 2, renormalize: true, routerSource: "test",
    attention: { heads: 2, kvHeads: 1, headDim: 64 }, layers: 1, moeEvery: 1, vocab: 1000, inPaper: false, ...over,
  };
}
