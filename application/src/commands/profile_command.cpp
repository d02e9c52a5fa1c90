//===- profile_command.cpp - `model profile` ------------------------------===//
//
// Times the train step (training objects) or the forward pass of a model
// and prints each step's time. For a model compiled with `smxc --profile`,
// whose code brackets every kernel and runtime call with the runtime's
// profile hooks (smx_runtime/profile.h), it also prints where a step's time
// goes: per kind of call and per layer, with the bytes each moves and the
// GFLOP/s of its GEMMs. The batch is random tokens; the parameters come
// from --seed (shapes are static, so what runs does not depend on the
// values). bench/cpu times smx's steps with it.
//
//===----------------------------------------------------------------------===//

#include "commands/commands.h"

#include "data/counter_rng.h"
#include "model/parameters.h"
#include "model/workspace.h"
#include "smx_runtime/cuda.h"
#include "smx_runtime/memory.h"

#include "handles.h"
#include "status_internal.h"

#include "smx_runtime/profile.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>

namespace smxrt {
namespace {

/// Time, calls, bytes and flops added up over a group of sites.
struct Totals {
  double seconds = 0;
  double bytes = 0;
  double flops = 0;
};

/// The layer a model path belongs to: "layers.3" for "layers.3.mixing",
/// "heads.mlm" for "heads.mlm.dense", "embeddings" for
/// "embeddings.layer_norm". Code with no model path (the loss, the
/// gradient norm, the optimizer) is "(rest of the step)".
std::string layerOf(const std::string &path) {
  if (path.empty())
    return "(rest of the step)";
  size_t first = path.find('.');
  if (first == std::string::npos)
    return path;
  std::string head = path.substr(0, first);
  if (head != "layers" && head != "heads")
    return head;
  size_t second = path.find('.', first + 1);
  return second == std::string::npos ? path : path.substr(0, second);
}

/// `path` with each layer index replaced by '*' ("layers.*.mixing" for
/// "layers.3.mixing"), so that the same call in every layer is one group.
std::string anyLayer(const std::string &path) {
  std::string result;
  for (size_t i = 0; i < path.size(); ++i) {
    bool indexStart = std::isdigit(static_cast<unsigned char>(path[i])) &&
                      (i == 0 || path[i - 1] == '.');
    if (!indexStart) {
      result += path[i];
      continue;
    }
    while (i + 1 < path.size() &&
           std::isdigit(static_cast<unsigned char>(path[i + 1])))
      ++i;
    result += '*';
  }
  return result;
}

/// Buffers for one entry point's arguments and results: parameters from
/// `seed`, moments zero, input_ids random tokens, the schedule scalars a
/// mid-warm-up step's. A result updated in place (`inPlaceArguments`, -1
/// for the others) gets no buffer: the step writes into the argument's, as
/// in `train`, so the profile holds what a training run holds.
smxrt_status_t allocateStepBuffers(const std::vector<ArgumentSpec> &arguments,
                                   const std::vector<TensorSpec> &results,
                                   const std::vector<int64_t> &inPlaceArguments,
                                   int64_t vocabulary, uint64_t seed,
                                   std::vector<TensorPtr> &argumentBuffers,
                                   std::vector<TensorPtr> &resultBuffers) {
  argumentBuffers.resize(arguments.size());
  for (size_t index = 0; index < arguments.size(); ++index) {
    const ArgumentSpec &spec = arguments[index];
    SMXRT_RETURN_IF_ERROR(
        createTensor(spec.dtype, spec.shape, argumentBuffers[index]));
    void *data = smxrt_tensor_data(argumentBuffers[index].get());
    if (spec.role == ArgumentRole::Parameter) {
      initializeParameter(spec, seed, argumentBuffers[index].get());
    } else if (spec.name == SMXRT_INPUT_IDS && spec.dtype == SMXRT_DTYPE_I32) {
      data::SplitMix64 generator(seed);
      auto *ids = static_cast<int32_t *>(data);
      for (int64_t element = 0; element < spec.elementCount; ++element)
        ids[element] = static_cast<int32_t>(
            1 + generator.next() % static_cast<uint64_t>(
                                       std::max<int64_t>(vocabulary - 1, 1)));
    } else if (spec.name == peakLearningRateInputName) {
      *static_cast<float *>(data) = 1e-4f;
    } else if (spec.name == warmupStepsInputName) {
      *static_cast<int64_t *>(data) = 10;
    } else if (spec.name == totalStepsInputName) {
      *static_cast<int64_t *>(data) = 100;
    }
  }
  resultBuffers.resize(results.size());
  for (size_t index = 0; index < results.size(); ++index)
    if (inPlaceArguments[index] < 0)
      SMXRT_RETURN_IF_ERROR(createTensor(
          results[index].dtype, results[index].shape, resultBuffers[index]));
  return nullptr;
}

std::vector<void *> pointers(const std::vector<TensorPtr> &tensors) {
  std::vector<void *> data;
  for (const TensorPtr &tensor : tensors)
    data.push_back(tensor ? smxrt_tensor_data(tensor.get()) : nullptr);
  return data;
}

/// ms/step, share of the step, GB/s and GFLOP/s of `totals`.
std::vector<std::string> formatRates(const Totals &totals, double stepSeconds,
                                     int64_t steps) {
  double perStep = totals.seconds / steps;
  return {formatString("%.1f", perStep * 1e3),
          formatString("%.1f%%",
                       stepSeconds > 0 ? 100 * perStep / stepSeconds : 0.0),
          totals.seconds > 0
              ? formatString("%.1f", totals.bytes / totals.seconds / 1e9)
              : "-",
          totals.flops > 0 && totals.seconds > 0
              ? formatString("%.1f", totals.flops / totals.seconds / 1e9)
              : "-"};
}

const std::vector<std::string> kRateHeadings = {"ms/step", "share", "GB/s",
                                                "GFLOP/s"};

/// A table of `groups`, slowest first, at most `limit` rows; `label` gives
/// a group's leading columns.
template <typename Key, typename Group, typename Label>
std::string formatSlowest(const std::map<Key, Group> &groups,
                          std::vector<std::string> headings, const Label &label,
                          const Totals &(*totalsOf)(const Group &),
                          double stepSeconds, int64_t steps, size_t limit) {
  std::vector<const std::pair<const Key, Group> *> sorted;
  for (const auto &entry : groups)
    sorted.push_back(&entry);
  std::stable_sort(sorted.begin(), sorted.end(), [&](auto *a, auto *b) {
    return totalsOf(a->second).seconds > totalsOf(b->second).seconds;
  });
  headings.insert(headings.end(), kRateHeadings.begin(), kRateHeadings.end());
  std::vector<std::vector<std::string>> rows = {headings};
  for (size_t i = 0; i < sorted.size() && i < limit; ++i) {
    std::vector<std::string> row = label(sorted[i]->first, sorted[i]->second);
    std::vector<std::string> rates =
        formatRates(totalsOf(sorted[i]->second), stepSeconds, steps);
    row.insert(row.end(), rates.begin(), rates.end());
    rows.push_back(std::move(row));
  }
  return formatTable(rows);
}

std::string formatGroups(const std::map<std::string, Totals> &groups,
                         double stepSeconds, int64_t steps,
                         const char *heading) {
  return formatSlowest(
      groups, {heading},
      [](const std::string &name, const Totals &) {
        return std::vector<std::string>{name};
      },
      +[](const Totals &totals) -> const Totals & { return totals; },
      stepSeconds, steps, groups.size());
}

/// The calls of one callee at one model path in any layer.
struct CallGroup {
  std::string kind;
  int64_t callsPerStep = 0;
  Totals totals;
};
using CallKey = std::pair<std::string, std::string>; // callee, anyLayer(at)

/// The `limit` slowest groups of calls, with their kind and calls per step.
std::string formatCalls(const std::map<CallKey, CallGroup> &groups,
                        double stepSeconds, int64_t steps, size_t limit) {
  return formatSlowest(
      groups, {"call", "at", "kind", "calls"},
      [](const CallKey &key, const CallGroup &group) {
        return std::vector<std::string>{
            key.first, key.second.empty() ? "-" : key.second, group.kind,
            std::to_string(group.callsPerStep)};
      },
      +[](const CallGroup &group) -> const Totals & { return group.totals; },
      stepSeconds, steps, limit);
}

} // namespace

smxrt_status_t runProfileCommand(const ModelManifest &manifest,
                                 smxrt_model_forward_fn_t forward,
                                 smxrt_model_train_step_fn_t trainStep,
                                 const CommandLine &commandLine,
                                 std::FILE *out) {
  const bool training = manifest.hasTrainStep && trainStep;
  const int64_t steps =
      commandLine.steps > 0 ? static_cast<int64_t>(commandLine.steps) : 3;
  int64_t vocabulary = 2;
  if (const ArgumentSpec *word = manifest.findArgument("embeddings.word"))
    vocabulary = word->shape.empty() ? 2 : word->shape[0];

  const std::vector<ArgumentSpec> &arguments =
      training ? manifest.trainStep.arguments : manifest.arguments;
  std::vector<TensorSpec> results;
  for (const ResultSpec &result :
       training ? manifest.trainStep.results : manifest.results)
    results.push_back(result);
  std::vector<int64_t> inPlaceArguments =
      training ? manifest.trainStep.inPlaceArguments()
               : std::vector<int64_t>(results.size(), -1);
  std::vector<TensorPtr> argumentBuffers, resultBuffers;
  SMXRT_RETURN_IF_ERROR(
      allocateStepBuffers(arguments, results, inPlaceArguments, vocabulary,
                          commandLine.seed, argumentBuffers, resultBuffers));
  Workspace workspace;
  SMXRT_RETURN_IF_ERROR(workspace.allocate(
      training ? manifest.trainStep.memoryPlan : manifest.memoryPlan,
      training ? "train step" : "forward function",
      training ? manifest.trainStep.bufferBytes()
               : manifest.forwardBufferBytes()));
  std::vector<void *> argumentData = pointers(argumentBuffers);
  std::vector<void *> resultData = pointers(resultBuffers);
  for (size_t index = 0; index < resultData.size(); ++index)
    if (inPlaceArguments[index] >= 0)
      resultData[index] = argumentData[inPlaceArguments[index]];
  auto run = [&] {
    if (training)
      trainStep(argumentData.data(), resultData.data(), workspace.data());
    else
      forward(argumentData.data(), resultData.data(), workspace.data());
  };

  // One untimed step: the first one allocates the arena and faults it in.
  run();
  smxrt_profile_reset();
  // The untimed step made cuBLASLt's plans; the timed ones reuse them.
  const smxrt_cuda_gemm_stats_t gemmsBefore = smxrt_cuda_gemm_stats();
  std::vector<double> stepTimes;
  for (int64_t step = 0; step < steps; ++step) {
    auto start = std::chrono::steady_clock::now();
    run();
    stepTimes.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count());
  }
  double seconds = 0;
  std::string times;
  for (double stepTime : stepTimes) {
    seconds += stepTime;
    times += formatString(" %.3f", stepTime * 1e3);
  }
  double stepSeconds = seconds / steps;
  std::vector<double> sorted = stepTimes;
  std::sort(sorted.begin(), sorted.end());
  double median = steps % 2 ? sorted[steps / 2]
                            : (sorted[steps / 2 - 1] + sorted[steps / 2]) / 2;
  std::string text = formatString(
      "profile: %lld %s of %s (%lld x %lld) after one untimed: %.1f ms per "
      "step, median %.1f ms",
      static_cast<long long>(steps),
      training ? "train steps" : "forward passes", manifest.model.c_str(),
      static_cast<long long>(manifest.batch),
      static_cast<long long>(manifest.sequence), stepSeconds * 1e3,
      median * 1e3);
  // Where the memory is and, on a GPU, what the GEMMs did: the report's
  // last lines.
  std::string memory;
  memory +=
      formatString("runtime buffers: at most %.1f MiB of %s memory",
                   static_cast<double>(smxrt_memory_peak_bytes()) / (1 << 20),
                   smxrt_memory_kind());
  if (manifest.runsOnGpu()) {
    smxrt_cuda_gemm_stats_t gemms = smxrt_cuda_gemm_stats();
    int64_t calls = gemms.calls - gemmsBefore.calls;
    double flops = gemms.flops - gemmsBefore.flops;
    double gemmSeconds = gemms.seconds - gemmsBefore.seconds;
    memory += formatString(
        "\nGEMMs on cuBLASLt: %lld calls per step, %.1f ms per step, %.1f "
        "TFLOP/s",
        static_cast<long long>(calls / steps),
        gemmSeconds / static_cast<double>(steps) * 1e3,
        gemmSeconds > 0 ? flops / gemmSeconds / 1e12 : 0.0);
  }
  memory += "\n";
  if (manifest.profileSites.empty()) {
    text += "\nstep times (ms):" + times +
            "\n(compiled without `smxc --profile`: no breakdown per call)\n" +
            memory;
    std::fputs(text.c_str(), out);
    return nullptr;
  }

  std::map<std::string, Totals> byKind, byLayer;
  std::map<CallKey, CallGroup> byCall;
  Totals timed;
  for (size_t site = 0; site < manifest.profileSites.size(); ++site) {
    const ProfileSiteSpec &spec = manifest.profileSites[site];
    double siteSeconds = 0;
    int64_t calls = 0;
    smxrt_profile_read(static_cast<int64_t>(site), &siteSeconds, &calls);
    if (calls == 0)
      continue;
    Totals totals{siteSeconds, static_cast<double>(spec.bytes) * calls,
                  static_cast<double>(spec.flops) * calls};
    CallGroup &call = byCall[{spec.callee, anyLayer(spec.at)}];
    call.kind = spec.kind;
    ++call.callsPerStep;
    for (Totals *group : {&byKind[spec.kind], &byLayer[layerOf(spec.at)],
                          &call.totals, &timed}) {
      group->seconds += totals.seconds;
      group->bytes += totals.bytes;
      group->flops += totals.flops;
    }
  }
  text += formatString(
      ", %.1f ms (%.1f%%) of it in %zu timed calls and "
      "copies\nstep times (ms):%s\n",
      timed.seconds / steps * 1e3,
      stepSeconds > 0 ? 100 * timed.seconds / steps / stepSeconds : 0.0,
      manifest.profileSites.size(), times.c_str());
  text += "\nby kind:\n" + formatGroups(byKind, stepSeconds, steps, "kind");
  text += "\nby layer:\n" + formatGroups(byLayer, stepSeconds, steps, "layer");
  size_t shown = commandLine.calls == 0
                     ? byCall.size()
                     : std::min<size_t>(commandLine.calls, byCall.size());
  text += formatString("\nslowest calls (the same call in every layer "
                       "together; %zu of %zu):\n",
                       shown, byCall.size()) +
          formatCalls(byCall, stepSeconds, steps, shown);
  text += "\n" + memory;
  std::fputs(text.c_str(), out);
  return nullptr;
}

} // namespace smxrt
