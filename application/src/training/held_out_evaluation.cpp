//===- held_out_evaluation.cpp - `eval` of a training object --------------===//
//
// Without --input, `eval` evaluates a training object's objective on its
// held-out split, with the parameters and the tokenizer of a checkpoint
// (--weights) and the settings of its run.
//
//===----------------------------------------------------------------------===//

#include "training/training_run.h"

#include "model/parameters.h"
#include "training/checkpoint.h"
#include "training/objective.h"

#include "status_internal.h"

namespace smxrt {

smxrt_status_t runHeldOutEvaluation(const ModelManifest &manifest,
                                    smxrt_model_forward_fn_t forward,
                                    const CommandLine &commandLine,
                                    std::FILE *out) {
  std::unique_ptr<TrainingObjective> objective;
  SMXRT_RETURN_IF_ERROR(createTrainingObjective(manifest, objective));
  // A checkpoint supplies the settings of its run.
  WeightsSource source;
  ResumePoint point;
  if (!commandLine.weights.empty()) {
    SMXRT_RETURN_IF_ERROR(resolveWeightsSource(commandLine.weights, source));
    if (!source.stepDirectory.empty()) {
      SMXRT_RETURN_IF_ERROR(
          readCheckpointMeta(source.stepDirectory, point.meta));
      point.resuming = true; // Only to read the settings.
    }
  }
  SettingChooser choose(commandLine, point);
  const auto seed = static_cast<uint64_t>(
      choose.integer("--seed", commandLine.seed, "seed", 0));
  const std::string dataPath = choose.string("--data", commandLine.data, "data",
                                             data::defaultCorpusPath, true);
  choose.notes.clear(); // Evaluating other data than the run's is the point.

  HeldOutEvaluator evaluator;
  SMXRT_RETURN_IF_ERROR(
      evaluator.prepare(manifest, forward, /*ownParameters=*/true));
  std::string parametersReport;
  if (source.weightsFile.empty()) {
    initializeParameters(manifest, seed, evaluator.ownArguments());
    parametersReport = formatString("parameters: initialized from --seed %llu",
                                    static_cast<unsigned long long>(seed));
  } else {
    SMXRT_RETURN_IF_ERROR(
        loadParameters(manifest, source.weightsFile, evaluator.ownArguments()));
    parametersReport = "parameters: " + source.weightsFile;
  }

  int32_t vocabulary = 0;
  SMXRT_RETURN_IF_ERROR(vocabularyLimit(manifest, vocabulary));
  TokenizerRequest request;
  request.explicitPath = commandLine.tokenizer;
  request.sourcePath = source.checkpointRoot.empty()
                           ? ""
                           : joinPath(source.checkpointRoot, tokenizerFileName);
  request.vocabularyLimit = vocabulary;
  request.mayTrain = false;
  std::unique_ptr<data::Tokenizer> tokenizer;
  std::string tokenizerReport;
  SMXRT_RETURN_IF_ERROR(setUpTokenizer(request, tokenizer, tokenizerReport));

  std::string text = formatString(
      "model: %s (%s)\n%s\n%s\n", manifest.model.c_str(), manifest.task.c_str(),
      parametersReport.c_str(), tokenizerReport.c_str());
  EvalSummary summary;
  EvaluationRequest evaluation{commandLine, choose, *tokenizer, dataPath, seed};
  SMXRT_RETURN_IF_ERROR(
      objective->evaluate(evaluation, evaluator, text, summary));
  text += formatString("rows: %lld in %lld batches\n",
                       static_cast<long long>(summary.rows),
                       static_cast<long long>(summary.batches));
  for (const std::string &line : describeEvalSummary(summary))
    text += line + "\n";
  std::fputs(text.c_str(), out);
  return nullptr;
}

} // namespace smxrt
