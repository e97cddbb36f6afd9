// FFI signatures of the "Hopper wgmma.sp SSMM" section of native/include/samoyeds.h (issue 5).
const ssmmParams = [
  "i32", "i32", "i32", "i32", "i32", "i32", // dtype, m, k, V, N, M
  "pointer", "pointer", "pointer", // wvalues, indices, wmeta
  "pointer", "i32", "pointer", "i32", // X, x_rows, token_idx, n_sel
  "pointer", "i32", "i32", "i32", "pointer", "i32", // Y, y_dtype, y_layout, epilogue, row_scale, accum
] as const;

export const wgmmaSymbols = {
  sy_samoyeds_wgmma_sizes: { parameters: ["i32", "i32", "i32", "i32", "i32", "buffer"], result: "i32" },
  sy_samoyeds_wgmma_pack: {
    parameters: ["i32", "i32", "i32", "i32", "i32", "i32", "buffer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  sy_samoyeds_wgmma_pack_dense: {
    parameters: ["i32", "i32", "i32", "i32", "i32", "i32", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  sy_ssmm_wgmma: { parameters: ssmmParams, result: "i32" },
  sy_ssmm_wgmma_emulate: { parameters: ssmmParams, result: "i32" },
  sy_ssmm_wgmma_grouped: {
    parameters: [
      "i32", "i32", "i32", "i32", "i32", "i32", "i32", // dtype m k V N M n_experts
      "pointer", "pointer", "pointer", // packed values, indices, packed meta (stacked per expert)
      "pointer", "i32", "pointer", "pointer", "i32", // X x_rows load_idx offsets max_selections
      "pointer", "i32", "i32", "pointer", "i32", // Y y_dtype y_mode store_idx y_rows
      "i32", "pointer", "i32", // epilogue row_scale accum
    ],
    result: "i32",
  },
  sy_ssmm_wgmma_bad_tokens: { parameters: ["buffer"], result: "i32" },
  sy_wgmma_variants: { parameters: ["buffer", "i32"], result: "i32" },
  sy_wgmma_split_plan: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  sy_wgmma_tile_plan: { parameters: ["i32", "i32", "i32", "i32", "buffer"], result: "i32" },
  sy_wgmma_persist_plan: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  sy_wgmma_peak: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;
