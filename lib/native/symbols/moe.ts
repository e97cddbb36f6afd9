// FFI signatures of the "MoE layer" section of native/include/samoyeds.h (backend pointers unless noted).
export const moeSymbols = {
  sy_moe_topk: { parameters: ["i32", "i32", "i32", "i32", "pointer", "pointer", "pointer"], result: "i32" },
  sy_moe_build_indices: {
    parameters: ["i32", "i32", "i32", "pointer", "pointer", "pointer", "pointer", "pointer", "pointer"],
    result: "i32",
  },
  sy_moe_iota: { parameters: ["i32", "pointer"], result: "i32" },
  sy_moe_silu_mul: { parameters: ["i32", "i32", "i32", "pointer", "pointer", "pointer", "i32"], result: "i32" },
  sy_moe_silu_mul_pair: { parameters: ["i32", "i32", "i32", "pointer", "pointer"], result: "i32" },
  sy_moe_gather_rows: { parameters: ["i32", "i32", "i32", "pointer", "i32", "pointer", "pointer"], result: "i32" },
  sy_moe_combine: { parameters: ["i32", "i32", "i32", "pointer", "i32", "pointer", "pointer", "pointer", "i32"], result: "i32" },
  sy_moe_scatter_add: { parameters: ["i32", "i32", "pointer", "i32", "pointer", "pointer", "pointer", "i32"], result: "i32" },
  sy_moe_add_shared: { parameters: ["i32", "i32", "pointer", "i32", "pointer", "pointer"], result: "i32" },
  sy_moe_transpose: { parameters: ["i32", "i32", "i32", "pointer", "pointer"], result: "i32" },
  sy_moe_fill_random: { parameters: ["i32", "u64", "u32", "f32", "i32", "pointer"], result: "i32" },
  // counts_host and used_impl_out are host buffers
  sy_moe_dense_grouped_gemm: {
    parameters: ["i32", "i32", "i32", "i32", "pointer", "pointer", "buffer", "pointer", "i32", "i32", "buffer"],
    result: "i32",
  },
  // decoder-layer pieces (Figure 15)
  sy_moe_rmsnorm: { parameters: ["i32", "i32", "i32", "pointer", "pointer", "f32", "pointer"], result: "i32" },
  sy_moe_residual_add: { parameters: ["i32", "i32", "i32", "pointer", "pointer", "pointer"], result: "i32" },
  sy_attention_prefill: {
    parameters: ["i32", "i32", "i32", "i32", "i32", "i32", "pointer", "pointer", "pointer", "pointer"],
    result: "i32",
  },
} as const satisfies Deno.ForeignLibraryInterface;
