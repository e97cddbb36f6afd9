// Dense GEMM baseline through cuBLAS (loaded at run time). Y = X * W^T.
#include <mutex>
#include "check.h"
#include "cuda_common.cuh"
#include "dynlib.h"

namespace sy {
// The subset of cuBLAS used here, declared from its documented C API (values from cublas_api.h / library_types.h).
typedef int cublasStatus_t;
typedef void* cublasHandle_t;
enum { CUBLAS_OP_N_ = 0, CUBLAS_OP_T_ = 1, CUDA_R_32F_ = 0, CUDA_R_16F_ = 2, CUDA_R_16BF_ = 14,
       CUBLAS_COMPUTE_32F_ = 68, CUBLAS_GEMM_DEFAULT_ = -1 };
struct CublasApi {
  cublasStatus_t (*create)(cublasHandle_t*);
  cublasStatus_t (*set_stream)(cublasHandle_t, cudaStream_t);
  cublasStatus_t (*set_workspace)(cublasHandle_t, void*, size_t);
  cublasStatus_t (*gemm_ex)(cublasHandle_t, int, int, int, int, int, const void*, const void*, int, int, const void*,
                            int, int, const void*, void*, int, int, int, int);
  const char* (*status_string)(cublasStatus_t);
  DynLib lib;
};

sy_status cublas(const char* fn, CublasApi** api_out, void** handle_out) {
  static std::mutex mu;
  static CublasApi api;
  static bool loaded = false;
  static cublasHandle_t handles[64] = {};
  static void* workspaces[64] = {};
  std::lock_guard<std::mutex> lock(mu);
  if (!loaded) {
    sy_status st = open_library(fn, "cuBLAS (libcublas.so)", "SAMOYEDS_CUBLAS",
                                {"libcublas.so.13", "libcublas.so.12", "libcublas.so"},
                                {"/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib"}, api.lib);
    if (st) return st;
    void* p;
    if ((st = find_symbol(fn, api.lib, "cublasCreate_v2", &p))) return st;
    api.create = (decltype(api.create))p;
    if ((st = find_symbol(fn, api.lib, "cublasSetStream_v2", &p))) return st;
    api.set_stream = (decltype(api.set_stream))p;
    if ((st = find_symbol(fn, api.lib, "cublasSetWorkspace_v2", &p))) return st;
    api.set_workspace = (decltype(api.set_workspace))p;
    if ((st = find_symbol(fn, api.lib, "cublasGemmEx", &p))) return st;
    api.gemm_ex = (decltype(api.gemm_ex))p;
    if ((st = find_symbol(fn, api.lib, "cublasGetStatusString", &p))) return st;
    api.status_string = (decltype(api.status_string))p;
    loaded = true;
  }
  int dev = current_device();
  if (!handles[dev]) {
    cublasStatus_t s = api.create(&handles[dev]);
    if (s) return fail(SY_ERR_LIBRARY, "%s: cublasCreate failed: %s", fn, api.status_string(s));
    // a fixed workspace keeps cuBLAS from allocating during graph capture
    const size_t ws = 32u << 20;
    SY_CUDA(fn, cudaMalloc(&workspaces[dev], ws));
    api.set_workspace(handles[dev], workspaces[dev], ws);
  }
  api.set_stream(handles[dev], stream());
  *api_out = &api;
  *handle_out = handles[dev];
  return SY_OK;
}
}  // namespace sy

SY_API sy_status sy_gemm(int32_t dtype, int32_t n, int32_t m, int32_t k, const void* X, const void* W, void* Y,
                         int32_t y_dtype, int32_t y_layout) {
  SY_ENTER("sy_gemm");
  sy_status st = sy::check_gemm_args("sy_gemm", dtype, n, m, k, X, W, Y, y_dtype, y_layout);
  if (st) return st;
  if (n == 0) return SY_OK;
  sy::CublasApi* api;
  void* h;
  if ((st = sy::cublas("sy_gemm", &api, &h))) return st;
  const int ab = dtype == SY_BF16 ? sy::CUDA_R_16BF_ : sy::CUDA_R_16F_;
  const int ct = y_dtype == SY_F32 ? sy::CUDA_R_32F_ : ab;
  const float alpha = 1.f, beta = 0.f;
  int s;
  // cuBLAS is column-major. Row-major W (m x k) is column-major W^T (k x m); same for X.
  if (y_layout == 0)  // Y row-major n x m == column-major m x n = W * X^T
    s = api->gemm_ex(h, sy::CUBLAS_OP_T_, sy::CUBLAS_OP_N_, m, n, k, &alpha, W, ab, k, X, ab, k, &beta, Y, ct, m,
                     sy::CUBLAS_COMPUTE_32F_, sy::CUBLAS_GEMM_DEFAULT_);
  else  // Y row-major m x n == column-major n x m = X * W^T
    s = api->gemm_ex(h, sy::CUBLAS_OP_T_, sy::CUBLAS_OP_N_, n, m, k, &alpha, X, ab, k, W, ab, k, &beta, Y, ct, n,
                     sy::CUBLAS_COMPUTE_32F_, sy::CUBLAS_GEMM_DEFAULT_);
  if (s) return sy::fail(SY_ERR_LIBRARY, "sy_gemm: cublasGemmEx failed: %s (n=%d m=%d k=%d)", api->status_string(s), n, m, k);
  return SY_OK;
}
