//===- workspace.cpp - the arena of an entry point ------------------------===//

#include "model/workspace.h"

#include "memory.h"
#include "status_internal.h"

#include <unistd.h>

namespace smxrt {

namespace {

double gib(int64_t bytes) { return static_cast<double>(bytes) / (1 << 30); }

} // namespace

smxrt_status_t Workspace::allocate(const MemoryPlanSpec &plan,
                                   const char *entryName, int64_t otherBytes) {
  block.reset();
  if (!plan.present || plan.arenaBytes == 0)
    return nullptr;
  long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGESIZE);
  if (pages > 0 && pageSize > 0) {
    int64_t machine = static_cast<int64_t>(pages) * pageSize;
    if (plan.arenaBytes + otherBytes > machine)
      return makeStatusf(
          SMXRT_STATUS_RESOURCE_EXHAUSTED,
          "the %s needs %.1f GiB (a %.1f GiB arena, memory_plan.arena_bytes, "
          "and %.1f GiB of arguments and results), more than this machine's "
          "%.1f GiB; compile the model with a smaller --batch",
          entryName, gib(plan.arenaBytes + otherBytes), gib(plan.arenaBytes),
          gib(otherBytes), gib(machine));
  }
  block.reset(allocateBuffer(static_cast<size_t>(plan.arenaBytes)));
  if (!block)
    return makeStatusf(SMXRT_STATUS_RESOURCE_EXHAUSTED,
                       "cannot allocate the %s's arena of %lld bytes "
                       "(memory_plan.arena_bytes)",
                       entryName, static_cast<long long>(plan.arenaBytes));
  return nullptr;
}

} // namespace smxrt
