//===- workspace.h - the arena of an entry point ----------------*- C++ -*-===//
//
// A compiled entry point keeps every intermediate buffer in one arena whose
// size the manifest gives (`memory_plan.arena_bytes`, docs/abi.md). The
// application allocates it once, when it sets up the buffers of a forward
// pass or a train step, and passes it on every call: steps allocate
// nothing, and a model that cannot get its arena fails before it starts.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_APPLICATION_MODEL_WORKSPACE_H
#define SMX_APPLICATION_MODEL_WORKSPACE_H

#include "memory.h"
#include "model/manifest.h"

#include <cstdlib>
#include <memory>

namespace smxrt {

class Workspace {
public:
  /// Allocates `plan.arenaBytes` (64-byte aligned) for the entry point
  /// `entryName`; none when the plan is absent or empty. `otherBytes` are
  /// the entry point's other buffers (arguments, results): when the two
  /// together exceed the machine's memory, fails with RESOURCE_EXHAUSTED
  /// before the first call instead of being killed during it.
  smxrt_status_t allocate(const MemoryPlanSpec &plan, const char *entryName,
                          int64_t otherBytes);

  /// The arena to pass to the entry point (null when it has none).
  void *data() const { return block.get(); }

private:
  struct Free {
    void operator()(void *block) const { releaseBuffer(block); }
  };
  std::unique_ptr<void, Free> block;
};

} // namespace smxrt

#endif // SMX_APPLICATION_MODEL_WORKSPACE_H
