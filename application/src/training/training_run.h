//===- training_run.h - One run of `train` or `finetune` --------*- C++ -*-===//
//
// The training commands and the held-out evaluation of a training object,
// for any objective (objective.h). docs/runtime.md, "Training", describes
// them, their checkpoints and their metrics.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_APPLICATION_TRAINING_TRAINING_RUN_H
#define SMX_APPLICATION_TRAINING_TRAINING_RUN_H

#include "commands/command_line.h"
#include "model/manifest.h"

#include "smx_application/model_main.h"

#include <cstdio>

namespace smxrt {

/// `train` or `finetune` (`command`): trains the object's objective.
smxrt_status_t runTraining(const char *command, const ModelManifest &manifest,
                           smxrt_model_forward_fn_t forward,
                           smxrt_model_train_step_fn_t trainStep,
                           const CommandLine &commandLine, std::FILE *out);

/// `eval` without --input: the objective's held-out split.
smxrt_status_t runHeldOutEvaluation(const ModelManifest &manifest,
                                    smxrt_model_forward_fn_t forward,
                                    const CommandLine &commandLine,
                                    std::FILE *out);

} // namespace smxrt

#endif // SMX_APPLICATION_TRAINING_TRAINING_RUN_H
