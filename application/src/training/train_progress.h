//===- train_progress.h - Progress display and metrics file -----*- C++ -*-===//
//
// On a terminal, training shows one status line on stderr, redrawn in place
// (step/N, loss, tokens per second, ETA); otherwise it prints a plain line
// every K steps. Reports (checkpoints written, evaluations) go to stdout and
// never tear the status line. Metrics go to a JSON-lines file, one object
// per step.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_RUNTIME_MODEL_TRAIN_PROGRESS_H
#define SMX_RUNTIME_MODEL_TRAIN_PROGRESS_H

#include "json.h"

#include "smx_runtime/status.h"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace smxrt {

class Progress {
public:
  /// Steps `firstStep + 1 .. totalSteps` are to run; `logEvery` is the
  /// plain-line interval (0: about 100 lines per run).
  Progress(int64_t firstStep, int64_t totalSteps, int64_t logEvery,
           int64_t tokensPerStep, std::FILE *out);
  ~Progress();
  Progress(const Progress &) = delete;
  Progress &operator=(const Progress &) = delete;

  /// After step `step` (1-based: the steps done) of `stepSeconds`.
  void update(int64_t step, double loss, double learningRate,
              double stepSeconds);
  /// Prints a line of the report (stdout), keeping the status line intact.
  void report(const std::string &line);
  /// Ends the status line (a newline) so that later output starts clean.
  void finish();

private:
  void draw(bool force);
  void clear();

  int64_t firstStep, totalSteps, logEvery, tokensPerStep;
  std::FILE *out;
  /// Whether this process shows progress: the leader of a job alone.
  bool shown;
  bool terminal;
  bool drawn = false;
  int64_t step = 0;
  double loss = 0, learningRate = 0;
  double busySeconds = 0;
  double recentTokensPerSecond = 0;
  std::chrono::steady_clock::time_point start, lastDraw;
};

/// "1h02m", "3m12s", "45s".
std::string formatDuration(double seconds);

/// The JSON-lines metrics file.
class MetricsFile {
public:
  ~MetricsFile();
  /// Opens `path` for appending; with `keepThrough` >= 0 first drops every
  /// line whose "step" is greater (what a resumed run will write again), and
  /// a torn last line. With `keepThrough` < 0 the file starts empty.
  smxrt_status_t open(const std::string &path, int64_t keepThrough);
  bool isOpen() const { return file != nullptr; }
  const std::string &getPath() const { return path; }
  /// Appends one line and flushes it.
  smxrt_status_t write(const json::Object &line);
  /// fsync, so that the lines up to a checkpoint survive a crash with it.
  smxrt_status_t sync();

private:
  std::string path;
  std::FILE *file = nullptr;
};

/// A float as a JSON number that prints as the shortest decimal that reads
/// back as the same float (null when not finite).
json::Value jsonFloat(float value);

} // namespace smxrt

#endif // SMX_RUNTIME_MODEL_TRAIN_PROGRESS_H
