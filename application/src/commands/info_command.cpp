//===- info_command.cpp - `model info` ------------------------------------===//

#include "commands/commands.h"

#include "status_internal.h"
#include "tensor_internal.h"

#include <algorithm>
#include <iterator>

namespace smxrt {

std::string formatTable(const std::vector<std::vector<std::string>> &rows) {
  std::vector<size_t> widths;
  for (const auto &row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (size_t column = 0; column < row.size(); ++column)
      widths[column] = std::max(widths[column], row[column].size());
  }
  std::string text;
  for (const auto &row : rows) {
    std::string line = "  ";
    for (size_t column = 0; column < row.size(); ++column) {
      line += row[column];
      if (column + 1 < row.size())
        line += std::string(widths[column] - row[column].size() + 2, ' ');
    }
    text += line + "\n";
  }
  return text;
}

namespace {

/// `bytes` in the largest binary unit that keeps it at or above 1.
std::string formatBytes(int64_t bytes) {
  static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units)) {
    value /= 1024;
    ++unit;
  }
  return unit == 0 ? formatString("%lld B", static_cast<long long>(bytes))
                   : formatString("%.1f %s", value, units[unit]);
}

int64_t sumBytes(const std::vector<ArgumentSpec> &arguments,
                 const std::vector<size_t> &indices) {
  int64_t bytes = 0;
  for (size_t index : indices)
    bytes += static_cast<int64_t>(arguments[index].byteSize);
  return bytes;
}

std::string describePlan(const MemoryPlanSpec &plan) {
  std::string text = formatString(
      "%s arena; at most %s live at once", formatBytes(plan.arenaBytes).c_str(),
      formatBytes(plan.peakLiveBytes).c_str());
  if (!plan.peakAt.empty())
    text += ", first at " + plan.peakAt;
  return text;
}

/// What a forward call and a train step hold (docs/abi.md, "The memory
/// plan"): the application's buffers and the compiled code's arena.
std::string describeMemory(const ModelManifest &manifest) {
  std::vector<std::vector<std::string>> rows;
  int64_t parameterBytes = 0;
  for (const ArgumentSpec &argument : manifest.arguments)
    if (argument.role == ArgumentRole::Parameter)
      parameterBytes += static_cast<int64_t>(argument.byteSize);
  rows.push_back({"parameters", formatBytes(parameterBytes)});
  if (manifest.memoryPlan.present)
    rows.push_back({"forward", describePlan(manifest.memoryPlan)});
  if (manifest.hasTrainStep) {
    const TrainStepSpec &step = manifest.trainStep;
    int64_t momentBytes = sumBytes(step.arguments, step.firstMoments) +
                          sumBytes(step.arguments, step.secondMoments);
    rows.push_back({"optimizer state",
                    formatBytes(momentBytes) + " (Adam's two moments)"});
    rows.push_back({"gradients", formatBytes(parameterBytes) +
                                     " (in the train step's arena)"});
    if (step.memoryPlan.present)
      rows.push_back({"train step", describePlan(step.memoryPlan) +
                                        " (activations kept for the "
                                        "backward pass, gradients)"});
    rows.push_back({"train step in all",
                    formatBytes(step.bufferBytes() +
                                step.memoryPlan.arenaBytes) +
                        " (state, batch, outputs and arena; the "
                        "application and data add to it)"});
  }
  return "\nmemory:\n" + formatTable(rows);
}

} // namespace

smxrt_status_t runInfoCommand(const ModelManifest &manifest,
                              const CommandLine &commandLine, std::FILE *out) {
  // Shapes and counts are global; a parameter split over the grid (expert
  // weights over ep) also names its slice.
  int64_t parameterElements = 0, localElements = 0;
  size_t parameterTensors = 0;
  bool anySplit = false;
  std::vector<std::vector<std::string>> parameterRows = {
      {"name", "shape", "dtype", "init"}};
  for (const ArgumentSpec &argument : manifest.arguments) {
    if (argument.role != ArgumentRole::Parameter)
      continue;
    ++parameterTensors;
    const std::vector<int64_t> &whole = argument.wholeShape();
    int64_t slices = argument.isSplit() ? whole[0] / argument.shape[0] : 1;
    int64_t elements = 0;
    if (__builtin_mul_overflow(argument.elementCount, slices, &elements) ||
        __builtin_add_overflow(parameterElements, elements,
                               &parameterElements))
      return makeStatus(SMXRT_STATUS_RESOURCE_EXHAUSTED,
                        "the parameter count does not fit in 64 bits");
    localElements += argument.elementCount;
    anySplit = anySplit || argument.isSplit();
    std::string shape = formatShape(whole.data(), whole.size());
    if (argument.isSplit())
      shape += " (" +
               formatShape(argument.shape.data(), argument.shape.size()) +
               " per process)";
    parameterRows.push_back({argument.name, shape,
                             smxrt_dtype_name(argument.dtype),
                             parameterInitName(argument.init)});
  }

  std::string text = formatString(
      "model: %s\nbatch x sequence: %lld x %lld\nparameters: %lld elements in "
      "%zu tensors",
      manifest.model.c_str(), static_cast<long long>(manifest.batch),
      static_cast<long long>(manifest.sequence),
      static_cast<long long>(parameterElements), parameterTensors);
  if (anySplit)
    text += formatString(" (%lld per process: the experts split over ep)",
                         static_cast<long long>(localElements));
  text += "\n";
  if (manifest.runsOnGpu())
    text += "target: cuda, kernels for " + manifest.gpuArch +
            ", GEMMs on cuBLASLt\n";
  if (manifest.precision == "bf16")
    text += "precision: bf16 GEMM operands, summed in f32; parameters and "
            "optimizer state in f32\n";
  if (!manifest.task.empty()) {
    text += "task: " + manifest.task;
    if (!manifest.hasTrainStep) {
      text += " (no train step)\n";
    } else {
      const TrainStepSpec &step = manifest.trainStep;
      std::string terms, metrics;
      for (size_t index : step.reported) {
        const ResultSpec &result = step.results[index];
        if (result.isLossTerm)
          terms += formatString("%s%s (weight %g)", terms.empty() ? "" : ", ",
                                result.name.c_str(), result.lossWeight);
        else
          metrics += (metrics.empty() ? "" : ", ") + result.name;
      }
      text += formatString(" (train step: %zu parameters with their Adam "
                           "moments)\nloss terms: %s\nmetrics: %s\n",
                           step.parameters.size(),
                           terms.empty() ? "none" : terms.c_str(),
                           metrics.empty() ? "none" : metrics.c_str());
    }
  }
  text += describeMemory(manifest);
  if (!commandLine.brief && parameterTensors > 0)
    text += "\n" + formatTable(parameterRows);

  if (manifest.moeLayers.empty()) {
    text += "\nMoE layers: none\n";
  } else {
    std::vector<std::vector<std::string>> moeRows = {
        {"layer", "experts", "policy", "capacity factor", "groups",
         "tokens per group", "capacity"}};
    for (const MoeLayerSpec &layer : manifest.moeLayers)
      moeRows.push_back(
          {std::to_string(layer.layer), std::to_string(layer.experts),
           layer.policy, formatString("%g", layer.capacityFactor),
           std::to_string(layer.groups), std::to_string(layer.tokensPerGroup),
           std::to_string(layer.capacity)});
    text += "\nMoE layers:\n" + formatTable(moeRows);
  }
  std::fputs(text.c_str(), out);
  return nullptr;
}

} // namespace smxrt
