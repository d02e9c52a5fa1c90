//===- train_state.h - Buffers of the train step ----------------*- C++ -*-===//
//
// The application owns every buffer of smx_model_train_step (docs/abi.md): the
// batch and schedule inputs, the parameters and both Adam moments, and the
// outputs. A parameter or moment the train step updates in place (its result
// is "in_place" in the manifest) has one buffer; any other has two copies:
// the step reads one and writes the other, which then becomes current.
// Frozen parameters are kept unchanged by restoring them (and their moments)
// after each step: the train step still computes their gradients, and the
// application discards the update.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_RUNTIME_MODEL_TRAIN_STATE_H
#define SMX_RUNTIME_MODEL_TRAIN_STATE_H

#include "model/manifest.h"
#include "model/workspace.h"

#include "smx_application/model_main.h"

#include "handles.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace smxrt {

class TrainState {
public:
  /// Allocates every buffer (zero-filled: the moments start at 0).
  smxrt_status_t allocate(const ModelManifest &manifest);

  const TrainStepSpec &spec() const { return *trainStep; }
  size_t parameterCount() const { return trainStep->parameters.size(); }
  const ArgumentSpec &parameterSpec(size_t parameter) const {
    return trainStep->arguments[trainStep->parameters[parameter]];
  }
  /// The current value and moments of parameter `parameter` (an index into
  /// spec().parameters).
  smxrt_tensor_t *parameter(size_t parameter) const;
  smxrt_tensor_t *firstMoment(size_t parameter) const;
  smxrt_tensor_t *secondMoment(size_t parameter) const;
  /// The index of the parameter named `name`; -1 if none.
  long findParameter(std::string_view name) const;

  /// The buffer of the train step's input `name`; nullptr if it has none.
  smxrt_tensor_t *input(std::string_view name) const;

  /// Fills the current parameters by their inits.
  void initializeParameters(uint64_t seed);

  /// Parameters whose updates are discarded (indices into spec().parameters),
  /// at their current values: call after the parameters are loaded.
  smxrt_status_t setFrozen(std::vector<bool> frozen);
  const std::vector<bool> &getFrozen() const { return frozen; }

  /// Runs one step on the batch already in the input buffers: sets the
  /// schedule scalars and calls the train step, which writes the next
  /// parameters and moments (over the current ones where it updates them in
  /// place) and the outputs.
  void run(smxrt_model_train_step_fn_t trainStep, int64_t step,
           float peakLearningRate, int64_t warmupSteps, int64_t totalSteps);
  /// Makes the step's parameters and moments current, frozen ones excepted.
  void commit();

  /// The scalar F32 output at `result` (an index into spec().results).
  float scalarOutput(size_t result) const;
  const smxrt_tensor_t *output(size_t result) const {
    return outputs[result].get();
  }

private:
  const TrainStepSpec *trainStep = nullptr;
  /// Indexed by argument: the inputs' buffers (null for the others).
  std::vector<TensorPtr> inputs;
  /// The buffer of argument `argument` (a parameter or moment) the step
  /// reads, and the one it writes.
  smxrt_tensor_t *currentCopy(size_t argument) const;
  smxrt_tensor_t *nextCopy(size_t argument) const;

  /// Indexed by argument: the copies of every parameter and moment, the
  /// second one null when the step updates it in place (both null for
  /// inputs).
  std::vector<TensorPtr> copies[2];
  /// Indexed by argument: frozen state the step updates in place, saved by
  /// setFrozen() to be restored after each step.
  std::vector<TensorPtr> frozenValues;
  /// The train step's arena.
  Workspace workspace;
  /// Indexed by result: the outputs' buffers (null for the others).
  std::vector<TensorPtr> outputs;
  int current = 0;
  std::vector<bool> frozen;
};

/// The parameters of a fresh run: the seeded init, then `weightsPath`
/// (every parameter, or with `partial` those it holds) when given; `report`
/// says which.
smxrt_status_t initializeTrainState(TrainState &state, uint64_t seed,
                                    const std::string &weightsPath,
                                    bool partial, std::string &report);

/// Resolves --freeze (groups and name patterns, freeze.cpp) to one flag per
/// parameter; `report` lists what was frozen, `notes` groups that match
/// nothing.
smxrt_status_t resolveFreeze(const std::string &list, const TrainState &state,
                             std::vector<bool> &frozen, std::string &report,
                             std::vector<std::string> &notes);

} // namespace smxrt

#endif // SMX_RUNTIME_MODEL_TRAIN_STATE_H
