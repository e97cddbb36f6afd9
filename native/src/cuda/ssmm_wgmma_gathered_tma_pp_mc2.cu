// The wgmma.sp SSMM kernel, variant gathered-tma-pp-mc2 (kGather = 1, kCluster = 2, kSchedule = 1, kRouting = 0): every dtype, V and launch kind.
#include "ssmm_wgmma_kernel.cuh"

namespace sy {
namespace wg {
template sy_status launch_variant<1, 2, 1, 0>(const char*, int, dim3, const Params&, const CUtensorMap&);
}  // namespace wg
}  // namespace sy
