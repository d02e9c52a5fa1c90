//===- train_state.cpp - Buffers of the train step ------------------------===//

#include "training/train_state.h"

#include "model/parameters.h"
#include "training/checkpoint.h"

#include "handles.h"
#include "status_internal.h"

#include <cstring>

namespace smxrt {

smxrt_status_t TrainState::allocate(const ModelManifest &manifest) {
  trainStep = &manifest.trainStep;
  const TrainStepSpec &spec = manifest.trainStep;
  inputs.clear();
  inputs.resize(spec.arguments.size());
  for (auto &copy : copies) {
    copy.clear();
    copy.resize(spec.arguments.size());
  }
  outputs.clear();
  outputs.resize(spec.results.size());
  std::vector<bool> inPlace(spec.arguments.size(), false);
  for (int64_t argument : spec.inPlaceArguments())
    if (argument >= 0)
      inPlace[static_cast<size_t>(argument)] = true;
  for (size_t index = 0; index < spec.arguments.size(); ++index) {
    const ArgumentSpec &argument = spec.arguments[index];
    if (argument.role == ArgumentRole::Input) {
      SMXRT_RETURN_IF_ERROR(
          createTensor(argument.dtype, argument.shape, inputs[index]));
      continue;
    }
    for (int copy = 0; copy < (inPlace[index] ? 1 : 2); ++copy)
      SMXRT_RETURN_IF_ERROR(annotateStatus(
          createTensor(argument.dtype, argument.shape, copies[copy][index]),
          formatString("%s '%s': ", argumentRoleName(argument.role),
                       argument.name.c_str())));
  }
  frozenValues.clear();
  frozenValues.resize(spec.arguments.size());
  SMXRT_RETURN_IF_ERROR(
      workspace.allocate(spec.memoryPlan, "train step", spec.bufferBytes()));
  for (size_t index = 0; index < spec.results.size(); ++index) {
    const ResultSpec &result = spec.results[index];
    if (result.role == ResultRole::Output)
      SMXRT_RETURN_IF_ERROR(
          createTensor(result.dtype, result.shape, outputs[index]));
  }
  current = 0;
  frozen.assign(spec.parameters.size(), false);
  return nullptr;
}

smxrt_tensor_t *TrainState::currentCopy(size_t argument) const {
  return copies[1][argument] ? copies[current][argument].get()
                             : copies[0][argument].get();
}

smxrt_tensor_t *TrainState::nextCopy(size_t argument) const {
  return copies[1][argument] ? copies[1 - current][argument].get()
                             : copies[0][argument].get();
}

smxrt_tensor_t *TrainState::parameter(size_t parameter) const {
  return currentCopy(trainStep->parameters[parameter]);
}

smxrt_tensor_t *TrainState::firstMoment(size_t parameter) const {
  return currentCopy(trainStep->firstMoments[parameter]);
}

smxrt_tensor_t *TrainState::secondMoment(size_t parameter) const {
  return currentCopy(trainStep->secondMoments[parameter]);
}

/// Calls `visit(argument)` for the value and both moments of every frozen
/// parameter.
template <typename Visit>
static void forEachFrozenArgument(const TrainStepSpec &spec,
                                  const std::vector<bool> &frozen,
                                  Visit visit) {
  for (size_t index = 0; index < frozen.size(); ++index)
    if (frozen[index])
      for (const std::vector<size_t> *run :
           {&spec.parameters, &spec.firstMoments, &spec.secondMoments})
        visit((*run)[index]);
}

long TrainState::findParameter(std::string_view name) const {
  for (size_t index = 0; index < trainStep->parameters.size(); ++index)
    if (parameterSpec(index).name == name)
      return static_cast<long>(index);
  return -1;
}

smxrt_tensor_t *TrainState::input(std::string_view name) const {
  const ArgumentSpec *argument = trainStep->findArgument(name);
  return argument ? inputs[argument - trainStep->arguments.data()].get()
                  : nullptr;
}

void TrainState::initializeParameters(uint64_t seed) {
  for (size_t index = 0; index < parameterCount(); ++index)
    initializeParameter(parameterSpec(index), seed, parameter(index));
}

smxrt_status_t TrainState::setFrozen(std::vector<bool> frozen) {
  this->frozen = std::move(frozen);
  // Frozen state the step overwrites in place: saved here, restored by
  // commit().
  smxrt_status_t status = nullptr;
  forEachFrozenArgument(*trainStep, this->frozen, [&](size_t argument) {
    if (status || copies[1][argument] || frozenValues[argument])
      return;
    const ArgumentSpec &spec = trainStep->arguments[argument];
    status = createTensor(spec.dtype, spec.shape, frozenValues[argument]);
    if (!status)
      std::memcpy(smxrt_tensor_data(frozenValues[argument].get()),
                  smxrt_tensor_const_data(copies[0][argument].get()),
                  spec.byteSize);
  });
  return status;
}

void TrainState::run(smxrt_model_train_step_fn_t function, int64_t step,
                     float peakLearningRate, int64_t warmupSteps,
                     int64_t totalSteps) {
  const TrainStepSpec &spec = *trainStep;
  *static_cast<int64_t *>(smxrt_tensor_data(input(stepInputName))) = step;
  *static_cast<float *>(smxrt_tensor_data(input(peakLearningRateInputName))) =
      peakLearningRate;
  *static_cast<int64_t *>(smxrt_tensor_data(input(warmupStepsInputName))) =
      warmupSteps;
  *static_cast<int64_t *>(smxrt_tensor_data(input(totalStepsInputName))) =
      totalSteps;
  std::vector<void *> arguments(spec.arguments.size());
  for (size_t index = 0; index < arguments.size(); ++index)
    arguments[index] =
        smxrt_tensor_data(spec.arguments[index].role == ArgumentRole::Input
                              ? inputs[index].get()
                              : currentCopy(index));
  // Each result goes to the next copy of its argument namesake: the other
  // copy, or (in place) the same buffer, whose result pointer the step
  // never accesses.
  std::vector<void *> results(spec.results.size());
  auto bind = [&](const std::vector<size_t> &resultRun,
                  const std::vector<size_t> &argumentRun) {
    for (size_t index = 0; index < resultRun.size(); ++index)
      results[resultRun[index]] =
          smxrt_tensor_data(nextCopy(argumentRun[index]));
  };
  bind(spec.parameterResults, spec.parameters);
  bind(spec.firstMomentResults, spec.firstMoments);
  bind(spec.secondMomentResults, spec.secondMoments);
  for (size_t index = 0; index < results.size(); ++index)
    if (spec.results[index].role == ResultRole::Output)
      results[index] = smxrt_tensor_data(outputs[index].get());
  function(arguments.data(), results.data(), workspace.data());
}

void TrainState::commit() {
  forEachFrozenArgument(*trainStep, frozen, [&](size_t argument) {
    const smxrt_tensor_t *kept = copies[1][argument]
                                     ? copies[current][argument].get()
                                     : frozenValues[argument].get();
    std::memcpy(smxrt_tensor_data(nextCopy(argument)),
                smxrt_tensor_const_data(kept),
                trainStep->arguments[argument].byteSize);
  });
  current = 1 - current;
}

float TrainState::scalarOutput(size_t result) const {
  return *static_cast<const float *>(
      smxrt_tensor_const_data(outputs[result].get()));
}

/// The parameters of a fresh run: --weights (every parameter), --init (by
/// name), or the seeded init.
smxrt_status_t initializeTrainState(TrainState &state, uint64_t seed,
                                    const std::string &weightsPath,
                                    bool partial, std::string &report) {
  state.initializeParameters(seed);
  if (weightsPath.empty()) {
    report = formatString("parameters: %zu, initialized from --seed %llu",
                          state.parameterCount(),
                          static_cast<unsigned long long>(seed));
    return nullptr;
  }
  WeightsSource source;
  SMXRT_RETURN_IF_ERROR(resolveWeightsSource(weightsPath, source));
  SafetensorsFilePtr file;
  SMXRT_RETURN_IF_ERROR(openSafetensors(source.weightsFile, file));
  std::vector<std::string> missing;
  size_t loaded = 0;
  for (size_t index = 0; index < state.parameterCount(); ++index) {
    const ArgumentSpec &parameter = state.parameterSpec(index);
    bool found = false;
    SMXRT_RETURN_IF_ERROR(readParameterTensor(
        file.get(), source.weightsFile, parameter.name, parameter,
        state.parameter(index), /*required=*/!partial, found));
    if (found)
      ++loaded;
    else
      missing.push_back(parameter.name);
  }
  if (loaded == 0)
    return makeStatusf(SMXRT_STATUS_NOT_FOUND,
                       "%s holds none of the model's %zu parameters",
                       source.weightsFile.c_str(), state.parameterCount());
  size_t unused = smxrt_safetensors_tensor_count(file.get()) - loaded;
  report = formatString("parameters: %zu of %zu loaded from %s", loaded,
                        state.parameterCount(), source.weightsFile.c_str());
  if (unused > 0)
    report += formatString(" (%zu of its tensors are not parameters of this "
                           "model)",
                           unused);
  if (!missing.empty()) {
    report +=
        formatString("; %zu keep their init from --seed %llu:", missing.size(),
                     static_cast<unsigned long long>(seed));
    for (const std::string &name : missing)
      report += " " + name;
  }
  return nullptr;
}

} // namespace smxrt
