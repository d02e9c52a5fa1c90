//===- parameter_slices.cpp - Split parameters and their global form ------===//

#include "distributed/parameter_slices.h"

#include "smx_runtime/grid.h"
#include "smx_runtime/tensor.h"

#include "status_internal.h"
#include "tensor_internal.h"

#include <cstring>

namespace smxrt {

ParameterSlice sliceOf(const ArgumentSpec &parameter) {
  ParameterSlice slice;
  if (!parameter.isSplit())
    return slice;
  smxrt_grid_t grid = smxrt_grid_installed();
  // Row-major over the split axes, as the grid ranks its communicators.
  for (int64_t axis : parameter.shardAxes) {
    int64_t size = smxrt_grid_axis_size(grid, axis);
    slice.index = slice.index * size + smxrt_grid_axis_index(grid, axis);
    slice.count *= size;
    if (size > 1)
      slice.axesMask |= int64_t{1} << axis;
  }
  return slice;
}

void copyOwnSlice(const ArgumentSpec &parameter, const void *whole,
                  void *slice) {
  // Slices of the first dimension are contiguous runs of the global tensor.
  std::memcpy(slice,
              static_cast<const char *>(whole) +
                  static_cast<size_t>(sliceOf(parameter).index) *
                      parameter.byteSize,
              parameter.byteSize);
}

smxrt_status_t gatherWhole(const ArgumentSpec &parameter,
                           smxrt_tensor_t *slice, TensorPtr &whole) {
  SMXRT_RETURN_IF_ERROR(
      createTensor(parameter.dtype, parameter.wholeShape(), whole));
  ParameterSlice place = sliceOf(parameter);
  if (place.count * static_cast<int64_t>(parameter.byteSize) !=
      static_cast<int64_t>(smxrt_tensor_byte_size(whole.get())))
    return makeStatusf(SMXRT_STATUS_INTERNAL,
                       "parameter '%s': %lld slices of the grid do not make "
                       "its global shape %s",
                       parameter.name.c_str(),
                       static_cast<long long>(place.count),
                       formatShape(parameter.globalShape.data(),
                                   parameter.globalShape.size())
                           .c_str());
  smxrt_comm_t comm = smxrt_grid_comm(smxrt_grid_installed(), place.axesMask);
  if (!comm) {
    std::memcpy(smxrt_tensor_data(whole.get()), smxrt_tensor_data(slice),
                parameter.byteSize);
    return nullptr;
  }
  return smxrt_comm_all_gather(comm, smxrt_tensor_data(slice),
                               smxrt_tensor_data(whole.get()),
                               static_cast<int64_t>(parameter.byteSize));
}

} // namespace smxrt
