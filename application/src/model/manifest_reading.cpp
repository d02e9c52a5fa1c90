//===- manifest_reading.cpp - Reading the manifest's JSON -----------------===//

#include "model/manifest_reading.h"

#include "tensor_internal.h"

namespace smxrt {
namespace manifest_reading {

smxrt_status_t invalid(const std::string &path, const std::string &problem) {
  return makeStatus(SMXRT_STATUS_INVALID_ARGUMENT, path + ": " + problem);
}

smxrt_status_t wrongKind(const std::string &path, const char *expected,
                         const json::Value &value) {
  return invalid(path, formatString("expected %s, got %s", expected,
                                    json::Value::describeKind(value.kind())));
}

/// The member `key` of the object at `path`; an error if it is missing.
smxrt_status_t requireMember(const json::Value &object, const std::string &path,
                             std::string_view key, const json::Value *&member) {
  member = object.find(key);
  if (!member)
    return invalid(path.empty() ? std::string(key) : path,
                   path.empty() ? "missing"
                                : "missing member '" + std::string(key) + "'");
  return nullptr;
}

std::string memberPath(const std::string &path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string elementPath(const std::string &path, size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

smxrt_status_t readInteger(const json::Value &value, const std::string &path,
                           int64_t minimum, int64_t &result) {
  if (!value.isInteger())
    return wrongKind(path, "an integer", value);
  result = value.getInteger();
  if (result < minimum)
    return invalid(path, formatString("%lld is less than %lld",
                                      static_cast<long long>(result),
                                      static_cast<long long>(minimum)));
  return nullptr;
}

smxrt_status_t readString(const json::Value &value, const std::string &path,
                          std::string &result) {
  if (!value.isString())
    return wrongKind(path, "a string", value);
  result = value.getString();
  return nullptr;
}

/// Reads the integer member `key` of `object` (at `path`), >= minimum.
smxrt_status_t readIntegerMember(const json::Value &object,
                                 const std::string &path, std::string_view key,
                                 int64_t minimum, int64_t &result) {
  const json::Value *member = nullptr;
  SMXRT_RETURN_IF_ERROR(requireMember(object, path, key, member));
  return readInteger(*member, memberPath(path, key), minimum, result);
}

smxrt_status_t readStringMember(const json::Value &object,
                                const std::string &path, std::string_view key,
                                std::string &result) {
  const json::Value *member = nullptr;
  SMXRT_RETURN_IF_ERROR(requireMember(object, path, key, member));
  return readString(*member, memberPath(path, key), result);
}

smxrt_status_t readMemoryPlan(const json::Value &entry, const std::string &path,
                              MemoryPlanSpec &plan) {
  const json::Value *member = entry.find(SMXRT_ENTRY_MEMORY_PLAN);
  if (!member)
    return nullptr;
  std::string planPath = memberPath(path, SMXRT_ENTRY_MEMORY_PLAN);
  if (!member->isObject())
    return wrongKind(planPath, "an object", *member);
  SMXRT_RETURN_IF_ERROR(readIntegerMember(
      *member, planPath, SMXRT_MEMORY_ARENA_BYTES, 0, plan.arenaBytes));
  SMXRT_RETURN_IF_ERROR(readIntegerMember(
      *member, planPath, SMXRT_MEMORY_PEAK_LIVE_BYTES, 0, plan.peakLiveBytes));
  if (member->find(SMXRT_MEMORY_PEAK_AT))
    SMXRT_RETURN_IF_ERROR(
        readStringMember(*member, planPath, SMXRT_MEMORY_PEAK_AT, plan.peakAt));
  if (plan.peakLiveBytes > plan.arenaBytes)
    return invalid(memberPath(planPath, SMXRT_MEMORY_PEAK_LIVE_BYTES),
                   "more than the arena's " + std::to_string(plan.arenaBytes) +
                       " bytes");
  plan.present = true;
  return nullptr;
}

smxrt_status_t readArrayMember(const json::Value &object,
                               const std::string &path, std::string_view key,
                               const json::Array *&result) {
  const json::Value *member = nullptr;
  SMXRT_RETURN_IF_ERROR(requireMember(object, path, key, member));
  if (!member->isArray())
    return wrongKind(memberPath(path, key), "an array", *member);
  result = &member->getArray();
  return nullptr;
}

/// name, dtype and shape, common to arguments and results.
smxrt_status_t readTensorSpec(const json::Value &entry, const std::string &path,
                              TensorSpec &spec) {
  if (!entry.isObject())
    return wrongKind(path, "an object", entry);
  SMXRT_RETURN_IF_ERROR(
      readStringMember(entry, path, SMXRT_TENSOR_NAME, spec.name));
  if (spec.name.empty())
    return invalid(memberPath(path, SMXRT_TENSOR_NAME), "empty name");
  std::string dtypeName;
  SMXRT_RETURN_IF_ERROR(
      readStringMember(entry, path, SMXRT_TENSOR_DTYPE, dtypeName));
  spec.dtype = smxrt_dtype_from_name(dtypeName.c_str());
  if (spec.dtype == SMXRT_DTYPE_INVALID)
    return invalid(memberPath(path, SMXRT_TENSOR_DTYPE),
                   "unknown dtype '" + dtypeName + "'");
  const json::Array *shape = nullptr;
  SMXRT_RETURN_IF_ERROR(
      readArrayMember(entry, path, SMXRT_TENSOR_SHAPE, shape));
  std::string shapePath = memberPath(path, SMXRT_TENSOR_SHAPE);
  if (shape->size() > SMXRT_MAX_RANK)
    return invalid(shapePath, formatString("rank %zu exceeds the maximum %d",
                                           shape->size(), SMXRT_MAX_RANK));
  spec.shape.clear();
  for (size_t axis = 0; axis < shape->size(); ++axis) {
    int64_t dimension = 0;
    SMXRT_RETURN_IF_ERROR(readInteger(
        (*shape)[axis], elementPath(shapePath, axis), 0, dimension));
    spec.shape.push_back(dimension);
  }
  ArraySize size;
  SMXRT_RETURN_IF_ERROR(annotateStatus(
      computeArraySize(spec.dtype, spec.shape.data(), spec.shape.size(), size),
      shapePath + ": ", SMXRT_STATUS_INVALID_ARGUMENT));
  spec.elementCount = size.elementCount;
  spec.byteSize = size.byteSize;
  return nullptr;
}

namespace {

/// A split parameter's SMXRT_TENSOR_SHARD_AXES and SMXRT_TENSOR_GLOBAL_SHAPE,
/// both or neither: the global shape is the slice's with a first dimension
/// a multiple of the slice's.
smxrt_status_t readParameterSharding(const json::Value &entry,
                                     const std::string &path,
                                     ArgumentSpec &parameter) {
  const json::Value *axes = entry.find(SMXRT_TENSOR_SHARD_AXES);
  const json::Value *global = entry.find(SMXRT_TENSOR_GLOBAL_SHAPE);
  if (!axes && !global)
    return nullptr;
  if (!axes || !global)
    return invalid(path, "a split parameter needs both '" SMXRT_TENSOR_SHARD_AXES
                         "' and '" SMXRT_TENSOR_GLOBAL_SHAPE "'");
  const json::Array *axesArray = nullptr, *globalArray = nullptr;
  SMXRT_RETURN_IF_ERROR(
      readArrayMember(entry, path, SMXRT_TENSOR_SHARD_AXES, axesArray));
  SMXRT_RETURN_IF_ERROR(
      readArrayMember(entry, path, SMXRT_TENSOR_GLOBAL_SHAPE, globalArray));
  std::string axesPath = memberPath(path, SMXRT_TENSOR_SHARD_AXES);
  std::string globalPath = memberPath(path, SMXRT_TENSOR_GLOBAL_SHAPE);
  if (axesArray->empty())
    return invalid(axesPath, "names no grid axis");
  for (size_t index = 0; index < axesArray->size(); ++index) {
    int64_t axis = 0;
    SMXRT_RETURN_IF_ERROR(readInteger((*axesArray)[index],
                                      elementPath(axesPath, index), 0, axis));
    parameter.shardAxes.push_back(axis);
  }
  for (size_t index = 0; index < globalArray->size(); ++index) {
    int64_t size = 0;
    SMXRT_RETURN_IF_ERROR(readInteger((*globalArray)[index],
                                      elementPath(globalPath, index), 1, size));
    parameter.globalShape.push_back(size);
  }
  const std::vector<int64_t> &slice = parameter.shape;
  const std::vector<int64_t> &whole = parameter.globalShape;
  if (slice.empty() || whole.size() != slice.size() ||
      !std::equal(slice.begin() + 1, slice.end(), whole.begin() + 1) ||
      whole[0] % slice[0] != 0)
    return invalid(globalPath,
                   formatString("%s is not a split of the slice %s along its "
                                "first dimension",
                                formatShape(whole.data(), whole.size()).c_str(),
                                formatShape(slice.data(), slice.size()).c_str()));
  return nullptr;
}

} // namespace

/// A parameter's SMXRT_TENSOR_INIT: normal, zeros or ones (the last two F32
/// only); and its split over grid axes, if any.
smxrt_status_t readParameterMembers(const json::Value &entry,
                                    const std::string &path,
                                    ArgumentSpec &parameter) {
  SMXRT_RETURN_IF_ERROR(readParameterSharding(entry, path, parameter));
  std::string init;
  SMXRT_RETURN_IF_ERROR(readStringMember(entry, path, SMXRT_TENSOR_INIT, init));
  if (init == SMXRT_INIT_NORMAL)
    parameter.init = ParameterInit::Normal;
  else if (init == SMXRT_INIT_ZEROS)
    parameter.init = ParameterInit::Zeros;
  else if (init == SMXRT_INIT_ONES)
    parameter.init = ParameterInit::Ones;
  else
    return invalid(memberPath(path, SMXRT_TENSOR_INIT),
                   "unknown init '" + init +
                       "' (expected 'normal', 'zeros' or 'ones')");
  if (parameter.init != ParameterInit::Zeros &&
      parameter.dtype != SMXRT_DTYPE_F32)
    return invalid(memberPath(path, SMXRT_TENSOR_INIT),
                   formatString("init '%s' needs an F32 parameter, but '%s' "
                                "is %s",
                                init.c_str(), parameter.name.c_str(),
                                smxrt_dtype_name(parameter.dtype)));
  return nullptr;
}

/// SMXRT_TENSOR_LOSS_WEIGHT and SMXRT_TENSOR_METRIC of a result, both optional.
smxrt_status_t readLossAndMetric(const json::Value &entry,
                                 const std::string &path, ResultSpec &result) {
  if (const json::Value *weight = entry.find(SMXRT_TENSOR_LOSS_WEIGHT)) {
    if (!weight->isNumber())
      return wrongKind(memberPath(path, SMXRT_TENSOR_LOSS_WEIGHT), "a number",
                       *weight);
    result.isLossTerm = true;
    result.lossWeight = weight->getNumber();
  }
  if (const json::Value *metric = entry.find(SMXRT_TENSOR_METRIC)) {
    if (!metric->isBool())
      return wrongKind(memberPath(path, SMXRT_TENSOR_METRIC), "a boolean",
                       *metric);
    result.isMetric = metric->getBool();
  }
  return nullptr;
}

/// Reads and checks entry_points.train_step against the forward function
/// already read (docs/abi.md).

/// Checks an input the application supplies: `step` (I64 []), with
/// `scheduleScalars` the train step's schedule scalars too, and otherwise
/// batch-major tensors (input_ids and type_ids: I32 [B, S]).
smxrt_status_t checkInput(const ModelManifest &manifest,
                          const ArgumentSpec &input, const std::string &path,
                          bool scheduleScalars) {
  std::string shape = formatShape(input.shape.data(), input.shape.size());
  auto scalar = [&](smxrt_dtype_t dtype) -> smxrt_status_t {
    if (input.dtype != dtype || !input.shape.empty())
      return invalid(
          path, formatString("input '%s' is %s %s, expected %s []",
                             input.name.c_str(), smxrt_dtype_name(input.dtype),
                             shape.c_str(), smxrt_dtype_name(dtype)));
    return nullptr;
  };
  if (input.name == stepInputName)
    return scalar(SMXRT_DTYPE_I64);
  if (scheduleScalars &&
      (input.name == warmupStepsInputName || input.name == totalStepsInputName))
    return scalar(SMXRT_DTYPE_I64);
  if (scheduleScalars && input.name == peakLearningRateInputName)
    return scalar(SMXRT_DTYPE_F32);
  if (input.shape.empty() || input.shape[0] != manifest.batch)
    return invalid(path, formatString("input '%s' has shape %s, whose "
                                      "first dimension is not the batch %lld",
                                      input.name.c_str(), shape.c_str(),
                                      static_cast<long long>(manifest.batch)));
  if ((input.name == SMXRT_INPUT_IDS || input.name == SMXRT_INPUT_TYPE_IDS) &&
      (input.dtype != SMXRT_DTYPE_I32 || input.shape.size() != 2 ||
       input.shape[1] != manifest.sequence))
    return invalid(
        path,
        formatString("input '%s' is %s %s, expected I32 [%lld, %lld]",
                     input.name.c_str(), smxrt_dtype_name(input.dtype),
                     shape.c_str(), static_cast<long long>(manifest.batch),
                     static_cast<long long>(manifest.sequence)));
  return nullptr;
}

} // namespace manifest_reading
} // namespace smxrt
