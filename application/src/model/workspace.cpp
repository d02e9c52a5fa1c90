//===- workspace.cpp - the arena of an entry point ------------------------===//

#include "model/workspace.h"

#include "status_internal.h"

namespace smxrt {

smxrt_status_t Workspace::allocate(const MemoryPlanSpec &plan,
                                   const char *entryName) {
  block.reset();
  if (!plan.present || plan.arenaBytes == 0)
    return nullptr;
  constexpr size_t alignment = 64;
  size_t bytes = (static_cast<size_t>(plan.arenaBytes) + alignment - 1) /
                 alignment * alignment;
  block.reset(std::aligned_alloc(alignment, bytes));
  if (!block)
    return makeStatusf(SMXRT_STATUS_RESOURCE_EXHAUSTED,
                       "cannot allocate the %s's arena of %lld bytes "
                       "(memory_plan.arena_bytes)",
                       entryName, static_cast<long long>(plan.arenaBytes));
  return nullptr;
}

} // namespace smxrt
