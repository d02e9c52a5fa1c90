//===- run_settings.h - Where a run starts, and its settings ----*- C++ -*-===//
//
// A run of `train` or `finetune` starts fresh or resumes from the latest
// checkpoint of --ckpt; its settings come from the command line, else from
// the checkpoint it resumes, else from the defaults (docs/runtime.md,
// "Training").
//
//===----------------------------------------------------------------------===//

#ifndef SMX_APPLICATION_TRAINING_RUN_SETTINGS_H
#define SMX_APPLICATION_TRAINING_RUN_SETTINGS_H

#include "commands/command_line.h"
#include "model/manifest.h"

#include "file.h"
#include "json.h"

#include <cstdint>
#include <string>
#include <vector>

namespace smxrt {

/// The checkpoint a run resumes from, or nothing for a fresh run.
struct ResumePoint {
  bool resuming = false;
  std::string stepDirectory;
  json::Value meta;
  int64_t step = 0;
};

/// Locks the checkpoint directory (if any) and finds the checkpoint to
/// resume from; a fresh run refuses a directory that holds checkpoints.
smxrt_status_t findResumePoint(const ModelManifest &manifest,
                               const CommandLine &commandLine,
                               FileDescriptor &lock, ResumePoint &point);

/// Settings of a run: the command line's, else the checkpoint's when
/// resuming, else the defaults. A setting given again that differs from the
/// checkpoint's is kept, with a note (the run then no longer repeats the
/// original one exactly).
class SettingChooser {
public:
  SettingChooser(const CommandLine &commandLine, const ResumePoint &point)
      : commandLine(commandLine), point(point) {}

  int64_t integer(const char *option, uint64_t given, const char *key,
                  int64_t fallback);
  double number(const char *option, double given, const char *key,
                double fallback);
  /// Paths are compared as absolute paths, as meta.json stores them.
  std::string string(const char *option, const std::string &given,
                     const char *key, const std::string &fallback,
                     bool isPath = false);

  std::vector<std::string> notes;

private:
  const json::Value *savedValue(const char *key) const {
    return point.resuming ? point.meta.find(key) : nullptr;
  }
  void differs(const char *option, const std::string &value,
               const std::string &saved);

  const CommandLine &commandLine;
  const ResumePoint &point;
};

/// A path as stored in meta.json: absolute, so that a resumed run finds it
/// from any directory.
std::string absolutePath(const std::string &path);

/// The checks of a run's length, schedule and checkpointing.
smxrt_status_t checkSchedule(int64_t steps, int64_t warmup, double lr,
                             uint64_t keep, int64_t every);
smxrt_status_t checkStopAt(const CommandLine &commandLine, int64_t step);
/// --batch, which only restates the compiled batch.
smxrt_status_t checkBatch(const ModelManifest &manifest,
                          const CommandLine &commandLine);

} // namespace smxrt

#endif // SMX_APPLICATION_TRAINING_RUN_SETTINGS_H
