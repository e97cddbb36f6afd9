// cuSPARSELt 2:4 baseline called directly (loaded at run time): a plan built once (prune along k, checks, compress,
// algorithm search), then sy_splt_matmul enqueues only cusparseLtMatmul (capturable). Declarations written from the
// documented C API (cusparseLt.h of 0.4 to 0.8).
//
// Layout. Y (n x m, row-major) = X (n x k, row-major) * W^T with W (m x k, row-major) the 2:4 operand, sparse along
// k (the reduction dimension). The first layout tried describes the memory as PyTorch's cuSPARSELt path does
// (aten/src/ATen/native/sparse/cuda/cuSPARSELtOps.cpp, transpose_result): A = W row-major m x k (ld k), op N;
// B = X row-major n x k (ld k), op T; C = D col-major m x n (ld m), which is Y row-major n x m. With op N on a
// row-major structured A, 2:4 holds along the rows of A = along k. The second layout is the BLAS "TN" form of the
// same memory (A = W col-major k x m, op T; B = X col-major k x n, op N; D col-major m x n), the one used before;
// it is tried only if the library refuses the first. The weight is pruned (and, without pruning, checked) along k
// by our own kernel first, so the direction never depends on the library; the library's cusparseLtSpMMAPruneCheck
// must then agree, else the layout is refused with its result in the error message.
#include <dlfcn.h>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>
#include "cuda_common.cuh"
#include "dynlib.h"

namespace {
// Opaque structs: the header declares uint8_t data[11024] (0.4), data[13072] (0.6.2) and data[512] (0.7.1-0.8.1)
// for every one of them; we reserve more than the largest so a library of any of these versions stays inside.
constexpr size_t kOpaqueBytes = 16384;
struct alignas(64) Opaque { uint8_t data[kOpaqueBytes]; };
typedef int lt_status;
enum { CUDA_R_16F_ = 2, CUDA_R_16BF_ = 14 };
enum { CUSPARSE_ORDER_COL_ = 1, CUSPARSE_ORDER_ROW_ = 2 };
enum { CUSPARSE_OPERATION_NON_TRANSPOSE_ = 0, CUSPARSE_OPERATION_TRANSPOSE_ = 1 };
enum { CUSPARSELT_SPARSITY_50_PERCENT_ = 0 };
enum { CUSPARSE_COMPUTE_32F_ = 2 };  // cusparseComputeType { 32I = 0, 16F = 1, 32F = 2 } (0.6+)
enum { CUSPARSELT_MATMUL_ALG_DEFAULT_ = 0 };
enum { CUSPARSELT_MATMUL_ALG_CONFIG_ID_ = 0 };
enum { CUSPARSELT_MATMUL_SPARSE_MAT_POINTER_ = 9 };  // cusparseLtMatmulDescAttribute_t (0.6+)
enum { MAJOR_VERSION_ = 0, MINOR_VERSION_ = 1, PATCH_LEVEL_ = 2 };  // libraryPropertyType

struct LtApi {
  sy::DynLib lib;
  lt_status (*init)(Opaque*);
  lt_status (*destroy)(const Opaque*);
  lt_status (*structured_init)(const Opaque*, Opaque*, int64_t, int64_t, int64_t, uint32_t, int, int, int);
  lt_status (*dense_init)(const Opaque*, Opaque*, int64_t, int64_t, int64_t, uint32_t, int, int);
  lt_status (*mat_destroy)(const Opaque*);
  lt_status (*matmul_init)(const Opaque*, Opaque*, int, int, const Opaque*, const Opaque*, const Opaque*, const Opaque*, int);
  lt_status (*alg_init)(const Opaque*, Opaque*, const Opaque*, int);
  lt_status (*alg_get_attr)(const Opaque*, const Opaque*, int, void*, size_t);
  lt_status (*plan_init)(const Opaque*, Opaque*, const Opaque*, const Opaque*);
  lt_status (*plan_destroy)(const Opaque*);
  lt_status (*prune_check)(const Opaque*, const Opaque*, const void*, int*, cudaStream_t);
  lt_status (*compressed_size)(const Opaque*, const Opaque*, size_t*, size_t*);
  lt_status (*compress)(const Opaque*, const Opaque*, const void*, void*, void*, cudaStream_t);
  lt_status (*get_workspace)(const Opaque*, const Opaque*, size_t*);
  lt_status (*search)(const Opaque*, Opaque*, const void*, const void*, const void*, const void*, const void*, void*, void*,
                      cudaStream_t*, int32_t);
  lt_status (*matmul)(const Opaque*, const Opaque*, const void*, const void*, const void*, const void*, const void*, void*,
                      void*, cudaStream_t*, int32_t);
  // optional (absent in older versions: nullptr)
  lt_status (*get_property)(int, int*) = nullptr;                                          // 0.3+
  lt_status (*matmul_set_attr)(const Opaque*, Opaque*, int, const void*, size_t) = nullptr;  // 0.2+
  lt_status (*alg_destroy)(const Opaque*) = nullptr;                                        // 0.7+, required in 0.8
  const char* (*error_name)(int) = nullptr;                                                 // 0.8+
  std::string version = "unknown";
};

std::vector<std::string> search_dirs() {
  std::vector<std::string> dirs = {"/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib",
                                   "/usr/lib/x86_64-linux-gnu", "/usr/local/lib", "/opt/nvidia/cusparselt/lib"};
  // python wheels (nvidia-cusparselt-cu12/cu13): <prefix>/lib/pythonX.Y/site-packages/nvidia/cusparselt/lib
  const char* prefixes[] = {getenv("VIRTUAL_ENV"), "/opt/torch/.venv", "/usr", "/usr/local", "/opt/conda"};
  for (const char* p : prefixes) {
    if (!p || !*p) continue;
    for (int minor = 14; minor >= 8; minor--)
      for (const char* sp : {"site-packages", "dist-packages"})
        dirs.push_back(std::string(p) + "/lib/python3." + std::to_string(minor) + "/" + sp + "/nvidia/cusparselt/lib");
  }
  return dirs;
}

sy_status load_api(const char* fn, LtApi** out) {
  static std::mutex mu;
  static LtApi api;
  static bool loaded = false;
  std::lock_guard<std::mutex> lock(mu);
  if (loaded) { *out = &api; return SY_OK; }
  sy_status st = sy::open_library(fn, "cuSPARSELt (libcusparseLt.so.0)", "SAMOYEDS_CUSPARSELT",
                                  {"libcusparseLt.so.0", "libcusparseLt.so"}, search_dirs(), api.lib);
  if (st) return st;
  struct Sym { const char* name; void** slot; } syms[] = {
      {"cusparseLtInit", (void**)&api.init},
      {"cusparseLtDestroy", (void**)&api.destroy},
      {"cusparseLtStructuredDescriptorInit", (void**)&api.structured_init},
      {"cusparseLtDenseDescriptorInit", (void**)&api.dense_init},
      {"cusparseLtMatDescriptorDestroy", (void**)&api.mat_destroy},
      {"cusparseLtMatmulDescriptorInit", (void**)&api.matmul_init},
      {"cusparseLtMatmulAlgSelectionInit", (void**)&api.alg_init},
      {"cusparseLtMatmulAlgGetAttribute", (void**)&api.alg_get_attr},
      {"cusparseLtMatmulPlanInit", (void**)&api.plan_init},
      {"cusparseLtMatmulPlanDestroy", (void**)&api.plan_destroy},
      {"cusparseLtSpMMAPruneCheck", (void**)&api.prune_check},
      {"cusparseLtSpMMACompressedSize", (void**)&api.compressed_size},
      {"cusparseLtSpMMACompress", (void**)&api.compress},
      {"cusparseLtMatmulGetWorkspace", (void**)&api.get_workspace},
      {"cusparseLtMatmulSearch", (void**)&api.search},
      {"cusparseLtMatmul", (void**)&api.matmul},
  };
  for (auto& s : syms)
    if ((st = sy::find_symbol(fn, api.lib, s.name, s.slot))) return st;
  void* h = api.lib.handle;
  api.get_property = (lt_status(*)(int, int*))dlsym(h, "cusparseLtGetProperty");
  api.matmul_set_attr = (lt_status(*)(const Opaque*, Opaque*, int, const void*, size_t))dlsym(h, "cusparseLtMatmulDescSetAttribute");
  api.alg_destroy = (lt_status(*)(const Opaque*))dlsym(h, "cusparseLtMatmulAlgSelectionDestroy");
  if (!api.alg_destroy) api.alg_destroy = (lt_status(*)(const Opaque*))dlsym(h, "cusparseLtAlgSelectionDestroy");
  api.error_name = (const char* (*)(int))dlsym(h, "cusparseLtGetErrorName");
  int major = -1, minor = -1, patch = -1;
  if (api.get_property && api.get_property(MAJOR_VERSION_, &major) == 0 && api.get_property(MINOR_VERSION_, &minor) == 0 &&
      api.get_property(PATCH_LEVEL_, &patch) == 0)
    api.version = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
  loaded = true;
  *out = &api;
  return SY_OK;
}

std::string status_text(const LtApi* api, lt_status s) {
  std::string t = "cusparseStatus " + std::to_string(s);
  const char* name = api->error_name ? api->error_name(s) : nullptr;
  if (name && *name) t += std::string(" (") + name + ")";
  return t;
}

// The private copy of W, row-major m x k of 16-bit values, k % 4 == 0: group g is elements 4g..4g+3, 4 consecutive
// k of one row. Negative zeros become +0; with prune, the 2 smallest |w| of each group become 0 (the 2 largest are
// kept; |w| order of f16/bf16 is the order of the sign-cleared bits); every group left with more than 2 non-zeros
// is counted in *bad.
__global__ void prune_check_2_4_along_k(uint16_t* __restrict__ w, size_t groups, int prune, unsigned long long* bad) {
  for (size_t g = blockIdx.x * (size_t)blockDim.x + threadIdx.x; g < groups; g += (size_t)gridDim.x * blockDim.x) {
    uint16_t* q = w + g * 4;
    uint16_t v[4];
    for (int i = 0; i < 4; i++) v[i] = (q[i] & 0x7fff) ? q[i] : (uint16_t)0;
    if (prune) {
      int k0 = 0;
      for (int i = 1; i < 4; i++) if ((v[i] & 0x7fff) > (v[k0] & 0x7fff)) k0 = i;
      int k1 = k0 == 0 ? 1 : 0;
      for (int i = 0; i < 4; i++) if (i != k0 && (v[i] & 0x7fff) > (v[k1] & 0x7fff)) k1 = i;
      for (int i = 0; i < 4; i++) if (i != k0 && i != k1) v[i] = 0;
    }
    int nz = 0;
    for (int i = 0; i < 4; i++) {
      nz += v[i] != 0;
      q[i] = v[i];
    }
    if (nz > 2) atomicAdd(bad, 1ull);
  }
}

// One way of describing W (A), X (B) and Y (C = D) to cuSPARSELt; all describe the same memory.
struct Layout {
  const char* name;
  int a_order; int64_t a_rows, a_cols, a_ld; int op_a;
  int b_order; int64_t b_rows, b_cols, b_ld; int op_b;
};

// Device buffer freed on scope exit.
struct DevBuf {
  void* p = nullptr;
  ~DevBuf() { if (p) cudaFree(p); }
  void* release() { void* r = p; p = nullptr; return r; }
};
}  // namespace

struct sy_splt {
  LtApi* api = nullptr;
  int dtype = 0, m = 0, k = 0, n = 0;
  Opaque handle, matA, matB, matC, matmul, alg, plan;
  bool handle_ok = false, a_ok = false, b_ok = false, c_ok = false, alg_ok = false, plan_ok = false;
  const char* layout = "";
  void* compressed = nullptr;
  void* workspace = nullptr;
  void* sparse_dense = nullptr;  // the pruned dense W, kept alive when its pointer was given to the matmul descriptor
  size_t compressed_bytes = 0, workspace_bytes = 0;
  int alg_id = -1;
  float alpha = 1.f, beta = 0.f;
  void release_plan() {  // order as in NVIDIA's samples: matrices, algorithm selection, plan
    if (a_ok) api->mat_destroy(&matA);
    if (b_ok) api->mat_destroy(&matB);
    if (c_ok) api->mat_destroy(&matC);
    if (alg_ok && api->alg_destroy) api->alg_destroy(&alg);
    if (plan_ok) api->plan_destroy(&plan);
    a_ok = b_ok = c_ok = alg_ok = plan_ok = false;
  }
  ~sy_splt() {
    release_plan();
    if (handle_ok) api->destroy(&handle);
    if (compressed) cudaFree(compressed);
    if (workspace) cudaFree(workspace);
    if (sparse_dense) cudaFree(sparse_dense);
  }
};

namespace {
// Builds descriptors, matmul descriptor, algorithm selection and plan for one layout; returns 0 or the status of
// the failing call, named in *what. wsparse is given to the matmul descriptor as the sparse matrix pointer (as
// NVIDIA's samples do, 0.6+); *ptr_set says whether the library took it.
lt_status build_plan(sy_splt* p, const Layout& L, int vt, void* wsparse, bool* ptr_set, const char** what) {
  LtApi* api = p->api;
  lt_status s;
  *ptr_set = false;
  if ((s = api->structured_init(&p->handle, &p->matA, L.a_rows, L.a_cols, L.a_ld, 16, vt, L.a_order,
                                CUSPARSELT_SPARSITY_50_PERCENT_))) { *what = "cusparseLtStructuredDescriptorInit(A = W)"; return s; }
  p->a_ok = true;
  if ((s = api->dense_init(&p->handle, &p->matB, L.b_rows, L.b_cols, L.b_ld, 16, vt, L.b_order))) {
    *what = "cusparseLtDenseDescriptorInit(B = X)"; return s;
  }
  p->b_ok = true;
  if ((s = api->dense_init(&p->handle, &p->matC, p->m, p->n, p->m, 16, vt, CUSPARSE_ORDER_COL_))) {
    *what = "cusparseLtDenseDescriptorInit(C = D = Y)"; return s;
  }
  p->c_ok = true;
  if ((s = api->matmul_init(&p->handle, &p->matmul, L.op_a, L.op_b, &p->matA, &p->matB, &p->matC, &p->matC,
                            CUSPARSE_COMPUTE_32F_))) { *what = "cusparseLtMatmulDescriptorInit"; return s; }
  if (api->matmul_set_attr)  // unknown attribute in < 0.6: INVALID_VALUE, ignored
    *ptr_set = api->matmul_set_attr(&p->handle, &p->matmul, CUSPARSELT_MATMUL_SPARSE_MAT_POINTER_, &wsparse, sizeof(void*)) == 0;
  if ((s = api->alg_init(&p->handle, &p->alg, &p->matmul, CUSPARSELT_MATMUL_ALG_DEFAULT_))) {
    *what = "cusparseLtMatmulAlgSelectionInit"; return s;
  }
  p->alg_ok = true;
  if ((s = api->plan_init(&p->handle, &p->plan, &p->matmul, &p->alg))) { *what = "cusparseLtMatmulPlanInit"; return s; }
  p->plan_ok = true;
  return 0;
}
}  // namespace

SY_API sy_status sy_splt_create(int32_t dtype, int32_t m, int32_t k, int32_t n, const void* W, int32_t prune,
                                void* W_pruned_out, sy_splt** plan_out) {
  const char* fn = "sy_splt_create";
  SY_ENTER(fn);
  if (dtype != SY_F16 && dtype != SY_BF16) return sy::fail(SY_ERR_INVALID, "%s: dtype must be f16 (0) or bf16 (1), got %d", fn, dtype);
  if (m <= 0 || k <= 0 || n <= 0) return sy::fail(SY_ERR_INVALID, "%s: need m, k, n > 0; got m=%d k=%d n=%d", fn, m, k, n);
  if (k % 4) return sy::fail(SY_ERR_INVALID, "%s: k (%d) must be a multiple of 4 for 2:4 sparsity along k", fn, k);
  if (!W || !plan_out) return sy::fail(SY_ERR_INVALID, "%s: null pointer argument", fn);
  if (prune != 0 && prune != 1) return sy::fail(SY_ERR_INVALID, "%s: prune must be 0 or 1, got %d", fn, prune);
  cudaStream_t stream = sy::stream();

  // 1. private copy of W, pruned (prune = 1) and checked 2:4 along k by our kernel (before the library is loaded:
  //    the pattern error does not depend on it); the result is device memory, read after the stream is synchronized
  const size_t wbytes = (size_t)m * k * 2, groups = (size_t)m * k / 4;
  DevBuf wtmp, flags;  // flags: [0] u64 count of groups not 2:4 along k, [8] int cuSPARSELt check result
  SY_CUDA(fn, cudaMalloc(&wtmp.p, wbytes));
  SY_CUDA(fn, cudaMalloc(&flags.p, 16));
  unsigned long long* bad_d = (unsigned long long*)flags.p;
  int* valid_d = (int*)((char*)flags.p + 8);
  SY_CUDA(fn, cudaMemcpyAsync(wtmp.p, W, wbytes, cudaMemcpyDeviceToDevice, stream));
  SY_CUDA(fn, cudaMemsetAsync(flags.p, 0, 16, stream));
  const unsigned blocks = (unsigned)std::min<size_t>((groups + 255) / 256, 1u << 16);
  prune_check_2_4_along_k<<<blocks, 256, 0, stream>>>((uint16_t*)wtmp.p, groups, prune, bad_d);
  SY_CUDA(fn, cudaGetLastError());
  unsigned long long bad = 0;
  SY_CUDA(fn, cudaMemcpyAsync(&bad, bad_d, sizeof bad, cudaMemcpyDeviceToHost, stream));
  SY_CUDA(fn, cudaStreamSynchronize(stream));
  if (bad)
    return sy::fail(SY_ERR_PATTERN, "%s: W (%d x %d) is not 2:4 along k: %llu of %zu groups of 4 consecutive k of a row "
                    "have more than 2 non-zeros; pass prune = 1 to prune it", fn, m, k, bad, groups);
  if (W_pruned_out) SY_CUDA(fn, cudaMemcpyAsync(W_pruned_out, wtmp.p, wbytes, cudaMemcpyDeviceToDevice, stream));

  LtApi* api;
  if (sy_status st = load_api(fn, &api)) return st;
  const char* ver = api->version.c_str();
  std::unique_ptr<sy_splt> p(new sy_splt());
  p->api = api;
  p->dtype = dtype; p->m = m; p->k = k; p->n = n;
  const int vt = dtype == SY_BF16 ? CUDA_R_16BF_ : CUDA_R_16F_;
  auto lt_fail = [&](const char* what, lt_status s) {
    return sy::fail(SY_ERR_LIBRARY, "%s: %s failed with %s (cuSPARSELt %s, layout %s, m=%d k=%d n=%d; 16-bit types need "
                    "dimensions that are multiples of 16)", fn, what, status_text(api, s).c_str(), ver, p->layout, m, k, n);
  };

  // 2. plan: the first layout the library builds and whose cusparseLtSpMMAPruneCheck accepts the weight
  lt_status s;
  if ((s = api->init(&p->handle))) return lt_fail("cusparseLtInit", s);
  p->handle_ok = true;
  const Layout layouts[] = {
      {"A=W row-major m x k op N, B=X row-major n x k op T, D=Y col-major m x n",
       CUSPARSE_ORDER_ROW_, m, k, k, CUSPARSE_OPERATION_NON_TRANSPOSE_, CUSPARSE_ORDER_ROW_, n, k, k, CUSPARSE_OPERATION_TRANSPOSE_},
      {"A=W col-major k x m op T, B=X col-major k x n op N, D=Y col-major m x n",
       CUSPARSE_ORDER_COL_, k, m, k, CUSPARSE_OPERATION_TRANSPOSE_, CUSPARSE_ORDER_COL_, k, n, k, CUSPARSE_OPERATION_NON_TRANSPOSE_},
  };
  std::string refused;
  bool ptr_set = false, found = false;
  for (const Layout& L : layouts) {
    p->layout = L.name;
    const char* what = "";
    if ((s = build_plan(p.get(), L, vt, wtmp.p, &ptr_set, &what))) {
      refused += std::string("; [") + L.name + "] " + what + " failed with " + status_text(api, s);
      p->release_plan();
      continue;
    }
    int valid = 1;
    SY_CUDA(fn, cudaMemsetAsync(valid_d, 0, sizeof(int), stream));
    s = api->prune_check(&p->handle, &p->matmul, wtmp.p, valid_d, stream);
    SY_CUDA(fn, cudaMemcpyAsync(&valid, valid_d, sizeof(int), cudaMemcpyDeviceToHost, stream));
    SY_CUDA(fn, cudaStreamSynchronize(stream));
    if (s) refused += std::string("; [") + L.name + "] cusparseLtSpMMAPruneCheck failed with " + status_text(api, s);
    else if (valid != 0) refused += std::string("; [") + L.name + "] cusparseLtSpMMAPruneCheck rejects it (d_valid = " + std::to_string(valid) + ")";
    else { found = true; break; }
    p->release_plan();
  }
  if (!found) {
    p->layout = "none";
    return sy::fail(SY_ERR_LIBRARY, "%s: cuSPARSELt %s (%s) accepts no layout for W (%d x %d), which our kernel verified "
                    "to be 2:4 along k (the reduction dimension)%s", fn, ver, api->lib.path.c_str(), m, k, refused.c_str());
  }

  // 3. compress
  size_t buf_bytes = 0;
  if ((s = api->compressed_size(&p->handle, &p->plan, &p->compressed_bytes, &buf_bytes))) return lt_fail("cusparseLtSpMMACompressedSize", s);
  SY_CUDA(fn, cudaMalloc(&p->compressed, p->compressed_bytes));
  {
    DevBuf buf;
    if (buf_bytes) SY_CUDA(fn, cudaMalloc(&buf.p, buf_bytes));
    s = api->compress(&p->handle, &p->plan, wtmp.p, p->compressed, buf.p, stream);
    SY_CUDA(fn, cudaStreamSynchronize(stream));
    if (s) return lt_fail("cusparseLtSpMMACompress", s);
  }

  // 4. algorithm search on scratch X / Y (the searched configuration is stored in the plan), then the final workspace
  {
    DevBuf xs, ys, ws;
    SY_CUDA(fn, cudaMalloc(&xs.p, (size_t)n * k * 2));
    SY_CUDA(fn, cudaMalloc(&ys.p, (size_t)n * m * 2));
    SY_CUDA(fn, cudaMemsetAsync(xs.p, 0, (size_t)n * k * 2, stream));
    if ((s = api->get_workspace(&p->handle, &p->plan, &p->workspace_bytes))) return lt_fail("cusparseLtMatmulGetWorkspace", s);
    const size_t search_ws = std::max<size_t>(p->workspace_bytes, 64u << 20);  // search may try algorithms needing more
    SY_CUDA(fn, cudaMalloc(&ws.p, search_ws));
    s = api->search(&p->handle, &p->plan, &p->alpha, p->compressed, xs.p, &p->beta, ys.p, ys.p, ws.p, &stream, 1);
    SY_CUDA(fn, cudaStreamSynchronize(stream));
    if (s) return lt_fail("cusparseLtMatmulSearch", s);
  }
  if ((s = api->get_workspace(&p->handle, &p->plan, &p->workspace_bytes))) return lt_fail("cusparseLtMatmulGetWorkspace", s);
  if (p->workspace_bytes) SY_CUDA(fn, cudaMalloc(&p->workspace, p->workspace_bytes));
  api->alg_get_attr(&p->handle, &p->alg, CUSPARSELT_MATMUL_ALG_CONFIG_ID_, &p->alg_id, sizeof(int));
  if (ptr_set) p->sparse_dense = wtmp.release();  // the matmul descriptor holds this pointer: keep it valid
  *plan_out = p.release();
  return SY_OK;
}

SY_API sy_status sy_splt_matmul(sy_splt* p, const void* X, void* Y) {
  const char* fn = "sy_splt_matmul";
  SY_ENTER(fn);
  if (!p || !X || !Y) return sy::fail(SY_ERR_INVALID, "%s: null pointer argument", fn);
  cudaStream_t stream = sy::stream();
  lt_status s = p->api->matmul(&p->handle, &p->plan, &p->alpha, p->compressed, X, &p->beta, Y, Y, p->workspace, &stream, 1);
  if (s != 0)
    return sy::fail(SY_ERR_LIBRARY, "%s: cusparseLtMatmul failed with %s (cuSPARSELt %s, m=%d k=%d n=%d)", fn,
                    status_text(p->api, s).c_str(), p->api->version.c_str(), p->m, p->k, p->n);
  return SY_OK;
}

SY_API sy_status sy_splt_destroy(sy_splt* p) {
  SY_ENTER("sy_splt_destroy");
  delete p;
  return SY_OK;
}

SY_API sy_status sy_splt_info(sy_splt* p, char* json_out, int32_t capacity) {
  if (!p) return sy::fail(SY_ERR_INVALID, "sy_splt_info: null plan");
  char buf[2048];
  snprintf(buf, sizeof buf,
           "{\"library\":\"%s\",\"version\":\"%s\",\"layout\":\"%s\",\"alg_id\":%d,\"workspace_bytes\":%zu,"
           "\"compressed_bytes\":%zu,\"m\":%d,\"k\":%d,\"n\":%d}",
           p->api->lib.path.c_str(), p->api->version.c_str(), p->layout, p->alg_id, p->workspace_bytes,
           p->compressed_bytes, p->m, p->k, p->n);
  return sy::write_string(buf, json_out, capacity, "sy_splt_info");
}
