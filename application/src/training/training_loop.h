//===- training_loop.h - The step loop of a training run --------*- C++ -*-===//
//
// Runs the train step from the run's first step to its last: the learning
// rate schedule's inputs, checkpoints every N steps and on SIGINT/SIGTERM,
// metrics, progress, and a stop with the last good checkpoint kept on a
// non-finite loss (docs/runtime.md, "Training").
//
//===----------------------------------------------------------------------===//

#ifndef SMX_APPLICATION_TRAINING_TRAINING_LOOP_H
#define SMX_APPLICATION_TRAINING_TRAINING_LOOP_H

#include "model/manifest.h"
#include "training/train_progress.h"
#include "training/train_state.h"

#include "smx_application/model_main.h"

#include "json.h"

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

namespace smxrt {

/// The step loop (docs/runtime.md, "Training").
struct LoopSettings {
  int64_t firstStep = 0; ///< Steps already done.
  int64_t totalSteps = 0;
  int64_t warmupSteps = 0;
  float peakLearningRate = 0;
  int64_t stopAt = 0; ///< 0: run to totalSteps.
  int64_t every = 1;
  uint64_t keep = 3;
  int64_t logEvery = 0;
  int64_t tokensPerStep = 0;
  std::string checkpointDirectory;
  /// The last good checkpoint: the one resumed from, then each one written.
  std::string lastCheckpoint;
};
struct LoopHooks {
  /// Fills the train step's batch inputs for step index `step` (0-based).
  std::function<smxrt_status_t(int64_t step)> fillBatch;
  /// Adds fields (the epoch) to the metrics line of `stepsDone`.
  std::function<void(int64_t stepsDone, json::Object &line)> annotate;
  /// Runs after each good step (evaluation at the end of an epoch).
  std::function<smxrt_status_t(int64_t stepsDone, float loss, Progress &)>
      afterStep;
  /// meta.json of the checkpoint after `stepsDone` steps.
  std::function<json::Object(int64_t stepsDone, float loss)> checkpointMeta;
};
struct LoopResult {
  int64_t stepsDone = 0;
  float lastLoss = 0;
  double seconds = 0;
  bool stoppedEarly = false;
};
smxrt_status_t runTrainingLoop(const ModelManifest &manifest,
                               smxrt_model_train_step_fn_t trainStep,
                               TrainState &state, LoopSettings &settings,
                               const LoopHooks &hooks, MetricsFile *metrics,
                               std::FILE *out, LoopResult &result);

/// A tensor as nested JSON arrays (a number for a scalar).
json::Value tensorToJson(const smxrt_tensor_t *tensor);

} // namespace smxrt

#endif // SMX_APPLICATION_TRAINING_TRAINING_LOOP_H
