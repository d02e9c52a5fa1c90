//===- train_progress.cpp - Progress display and metrics file -------------===//

#include "training/train_progress.h"

#include "distributed/job.h"

#include "data/corpus.h"

#include "file.h"
#include "handles.h"
#include "status_internal.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sys/ioctl.h>
#include <unistd.h>

namespace smxrt {

std::string formatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0)
    return "?";
  auto total = static_cast<long long>(seconds + 0.5);
  if (total >= 3600)
    return formatString("%lldh%02lldm", total / 3600, total / 60 % 60);
  if (total >= 60)
    return formatString("%lldm%02llds", total / 60, total % 60);
  return formatString("%llds", total);
}

Progress::Progress(int64_t firstStep, int64_t totalSteps, int64_t logEvery,
                   int64_t tokensPerStep, std::FILE *out)
    : firstStep(firstStep), totalSteps(totalSteps),
      logEvery(logEvery > 0 ? logEvery
                            : std::max<int64_t>(1, totalSteps / 100)),
      tokensPerStep(tokensPerStep), out(out),
      shown(thisJob().isLeader()), terminal(::isatty(STDERR_FILENO) == 1),
      start(std::chrono::steady_clock::now()) {}

Progress::~Progress() { clear(); }

void Progress::update(int64_t step, double loss, double learningRate,
                      double stepSeconds) {
  this->step = step;
  this->loss = loss;
  this->learningRate = learningRate;
  busySeconds += stepSeconds;
  double rate = stepSeconds > 0 ? tokensPerStep / stepSeconds : 0;
  recentTokensPerSecond = recentTokensPerSecond == 0
                              ? rate
                              : 0.9 * recentTokensPerSecond + 0.1 * rate;
  if (!shown)
    return;
  if (terminal) {
    draw(step == totalSteps);
  } else if (step % logEvery == 0 || step == totalSteps) {
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    double eta = elapsed / (step - firstStep) * (totalSteps - step);
    std::fprintf(
        stderr, "step %lld/%lld: loss %.4f, lr %.3g, %.0f tokens/s, ETA %s\n",
        static_cast<long long>(step), static_cast<long long>(totalSteps), loss,
        learningRate, recentTokensPerSecond, formatDuration(eta).c_str());
    std::fflush(stderr);
  }
}

void Progress::draw(bool force) {
  auto now = std::chrono::steady_clock::now();
  if (!force && drawn &&
      std::chrono::duration<double>(now - lastDraw).count() < 0.1)
    return;
  lastDraw = now;
  double elapsed = std::chrono::duration<double>(now - start).count();
  double eta = step > firstStep
                   ? elapsed / (step - firstStep) * (totalSteps - step)
                   : NAN;
  std::string text = formatString(
      " %lld/%lld  loss %.4f  %.0f tok/s  ETA %s", static_cast<long long>(step),
      static_cast<long long>(totalSteps), loss, recentTokensPerSecond,
      formatDuration(eta).c_str());
  struct winsize size;
  int width = ::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0
                  ? size.ws_col
                  : 80;
  int barWidth = std::min(40, width - 3 - static_cast<int>(text.size()));
  std::string bar;
  if (barWidth >= 10) {
    int filled = static_cast<int>(static_cast<double>(barWidth) * step /
                                  std::max<int64_t>(totalSteps, 1));
    bar = "[" + std::string(filled, '#') + std::string(barWidth - filled, '.') +
          "]";
  }
  std::fprintf(stderr, "\r%s%s\033[K", bar.c_str(), text.c_str());
  std::fflush(stderr);
  drawn = true;
}

void Progress::clear() {
  if (!drawn)
    return;
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
  drawn = false;
}

void Progress::report(const std::string &line) {
  bool redraw = drawn;
  clear();
  std::fputs((line + "\n").c_str(), out);
  std::fflush(out);
  if (redraw)
    draw(true);
}

void Progress::finish() {
  if (!drawn)
    return;
  std::fputs("\n", stderr);
  std::fflush(stderr);
  drawn = false;
}

json::Value jsonFloat(float value) {
  if (!std::isfinite(value))
    return json::Value(nullptr);
  char buffer[32];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  *result.ptr = '\0';
  return json::Value(std::strtod(buffer, nullptr));
}

MetricsFile::~MetricsFile() {
  if (file)
    std::fclose(file);
}

smxrt_status_t MetricsFile::open(const std::string &path, int64_t keepThrough) {
  this->path = path;
  if (keepThrough >= 0) {
    std::string contents;
    StatusPtr status(data::readWholeFile(path, contents));
    if (status && smxrt_status_code(status.get()) != SMXRT_STATUS_NOT_FOUND)
      return status.release();
    std::string kept;
    size_t begin = 0;
    while (begin < contents.size()) {
      size_t end = contents.find('\n', begin);
      if (end == std::string::npos)
        break; // A torn last line.
      std::string_view line(contents.data() + begin, end - begin);
      begin = end + 1;
      json::ParseError error;
      std::optional<json::Value> value = json::parse(line, error);
      const json::Value *step = value ? value->find("step") : nullptr;
      if (step && step->isInteger() && step->getInteger() <= keepThrough)
        kept.append(line).append("\n");
    }
    if (kept != contents)
      SMXRT_RETURN_IF_ERROR(writeFileAtomically(path, [&](FileSink &sink) {
        return sink.write(kept.data(), kept.size());
      }));
  }
  file = std::fopen(path.c_str(), keepThrough >= 0 ? "a" : "w");
  if (!file)
    return makeStatusf(errno == ENOENT ? SMXRT_STATUS_NOT_FOUND
                                       : SMXRT_STATUS_IO_ERROR,
                       "%s: cannot open the metrics file: %s", path.c_str(),
                       std::strerror(errno));
  return nullptr;
}

smxrt_status_t MetricsFile::write(const json::Object &line) {
  std::string text = json::serialize(json::Value(line)) + "\n";
  if (std::fputs(text.c_str(), file) < 0 || std::fflush(file) != 0)
    return makeStatusf(SMXRT_STATUS_IO_ERROR, "%s: cannot write: %s",
                       path.c_str(), std::strerror(errno));
  return nullptr;
}

smxrt_status_t MetricsFile::sync() {
  if (file && ::fsync(fileno(file)) != 0)
    return makeStatusf(SMXRT_STATUS_IO_ERROR, "%s: fsync failed: %s",
                       path.c_str(), std::strerror(errno));
  return nullptr;
}

} // namespace smxrt
