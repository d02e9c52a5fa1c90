//===- manifest.cpp - Parsing and checking the model manifest -------------===//
//
// Every error names the member by its path in the document
// ("entry_points.forward.results[2].dtype"), since a bad manifest is a
// compiler bug that someone has to find in generated JSON.
//
//===----------------------------------------------------------------------===//

#include "model/manifest.h"

#include "smx_runtime/smx_runtime.h"

#include "json.h"
#include "status_internal.h"
#include "tensor_internal.h"

#include <optional>
#include <set>

namespace smxrt {

const ArgumentSpec *ModelManifest::findArgument(std::string_view name) const {
  for (const ArgumentSpec &argument : arguments)
    if (argument.name == name)
      return &argument;
  return nullptr;
}

const ResultSpec *ModelManifest::findResult(std::string_view name) const {
  for (const ResultSpec &result : results)
    if (result.name == name)
      return &result;
  return nullptr;
}

const ArgumentSpec *TrainStepSpec::findArgument(std::string_view name) const {
  for (const ArgumentSpec &argument : arguments)
    if (argument.role == ArgumentRole::Input && argument.name == name)
      return &argument;
  return nullptr;
}

const ResultSpec *TrainStepSpec::findResult(std::string_view name) const {
  for (const ResultSpec &result : results)
    if (result.role == ResultRole::Output && result.name == name)
      return &result;
  return nullptr;
}

namespace {

/// A role as the manifest spells it (model_abi.h) and as the runtime holds
/// it; each entry point's list of allowed roles is one table.
template <typename Role> struct RoleSpelling {
  const char *name;
  Role role;
};

constexpr RoleSpelling<ArgumentRole> forwardArgumentRoles[] = {
    {SMXRT_ROLE_INPUT, ArgumentRole::Input},
    {SMXRT_ROLE_PARAMETER, ArgumentRole::Parameter}};
constexpr RoleSpelling<ArgumentRole> trainStepArgumentRoles[] = {
    {SMXRT_ROLE_INPUT, ArgumentRole::Input},
    {SMXRT_ROLE_PARAMETER, ArgumentRole::Parameter},
    {SMXRT_ROLE_FIRST_MOMENT, ArgumentRole::FirstMoment},
    {SMXRT_ROLE_SECOND_MOMENT, ArgumentRole::SecondMoment}};
constexpr RoleSpelling<ResultRole> trainStepResultRoles[] = {
    {SMXRT_ROLE_PARAMETER, ResultRole::Parameter},
    {SMXRT_ROLE_FIRST_MOMENT, ResultRole::FirstMoment},
    {SMXRT_ROLE_SECOND_MOMENT, ResultRole::SecondMoment},
    {SMXRT_ROLE_OUTPUT, ResultRole::Output}};

} // namespace

const char *argumentRoleName(ArgumentRole role) {
  for (const auto &spelling : trainStepArgumentRoles)
    if (spelling.role == role)
      return spelling.name;
  return "unknown";
}

const char *parameterInitName(ParameterInit init) {
  switch (init) {
  case ParameterInit::None:
    return "none";
  case ParameterInit::Normal:
    return SMXRT_INIT_NORMAL;
  case ParameterInit::Zeros:
    return SMXRT_INIT_ZEROS;
  case ParameterInit::Ones:
    return SMXRT_INIT_ONES;
  }
  return "unknown";
}

namespace {

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

/// Reads the "role" of `entry` as one of `roles`; `spelling` gets the text.
template <typename Role, size_t Count>
smxrt_status_t readRole(const json::Value &entry, const std::string &path,
                        const RoleSpelling<Role> (&roles)[Count], Role &role,
                        std::string &spelling) {
  SMXRT_RETURN_IF_ERROR(
      readStringMember(entry, path, SMXRT_TENSOR_ROLE, spelling));
  for (const RoleSpelling<Role> &candidate : roles)
    if (spelling == candidate.name) {
      role = candidate.role;
      return nullptr;
    }
  std::string expected;
  for (size_t index = 0; index < Count; ++index)
    expected += std::string(index == 0 ? "'"
                            : index + 1 == Count ? " or '"
                                                 : ", '") +
                roles[index].name + "'";
  return invalid(memberPath(path, SMXRT_TENSOR_ROLE),
                 "unknown role '" + spelling + "' (expected " + expected + ")");
}

/// name, dtype and shape, common to arguments and results.
smxrt_status_t readTensorSpec(const json::Value &entry, const std::string &path,
                              TensorSpec &spec) {
  if (!entry.isObject())
    return wrongKind(path, "an object", entry);
  SMXRT_RETURN_IF_ERROR(readStringMember(entry, path, SMXRT_TENSOR_NAME, spec.name));
  if (spec.name.empty())
    return invalid(memberPath(path, SMXRT_TENSOR_NAME), "empty name");
  std::string dtypeName;
  SMXRT_RETURN_IF_ERROR(readStringMember(entry, path, SMXRT_TENSOR_DTYPE, dtypeName));
  spec.dtype = smxrt_dtype_from_name(dtypeName.c_str());
  if (spec.dtype == SMXRT_DTYPE_INVALID)
    return invalid(memberPath(path, SMXRT_TENSOR_DTYPE),
                   "unknown dtype '" + dtypeName + "'");
  const json::Array *shape = nullptr;
  SMXRT_RETURN_IF_ERROR(readArrayMember(entry, path, SMXRT_TENSOR_SHAPE, shape));
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

/// A parameter's SMXRT_TENSOR_INIT: normal, zeros or ones (the last two F32 only).
smxrt_status_t readParameterInit(const json::Value &entry,
                                 const std::string &path,
                                 ArgumentSpec &parameter) {
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
      return wrongKind(memberPath(path, SMXRT_TENSOR_LOSS_WEIGHT), "a number", *weight);
    result.isLossTerm = true;
    result.lossWeight = weight->getNumber();
  }
  if (const json::Value *metric = entry.find(SMXRT_TENSOR_METRIC)) {
    if (!metric->isBool())
      return wrongKind(memberPath(path, SMXRT_TENSOR_METRIC), "a boolean", *metric);
    result.isMetric = metric->getBool();
  }
  return nullptr;
}

/// Reads and checks entry_points.train_step against the forward function
/// already read (docs/abi.md).
class TrainStepReader {
public:
  explicit TrainStepReader(ModelManifest &manifest)
      : manifest(manifest), spec(manifest.trainStep) {}

  smxrt_status_t read(const json::Value &entry) {
    if (!entry.isObject())
      return wrongKind(basePath, "an object", entry);
    const json::Array *arguments = nullptr;
    SMXRT_RETURN_IF_ERROR(
        readArrayMember(entry, basePath, SMXRT_ENTRY_ARGUMENTS, arguments));
    for (size_t index = 0; index < arguments->size(); ++index)
      SMXRT_RETURN_IF_ERROR(
          readArgument((*arguments)[index],
                       elementPath(memberPath(basePath, SMXRT_ENTRY_ARGUMENTS), index)));
    const json::Array *results = nullptr;
    SMXRT_RETURN_IF_ERROR(readArrayMember(entry, basePath, SMXRT_ENTRY_RESULTS, results));
    for (size_t index = 0; index < results->size(); ++index)
      SMXRT_RETURN_IF_ERROR(
          readResult((*results)[index],
                     elementPath(memberPath(basePath, SMXRT_ENTRY_RESULTS), index)));
    SMXRT_RETURN_IF_ERROR(checkArguments());
    return checkResults();
  }

private:
  static constexpr const char *basePath = SMXRT_MANIFEST_ENTRY_POINTS "." SMXRT_ENTRY_TRAIN_STEP;

  smxrt_status_t readArgument(const json::Value &entry,
                              const std::string &path) {
    ArgumentSpec argument;
    SMXRT_RETURN_IF_ERROR(readTensorSpec(entry, path, argument));
    std::string role;
    SMXRT_RETURN_IF_ERROR(
        readRole(entry, path, trainStepArgumentRoles, argument.role, role));
    if (!argumentNames.insert(role + ":" + argument.name).second)
      return invalid(path, "duplicate " + role + " '" + argument.name + "'");
    size_t index = spec.arguments.size();
    switch (argument.role) {
    case ArgumentRole::Input:
      SMXRT_RETURN_IF_ERROR(checkInput(argument, path));
      spec.inputs.push_back(index);
      break;
    case ArgumentRole::Parameter: {
      // The same init rules as the forward function's parameters.
      SMXRT_RETURN_IF_ERROR(readParameterInit(entry, path, argument));
      spec.parameters.push_back(index);
      break;
    }
    case ArgumentRole::FirstMoment:
      spec.firstMoments.push_back(index);
      break;
    case ArgumentRole::SecondMoment:
      spec.secondMoments.push_back(index);
      break;
    }
    spec.arguments.push_back(std::move(argument));
    return nullptr;
  }

  smxrt_status_t checkInput(const ArgumentSpec &input,
                            const std::string &path) const {
    std::string shape = formatShape(input.shape.data(), input.shape.size());
    auto scalar = [&](smxrt_dtype_t dtype) -> smxrt_status_t {
      if (input.dtype != dtype || !input.shape.empty())
        return invalid(path,
                       formatString("input '%s' is %s %s, expected %s []",
                                    input.name.c_str(),
                                    smxrt_dtype_name(input.dtype),
                                    shape.c_str(), smxrt_dtype_name(dtype)));
      return nullptr;
    };
    if (input.name == stepInputName || input.name == warmupStepsInputName ||
        input.name == totalStepsInputName)
      return scalar(SMXRT_DTYPE_I64);
    if (input.name == peakLearningRateInputName)
      return scalar(SMXRT_DTYPE_F32);
    if (input.shape.empty() || input.shape[0] != manifest.batch)
      return invalid(path,
                     formatString("input '%s' has shape %s, whose "
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

  smxrt_status_t readResult(const json::Value &entry, const std::string &path) {
    ResultSpec result;
    SMXRT_RETURN_IF_ERROR(readTensorSpec(entry, path, result));
    std::string role;
    SMXRT_RETURN_IF_ERROR(
        readRole(entry, path, trainStepResultRoles, result.role, role));
    if (!resultNames.insert(role + ":" + result.name).second)
      return invalid(path, "duplicate " + role + " '" + result.name + "'");
    SMXRT_RETURN_IF_ERROR(readLossAndMetric(entry, path, result));
    if (const json::Value *batchMajor = entry.find(SMXRT_TENSOR_BATCH_MAJOR)) {
      if (!batchMajor->isBool())
        return wrongKind(memberPath(path, SMXRT_TENSOR_BATCH_MAJOR), "a boolean",
                         *batchMajor);
      result.batchMajor = batchMajor->getBool();
    }
    size_t index = spec.results.size();
    switch (result.role) {
    case ResultRole::Output:
      if (result.name == SMXRT_OUTPUT_LOSS)
        lossIndex = index;
      else if (result.name == SMXRT_OUTPUT_GRAD_NORM)
        gradNormIndex = index;
      else if (result.name == SMXRT_OUTPUT_LEARNING_RATE)
        learningRateIndex = index;
      else
        spec.reported.push_back(index);
      break;
    case ResultRole::Parameter:
      spec.parameterResults.push_back(index);
      break;
    case ResultRole::FirstMoment:
      spec.firstMomentResults.push_back(index);
      break;
    case ResultRole::SecondMoment:
      spec.secondMomentResults.push_back(index);
      break;
    }
    spec.results.push_back(std::move(result));
    return nullptr;
  }

  /// Whether two specs have the same dtype and shape.
  static bool sameType(const TensorSpec &lhs, const TensorSpec &rhs) {
    return lhs.dtype == rhs.dtype && lhs.shape == rhs.shape;
  }

  static std::string describe(const TensorSpec &spec) {
    return formatString(
        "%s %s", smxrt_dtype_name(spec.dtype),
        formatShape(spec.shape.data(), spec.shape.size()).c_str());
  }

  /// The i-th entry of `run` (indices into `entries`) must be the i-th
  /// parameter's namesake of the same type.
  template <typename Entry>
  smxrt_status_t checkRun(const std::vector<Entry> &entries,
                          const std::vector<size_t> &run, const char *what,
                          const char *listName) const {
    const std::string listPath = memberPath(basePath, listName);
    if (run.size() != spec.parameters.size())
      return invalid(listPath,
                     formatString("%zu %s entries for %zu parameters",
                                  run.size(), what, spec.parameters.size()));
    for (size_t index = 0; index < run.size(); ++index) {
      const ArgumentSpec &parameter = spec.arguments[spec.parameters[index]];
      const TensorSpec &entry = entries[run[index]];
      if (entry.name != parameter.name || !sameType(entry, parameter))
        return invalid(
            elementPath(listPath, run[index]),
            formatString("%s %zu is '%s' %s, but parameter %zu is '%s' %s",
                         what, index, entry.name.c_str(),
                         describe(entry).c_str(), index, parameter.name.c_str(),
                         describe(parameter).c_str()));
    }
    return nullptr;
  }

  smxrt_status_t checkArguments() const {
    const std::string argumentsPath = memberPath(basePath, SMXRT_ENTRY_ARGUMENTS);
    for (std::string_view name :
         {std::string_view(SMXRT_INPUT_IDS), stepInputName,
          peakLearningRateInputName, warmupStepsInputName, totalStepsInputName})
      if (!spec.findArgument(name))
        return invalid(argumentsPath, "no '" + std::string(name) + "' input");
    SMXRT_RETURN_IF_ERROR(checkRun(spec.arguments, spec.firstMoments,
                                   SMXRT_ROLE_FIRST_MOMENT, SMXRT_ENTRY_ARGUMENTS));
    SMXRT_RETURN_IF_ERROR(checkRun(spec.arguments, spec.secondMoments,
                                   SMXRT_ROLE_SECOND_MOMENT, SMXRT_ENTRY_ARGUMENTS));
    for (size_t index : spec.firstMoments)
      if (spec.arguments[index].dtype != SMXRT_DTYPE_F32)
        return invalid(elementPath(argumentsPath, index),
                       "moments must be F32");
    // The forward function evaluates the parameters the train step trains.
    for (const ArgumentSpec &argument : manifest.arguments) {
      if (argument.role != ArgumentRole::Parameter)
        continue;
      const ArgumentSpec *trained = nullptr;
      for (size_t index : spec.parameters)
        if (spec.arguments[index].name == argument.name)
          trained = &spec.arguments[index];
      if (!trained)
        return invalid(argumentsPath,
                       "no parameter '" + argument.name +
                           "', which the forward function takes");
      if (!sameType(*trained, argument))
        return invalid(argumentsPath, "parameter '" + argument.name + "' is " +
                                          describe(*trained) +
                                          ", but the forward function takes " +
                                          describe(argument));
    }
    return nullptr;
  }

  smxrt_status_t checkResults() {
    SMXRT_RETURN_IF_ERROR(checkRun(spec.results, spec.parameterResults,
                                   "parameter result", SMXRT_ENTRY_RESULTS));
    SMXRT_RETURN_IF_ERROR(checkRun(spec.results, spec.firstMomentResults,
                                   "first_moment result", SMXRT_ENTRY_RESULTS));
    SMXRT_RETURN_IF_ERROR(checkRun(spec.results, spec.secondMomentResults,
                                   "second_moment result", SMXRT_ENTRY_RESULTS));
    const std::string resultsPath = memberPath(basePath, SMXRT_ENTRY_RESULTS);
    std::pair<const char *, std::optional<size_t>> required[] = {
        {SMXRT_OUTPUT_LOSS, lossIndex},
        {SMXRT_OUTPUT_GRAD_NORM, gradNormIndex},
        {SMXRT_OUTPUT_LEARNING_RATE, learningRateIndex}};
    for (const auto &[name, index] : required) {
      if (!index)
        return invalid(resultsPath, formatString("no '%s' output", name));
      const ResultSpec &result = spec.results[*index];
      if (result.dtype != SMXRT_DTYPE_F32 || !result.shape.empty())
        return invalid(elementPath(resultsPath, *index),
                       formatString("output '%s' is %s, expected F32 []", name,
                                    describe(result).c_str()));
    }
    spec.loss = *lossIndex;
    spec.gradNorm = *gradNormIndex;
    spec.learningRate = *learningRateIndex;
    for (size_t index : spec.reported) {
      const ResultSpec &result = spec.results[index];
      if (result.isLossTerm &&
          (result.dtype != SMXRT_DTYPE_F32 || !result.shape.empty()))
        return invalid(elementPath(resultsPath, index),
                       formatString("loss term '%s' is %s, expected F32 []",
                                    result.name.c_str(),
                                    describe(result).c_str()));
    }
    return nullptr;
  }

  const ModelManifest &manifest;
  TrainStepSpec &spec;
  std::set<std::string, std::less<>> argumentNames;
  std::set<std::string, std::less<>> resultNames;
  std::optional<size_t> lossIndex, gradNormIndex, learningRateIndex;
};

class ManifestReader {
public:
  explicit ManifestReader(ModelManifest &manifest) : manifest(manifest) {}

  smxrt_status_t read(const json::Value &root) {
    SMXRT_RETURN_IF_ERROR(readStringMember(root, "", SMXRT_MANIFEST_MODEL, manifest.model));
    SMXRT_RETURN_IF_ERROR(
        readIntegerMember(root, "", SMXRT_MANIFEST_BATCH, 1, manifest.batch));
    SMXRT_RETURN_IF_ERROR(
        readIntegerMember(root, "", SMXRT_MANIFEST_SEQUENCE, 1, manifest.sequence));
    const json::Value *entryPoints = nullptr;
    SMXRT_RETURN_IF_ERROR(requireMember(root, "", SMXRT_MANIFEST_ENTRY_POINTS, entryPoints));
    const json::Value *forward = nullptr;
    SMXRT_RETURN_IF_ERROR(
        requireMember(*entryPoints, SMXRT_MANIFEST_ENTRY_POINTS, SMXRT_ENTRY_FORWARD, forward));
    const std::string forwardPath = SMXRT_MANIFEST_ENTRY_POINTS "." SMXRT_ENTRY_FORWARD;
    const json::Array *arguments = nullptr;
    SMXRT_RETURN_IF_ERROR(
        readArrayMember(*forward, forwardPath, SMXRT_ENTRY_ARGUMENTS, arguments));
    for (size_t index = 0; index < arguments->size(); ++index)
      SMXRT_RETURN_IF_ERROR(readArgument(
          (*arguments)[index],
          elementPath(memberPath(forwardPath, SMXRT_ENTRY_ARGUMENTS), index)));
    const json::Array *results = nullptr;
    SMXRT_RETURN_IF_ERROR(
        readArrayMember(*forward, forwardPath, SMXRT_ENTRY_RESULTS, results));
    for (size_t index = 0; index < results->size(); ++index)
      SMXRT_RETURN_IF_ERROR(
          readResult((*results)[index],
                     elementPath(memberPath(forwardPath, SMXRT_ENTRY_RESULTS), index)));
    if (!manifest.findArgument(SMXRT_INPUT_IDS))
      return invalid(memberPath(forwardPath, SMXRT_ENTRY_ARGUMENTS),
                     "no 'input_ids' input");
    if (const json::Value *moeLayers = root.find(SMXRT_MANIFEST_MOE_LAYERS)) {
      if (!moeLayers->isArray())
        return wrongKind(SMXRT_MANIFEST_MOE_LAYERS, "an array", *moeLayers);
      for (size_t index = 0; index < moeLayers->getArray().size(); ++index)
        SMXRT_RETURN_IF_ERROR(readMoeLayer(moeLayers->getArray()[index],
                                           elementPath(SMXRT_MANIFEST_MOE_LAYERS, index)));
    }
    if (const json::Value *task = root.find(SMXRT_MANIFEST_TASK)) {
      SMXRT_RETURN_IF_ERROR(readString(*task, SMXRT_MANIFEST_TASK, manifest.task));
      if (manifest.task != SMXRT_TASK_PRETRAIN && manifest.task != SMXRT_TASK_FINETUNE)
        return invalid(SMXRT_MANIFEST_TASK, "unknown task '" + manifest.task +
                                   "' (expected 'pretrain' or 'finetune')");
    }
    if (const json::Value *trainStep = entryPoints->find(SMXRT_ENTRY_TRAIN_STEP)) {
      if (manifest.task.empty())
        return invalid(SMXRT_MANIFEST_ENTRY_POINTS "." SMXRT_ENTRY_TRAIN_STEP,
                       "present, but the manifest has no 'task'");
      manifest.hasTrainStep = true;
      SMXRT_RETURN_IF_ERROR(TrainStepReader(manifest).read(*trainStep));
    }
    return nullptr;
  }

private:
  smxrt_status_t readArgument(const json::Value &entry,
                              const std::string &path) {
    ArgumentSpec argument;
    SMXRT_RETURN_IF_ERROR(readTensorSpec(entry, path, argument));
    if (!argumentNames.insert(argument.name).second)
      return invalid(path, "duplicate argument '" + argument.name + "'");
    std::string role;
    SMXRT_RETURN_IF_ERROR(
        readRole(entry, path, forwardArgumentRoles, argument.role, role));
    if (argument.role == ArgumentRole::Input)
      SMXRT_RETURN_IF_ERROR(checkInput(argument, path));
    else
      SMXRT_RETURN_IF_ERROR(readParameterInit(entry, path, argument));
    manifest.arguments.push_back(std::move(argument));
    return nullptr;
  }

  /// The driver supplies `step` from --step and every other input from the
  /// input file, row by row: those must be batch-major.
  smxrt_status_t checkInput(const ArgumentSpec &input,
                            const std::string &path) const {
    std::string shape = formatShape(input.shape.data(), input.shape.size());
    if (input.name == stepInputName) {
      if (input.dtype != SMXRT_DTYPE_I64 || !input.shape.empty())
        return invalid(path, formatString("input 'step' is %s %s, expected "
                                          "I64 []",
                                          smxrt_dtype_name(input.dtype),
                                          shape.c_str()));
      return nullptr;
    }
    if (input.shape.empty() || input.shape[0] != manifest.batch)
      return invalid(path,
                     formatString("input '%s' has shape %s, whose "
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

  smxrt_status_t readResult(const json::Value &entry, const std::string &path) {
    ResultSpec result;
    SMXRT_RETURN_IF_ERROR(readTensorSpec(entry, path, result));
    if (!resultNames.insert(result.name).second)
      return invalid(path, "duplicate result '" + result.name + "'");
    // Routing statistics (moe.<i>.*) describe the whole batch even when one
    // of their dimensions happens to equal it (E or G == batch); an explicit
    // batch_major settles any other case.
    result.batchMajor = !result.shape.empty() &&
                        result.shape[0] == manifest.batch &&
                        result.name.compare(0, 4, "moe.") != 0;
    if (const json::Value *batchMajor = entry.find(SMXRT_TENSOR_BATCH_MAJOR)) {
      if (!batchMajor->isBool())
        return wrongKind(memberPath(path, SMXRT_TENSOR_BATCH_MAJOR), "a boolean",
                         *batchMajor);
      if (batchMajor->getBool() &&
          (result.shape.empty() || result.shape[0] != manifest.batch))
        return invalid(memberPath(path, SMXRT_TENSOR_BATCH_MAJOR),
                       "true, but the first dimension is not the batch");
      result.batchMajor = batchMajor->getBool();
    }
    SMXRT_RETURN_IF_ERROR(readLossAndMetric(entry, path, result));
    if (!result.batchMajor && result.shape.size() == SMXRT_MAX_RANK)
      return invalid(memberPath(path, SMXRT_TENSOR_SHAPE),
                     formatString("rank %d leaves no room for the chunk "
                                  "dimension of a per-batch result",
                                  SMXRT_MAX_RANK));
    manifest.results.push_back(std::move(result));
    return nullptr;
  }

  smxrt_status_t readMoeLayer(const json::Value &entry,
                              const std::string &path) {
    if (!entry.isObject())
      return wrongKind(path, "an object", entry);
    MoeLayerSpec layer;
    SMXRT_RETURN_IF_ERROR(
        readIntegerMember(entry, path, SMXRT_MOE_LAYER, 0, layer.layer));
    SMXRT_RETURN_IF_ERROR(
        readIntegerMember(entry, path, SMXRT_MOE_EXPERTS, 1, layer.experts));
    SMXRT_RETURN_IF_ERROR(
        readStringMember(entry, path, SMXRT_MOE_POLICY, layer.policy));
    const json::Value *capacityFactor = nullptr;
    SMXRT_RETURN_IF_ERROR(
        requireMember(entry, path, SMXRT_MOE_CAPACITY_FACTOR, capacityFactor));
    if (!capacityFactor->isNumber())
      return wrongKind(memberPath(path, SMXRT_MOE_CAPACITY_FACTOR), "a number",
                       *capacityFactor);
    layer.capacityFactor = capacityFactor->getNumber();
    SMXRT_RETURN_IF_ERROR(
        readIntegerMember(entry, path, SMXRT_MOE_GROUPS, 1, layer.groups));
    SMXRT_RETURN_IF_ERROR(readIntegerMember(entry, path, SMXRT_MOE_TOKENS_PER_GROUP, 1,
                                            layer.tokensPerGroup));
    SMXRT_RETURN_IF_ERROR(
        readIntegerMember(entry, path, SMXRT_MOE_CAPACITY, 0, layer.capacity));
    manifest.moeLayers.push_back(std::move(layer));
    return nullptr;
  }

  ModelManifest &manifest;
  std::set<std::string, std::less<>> argumentNames;
  std::set<std::string, std::less<>> resultNames;
};

/// Checked before anything else: a newer manifest may differ everywhere.
smxrt_status_t checkAbiVersion(const json::Value &root) {
  const json::Value *version = root.find(SMXRT_MANIFEST_ABI_VERSION);
  if (!version)
    return invalid(SMXRT_MANIFEST_ABI_VERSION, "missing");
  if (!version->isInteger())
    return wrongKind(SMXRT_MANIFEST_ABI_VERSION, "an integer", *version);
  if (version->getInteger() != SMXRT_ABI_VERSION)
    return makeStatusf(SMXRT_STATUS_UNIMPLEMENTED,
                       "the model was compiled for ABI version %lld, but this "
                       "runtime implements ABI version %d; rebuild the model "
                       "with an smxc that matches this runtime",
                       static_cast<long long>(version->getInteger()),
                       SMXRT_ABI_VERSION);
  return nullptr;
}

} // namespace

smxrt_status_t parseModelManifest(std::string_view text,
                                  ModelManifest &manifest) {
  return catchExceptions([&]() -> smxrt_status_t {
    json::ParseError parseError;
    std::optional<json::Value> root = json::parse(text, parseError);
    if (!root)
      return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                         "invalid model manifest: bad JSON at line %zu, column "
                         "%zu: %s",
                         parseError.line, parseError.column,
                         parseError.message.c_str());
    if (!root->isObject())
      return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                         "invalid model manifest: expected an object, got %s",
                         json::Value::describeKind(root->kind()));
    smxrt_status_t status = checkAbiVersion(*root);
    if (!status) {
      manifest = ModelManifest();
      manifest.text = std::string(text);
      status = ManifestReader(manifest).read(*root);
    }
    if (status && smxrt_status_code(status) == SMXRT_STATUS_INVALID_ARGUMENT)
      return annotateStatus(status, "invalid model manifest: ");
    return status;
  });
}

} // namespace smxrt
