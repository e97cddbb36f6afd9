// Run-time loading of vendor libraries (cuBLAS, cuSPARSELt) so the CUDA backend builds and loads without them.
#pragma once
#include <string>
#include <vector>
#include "samoyeds.h"

namespace sy {
struct DynLib {
  void* handle = nullptr;
  std::string path;    // where it was found
  std::string tried;   // what was tried, for the error message
};
// Opens the first loadable of: $env_var (a file or a folder), each candidate name (through the loader's
// search path), each candidate inside each folder of `dirs`. Returns SY_ERR_LIBRARY naming all tries.
sy_status open_library(const char* fn, const char* what, const char* env_var, const std::vector<std::string>& names,
                       const std::vector<std::string>& dirs, DynLib& out);
// Looks up a symbol; SY_ERR_LIBRARY when absent.
sy_status find_symbol(const char* fn, const DynLib& lib, const char* name, void** out);

// cuBLAS, loaded once (see cublas.cu).
struct CublasApi;
sy_status cublas(const char* fn, CublasApi** api, void** handle);
}  // namespace sy
