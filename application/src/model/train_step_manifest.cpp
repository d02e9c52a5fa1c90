//===- train_step_manifest.cpp - entry_points.train_step ------------------===//
//
// The train step's arguments and results, checked against the forward
// function's parameters: each parameter with both Adam moments, in the same
// order, and results that mirror them before the outputs (docs/abi.md).
//
//===----------------------------------------------------------------------===//

#include "model/manifest_reading.h"

#include "tensor_internal.h"

#include <optional>
#include <set>

namespace smxrt {
namespace manifest_reading {
namespace {

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
      SMXRT_RETURN_IF_ERROR(readArgument(
          (*arguments)[index],
          elementPath(memberPath(basePath, SMXRT_ENTRY_ARGUMENTS), index)));
    const json::Array *results = nullptr;
    SMXRT_RETURN_IF_ERROR(
        readArrayMember(entry, basePath, SMXRT_ENTRY_RESULTS, results));
    for (size_t index = 0; index < results->size(); ++index)
      SMXRT_RETURN_IF_ERROR(readResult(
          (*results)[index],
          elementPath(memberPath(basePath, SMXRT_ENTRY_RESULTS), index)));
    SMXRT_RETURN_IF_ERROR(readMemoryPlan(entry, basePath, spec.memoryPlan));
    SMXRT_RETURN_IF_ERROR(checkArguments());
    return checkResults();
  }

private:
  static constexpr const char *basePath =
      SMXRT_MANIFEST_ENTRY_POINTS "." SMXRT_ENTRY_TRAIN_STEP;

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
      SMXRT_RETURN_IF_ERROR(
          checkInput(manifest, argument, path, /*scheduleScalars=*/true));
      spec.inputs.push_back(index);
      break;
    case ArgumentRole::Parameter: {
      // The same init rules as the forward function's parameters.
      SMXRT_RETURN_IF_ERROR(readParameterMembers(entry, path, argument));
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
        return wrongKind(memberPath(path, SMXRT_TENSOR_BATCH_MAJOR),
                         "a boolean", *batchMajor);
      result.batchMajor = batchMajor->getBool();
    }
    if (const json::Value *inPlace = entry.find(SMXRT_TENSOR_IN_PLACE)) {
      if (!inPlace->isBool())
        return wrongKind(memberPath(path, SMXRT_TENSOR_IN_PLACE), "a boolean",
                         *inPlace);
      if (result.role == ResultRole::Output && inPlace->getBool())
        return invalid(memberPath(path, SMXRT_TENSOR_IN_PLACE),
                       "an output has no argument to update in place");
      result.inPlace = inPlace->getBool();
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
    const std::string argumentsPath =
        memberPath(basePath, SMXRT_ENTRY_ARGUMENTS);
    for (std::string_view name :
         {std::string_view(SMXRT_INPUT_IDS), stepInputName,
          peakLearningRateInputName, warmupStepsInputName, totalStepsInputName})
      if (!spec.findArgument(name))
        return invalid(argumentsPath, "no '" + std::string(name) + "' input");
    SMXRT_RETURN_IF_ERROR(checkRun(spec.arguments, spec.firstMoments,
                                   SMXRT_ROLE_FIRST_MOMENT,
                                   SMXRT_ENTRY_ARGUMENTS));
    SMXRT_RETURN_IF_ERROR(checkRun(spec.arguments, spec.secondMoments,
                                   SMXRT_ROLE_SECOND_MOMENT,
                                   SMXRT_ENTRY_ARGUMENTS));
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
                                   "second_moment result",
                                   SMXRT_ENTRY_RESULTS));
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

} // namespace

smxrt_status_t readTrainStep(ModelManifest &manifest,
                             const json::Value &entry) {
  return TrainStepReader(manifest).read(entry);
}

} // namespace manifest_reading
} // namespace smxrt
