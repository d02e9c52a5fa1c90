//===- pretraining_objective.cpp - Masked LM and sentence order -----------===//
//
// `train` on an object compiled with --task=pretrain: masked-LM and
// sentence-order batches drawn from the training split of a corpus
// (docs/data.md); `eval` runs the same batches over the held-out split.
//
//===----------------------------------------------------------------------===//

#include "training/objective.h"

#include "distributed/job.h"

#include "data/pretrain_batches.h"

#include "status_internal.h"

#include <algorithm>

namespace smxrt {
namespace {

class PretrainingObjective final : public TrainingObjective {
public:
  PretrainingObjective(const ModelManifest &manifest, int32_t predictions)
      : TrainingObjective(manifest), predictions(predictions) {}

  const char *lengthOption() const override { return "--steps"; }

  smxrt_status_t chooseSettings(const CommandLine &commandLine,
                                const ResumePoint &point,
                                SettingChooser &choose) override {
    if (!point.resuming && !commandLine.has("--steps"))
      return invalidArgument("'train' needs --steps");
    steps = choose.integer("--steps", commandLine.steps, "total_steps", 0);
    dataPath = choose.string("--data", commandLine.data, "data",
                             data::defaultCorpusPath, true);
    weightsPath = commandLine.weights;
    return nullptr;
  }
  std::optional<int64_t> plannedSteps() const override { return steps; }
  smxrt_status_t loadData() override {
    return readCorpusSplit(dataPath, split);
  }

  std::string startingWeights() const override { return weightsPath; }
  bool allowsPartialWeights() const override { return false; }
  std::vector<std::string_view> tokenizerTexts() const override {
    return split.train;
  }

  smxrt_status_t prepareBatches(const ResumePoint &,
                                const data::Tokenizer &tokenizer, uint64_t seed,
                                SettingChooser &,
                                int64_t &totalSteps) override {
    SMXRT_RETURN_IF_ERROR(makeBatcher(split.train, tokenizer, seed));
    totalSteps = steps;
    return nullptr;
  }

  smxrt_status_t prepareEvaluation(smxrt_model_forward_fn_t) override {
    return nullptr;
  }

  std::string describeModel() const override {
    return formatString("model: %s (pre-training), batch %lld x sequence "
                        "%lld, %d masked-LM slots%s",
                        manifest.model.c_str(),
                        static_cast<long long>(manifest.globalBatch()),
                        static_cast<long long>(manifest.sequence), predictions,
                        describeGridShare(manifest).c_str());
  }
  std::string describeData() const override {
    return formatString("data: %s: %zu training documents (%zu tokens), %zu "
                        "held out",
                        dataPath.c_str(), batcher->documentCount(),
                        batcher->tokenCount(), split.heldOut.size());
  }
  std::string describeSchedule(int64_t firstStep,
                               int64_t totalSteps) const override {
    return formatString("steps %lld..%lld",
                        static_cast<long long>(firstStep + 1),
                        static_cast<long long>(totalSteps));
  }

  void bindInputs(const TrainState &state) override {
    makePretrainView([&](std::string_view name) { return state.input(name); },
                     options, view);
  }
  smxrt_status_t fillBatch(int64_t step) override {
    batcher->fill(static_cast<uint64_t>(step), view.view);
    return nullptr;
  }
  void addCheckpointMeta(json::Object &meta, int64_t done) const override {
    meta.emplace_back("data", absolutePath(dataPath));
    meta.emplace_back("documents", batcher->documentCount());
    meta.emplace_back("tokens", batcher->tokenCount());
    meta.emplace_back("data_cursor", json::Object{{"step", done}});
  }

  smxrt_status_t evaluate(const EvaluationRequest &request,
                          HeldOutEvaluator &evaluator, std::string &text,
                          EvalSummary &summary) override;

private:
  /// The batcher over `documents`, tokenized.
  smxrt_status_t makeBatcher(const std::vector<std::string_view> &documents,
                             const data::Tokenizer &tokenizer, uint64_t seed) {
    std::vector<std::vector<int32_t>> tokenized;
    SMXRT_RETURN_IF_ERROR(tokenizer.encodeAll(documents, tokenized));
    options.batchSize = static_cast<int32_t>(manifest.batch);
    options.sequenceLength = static_cast<int32_t>(manifest.sequence);
    options.maxPredictions = predictions;
    options.vocabSize = tokenizer.vocabSize();
    options.seed = seed;
    // This process's rows of the job's batch.
    options.firstRow = thisJob().rank() * manifest.batch;
    return data::PretrainBatcher::create(tokenized, options, batcher);
  }

  int32_t predictions;
  int64_t steps = 0;
  std::string dataPath, weightsPath;
  CorpusSplit split;
  data::PretrainOptions options;
  std::unique_ptr<data::PretrainBatcher> batcher;
  PretrainView view;
};

smxrt_status_t PretrainingObjective::evaluate(const EvaluationRequest &request,
                                              HeldOutEvaluator &evaluator,
                                              std::string &text,
                                              EvalSummary &summary) {
  dataPath = request.dataPath;
  SMXRT_RETURN_IF_ERROR(readCorpusSplit(dataPath, split));
  if (split.heldOut.empty())
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                       "%s: none of its %zu documents is held out for "
                       "evaluation (a document is when the FNV-1a hash of "
                       "its text is 0 modulo 10)",
                       dataPath.c_str(), split.corpus.documents.size());
  SMXRT_RETURN_IF_ERROR(
      makeBatcher(split.heldOut, request.tokenizer, request.seed));
  // By default, about as many rows as the held-out tokens fill.
  int64_t perBatch = manifest.globalBatch() * (manifest.sequence - 3);
  int64_t batches =
      request.commandLine.evalBatches > 0
          ? static_cast<int64_t>(request.commandLine.evalBatches)
          : std::max<int64_t>(1, (static_cast<int64_t>(batcher->tokenCount()) +
                                  perBatch - 1) /
                                     perBatch);
  text += formatString("held out: %s: %zu documents (%zu tokens), %lld "
                       "batches of %lld\n",
                       dataPath.c_str(), batcher->documentCount(),
                       batcher->tokenCount(), static_cast<long long>(batches),
                       static_cast<long long>(manifest.globalBatch()));
  makePretrainView([&](std::string_view name) { return evaluator.input(name); },
                   options, view);
  for (int64_t index = 0; index < batches; ++index) {
    batcher->fill(static_cast<uint64_t>(index), view.view);
    SMXRT_RETURN_IF_ERROR(evaluator.run(index, manifest.batch));
  }
  summary = evaluator.result();
  return nullptr;
}

} // namespace

std::unique_ptr<TrainingObjective>
createPretrainingObjective(const ModelManifest &manifest, int32_t predictions) {
  return std::make_unique<PretrainingObjective>(manifest, predictions);
}

} // namespace smxrt
