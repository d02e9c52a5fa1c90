//===- run_settings.cpp - Where a training run starts, and its settings ---===//

#include "training/run_settings.h"

#include "distributed/job.h"
#include "training/checkpoint.h"

#include "status_internal.h"

#include <filesystem>

namespace smxrt {
/// Locks the checkpoint directory (if any) and finds the checkpoint to
/// resume from; a fresh run refuses a directory that holds checkpoints.
smxrt_status_t findResumePoint(const ModelManifest &manifest,
                               const CommandLine &commandLine,
                               FileDescriptor &lock, ResumePoint &point) {
  const std::string &directory = commandLine.ckpt;
  // In a job of several processes, the leader writes the checkpoints and
  // holds the lock for all of them.
  if (!directory.empty() && (!commandLine.resume || isDirectory(directory)) &&
      thisJob().isLeader())
    SMXRT_RETURN_IF_ERROR(
        lockCheckpointDirectory(directory, commandLine.resume, lock));
  if (!commandLine.resume) {
    if (directory.empty())
      return nullptr;
    std::string latest;
    bool hasLatest = false;
    StatusPtr status(findLatestCheckpoint(directory, latest, hasLatest));
    std::vector<std::pair<int64_t, std::string>> existing =
        listCheckpoints(directory);
    if (hasLatest || !existing.empty())
      return invalidArgument(formatString(
          "%s already holds checkpoints (%s); continue with --resume, or "
          "choose another --ckpt directory",
          directory.c_str(),
          hasLatest && !status ? ("latest: " + latest).c_str()
          : existing.empty()   ? "a 'latest' file"
                               : (joinPath(directory, existing.back().second) +
                                (existing.size() > 1 ? ", ..." : ""))
                                   .c_str()));
    return nullptr;
  }
  if (directory.empty())
    return invalidArgument(
        "--resume needs --ckpt DIR, the checkpoint directory");
  if (commandLine.has("--weights") || commandLine.has("--init"))
    return invalidArgument(formatString(
        "%s and --resume exclude each other: resuming loads the parameters "
        "from the checkpoint",
        commandLine.has("--weights") ? "--weights" : "--init"));
  bool hasLatest = false;
  SMXRT_RETURN_IF_ERROR(annotateStatus(
      findLatestCheckpoint(directory, point.stepDirectory, hasLatest),
      "cannot resume: "));
  if (!hasLatest)
    return makeStatusf(
        SMXRT_STATUS_NOT_FOUND, "cannot resume: %s holds no checkpoint (no %s)",
        directory.c_str(), joinPath(directory, "latest").c_str());
  SMXRT_RETURN_IF_ERROR(annotateStatus(
      readCheckpointMeta(point.stepDirectory, point.meta), "cannot resume: "));
  // Checkpoints since the grid came hold a training hash, which any grid
  // of the same job batch matches; older ones the whole manifest's.
  const bool hasTrainingHash = point.meta.find("training_hash") != nullptr;
  const char *hashKey = hasTrainingHash ? "training_hash" : "manifest_hash";
  std::string expected =
      hasTrainingHash ? trainingHash(manifest) : manifestHash(manifest);
  const json::Value *hash = point.meta.find(hashKey);
  if (!hash || !hash->isString() || hash->getString() != expected)
    return makeStatusf(
        SMXRT_STATUS_INVALID_ARGUMENT,
        "cannot resume: %s was written by another model or batch (%s %s; "
        "this run's is %s)",
        point.stepDirectory.c_str(), hashKey,
        hash && hash->isString() ? hash->getString().c_str() : "missing",
        expected.c_str());
  const json::Value *task = point.meta.find("task");
  if (!task || !task->isString() || task->getString() != manifest.task)
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                       "cannot resume: %s is not a '%s' checkpoint",
                       point.stepDirectory.c_str(), manifest.task.c_str());
  point.resuming = true;
  point.step = point.meta.find("step")->getInteger();
  return nullptr;
}

int64_t SettingChooser::integer(const char *option, uint64_t given,
                                const char *key, int64_t fallback) {
  const json::Value *saved = savedValue(key);
  if (commandLine.has(option)) {
    auto value = static_cast<int64_t>(given);
    if (saved && saved->isInteger() && saved->getInteger() != value)
      differs(option, std::to_string(value),
              std::to_string(saved->getInteger()));
    return value;
  }
  return saved && saved->isInteger() ? saved->getInteger() : fallback;
}

double SettingChooser::number(const char *option, double given, const char *key,
                              double fallback) {
  const json::Value *saved = savedValue(key);
  if (commandLine.has(option)) {
    if (saved && saved->isNumber() && saved->getNumber() != given)
      differs(option, formatString("%g", given),
              formatString("%g", saved->getNumber()));
    return given;
  }
  return saved && saved->isNumber() ? saved->getNumber() : fallback;
}

std::string SettingChooser::string(const char *option, const std::string &given,
                                   const char *key, const std::string &fallback,
                                   bool isPath) {
  const json::Value *saved = savedValue(key);
  if (commandLine.has(option)) {
    if (saved && saved->isString() &&
        saved->getString() != (isPath ? absolutePath(given) : given))
      differs(option, given, saved->getString());
    return given;
  }
  return saved && saved->isString() ? saved->getString() : fallback;
}

void SettingChooser::differs(const char *option, const std::string &value,
                             const std::string &saved) {
  notes.push_back(formatString("note: %s %s differs from the checkpoint's "
                               "%s",
                               option, value.c_str(), saved.c_str()));
}

/// A path as stored in meta.json: absolute, so that a resumed run finds
/// it from any directory.
std::string absolutePath(const std::string &path) {
  if (path.empty())
    return path;
  std::error_code error;
  std::filesystem::path absolute = std::filesystem::absolute(path, error);
  return error ? path : absolute.lexically_normal().string();
}

smxrt_status_t checkStopAt(const CommandLine &commandLine, int64_t step) {
  if (commandLine.has("--stop-at") &&
      static_cast<int64_t>(commandLine.stopAt) <= step)
    return invalidArgument(
        formatString("--stop-at %llu: the run is already at step "
                     "%lld",
                     static_cast<unsigned long long>(commandLine.stopAt),
                     static_cast<long long>(step)));
  return nullptr;
}

smxrt_status_t checkSchedule(int64_t steps, int64_t warmup, double lr,
                             uint64_t keep, int64_t every) {
  if (steps < 1)
    return invalidArgument("--steps must be at least 1");
  if (warmup > steps)
    return invalidArgument(formatString("--warmup %lld exceeds the %lld steps",
                                        static_cast<long long>(warmup),
                                        static_cast<long long>(steps)));
  if (!(lr > 0))
    return invalidArgument(
        formatString("--lr %g: the learning rate must be positive", lr));
  if (keep < 1)
    return invalidArgument("--keep must be at least 1");
  if (every < 1)
    return invalidArgument("--every must be at least 1");
  return nullptr;
}

smxrt_status_t checkBatch(const ModelManifest &manifest,
                          const CommandLine &commandLine) {
  if (commandLine.has("--batch") &&
      static_cast<int64_t>(commandLine.batch) != manifest.globalBatch())
    return invalidArgument(formatString(
        "--batch %llu: the model was compiled for batch %lld; recompile with "
        "smxc --batch %llu to train with that batch",
        static_cast<unsigned long long>(commandLine.batch),
        static_cast<long long>(manifest.globalBatch()),
        static_cast<unsigned long long>(commandLine.batch)));
  return nullptr;
}

} // namespace smxrt
