// The wgmma.sp SSMM kernel, variant gathered-tma-2t-n64 (kGather = 1, kCluster = 1, kSchedule = 4, kRouting = 0, 64-token tiles): every dtype, V and launch kind.
#include "ssmm_wgmma_kernel.cuh"

namespace sy {
namespace wg {
template sy_status launch_variant<1, 1, 4, 0, 64>(const char*, int, dim3, const Params&, const CUtensorMap&);
}  // namespace wg
}  // namespace sy
