//===- training_loop.cpp - The step loop of a training run ----------------===//

#include "training/training_loop.h"

#include "distributed/job.h"

#include "training/checkpoint.h"

#include "file.h"
#include "status_internal.h"
#include "tensor_internal.h"

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <type_traits>

namespace smxrt {
namespace {
/// SIGINT or SIGTERM received during the loop; 0 if none.
volatile std::sig_atomic_t interruptSignal = 0;

extern "C" void onInterrupt(int signal) { interruptSignal = signal; }

/// Catches SIGINT and SIGTERM once (a second one acts as usual) while a
/// training loop runs, so that it can checkpoint and stop between steps.
class InterruptGuard {
public:
  InterruptGuard() {
    interruptSignal = 0;
    struct sigaction action;
    std::memset(&action, 0, sizeof(action));
    action.sa_handler = onInterrupt;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND;
    ::sigaction(SIGINT, &action, &previousInterrupt);
    ::sigaction(SIGTERM, &action, &previousTerminate);
  }
  ~InterruptGuard() {
    ::sigaction(SIGINT, &previousInterrupt, nullptr);
    ::sigaction(SIGTERM, &previousTerminate, nullptr);
  }

private:
  struct sigaction previousInterrupt, previousTerminate;
};

const char *describeNonFinite(float value) {
  return std::isnan(value) ? "NaN" : value > 0 ? "inf" : "-inf";
}

} // namespace

json::Value tensorToJson(const smxrt_tensor_t *tensor) {
  const size_t rank = smxrt_tensor_rank(tensor);
  const int64_t *shape = smxrt_tensor_shape(tensor);
  const void *data = smxrt_tensor_const_data(tensor);
  smxrt_dtype_t dtype = smxrt_tensor_dtype(tensor);
  auto element = [&](int64_t index) -> json::Value {
    switch (dtype) {
    case SMXRT_DTYPE_F32:
      return jsonFloat(static_cast<const float *>(data)[index]);
    case SMXRT_DTYPE_F64: {
      double value = static_cast<const double *>(data)[index];
      return std::isfinite(value) ? json::Value(value) : json::Value(nullptr);
    }
    case SMXRT_DTYPE_I32:
      return json::Value(static_cast<const int32_t *>(data)[index]);
    case SMXRT_DTYPE_I64:
      return json::Value(static_cast<const int64_t *>(data)[index]);
    default:
      return json::Value(nullptr);
    }
  };
  // Builds dimension `axis` of the block starting at element `offset`.
  std::function<json::Value(size_t, int64_t)> build =
      [&](size_t axis, int64_t offset) -> json::Value {
    if (axis == rank)
      return element(offset);
    int64_t stride = 1;
    for (size_t inner = axis + 1; inner < rank; ++inner)
      stride *= shape[inner];
    json::Array array;
    for (int64_t index = 0; index < shape[axis]; ++index)
      array.push_back(build(axis + 1, offset + index * stride));
    return json::Value(std::move(array));
  };
  return build(0, 0);
}

smxrt_status_t runTrainingLoop(const ModelManifest &manifest,
                               smxrt_model_train_step_fn_t trainStep,
                               TrainState &state, LoopSettings &settings,
                               const LoopHooks &hooks, MetricsFile *metrics,
                               std::FILE *out, LoopResult &result) {
  const TrainStepSpec &spec = manifest.trainStep;
  const int64_t end = settings.stopAt > 0
                          ? std::min(settings.stopAt, settings.totalSteps)
                          : settings.totalSteps;
  Progress progress(settings.firstStep, settings.totalSteps, settings.logEvery,
                    settings.tokensPerStep, out);
  InterruptGuard interrupts;
  auto loopStart = std::chrono::steady_clock::now();
  result = LoopResult();
  result.stepsDone = settings.firstStep;

  for (int64_t step = settings.firstStep; step < end; ++step) {
    auto start = std::chrono::steady_clock::now();
    SMXRT_RETURN_IF_ERROR(hooks.fillBatch(step));
    state.run(trainStep, step, settings.peakLearningRate, settings.warmupSteps,
              settings.totalSteps);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    const int64_t done = step + 1;
    const float loss = state.scalarOutput(spec.loss);
    const float gradNorm = state.scalarOutput(spec.gradNorm);
    const float learningRate = state.scalarOutput(spec.learningRate);

    if (metrics && metrics->isOpen()) {
      json::Object line;
      line.emplace_back("step", done);
      if (hooks.annotate)
        hooks.annotate(done, line);
      line.emplace_back("loss", jsonFloat(loss));
      for (size_t index : spec.reported)
        line.emplace_back(spec.results[index].name,
                          tensorToJson(state.output(index)));
      line.emplace_back("learning_rate", jsonFloat(learningRate));
      line.emplace_back("grad_norm", jsonFloat(gradNorm));
      line.emplace_back("step_time_s", seconds);
      line.emplace_back("tokens_per_s",
                        seconds > 0 ? settings.tokensPerStep / seconds : 0.0);
      SMXRT_RETURN_IF_ERROR(metrics->write(line));
    }

    if (!std::isfinite(loss) || !std::isfinite(gradNorm)) {
      std::string last =
          settings.checkpointDirectory.empty() ? "nothing was saved (no --ckpt)"
          : settings.lastCheckpoint.empty()
              ? "no checkpoint was written before it"
              : "the last good checkpoint is " + settings.lastCheckpoint;
      return makeStatusf(
          SMXRT_STATUS_OUT_OF_RANGE, "%s is %s at step %lld; %s",
          std::isfinite(loss) ? "the gradient norm" : "loss",
          describeNonFinite(std::isfinite(loss) ? gradNorm : loss),
          static_cast<long long>(done), last.c_str());
    }

    state.commit();
    result.stepsDone = done;
    result.lastLoss = loss;
    progress.update(done, loss, learningRate, seconds);
    if (hooks.afterStep)
      SMXRT_RETURN_IF_ERROR(hooks.afterStep(done, loss, progress));

    // Every process of a job stops after the same step: a signal one of
    // them got stops them all.
    // Each process counts the SIGINTs and SIGTERMs it got, so that every
    // one names the signal, whichever process got it.
    const Job &job = thisJob();
    int64_t signals[2] = {interruptSignal == SIGINT,
                          interruptSignal == SIGTERM};
    SMXRT_RETURN_IF_ERROR(job.sum(signals, 2));
    const bool interrupted = signals[0] + signals[1] > 0;
    const bool stopping = done == end || interrupted;
    if (!settings.checkpointDirectory.empty() &&
        (done % settings.every == 0 || stopping)) {
      // Every process takes part in gathering split parameters; the leader
      // alone writes.
      CheckpointTensors tensors;
      SMXRT_RETURN_IF_ERROR(tensors.gather(state));
      std::string written, note;
      if (job.isLeader())
        SMXRT_RETURN_IF_ERROR(writeCheckpoint(
            settings.checkpointDirectory, done, manifest, tensors,
            hooks.checkpointMeta(done, loss), settings.keep, written, note));
      settings.lastCheckpoint = written;
      if (metrics && metrics->isOpen())
        SMXRT_RETURN_IF_ERROR(metrics->sync());
      progress.report(formatString("checkpoint: %s (step %lld, loss %.6f)",
                                   written.c_str(),
                                   static_cast<long long>(done), loss));
      if (!note.empty())
        progress.report("note: " + note);
    }
    if (interrupted) {
      progress.finish();
      return makeStatusf(
          SMXRT_STATUS_INTERNAL, "interrupted by %s%s after step %lld; %s",
          signals[0] > 0 ? "SIGINT" : "SIGTERM",
          interruptSignal == 0 ? " (sent to another process of the job)" : "",
          static_cast<long long>(done),
          settings.checkpointDirectory.empty()
              ? "nothing was saved (no --ckpt)"
              : ("the checkpoint " + settings.lastCheckpoint +
                 " holds it (continue with --resume)")
                    .c_str());
    }
  }
  progress.finish();
  result.seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - loopStart)
                       .count();
  result.stoppedEarly = result.stepsDone < settings.totalSteps;
  return nullptr;
}

} // namespace smxrt
