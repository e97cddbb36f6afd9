#include <dlfcn.h>
#include <cstdlib>
#include <sys/stat.h>
#include "dynlib.h"
#include "error.h"

namespace sy {
static bool is_dir(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
sy_status open_library(const char* fn, const char* what, const char* env_var, const std::vector<std::string>& names,
                       const std::vector<std::string>& dirs, DynLib& out) {
  std::vector<std::string> tries;
  const char* env = env_var ? getenv(env_var) : nullptr;
  if (env && *env) {
    if (is_dir(env)) for (auto& n : names) tries.push_back(std::string(env) + "/" + n);
    else tries.push_back(env);
  }
  for (auto& n : names) tries.push_back(n);
  for (auto& d : dirs) for (auto& n : names) tries.push_back(d + "/" + n);
  out.tried.clear();
  for (auto& t : tries) {
    void* h = dlopen(t.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (h) { out.handle = h; out.path = t; return SY_OK; }
    out.tried += (out.tried.empty() ? "" : ", ") + t;
  }
  return fail(SY_ERR_LIBRARY, "%s: %s not found (tried %s). Install it or set %s to its file or folder",
              fn, what, out.tried.c_str(), env_var ? env_var : "LD_LIBRARY_PATH");
}
sy_status find_symbol(const char* fn, const DynLib& lib, const char* name, void** out) {
  *out = dlsym(lib.handle, name);
  if (!*out) return fail(SY_ERR_LIBRARY, "%s: symbol %s missing in %s (version too old?)", fn, name, lib.path.c_str());
  return SY_OK;
}
}  // namespace sy
