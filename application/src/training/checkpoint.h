//===- checkpoint.h - Training checkpoints ----------------------*- C++ -*-===//
//
// A checkpoint directory DIR holds one directory per checkpoint,
// DIR/step-NNNNNN (the steps done, six digits or more), with
//   weights.safetensors    every parameter under its weight name
//   optimizer.safetensors  first_moment.NAME and second_moment.NAME
//   meta.json              step, seed, task, model, manifest hash, schedule,
//                          data settings, loss
// and DIR/latest, a one-line file naming the newest checkpoint. A checkpoint
// is written into a temporary directory (every file fsync'ed), which is then
// renamed into place and the parent fsync'ed; only then does `latest` move
// (atomically) and are checkpoints beyond the newest K deleted. A crash at
// any point leaves `latest` naming a complete checkpoint.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_RUNTIME_MODEL_CHECKPOINT_H
#define SMX_RUNTIME_MODEL_CHECKPOINT_H

#include "training/train_state.h"

#include "file.h"
#include "json.h"

#include "smx_runtime/status.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace smxrt {

/// meta.json's "format" and "version".
constexpr const char *checkpointFormat = "smx-checkpoint";
constexpr int64_t checkpointVersion = 1;

/// "step-000120".
std::string checkpointName(int64_t step);

/// The 16-hex-digit FNV-1a-64 of the manifest text: the model's identity.
std::string manifestHash(const ModelManifest &manifest);
/// FNV-1a-64 of what a checkpoint's training depends on, as 16 hex digits:
/// the model, its task, its parameters (names, dtypes, shapes), the
/// sequence and the batch of the whole job. Not the grid: a checkpoint
/// holds the whole model, and a run on any grid of the same global batch
/// resumes it (docs/distributed.md, "Checkpoints").
std::string trainingHash(const ModelManifest &manifest);

/// "<dir>/<name>", without doubling a trailing slash.
std::string joinPath(const std::string &directory, const std::string &name);

bool pathExists(const std::string &path);
bool isDirectory(const std::string &path);

/// Creates `path` and its missing parents; errors name the path.
smxrt_status_t makeDirectories(const std::string &path);

/// Takes an exclusive lock (flock) on the checkpoint directory `directory`
/// for as long as `lock` stays open, so that two runs never write into one
/// directory; the directory is created if missing (unless `mustExist`).
/// Another run holding it is an error naming the directory.
smxrt_status_t lockCheckpointDirectory(const std::string &directory,
                                       bool mustExist, FileDescriptor &lock);

/// The checkpoint DIR/latest names: its path in `stepDirectory`. `exists`
/// is false when DIR has no `latest` (no error then). A `latest` that does
/// not name an existing step-NNNNNN directory is DATA_LOSS.
smxrt_status_t findLatestCheckpoint(const std::string &directory,
                                    std::string &stepDirectory, bool &exists);

/// The step-NNNNNN directories of DIR with their steps, by step.
std::vector<std::pair<int64_t, std::string>>
listCheckpoints(const std::string &directory);

/// The global parameters and moments of a train state, what a checkpoint
/// holds: the state's current buffers, except that a parameter split over
/// the grid (expert weights over ep) and its moments are gathered from
/// every process's slice.
class CheckpointTensors {
public:
  /// A collective when the model splits parameters: every process of the
  /// job calls it after the same step.
  smxrt_status_t gather(const TrainState &state);

  const TrainState &trainState() const { return *state; }
  smxrt_tensor_t *parameter(size_t index) const;
  smxrt_tensor_t *firstMoment(size_t index) const;
  smxrt_tensor_t *secondMoment(size_t index) const;

private:
  enum Kind { Parameter, FirstMoment, SecondMoment, KindCount };
  smxrt_tensor_t *get(Kind kind, size_t index) const;

  const TrainState *state = nullptr;
  /// [kind][parameter]: the global tensor of a split parameter; null for
  /// the others, whose state buffer is global.
  std::array<std::vector<TensorPtr>, KindCount> gathered;
};

/// Writes the parameters and moments of `tensors` as the checkpoint of
/// `step` in `directory` (created if missing), moves `latest` to it and
/// deletes the checkpoints older than the newest `keep`. `meta` is written
/// as meta.json. `note` receives a message about anything that could not be
/// cleaned up (the checkpoint itself is then still good).
smxrt_status_t writeCheckpoint(const std::string &directory, int64_t step,
                               const ModelManifest &manifest,
                               const CheckpointTensors &tensors,
                               const json::Object &meta, uint64_t keep,
                               std::string &stepDirectory, std::string &note);

/// Reads and checks DIR/step-NNNNNN/meta.json: an object with the format,
/// version and a non-negative integer "step".
smxrt_status_t readCheckpointMeta(const std::string &stepDirectory,
                                  json::Value &meta);

/// Loads a checkpoint's parameters and moments into the state's current
/// copy (this process's slice of a split parameter). Every parameter and
/// moment must be there with its exact global type.
smxrt_status_t loadCheckpointState(const std::string &stepDirectory,
                                   TrainState &state);

/// Where the parameters of --init or --weights come from: a safetensors
/// file, a checkpoint directory (its `latest`) or one step-NNNNNN directory.
struct WeightsSource {
  std::string weightsFile;
  /// The checkpoint directory (holding tokenizer.model), or empty for a
  /// plain file.
  std::string checkpointRoot;
  /// The step directory, or empty for a plain file.
  std::string stepDirectory;
};
smxrt_status_t resolveWeightsSource(const std::string &path,
                                    WeightsSource &source);

} // namespace smxrt

#endif // SMX_RUNTIME_MODEL_CHECKPOINT_H
