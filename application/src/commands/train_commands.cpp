//===- train_commands.cpp - `train`, `finetune`, `eval` of training objects =//
//
// `train` pre-trains an object compiled with --task=pretrain; `finetune`
// trains one compiled with --task=finetune on a classification or
// regression task; `eval` without --input evaluates either on the held-out
// split. Each is one training run (training/training_run.h) of the
// object's objective (training/objective.h).
//
//===----------------------------------------------------------------------===//

#include "commands/commands.h"

#include "training/training_run.h"

namespace smxrt {

smxrt_status_t runTrainCommand(const ModelManifest &manifest,
                               smxrt_model_forward_fn_t forward,
                               smxrt_model_train_step_fn_t trainStep,
                               const CommandLine &commandLine, std::FILE *out) {
  return runTraining("train", manifest, forward, trainStep, commandLine, out);
}

smxrt_status_t runFinetuneCommand(const ModelManifest &manifest,
                                  smxrt_model_forward_fn_t forward,
                                  smxrt_model_train_step_fn_t trainStep,
                                  const CommandLine &commandLine,
                                  std::FILE *out) {
  return runTraining("finetune", manifest, forward, trainStep, commandLine,
                     out);
}

smxrt_status_t runTrainingEvalCommand(const ModelManifest &manifest,
                                      smxrt_model_forward_fn_t forward,
                                      const CommandLine &commandLine,
                                      std::FILE *out) {
  return runHeldOutEvaluation(manifest, forward, commandLine, out);
}

} // namespace smxrt
