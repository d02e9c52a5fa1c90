//===- ResultsInPlace.h - results computed in their out-parameters -*- C++ -*-===//

#ifndef SMX_TARGET_CPU_RESULTSINPLACE_H
#define SMX_TARGET_CPU_RESULTSINPLACE_H

namespace mlir {
class Block;
namespace smx {

/// Computes results in their out-parameters: a buffer that is allocated in
/// `entry` (a function's entry block) and only copied into an out-parameter
/// at the end, as buffer-results-to-out-params leaves it, becomes that
/// out-parameter, which saves a buffer and a copy per result. The
/// out-parameter must be used by the copy alone and the buffer not after
/// it. Shared by smx-update-state-in-place and smx-plan-memory, which both
/// need the results where the function computes them.
void computeResultsInPlace(Block &entry);

} // namespace smx
} // namespace mlir

#endif // SMX_TARGET_CPU_RESULTSINPLACE_H
