//===- parameters.cpp - Loading or initializing model parameters ----------===//

#include "model/parameters.h"

#include "data/counter_rng.h"
#include "distributed/parameter_slices.h"
#include "data/text.h"

#include "status_internal.h"
#include "tensor_internal.h"

#include <algorithm>
#include <cmath>

namespace smxrt {
namespace {

/// The parameter as weight files hold it: its global shape.
std::string describeParameter(const ArgumentSpec &parameter) {
  const std::vector<int64_t> &shape = parameter.wholeShape();
  return formatString("%s %s", smxrt_dtype_name(parameter.dtype),
                      formatShape(shape.data(), shape.size()).c_str());
}

} // namespace

void fillNormal(uint64_t seed, std::string_view name, double standardDeviation,
                float *values, int64_t count, int64_t first) {
  constexpr double twoPi = 6.283185307179586476925286766559;
  // One stream per parameter, two draws per element; threads fill pieces of
  // it from the piece's place in the stream, so the values do not depend on
  // the thread count. (Box-Muller in double is ~40 ns an element: BERT-Base's
  // 110 M take seconds on one core.)
  constexpr int64_t piece = int64_t(1) << 16;
  const uint64_t streamSeed = seed ^ data::fnv1a64(name);
#pragma omp parallel for schedule(static) if (count > piece)
  for (int64_t begin = 0; begin < count; begin += piece) {
    data::SplitMix64 generator(streamSeed);
    generator.skip(2 * static_cast<uint64_t>(first + begin));
    const int64_t end = std::min(count, begin + piece);
    for (int64_t index = begin; index < end; ++index) {
      double radius = std::sqrt(-2.0 * std::log(generator.nextUniform()));
      double angle = twoPi * generator.nextUniform();
      values[index] =
          static_cast<float>(standardDeviation * radius * std::cos(angle));
    }
  }
}

void initializeParameter(const ArgumentSpec &parameter, uint64_t seed,
                         smxrt_tensor_t *tensor) {
  // The manifest reader allows normal and ones only for F32.
  auto *values = static_cast<float *>(smxrt_tensor_data(tensor));
  switch (parameter.init) {
  case ParameterInit::Normal:
    // A slice of a split parameter draws its part of the global stream.
    fillNormal(seed, parameter.name, normalInitStandardDeviation, values,
               parameter.elementCount,
               sliceOf(parameter).index * parameter.elementCount);
    break;
  case ParameterInit::Ones:
    std::fill(values, values + parameter.elementCount, 1.0f);
    break;
  case ParameterInit::Zeros:
  case ParameterInit::None:
    std::fill_n(static_cast<char *>(smxrt_tensor_data(tensor)),
                parameter.byteSize, 0);
    break;
  }
}

void initializeParameters(const ModelManifest &manifest, uint64_t seed,
                          std::vector<TensorPtr> &arguments) {
  for (size_t index = 0; index < manifest.arguments.size(); ++index)
    if (manifest.arguments[index].role == ArgumentRole::Parameter)
      initializeParameter(manifest.arguments[index], seed,
                          arguments[index].get());
}

smxrt_status_t readParameterTensor(const smxrt_safetensors_t *file,
                                   const std::string &path,
                                   const std::string &tensorName,
                                   const ArgumentSpec &parameter,
                                   smxrt_tensor_t *tensor, bool required,
                                   bool &found) {
  smxrt_dtype_t dtype = SMXRT_DTYPE_INVALID;
  size_t rank = 0;
  const int64_t *shape = nullptr;
  smxrt_status_t status = smxrt_safetensors_tensor_info(
      file, tensorName.c_str(), &dtype, &rank, &shape);
  found = smxrt_status_code(status) != SMXRT_STATUS_NOT_FOUND;
  if (!found) {
    smxrt_status_free(status);
    if (!required)
      return nullptr;
    return makeStatusf(SMXRT_STATUS_NOT_FOUND,
                       "%s: no tensor '%s' for the model's parameter '%s' "
                       "(%s)",
                       path.c_str(), tensorName.c_str(), parameter.name.c_str(),
                       describeParameter(parameter).c_str());
  }
  SMXRT_RETURN_IF_ERROR(status);
  const std::vector<int64_t> &wholeShape = parameter.wholeShape();
  if (dtype != parameter.dtype ||
      !std::equal(shape, shape + rank, wholeShape.begin(), wholeShape.end()))
    return makeStatusf(
        SMXRT_STATUS_INVALID_ARGUMENT,
        "%s: tensor '%s' is %s %s, but the model's parameter "
        "is %s",
        path.c_str(), tensorName.c_str(), smxrt_dtype_name(dtype),
        formatShape(shape, rank).c_str(), describeParameter(parameter).c_str());
  if (!parameter.isSplit())
    return smxrt_safetensors_read_tensor_into(file, tensorName.c_str(),
                                              tensor);
  // A split parameter: this process's slice of the global tensor.
  std::vector<char> whole(parameter.byteSize *
                          static_cast<size_t>(sliceOf(parameter).count));
  SMXRT_RETURN_IF_ERROR(smxrt_safetensors_read_data(
      file, tensorName.c_str(), whole.data(), whole.size()));
  copyOwnSlice(parameter, whole.data(), smxrt_tensor_data(tensor));
  return nullptr;
}

smxrt_status_t loadParameters(const ModelManifest &manifest,
                              const std::string &path,
                              std::vector<TensorPtr> &arguments) {
  SafetensorsFilePtr file;
  SMXRT_RETURN_IF_ERROR(openSafetensors(path, file));
  for (size_t index = 0; index < manifest.arguments.size(); ++index) {
    const ArgumentSpec &parameter = manifest.arguments[index];
    if (parameter.role != ArgumentRole::Parameter)
      continue;
    bool found = false;
    SMXRT_RETURN_IF_ERROR(readParameterTensor(file.get(), path, parameter.name,
                                              parameter, arguments[index].get(),
                                              /*required=*/true, found));
  }
  return nullptr;
}

} // namespace smxrt
