//===- parameter_slices.h - Split parameters and their global form -*- C++ -*-===//
//
// A model compiled for a grid with ep > 1 splits each expert weight along
// its first dimension over the ep axis (smx-shard-experts): each process
// holds the slice at its index along that axis. Everything the user sees
// is global: the seeded init of the slice is the slice of the global init,
// weight files and checkpoints hold the global tensors (a slice is read
// from them, and the slices are gathered before they are written), so a
// checkpoint moves between grids (docs/distributed.md, "Checkpoints").
//
//===----------------------------------------------------------------------===//

#ifndef SMX_APPLICATION_DISTRIBUTED_PARAMETER_SLICES_H
#define SMX_APPLICATION_DISTRIBUTED_PARAMETER_SLICES_H

#include "model/manifest.h"

#include "handles.h"
#include "smx_runtime/status.h"

#include <cstdint>

namespace smxrt {

/// Where this process's slice of a parameter lies in its global tensor.
struct ParameterSlice {
  /// The slice's index among `count` along the first dimension.
  int64_t index = 0;
  int64_t count = 1;
  /// The grid axes it is split over, as a mask (0: a whole parameter).
  int64_t axesMask = 0;
};

/// This process's slice of `parameter` on the installed grid; the whole
/// tensor for a parameter that is not split.
ParameterSlice sliceOf(const ArgumentSpec &parameter);

/// Copies this process's slice of the global tensor `whole` (the bytes of
/// `parameter.wholeShape()`) into `slice` (`parameter.byteSize` bytes).
void copyOwnSlice(const ArgumentSpec &parameter, const void *whole,
                  void *slice);

/// The global tensor of a split parameter (or of one of its moments) from
/// every process's `slice`, gathered over the grid axes it is split over.
/// Every process that holds a slice calls it, in the same order.
smxrt_status_t gatherWhole(const ArgumentSpec &parameter,
                           smxrt_tensor_t *slice, TensorPtr &whole);

} // namespace smxrt

#endif // SMX_APPLICATION_DISTRIBUTED_PARAMETER_SLICES_H
