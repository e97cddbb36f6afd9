// The wgmma.sp SSMM kernel, variant gathered-tma-sd (kGather = 1, kCluster = 1, kSchedule = 0, kRouting = 1): every dtype, V and launch kind.
#include "ssmm_wgmma_kernel.cuh"

namespace sy {
namespace wg {
template sy_status launch_variant<1, 1, 0, 1>(const char*, int, dim3, const Params&, const CUtensorMap&);
}  // namespace wg
}  // namespace sy
