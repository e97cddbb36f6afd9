// FFI signatures of the baselines section of native/include/samoyeds.h (V:2:8 SpMM, token gather, cuSPARSELt).
export const baselineSymbols = {
  sy_vnm_sizes: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  sy_vnm_encode: { parameters: ["i32", "i32", "i32", "i32", "buffer", "buffer", "buffer", "buffer"], result: "i32" },
  sy_vnm_decode: { parameters: ["i32", "i32", "i32", "i32", "buffer", "buffer", "buffer", "buffer"], result: "i32" },
  sy_vnm_prune: { parameters: ["i32", "i32", "i32", "i32", "buffer", "buffer", "buffer"], result: "i32" },
  sy_vnm_spmm: {
    parameters: ["i32", "i32", "i32", "i32", "pointer", "pointer", "pointer", "pointer", "i32", "pointer", "i32"],
    result: "i32",
  },
  sy_gather_rows: { parameters: ["i32", "i32", "i32", "pointer", "i32", "pointer", "pointer"], result: "i32" },
  sy_splt_create: { parameters: ["i32", "i32", "i32", "i32", "pointer", "i32", "pointer", "buffer"], result: "i32" },
  sy_splt_matmul: { parameters: ["pointer", "pointer", "pointer"], result: "i32" },
  sy_splt_destroy: { parameters: ["pointer"], result: "i32" },
  sy_splt_info: { parameters: ["pointer", "buffer", "i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;
