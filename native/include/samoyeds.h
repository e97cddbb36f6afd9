/*
 * libsamoyeds: the one public C ABI of this project.
 *
 * Two backends implement this same header:
 *   build/lib/libsamoyeds_cpu.so   C++ reference backend (g++), ground truth for tests
 *   build/lib/libsamoyeds_cuda.so  CUDA backend (nvcc), loaded only where a GPU is present
 * A backend that does not implement an entry point still exports it and returns SY_ERR_UNSUPPORTED.
 *
 * Conventions (all entry points):
 *  - Every function returns sy_status (0 = SY_OK). On failure sy_last_error() holds a message that
 *    names the function, what was wrong and what to do. The message is process-global (guarded by a
 *    mutex), so it survives Deno's nonblocking FFI threads.
 *  - "Memory of the backend": for the CPU backend plain host memory, for the CUDA backend device memory
 *    from sy_malloc. Compute entry points take pointers to memory of their backend.
 *  - Matrix convention (paper's naming): a weight W is m x k row-major (m = output features,
 *    k = reduction/hidden). Activations X are T x k row-major (token-major, T = all tokens).
 *    A dense product is Y = X * W^T with Y n x m (token-major) or m x n (feature-major, "normal").
 *  - dtypes: SY_F16, SY_BF16 for 16-bit operands (stored as uint16), SY_F32 for outputs/accumulation.
 *  - CUDA backend: compute entry points enqueue on the library's current stream and return without
 *    synchronizing (so they can be captured into a CUDA graph and timed); sy_synchronize() waits and
 *    reports asynchronous errors. The CPU backend runs synchronously.
 */
#ifndef SAMOYEDS_H
#define SAMOYEDS_H
#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
#define SY_EXTERN extern "C"
#else
#define SY_EXTERN
#endif
#define SY_API SY_EXTERN __attribute__((visibility("default")))

typedef int32_t sy_status;
enum {
  SY_OK = 0,
  SY_ERR_INVALID = 1,      /* bad argument: shape, dtype, null pointer, out-of-range index */
  SY_ERR_UNSUPPORTED = 2,  /* this backend does not implement this entry point or option */
  SY_ERR_NO_DEVICE = 3,    /* no GPU / no CUDA driver */
  SY_ERR_CUDA = 4,         /* a CUDA runtime error (message has cudaGetErrorString) */
  SY_ERR_LIBRARY = 5,      /* a run-time loaded library (cuBLAS, cuSPARSELt) is missing or failed */
  SY_ERR_OOM = 6,          /* allocation failed */
  SY_ERR_PATTERN = 7,      /* a weight does not conform to the declared sparsity pattern */
  SY_ERR_INTERNAL = 8
};

enum { SY_F16 = 0, SY_BF16 = 1, SY_F32 = 2, SY_I32 = 3, SY_U8 = 4, SY_U32 = 5 };

/* ===== core: errors, build info, devices, memory (native/src/{cpu,cuda}/core.*) ===== */
SY_API const char* sy_last_error(void);
/* "cpu" or "cuda" */
SY_API const char* sy_backend_name(void);
/* JSON: {"backend","version","compiler","cuda_runtime","build_flags","arch"} */
SY_API sy_status sy_build_info(char* json_out, int32_t capacity);
SY_API sy_status sy_device_count(int32_t* count);
/* JSON: {"name","cc_major","cc_minor","sm_count","memory_bytes","l2_bytes","driver_version","runtime_version",...} */
SY_API sy_status sy_device_info(int32_t device, char* json_out, int32_t capacity);
SY_API sy_status sy_set_device(int32_t device);
SY_API sy_status sy_malloc(uint64_t bytes, void** ptr_out);
SY_API sy_status sy_free(void* ptr);
SY_API sy_status sy_copy_to_backend(void* dst, const void* host_src, uint64_t bytes);
SY_API sy_status sy_copy_from_backend(void* host_dst, const void* src, uint64_t bytes);
SY_API sy_status sy_copy_within(void* dst, const void* src, uint64_t bytes);
SY_API sy_status sy_memset(void* dst, int32_t byte_value, uint64_t bytes);
SY_API sy_status sy_synchronize(void);
/* element conversion on backend memory between SY_F16 / SY_BF16 / SY_F32 */
SY_API sy_status sy_convert(const void* src, int32_t src_dtype, void* dst, int32_t dst_dtype, uint64_t count);
/* n standard normal samples times `scale` into host memory, the sequence of randn(n, seed, scale) in lib/tensor.ts
 * (mulberry32, Box-Muller), bit for bit. Both backends. */
SY_API sy_status sy_randn_f32(uint64_t n, uint32_t seed, double scale, float* out);

/* Timing (CUDA backend): capture the ops enqueued between begin and end into a graph, then replay it
 * warmup times and iters times, each replay bracketed by CUDA events; times_ms gets iters entries. */
typedef struct sy_graph sy_graph;
SY_API sy_status sy_capture_begin(void);
SY_API sy_status sy_capture_end(sy_graph** graph_out);
SY_API sy_status sy_graph_time(sy_graph* graph, int32_t warmup, int32_t iters, float* times_ms);
SY_API sy_status sy_graph_destroy(sy_graph* graph);

/* ===== dense GEMM reference and cuBLAS baseline (native/src/{cpu,cuda}/gemm.*) =====
 * Y = alpha * X[rows of X] * W^T.  X: n x k, W: m x k (both row-major, dtype), Y: f32 or dtype.
 * y_layout 0 = token-major (n x m), 1 = feature-major (m x n). CUDA: cuBLAS (loaded at run time). */
SY_API sy_status sy_gemm(int32_t dtype, int32_t n, int32_t m, int32_t k,
                         const void* X, const void* W, void* Y, int32_t y_dtype, int32_t y_layout);

/* ===== Samoyeds format, pruning, SSMM (issue 3; native/src/{common,cpu,cuda}/samoyeds_*, ssmm*) =====
 * Samoyeds weight format. W is m x k row-major (dtype f16/bf16). Rows are grouped in groups of M; k is cut into
 * vectors of length V (32, 64 or 128). In each (row group, k-vector) cell N of the M row-vectors are kept, and each
 * kept vector is 2:4 along k. Supported (N, M): (1, 2) (the paper's, density 25%), (2, 4) (25%), (1, 4) (12.5%).
 * Rules: m > 0 and m % M == 0; k > 0 and k % V == 0 (V >= 32 also makes k a multiple of the 2:4 group and of 32).
 * Arrays (host memory for encode/decode/prune, on every backend; uploaded as-is for the CUDA backend):
 *   values : C x (k/2) dtype elements, C = m*N/M condensed rows; row G*N+i of group G holds, per k-vector, the
 *            2:4-compressed kept vector (2 values per 4-wide group, in ascending position order).
 *   indices: C x (k/V) uint8: which row (0..M-1) of its group condensed row c takes in each k-vector; within a
 *            group the N indices of a k-vector are distinct and ascending.
 *   meta   : ceil(C/16) x (k/32) blocks of 16 uint32 words (64 bytes), block (rb, s) at word (rb*(k/32)+s)*16.
 *            Word 2*g+j of a block (g in 0..7, j in 0..1) is the mma.sp.m16n8k32 (sparsity selector 0) metadata
 *            register of lanes 4g+j (and 4g+j+2, which load the same word): bits [16h+4q, 16h+4q+3] hold the two
 *            2-bit positions (first in the low 2 bits, ascending: "ordered metadata") of 4-wide group q (k columns
 *            32s+16j+4q .. +3) of condensed row 16rb+g+8h. Padding rows (c >= C) hold 0x4 nibbles (positions 0,1).
 *            So each thread loads its metadata with one 32-bit load per 32-wide k-tile. */
SY_API sy_status sy_samoyeds_sizes(int32_t m, int32_t k, int32_t V, int32_t N, int32_t M, uint64_t* bytes_out /* [3]: values, indices, meta */);
SY_API sy_status sy_samoyeds_encode(int32_t dtype, int32_t m, int32_t k, int32_t V, int32_t N, int32_t M,
                                    const void* W, void* values, void* indices, void* meta);  /* SY_ERR_PATTERN if W is not in the pattern */
SY_API sy_status sy_samoyeds_decode(int32_t dtype, int32_t m, int32_t k, int32_t V, int32_t N, int32_t M,
                                    const void* values, const void* indices, const void* meta, void* W_out);
/* magnitude pruner: keeps in each cell the N row-vectors of largest L2 norm (ties: lower row), then the 2 largest
 * |w| of each 4 (ties: lower position). kept_energy_out (may be null) = sum(kept w^2) / sum(w^2) (1 for W = 0). */
SY_API sy_status sy_samoyeds_prune(int32_t dtype, int32_t m, int32_t k, int32_t V, int32_t N, int32_t M,
                                   const void* W, void* W_pruned, double* kept_energy_out);

/* SSMM: Y = X[token_idx] * W^T for the selected tokens only, W in the Samoyeds format (on the backend).
 * X: x_rows x k token-major (all tokens); token_idx: n_sel int32 in [0, x_rows) (duplicates allowed; n_sel may be 0).
 * Out of range index: SY_ERR_INVALID on the CPU backend; the CUDA kernel clamps it, counts it on the device and
 * sy_ssmm_index_errors reports (and resets) the count. y_layout 0: Y is n_sel x m token-major; 1: Y is m x n_sel
 * feature-major. epilogue: 0 none, 1 SiLU, 2 multiply row j by row_scale[j] (f32, n_sel). accum: 0 f32 (default),
 * 1 f16 (paper's; f16 operands only; the CPU reference rounds each row's sum to f16 after every 32-wide k-tile).
 * y_dtype: SY_F32 or the operand dtype. CUDA backend: (N, M) = (1, 2), (2, 4) and (1, 4) are supported. */
SY_API sy_status sy_ssmm(int32_t dtype, int32_t m, int32_t k, int32_t V, int32_t N, int32_t M,
                         const void* values, const void* indices, const void* meta,
                         const void* X, int32_t x_rows, const int32_t* token_idx, int32_t n_sel,
                         void* Y, int32_t y_dtype, int32_t y_layout, int32_t epilogue, const float* row_scale, int32_t accum);

/* Grouped SSMM over E experts in ONE launch (MoE). Expert e's values/indices/meta start at e times the
 * per-expert byte sizes of sy_samoyeds_sizes. Selections of expert e are j in [offsets[e], offsets[e+1]) (offsets:
 * E+1 int32 on the backend, non-decreasing, offsets[0] = 0, computed on the GPU: no host sync). max_selections bounds
 * offsets[E] (grid sizing; selections beyond it are not computed and counted as index errors on CUDA).
 * Row j loads X[load_idx[j]]; load_idx NULL: row j loads X[j] (rows already compact, e.g. a down projection;
 * needs max_selections <= x_rows). y_mode 0: Y row j (compact, token-major n x m, y_dtype; n = max_selections rows
 * allocated); y_mode 1: atomically add the f32 row into Y[store_idx[j]] (Y: y_rows x m f32, y_dtype must be SY_F32).
 * epilogue / row_scale[j] (indexed by selection j) / accum as in sy_ssmm, plus (grouped only) epilogue 3, SwiGLU of
 * a stacked gate-up weight whose rows are interleaved in blocks of 16 (SY_SWIGLU_BLOCK): stacked rows 32b .. 32b+15
 * are gate rows 16b .. 16b+15, rows 32b+16 .. 32b+31 the up rows of the same features. Y row j then has m/2 columns,
 * Y[j][f] = SiLU(gate_f) * up_f; it needs y_mode 0 and m % 32 == 0. The CPU backend and sy_ssmm_wgmma_grouped
 * implement it, and the CUDA mma.sp kernel for N:M = 1:2 (other N:M: SY_ERR_UNSUPPORTED; use epilogue 0, then
 * sy_moe_silu_mul_pair). */
SY_API sy_status sy_ssmm_grouped(int32_t dtype, int32_t m, int32_t k, int32_t V, int32_t N, int32_t M, int32_t n_experts,
                                 const void* values, const void* indices, const void* meta,
                                 const void* X, int32_t x_rows, const int32_t* load_idx, const int32_t* offsets,
                                 int32_t max_selections, void* Y, int32_t y_dtype, int32_t y_mode,
                                 const int32_t* store_idx, int32_t y_rows, int32_t epilogue, const float* row_scale, int32_t accum);
/* Device-side index errors counted by sy_ssmm / sy_ssmm_grouped / sy_ssmm_wgmma(_grouped) since the last call (CUDA: synchronizes the stream,
 * then reads and resets the counter; CPU: always 0, the CPU backend rejects bad indices up front). */
SY_API sy_status sy_ssmm_index_errors(int32_t* count_out);

/* ===== Baselines: VENOM-style V:N:M SpMM, cuSPARSELt 2:4, token gather (issue 3) ===== */
/* VENOM-style V:2:8 weight format (our own; the paper's Figure 12 baseline at the same 75% sparsity). W is m x k
 * row-major f16/bf16. Rows in blocks of V (64 or 128; the last block may be shorter), k in 8-wide column blocks
 * (k % 8 == 0). Each (row block, column block) cell keeps 4 of its 8 columns for all its rows (colmask), and each
 * row keeps 2 of those 4 (2:4 on the condensed columns): density 2/8 = 25%. Arrays (host memory for
 * encode/decode/prune; uploaded as-is for the CUDA backend), exact layout in native/src/common/vnm_layout.h:
 *   values : ceil(k/64) x ceil(m/16) blocks of 256 halves: the mma.sp.m16n8k32 A-fragment registers of each lane
 *   meta   : ceil(k/64) x ceil(m/16) blocks of 16 uint32 mma.sp metadata words (sparsity selector 0)
 *   colmask: ceil(m/V) x (k/8) uint8, bit c set = column 8*cb + c kept (exactly 4 bits set).
 * bytes_out[3]: values, meta, colmask. */
SY_API sy_status sy_vnm_sizes(int32_t m, int32_t k, int32_t V, uint64_t* bytes_out);
/* SY_ERR_PATTERN (naming the first offending block) if W is not V:2:8. */
SY_API sy_status sy_vnm_encode(int32_t dtype, int32_t m, int32_t k, int32_t V, const void* W, void* values, void* meta,
                               void* colmask);
SY_API sy_status sy_vnm_decode(int32_t dtype, int32_t m, int32_t k, int32_t V, const void* values, const void* meta,
                               const void* colmask, void* W_out);
/* Magnitude pruner: per cell the 4 columns of largest summed w^2 (ties: lower column), then per row the 2 largest
 * |w| of those 4 (ties: lower). kept_energy_out (nullable) = sum(kept w^2) / sum(w^2) (1 for W = 0). */
SY_API sy_status sy_vnm_prune(int32_t dtype, int32_t m, int32_t k, int32_t V, const void* W, void* W_pruned,
                              double* kept_energy_out);
/* Weight-only SpMM on PRE-GATHERED tokens: Y (n x m, token-major, y_dtype f32 or dtype) = X (n x k) * W^T, f32
 * accumulation. Any m, n >= 0; k % 8 == 0. CUDA: mma.sp.m16n8k32 kernel (X must be 16-byte aligned); CPU: an
 * emulation of the kernel's fragment data path. */
SY_API sy_status sy_vnm_spmm(int32_t dtype, int32_t m, int32_t k, int32_t V, const void* values, const void* meta,
                             const void* colmask, const void* X, int32_t n, void* Y, int32_t y_dtype);
/* Token gather (the baselines' routing step, timed separately): Xg[j] = X[idx[j]] for j < n, rows of `width`
 * elements of dtype (f16/bf16/f32). idx in [0, x_rows): CPU rejects others with SY_ERR_INVALID; CUDA (no host sync)
 * writes a zero row for an out-of-range index. */
SY_API sy_status sy_gather_rows(int32_t dtype, int32_t n, int32_t width, const void* X, int32_t x_rows,
                                const int32_t* idx, void* Xg);
/* cuSPARSELt 2:4 baseline, called directly (libcusparseLt.so.0 loaded at run time: $SAMOYEDS_CUSPARSELT (file or
 * folder), then the loader path, then typical folders incl. python site-packages nvidia/cusparselt/lib).
 * sy_splt_create builds the plan for Y (n x m token-major, dtype) = X (n x k) * W^T once: a copy of W (m x k on the
 * backend, dtype; k a multiple of 4) is pruned to 2:4 along k if prune = 1 (magnitude: the 2 largest |w| of each 4
 * consecutive k of a row are kept), else it must already be 2:4 along k (SY_ERR_PATTERN, with the count of bad
 * groups); the pruned weight is copied to W_pruned_out (nullable, m x k), checked by cuSPARSELt's prune check
 * (a layout the library refuses: SY_ERR_LIBRARY naming each layout tried and the library's answer), compressed,
 * and the algorithm searched (synchronizes). sy_splt_matmul enqueues one product on the library stream
 * (capturable; no sync). No library: SY_ERR_LIBRARY; CPU backend: SY_ERR_UNSUPPORTED. sy_splt_info: JSON
 * {"library","version","layout","alg_id","workspace_bytes","compressed_bytes","m","k","n"}. */
typedef struct sy_splt sy_splt;
SY_API sy_status sy_splt_create(int32_t dtype, int32_t m, int32_t k, int32_t n, const void* W, int32_t prune,
                                void* W_pruned_out, sy_splt** plan_out);
SY_API sy_status sy_splt_matmul(sy_splt* plan, const void* X, void* Y);
SY_API sy_status sy_splt_destroy(sy_splt* plan);
SY_API sy_status sy_splt_info(sy_splt* plan, char* json_out, int32_t capacity);

/* ===== MoE layer (issue 4; native/src/{cpu,cuda}/moe_*) =====
 * Building blocks of the MoE forward; lib/moe.ts composes them with sy_gemm and sy_ssmm_grouped. All run on
 * the backend without host syncs (CUDA: capturable). T tokens, E experts, k = top-k, S = T*k selections.
 * A selection is (token t, slot i), flat index f = t*k + i. Experts' selections are sorted by expert, then by f
 * (a stable counting sort: deterministic). */
/* Router: logits (T x E f32) -> softmax over all E -> top-k (descending, ties to the lower expert id) ->
 * renormalize 1: divide the k weights by their sum (Mixtral, Qwen3), 0: keep softmax probabilities (Qwen1.5/2, OLMoE). */
SY_API sy_status sy_moe_topk(int32_t T, int32_t E, int32_t k, int32_t renormalize, const float* logits,
                             int32_t* topk_ids, float* topk_weights);
/* Index lists from topk_ids (S int32 in [0, E); CUDA clamps bad ids into range, CPU rejects them):
 * offsets (E+1): expert e's selections are j in [offsets[e], offsets[e+1]); token_of (S): token of selection j
 * (load_idx of gate/up, store_idx of the down scatter); weight_of (S f32): its routing weight (topk_weights may
 * be null -> 1); slot_of (S): selection position j of flat index f (inverse map, for the deterministic combine). */
SY_API sy_status sy_moe_build_indices(int32_t T, int32_t k, int32_t E, const int32_t* topk_ids,
                                      const float* topk_weights, int32_t* offsets, int32_t* token_of,
                                      float* weight_of, int32_t* slot_of);
/* out[j] = j for j < n (identity load_idx of the down projection over compact rows) */
SY_API sy_status sy_moe_iota(int32_t n, int32_t* out);
/* H = act(G) * U elementwise over n x width (dtype f16/bf16); apply_silu 1: act = SiLU, 0: G already holds SiLU(gate). */
SY_API sy_status sy_moe_silu_mul(int32_t dtype, int32_t n, int32_t width, const void* G, const void* U, void* H,
                                 int32_t apply_silu);
/* Fused gate-up rows, interleaved in blocks of 16 as for epilogue 3 of sy_ssmm_grouped (width % 16 == 0):
 * H[j][f] = SiLU(GU[j][32 (f / 16) + f % 16]) * GU[j][32 (f / 16) + 16 + f % 16] (GU: n x 2*width, H: n x width,
 * no aliasing). */
SY_API sy_status sy_moe_silu_mul_pair(int32_t dtype, int32_t n, int32_t width, const void* GU, void* H);
/* Xg[j] = X[idx[j]] for j < n (rows of `width` dtype elements; idx in [0, x_rows)). */
SY_API sy_status sy_moe_gather_rows(int32_t dtype, int32_t n, int32_t width, const void* X, int32_t x_rows,
                                    const int32_t* idx, void* Xg);
/* Deterministic combine: Y[t] (accumulate 1: +=, 0: =) sum over i = 0..k-1 in order of
 * (weights ? weights[t*k+i] : 1) * C[slot_of[t*k+i]]. C: S x width (c_dtype f32 or f16/bf16), Y: T x width f32. */
SY_API sy_status sy_moe_combine(int32_t T, int32_t k, int32_t width, const void* C, int32_t c_dtype,
                                const int32_t* slot_of, const float* weights, float* Y, int32_t accumulate);
/* Atomic scatter-add (Hugging Face index_add_): Y[store_idx[j]] += (row_weight ? row_weight[j] : 1) * C[j], j < n.
 * Order of the float adds is not fixed on CUDA (not bitwise deterministic). */
SY_API sy_status sy_moe_scatter_add(int32_t n, int32_t width, const void* C, int32_t c_dtype, const int32_t* store_idx,
                                    const float* row_weight, float* Y, int32_t y_rows);
/* Shared expert output: Y[t] += (gate_logit ? sigmoid(gate_logit[t]) : 1) * S[t]; S: T x width (f32 or f16/bf16). */
SY_API sy_status sy_moe_add_shared(int32_t T, int32_t width, const void* S, int32_t s_dtype, const float* gate_logit,
                                   float* Y);
/* out (cols x rows) = in (rows x cols)^T, dtype f16/bf16/f32 (ablation: the layout transposes the +L step removes). */
SY_API sy_status sy_moe_transpose(int32_t dtype, int32_t rows, int32_t cols, const void* in, void* out);
/* Benchmark inputs without a host round trip: out[i] = uniform(-scale, scale) from a hash of (seed, i) for
 * dtype f16/bf16/f32, or hash % modulo for SY_U8 (e.g. Samoyeds indices). Same values on both backends up to rounding. */
SY_API sy_status sy_moe_fill_random(int32_t dtype, uint64_t count, uint32_t seed, float scale, int32_t modulo, void* out);
/* Dense grouped GEMM baseline on gathered rows: for each expert e with c_e = counts_host[e] > 0 (counts on the HOST:
 * this baseline knows them), Y[o_e .. o_e+c_e) = X[o_e .. o_e+c_e) * W_e^T, o_e = sum of earlier counts.
 * W: E x m x k row-major; Y token-major (y_dtype f32 or dtype). impl 0: cublasGemmGroupedBatchedEx when the loaded
 * cuBLAS has it, else a loop of cublasGemmEx; 1: always the loop. used_impl_out (nullable): 1 grouped, 2 loop, 0 CPU. */
SY_API sy_status sy_moe_dense_grouped_gemm(int32_t dtype, int32_t E, int32_t m, int32_t k, const void* W,
                                           const void* X, const int32_t* counts_host, void* Y, int32_t y_dtype,
                                           int32_t impl, int32_t* used_impl_out);

/* Decoder-layer pieces (Figure 15). RMSNorm: out[t] = X[t] / sqrt(mean(X[t]^2) + eps) * (gamma ? gamma : 1), dtype
 * in and out. Residual: out = X + Y (X, out dtype; Y f32). */
SY_API sy_status sy_moe_rmsnorm(int32_t dtype, int32_t T, int32_t width, const void* X, const void* gamma, float eps,
                                void* out);
SY_API sy_status sy_moe_residual_add(int32_t dtype, int32_t T, int32_t width, const void* X, const float* Y, void* out);
/* Causal self-attention of n_seq sequences of seq_len tokens (prefill), grouped-query (heads % kv_heads == 0), scale
 * 1/sqrt(head_dim), no RoPE. qkv: (n_seq*seq_len) x ((heads + 2*kv_heads)*head_dim) dtype, per token [q heads | k | v].
 * Workspaces: scores heads*seq_len^2 f32, probs heads*seq_len^2 dtype. out: (n_seq*seq_len) x (heads*head_dim) dtype.
 * CUDA: cuBLAS strided-batched GEMMs for QK^T and PV (one call per sequence and kv head) + a causal softmax kernel
 * (a plain, non-fused attention: stated as such in Figure 15). CPU: loops, probabilities rounded to dtype as on CUDA. */
SY_API sy_status sy_attention_prefill(int32_t dtype, int32_t n_seq, int32_t seq_len, int32_t heads, int32_t kv_heads,
                                      int32_t head_dim, const void* qkv, float* scores, void* probs, void* out);

/* ===== Hopper wgmma.sp SSMM (issue 5; native/src/cuda/ssmm_wgmma*) ===== */
/* The weight is re-packed offline for wgmma.sp (N=1, M=2, V in {32,64,128}, k % 8 == 0): values in tile order (each
 * 128-row x 64-k block is the byte image of the kernel's shared-memory stage) and wgmma.sp metadata words; the
 * format's indices are used as they are. Host memory in, host memory out (both backends); upload the results.
 * bytes_out[2]: packed values, packed metadata. */
SY_API sy_status sy_samoyeds_wgmma_sizes(int32_t m, int32_t k, int32_t V, int32_t N, int32_t M, uint64_t* bytes_out);
/* from the format's canonical arrays (through sy_samoyeds_decode) */
SY_API sy_status sy_samoyeds_wgmma_pack(int32_t dtype, int32_t m, int32_t k, int32_t V, int32_t N, int32_t M,
                                        const void* values, const void* indices, const void* meta,
                                        void* wvalues_out, void* wmeta_out);
/* from a dense m x k weight already in the pattern plus the format's indices ((m/2) x ceil(k/V) uint8) */
SY_API sy_status sy_samoyeds_wgmma_pack_dense(int32_t dtype, int32_t m, int32_t k, int32_t V, int32_t N, int32_t M,
                                              const void* W, const void* indices, void* wvalues_out, void* wmeta_out);
/* JSON array of the wgmma.sp kernel variants (SAMOYEDS_WGMMA_VARIANT picks one per call; both backends, the CPU
 * emulation models each): [{"name","gather","cluster","schedule","routing","default","description"}]. */
SY_API sy_status sy_wgmma_variants(char* json_out, int32_t capacity);
/* The split-k plan of a single wgmma.sp launch of `tiles` output tiles with n_iters k-loop iterations on a GPU of
 * `sms` SMs, under SAMOYEDS_WGMMA_SPLIT (auto, off, S, S:W): plan_out = {pieces, first}: tiles [first, tiles) run
 * as `pieces` k ranges each (pieces 1: no split). Both backends (the CPU emulation follows the same plan). */
SY_API sy_status sy_wgmma_split_plan(int32_t tiles, int32_t n_iters, int32_t sms, int32_t* plan_out);
/* The token-tile plan of a wgmma.sp launch of the default variant (`row_tiles` tiles of 256 output rows, n_sel
 * selections; n_experts > 0: grouped) on a GPU of `sms` SMs, under SAMOYEDS_WGMMA_TILES (auto, 128, 64, auto:W):
 * *rows128_out = the row tiles [0, rows128) that run 128-token CTA tiles; the rest run 64-token tiles. Both backends. */
SY_API sy_status sy_wgmma_tile_plan(int32_t row_tiles, int32_t n_sel, int32_t n_experts, int32_t sms, int32_t* rows128_out);
/* The persistent grid of a wgmma.sp launch of `tiles` CTA tiles on `sms` SMs: single launches (grouped = 0) under
 * SAMOYEDS_WGMMA_PERSIST, grouped ones (grouped = 1; tiles = their upper bound) under SAMOYEDS_WGMMA_PERSIST_GROUPED
 * (on, off, ctas:C): *ctas_out CTAs walk the tiles, 0 = one CTA per tile. Both backends. */
SY_API sy_status sy_wgmma_persist_plan(int32_t tiles, int32_t sms, int32_t grouped, int32_t* ctas_out);
/* SSMM with wgmma.mma_async.sp (sm_90a), same contract as sy_ssmm except: values/meta are the packed arrays above,
 * accum must be 0 (f32). Out-of-range token indices are clamped and counted (sy_ssmm_wgmma_bad_tokens).
 * Non-sm_90 GPUs and the CPU backend: SY_ERR_UNSUPPORTED. */
SY_API sy_status sy_ssmm_wgmma(int32_t dtype, int32_t m, int32_t k, int32_t V, int32_t N, int32_t M,
                               const void* wvalues, const void* indices, const void* wmeta,
                               const void* X, int32_t x_rows, const int32_t* token_idx, int32_t n_sel,
                               void* Y, int32_t y_dtype, int32_t y_layout, int32_t epilogue, const float* row_scale, int32_t accum);
/* Grouped wgmma.sp SSMM over E experts in ONE launch (MoE), same contract as sy_ssmm_grouped except: values/meta are
 * the packed arrays above, stacked (expert e's packed values / packed meta / indices start at e times the per-expert
 * sizes of sy_samoyeds_wgmma_sizes / sy_samoyeds_sizes[1]), accum must be 0. sm_90 only; CPU backend: unsupported.
 * Bad load/store indices are clamped/skipped and counted: sy_ssmm_index_errors (or sy_ssmm_wgmma_bad_tokens) reports them. */
SY_API sy_status sy_ssmm_wgmma_grouped(int32_t dtype, int32_t m, int32_t k, int32_t V, int32_t N, int32_t M, int32_t n_experts,
                                       const void* wvalues, const void* indices, const void* wmeta,
                                       const void* X, int32_t x_rows, const int32_t* load_idx, const int32_t* offsets,
                                       int32_t max_selections, void* Y, int32_t y_dtype, int32_t y_mode,
                                       const int32_t* store_idx, int32_t y_rows, int32_t epilogue, const float* row_scale, int32_t accum);
/* CPU backend: emulation of sy_ssmm_wgmma's data path (shared-memory images, descriptors, metadata registers,
 * accumulator routing), for tests on machines without a GPU. CUDA backend: SY_ERR_UNSUPPORTED. */
SY_API sy_status sy_ssmm_wgmma_emulate(int32_t dtype, int32_t m, int32_t k, int32_t V, int32_t N, int32_t M,
                                       const void* wvalues, const void* indices, const void* wmeta,
                                       const void* X, int32_t x_rows, const int32_t* token_idx, int32_t n_sel,
                                       void* Y, int32_t y_dtype, int32_t y_layout, int32_t epilogue, const float* row_scale, int32_t accum);
/* Synchronizes; returns and resets the count of token indices sy_ssmm_wgmma found out of range (and clamped). */
SY_API sy_status sy_ssmm_wgmma_bad_tokens(int32_t* count_out);
/* Instruction-peak microbenchmark (synchronizes): kind 0 = wgmma.sp m64n256k32, 1 = dense wgmma m64n256k16,
 * 2 = wgmma.sp m64n128k32, 3 = wgmma.sp m64n64k32 (the SSMM kernel's N) (f16, f32 accumulate, operands in shared
 * memory, no global traffic); one CTA of 2 warpgroups per SM, iters instructions per warpgroup. Kinds 4-9: the SSMM
 * k-loop's structure on the same operands (chains of 4 wgmma.sp into T, then T routed into two accumulator sets):
 * 4 = N 128, 5 = N 128 with ping-pong turns, 6 = N 64 with turns, 7 = N 64 with two T buffers (a chain runs while
 * the previous one is routed), 8 = N 96 with turns, 9 = N 96 with two T buffers (7 and 9: iters a multiple of 32). random: 0 zero
 * operands, 1 random halves (more power drawn: the clock may drop). ms_out: kernel time; flops_out:
 * dense-equivalent flops executed (2*M*N*K each). */
SY_API sy_status sy_wgmma_peak(int32_t kind, int32_t iters, int32_t random, float* ms_out, double* flops_out);

#endif
