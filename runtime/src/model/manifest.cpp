//===- manifest.cpp - Parsing and checking the model manifest -------------===//
//
// Every error names the member by its path in the document
// ("entry_points.forward.results[2].dtype"), since a bad manifest is a
// compiler bug that someone has to find in generated JSON.
//
//===----------------------------------------------------------------------===//

#include "manifest.h"

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

const char *argumentRoleName(ArgumentRole role) {
  switch (role) {
  case ArgumentRole::Input:
    return "input";
  case ArgumentRole::Parameter:
    return "parameter";
  case ArgumentRole::FirstMoment:
    return "first_moment";
  case ArgumentRole::SecondMoment:
    return "second_moment";
  }
  return "unknown";
}

const char *parameterInitName(ParameterInit init) {
  switch (init) {
  case ParameterInit::None:
    return "none";
  case ParameterInit::Normal:
    return "normal";
  case ParameterInit::Zeros:
    return "zeros";
  case ParameterInit::Ones:
    return "ones";
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

/// name, dtype and shape, common to arguments and results.
smxrt_status_t readTensorSpec(const json::Value &entry, const std::string &path,
                              TensorSpec &spec) {
  if (!entry.isObject())
    return wrongKind(path, "an object", entry);
  SMXRT_RETURN_IF_ERROR(readStringMember(entry, path, "name", spec.name));
  if (spec.name.empty())
    return invalid(memberPath(path, "name"), "empty name");
  std::string dtypeName;
  SMXRT_RETURN_IF_ERROR(readStringMember(entry, path, "dtype", dtypeName));
  spec.dtype = smxrt_dtype_from_name(dtypeName.c_str());
  if (spec.dtype == SMXRT_DTYPE_INVALID)
    return invalid(memberPath(path, "dtype"),
                   "unknown dtype '" + dtypeName + "'");
  const json::Array *shape = nullptr;
  SMXRT_RETURN_IF_ERROR(readArrayMember(entry, path, "shape", shape));
  std::string shapePath = memberPath(path, "shape");
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

/// A parameter's "init": normal, zeros or ones (the last two F32 only).
smxrt_status_t readParameterInit(const json::Value &entry,
                                 const std::string &path,
                                 ArgumentSpec &parameter) {
  std::string init;
  SMXRT_RETURN_IF_ERROR(readStringMember(entry, path, "init", init));
  if (init == "normal")
    parameter.init = ParameterInit::Normal;
  else if (init == "zeros")
    parameter.init = ParameterInit::Zeros;
  else if (init == "ones")
    parameter.init = ParameterInit::Ones;
  else
    return invalid(memberPath(path, "init"),
                   "unknown init '" + init +
                       "' (expected 'normal', 'zeros' or 'ones')");
  if (parameter.init != ParameterInit::Zeros &&
      parameter.dtype != SMXRT_DTYPE_F32)
    return invalid(memberPath(path, "init"),
                   formatString("init '%s' needs an F32 parameter, but '%s' "
                                "is %s",
                                init.c_str(), parameter.name.c_str(),
                                smxrt_dtype_name(parameter.dtype)));
  return nullptr;
}

/// "loss_weight" and "metric" of a result, both optional.
smxrt_status_t readLossAndMetric(const json::Value &entry,
                                 const std::string &path, ResultSpec &result) {
  if (const json::Value *weight = entry.find("loss_weight")) {
    if (!weight->isNumber())
      return wrongKind(memberPath(path, "loss_weight"), "a number", *weight);
    result.isLossTerm = true;
    result.lossWeight = weight->getNumber();
  }
  if (const json::Value *metric = entry.find("metric")) {
    if (!metric->isBool())
      return wrongKind(memberPath(path, "metric"), "a boolean", *metric);
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
        readArrayMember(entry, basePath, "arguments", arguments));
    for (size_t index = 0; index < arguments->size(); ++index)
      SMXRT_RETURN_IF_ERROR(
          readArgument((*arguments)[index],
                       elementPath(memberPath(basePath, "arguments"), index)));
    const json::Array *results = nullptr;
    SMXRT_RETURN_IF_ERROR(readArrayMember(entry, basePath, "results", results));
    for (size_t index = 0; index < results->size(); ++index)
      SMXRT_RETURN_IF_ERROR(
          readResult((*results)[index],
                     elementPath(memberPath(basePath, "results"), index)));
    SMXRT_RETURN_IF_ERROR(checkArguments());
    return checkResults();
  }

private:
  static constexpr const char *basePath = "entry_points.train_step";

  smxrt_status_t readArgument(const json::Value &entry,
                              const std::string &path) {
    ArgumentSpec argument;
    SMXRT_RETURN_IF_ERROR(readTensorSpec(entry, path, argument));
    std::string role;
    SMXRT_RETURN_IF_ERROR(readStringMember(entry, path, "role", role));
    if (role == "input")
      argument.role = ArgumentRole::Input;
    else if (role == "parameter")
      argument.role = ArgumentRole::Parameter;
    else if (role == "first_moment")
      argument.role = ArgumentRole::FirstMoment;
    else if (role == "second_moment")
      argument.role = ArgumentRole::SecondMoment;
    else
      return invalid(memberPath(path, "role"),
                     "unknown role '" + role +
                         "' (expected 'input', 'parameter', 'first_moment' "
                         "or 'second_moment')");
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
    if ((input.name == "input_ids" || input.name == "type_ids") &&
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
    SMXRT_RETURN_IF_ERROR(readStringMember(entry, path, "role", role));
    if (role == "output")
      result.role = ResultRole::Output;
    else if (role == "parameter")
      result.role = ResultRole::Parameter;
    else if (role == "first_moment")
      result.role = ResultRole::FirstMoment;
    else if (role == "second_moment")
      result.role = ResultRole::SecondMoment;
    else
      return invalid(memberPath(path, "role"),
                     "unknown role '" + role +
                         "' (expected 'parameter', 'first_moment', "
                         "'second_moment' or 'output')");
    if (!resultNames.insert(role + ":" + result.name).second)
      return invalid(path, "duplicate " + role + " '" + result.name + "'");
    SMXRT_RETURN_IF_ERROR(readLossAndMetric(entry, path, result));
    if (const json::Value *batchMajor = entry.find("batch_major")) {
      if (!batchMajor->isBool())
        return wrongKind(memberPath(path, "batch_major"), "a boolean",
                         *batchMajor);
      result.batchMajor = batchMajor->getBool();
    }
    size_t index = spec.results.size();
    switch (result.role) {
    case ResultRole::Output:
      if (result.name == "loss")
        lossIndex = index;
      else if (result.name == "grad_norm")
        gradNormIndex = index;
      else if (result.name == "learning_rate")
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
    const std::string argumentsPath = memberPath(basePath, "arguments");
    for (std::string_view name :
         {std::string_view("input_ids"), stepInputName,
          peakLearningRateInputName, warmupStepsInputName, totalStepsInputName})
      if (!spec.findArgument(name))
        return invalid(argumentsPath, "no '" + std::string(name) + "' input");
    SMXRT_RETURN_IF_ERROR(checkRun(spec.arguments, spec.firstMoments,
                                   "first_moment", "arguments"));
    SMXRT_RETURN_IF_ERROR(checkRun(spec.arguments, spec.secondMoments,
                                   "second_moment", "arguments"));
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
                                   "parameter result", "results"));
    SMXRT_RETURN_IF_ERROR(checkRun(spec.results, spec.firstMomentResults,
                                   "first_moment result", "results"));
    SMXRT_RETURN_IF_ERROR(checkRun(spec.results, spec.secondMomentResults,
                                   "second_moment result", "results"));
    const std::string resultsPath = memberPath(basePath, "results");
    std::pair<const char *, std::optional<size_t>> required[] = {
        {"loss", lossIndex},
        {"grad_norm", gradNormIndex},
        {"learning_rate", learningRateIndex}};
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
    SMXRT_RETURN_IF_ERROR(readStringMember(root, "", "model", manifest.model));
    SMXRT_RETURN_IF_ERROR(
        readIntegerMember(root, "", "batch", 1, manifest.batch));
    SMXRT_RETURN_IF_ERROR(
        readIntegerMember(root, "", "sequence", 1, manifest.sequence));
    const json::Value *entryPoints = nullptr;
    SMXRT_RETURN_IF_ERROR(requireMember(root, "", "entry_points", entryPoints));
    const json::Value *forward = nullptr;
    SMXRT_RETURN_IF_ERROR(
        requireMember(*entryPoints, "entry_points", "forward", forward));
    const std::string forwardPath = "entry_points.forward";
    const json::Array *arguments = nullptr;
    SMXRT_RETURN_IF_ERROR(
        readArrayMember(*forward, forwardPath, "arguments", arguments));
    for (size_t index = 0; index < arguments->size(); ++index)
      SMXRT_RETURN_IF_ERROR(readArgument(
          (*arguments)[index],
          elementPath(memberPath(forwardPath, "arguments"), index)));
    const json::Array *results = nullptr;
    SMXRT_RETURN_IF_ERROR(
        readArrayMember(*forward, forwardPath, "results", results));
    for (size_t index = 0; index < results->size(); ++index)
      SMXRT_RETURN_IF_ERROR(
          readResult((*results)[index],
                     elementPath(memberPath(forwardPath, "results"), index)));
    if (!manifest.findArgument("input_ids"))
      return invalid(memberPath(forwardPath, "arguments"),
                     "no 'input_ids' input");
    if (const json::Value *moeLayers = root.find("moe_layers")) {
      if (!moeLayers->isArray())
        return wrongKind("moe_layers", "an array", *moeLayers);
      for (size_t index = 0; index < moeLayers->getArray().size(); ++index)
        SMXRT_RETURN_IF_ERROR(readMoeLayer(moeLayers->getArray()[index],
                                           elementPath("moe_layers", index)));
    }
    if (const json::Value *task = root.find("task")) {
      SMXRT_RETURN_IF_ERROR(readString(*task, "task", manifest.task));
      if (manifest.task != "pretrain" && manifest.task != "finetune")
        return invalid("task", "unknown task '" + manifest.task +
                                   "' (expected 'pretrain' or 'finetune')");
    }
    if (const json::Value *trainStep = entryPoints->find("train_step")) {
      if (manifest.task.empty())
        return invalid("entry_points.train_step",
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
    SMXRT_RETURN_IF_ERROR(readStringMember(entry, path, "role", role));
    if (role == "input") {
      argument.role = ArgumentRole::Input;
      SMXRT_RETURN_IF_ERROR(checkInput(argument, path));
    } else if (role == "parameter") {
      argument.role = ArgumentRole::Parameter;
      SMXRT_RETURN_IF_ERROR(readInit(entry, path, argument));
    } else {
      return invalid(memberPath(path, "role"),
                     "unknown role '" + role +
                         "' (expected 'input' or 'parameter')");
    }
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
    if ((input.name == "input_ids" || input.name == "type_ids") &&
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

  static smxrt_status_t readInit(const json::Value &entry,
                                 const std::string &path,
                                 ArgumentSpec &parameter) {
    return readParameterInit(entry, path, parameter);
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
    if (const json::Value *batchMajor = entry.find("batch_major")) {
      if (!batchMajor->isBool())
        return wrongKind(memberPath(path, "batch_major"), "a boolean",
                         *batchMajor);
      if (batchMajor->getBool() &&
          (result.shape.empty() || result.shape[0] != manifest.batch))
        return invalid(memberPath(path, "batch_major"),
                       "true, but the first dimension is not the batch");
      result.batchMajor = batchMajor->getBool();
    }
    SMXRT_RETURN_IF_ERROR(readLossAndMetric(entry, path, result));
    if (!result.batchMajor && result.shape.size() == SMXRT_MAX_RANK)
      return invalid(memberPath(path, "shape"),
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
        readIntegerMember(entry, path, "layer", 0, layer.layer));
    SMXRT_RETURN_IF_ERROR(
        readIntegerMember(entry, path, "experts", 1, layer.experts));
    SMXRT_RETURN_IF_ERROR(
        readStringMember(entry, path, "policy", layer.policy));
    const json::Value *capacityFactor = nullptr;
    SMXRT_RETURN_IF_ERROR(
        requireMember(entry, path, "capacity_factor", capacityFactor));
    if (!capacityFactor->isNumber())
      return wrongKind(memberPath(path, "capacity_factor"), "a number",
                       *capacityFactor);
    layer.capacityFactor = capacityFactor->getNumber();
    SMXRT_RETURN_IF_ERROR(
        readIntegerMember(entry, path, "groups", 1, layer.groups));
    SMXRT_RETURN_IF_ERROR(readIntegerMember(entry, path, "tokens_per_group", 1,
                                            layer.tokensPerGroup));
    SMXRT_RETURN_IF_ERROR(
        readIntegerMember(entry, path, "capacity", 0, layer.capacity));
    manifest.moeLayers.push_back(std::move(layer));
    return nullptr;
  }

  ModelManifest &manifest;
  std::set<std::string, std::less<>> argumentNames;
  std::set<std::string, std::less<>> resultNames;
};

/// Checked before anything else: a newer manifest may differ everywhere.
smxrt_status_t checkAbiVersion(const json::Value &root) {
  const json::Value *version = root.find("abi_version");
  if (!version)
    return invalid("abi_version", "missing");
  if (!version->isInteger())
    return wrongKind("abi_version", "an integer", *version);
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
