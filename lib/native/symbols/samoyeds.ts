// FFI signatures of the "Samoyeds format, pruning, SSMM" section of native/include/samoyeds.h.
// Format entry points take host buffers on every backend; sy_ssmm / sy_ssmm_grouped take backend pointers.
export const samoyedsSymbols = {
  sy_samoyeds_sizes: { parameters: ["i32", "i32", "i32", "i32", "i32", "buffer"], result: "i32" },
  sy_samoyeds_encode: { parameters: ["i32", "i32", "i32", "i32", "i32", "i32", "buffer", "buffer", "buffer", "buffer"], result: "i32" },
  sy_samoyeds_decode: { parameters: ["i32", "i32", "i32", "i32", "i32", "i32", "buffer", "buffer", "buffer", "buffer"], result: "i32" },
  sy_samoyeds_prune: { parameters: ["i32", "i32", "i32", "i32", "i32", "i32", "buffer", "buffer", "buffer"], result: "i32" },
  sy_ssmm: {
    parameters: [
      "i32", "i32", "i32", "i32", "i32", "i32", // dtype m k V N M
      "pointer", "pointer", "pointer", // values indices meta
      "pointer", "i32", "pointer", "i32", // X x_rows token_idx n_sel
      "pointer", "i32", "i32", "i32", "pointer", "i32", // Y y_dtype y_layout epilogue row_scale accum
    ],
    result: "i32",
  },
  sy_ssmm_grouped: {
    parameters: [
      "i32", "i32", "i32", "i32", "i32", "i32", "i32", // dtype m k V N M n_experts
      "pointer", "pointer", "pointer", // values indices meta
      "pointer", "i32", "pointer", "pointer", "i32", // X x_rows load_idx offsets max_selections
      "pointer", "i32", "i32", "pointer", "i32", // Y y_dtype y_mode store_idx y_rows
      "i32", "pointer", "i32", // epilogue row_scale accum
    ],
    result: "i32",
  },
  sy_ssmm_index_errors: { parameters: ["buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;
