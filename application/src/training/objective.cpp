//===- objective.cpp - The objective of a training object -----------------===//

#include "training/objective.h"

#include "status_internal.h"

namespace smxrt {

smxrt_status_t
createTrainingObjective(const ModelManifest &manifest,
                        std::unique_ptr<TrainingObjective> &objective) {
  // The one place the manifest's task chooses behavior.
  if (manifest.task == SMXRT_TASK_PRETRAIN) {
    int32_t predictions = 0;
    SMXRT_RETURN_IF_ERROR(checkPretrainInputs(manifest, predictions));
    objective = createPretrainingObjective(manifest, predictions);
    return nullptr;
  }
  if (manifest.task == SMXRT_TASK_FINETUNE) {
    data::LabelKind labelKind = data::LabelKind::Classification;
    SMXRT_RETURN_IF_ERROR(checkFinetuneInputs(manifest, labelKind));
    objective = createFinetuningObjective(manifest, labelKind);
    return nullptr;
  }
  return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                     "the model was compiled for inference: it has no "
                     "training objective (smxc --task=%s or --task=%s)",
                     SMXRT_TASK_PRETRAIN, SMXRT_TASK_FINETUNE);
}

} // namespace smxrt
