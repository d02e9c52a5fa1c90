//===- data_api.cpp - The C API of the data pipeline ----------------------===//
//
// Thin wrappers: check the arguments, call the C++ pipeline, turn escaping
// exceptions into statuses. Handles own their C++ objects.
//
//===----------------------------------------------------------------------===//

#include "smx_runtime/data.h"

#include "corpus.h"
#include "pretrain_batches.h"
#include "task.h"
#include "task_batches.h"
#include "tokenizer.h"

#include "status_internal.h"

#include <cstring>

using namespace smxrt;
using namespace smxrt::data;

struct smxrt_corpus_t {
  Corpus corpus;
};

struct smxrt_tokenizer_t {
  std::unique_ptr<Tokenizer> tokenizer;
};

struct smxrt_pretrainer_t {
  smxrt_pretrain_options_t options;
  std::unique_ptr<PretrainBatcher> batcher;
};

struct smxrt_task_t {
  Task task;
};

struct smxrt_task_batcher_t {
  std::unique_ptr<TaskBatcher> batcher;
};

namespace {

smxrt_status_t nullArgument(const char *function, const char *argument) {
  return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT, "%s: %s is NULL", function,
                     argument);
}

#define SMXRT_CHECK_ARGUMENT(argument)                                         \
  do {                                                                         \
    if (!(argument))                                                           \
      return nullArgument(__func__, #argument);                                \
  } while (false)

std::vector<std::string_view> documentTexts(const Corpus &corpus) {
  std::vector<std::string_view> texts;
  texts.reserve(corpus.documents.size());
  for (const Document &document : corpus.documents)
    texts.push_back(document.text);
  return texts;
}

smxrt_label_kind_t toC(LabelKind kind) {
  return kind == LabelKind::Regression ? SMXRT_LABEL_REGRESSION
                                       : SMXRT_LABEL_CLASSIFICATION;
}

smxrt_status_t tsvOptionsFromC(const smxrt_tsv_options_t *options,
                               TsvOptions &result) {
  if (!options)
    return nullptr;
  if (options->text_a_column)
    result.textAColumn = options->text_a_column;
  if (options->text_a_column && options->text_b_column)
    result.textBColumn = options->text_b_column;
  if (options->label_column)
    result.labelColumn = options->label_column;
  switch (options->label_kind) {
  case SMXRT_LABEL_AUTO:
    return nullptr;
  case SMXRT_LABEL_CLASSIFICATION:
    result.kind = LabelKind::Classification;
    return nullptr;
  case SMXRT_LABEL_REGRESSION:
    result.kind = LabelKind::Regression;
    return nullptr;
  }
  return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT, "unknown label kind %d",
                     static_cast<int>(options->label_kind));
}

smxrt_status_t checkTaskBatch(const char *function,
                              const smxrt_task_batch_t *batch) {
  if (!batch)
    return nullArgument(function, "batch");
  if (!batch->input_ids)
    return nullArgument(function, "batch->input_ids");
  if (!batch->type_ids)
    return nullArgument(function, "batch->type_ids");
  if (!batch->labels)
    return nullArgument(function, "batch->labels");
  return nullptr;
}

/// The C options with the defaults for zeros filled in.
smxrt_pretrain_options_t
effectivePretrainOptions(const smxrt_pretrain_options_t &options,
                         const Tokenizer &tokenizer) {
  smxrt_pretrain_options_t effective = options;
  PretrainOptions defaults;
  if (effective.max_predictions == 0)
    effective.max_predictions = defaults.maxPredictions;
  if (effective.mask_probability == 0)
    effective.mask_probability = defaults.maskProbability;
  if (effective.vocab_size == 0)
    effective.vocab_size = tokenizer.vocabSize();
  return effective;
}

PretrainOptions toCpp(const smxrt_pretrain_options_t &options) {
  PretrainOptions converted;
  converted.batchSize = options.batch_size;
  converted.sequenceLength = options.sequence_length;
  converted.maxPredictions = options.max_predictions;
  converted.vocabSize = options.vocab_size;
  converted.seed = options.seed;
  converted.maskProbability = options.mask_probability;
  return converted;
}

} // namespace

extern "C" {

//===--- Corpus -----------------------------------------------------------===//

smxrt_status_t smxrt_corpus_read(const char *path,
                                 smxrt_corpus_t **out_corpus) {
  SMXRT_CHECK_ARGUMENT(out_corpus);
  *out_corpus = nullptr;
  return catchExceptions([&]() -> smxrt_status_t {
    auto corpus = std::make_unique<smxrt_corpus_t>();
    SMXRT_RETURN_IF_ERROR(
        readCorpus(path ? path : SMXRT_DEFAULT_CORPUS_PATH, corpus->corpus));
    *out_corpus = corpus.release();
    return nullptr;
  });
}

void smxrt_corpus_free(smxrt_corpus_t *corpus) { delete corpus; }

size_t smxrt_corpus_document_count(const smxrt_corpus_t *corpus) {
  return corpus->corpus.documents.size();
}

const char *smxrt_corpus_document_text(const smxrt_corpus_t *corpus,
                                       size_t index) {
  const auto &documents = corpus->corpus.documents;
  return index < documents.size() ? documents[index].text.c_str() : nullptr;
}

size_t smxrt_corpus_document_category(const smxrt_corpus_t *corpus,
                                      size_t index) {
  const auto &documents = corpus->corpus.documents;
  return index < documents.size() ? documents[index].category : SIZE_MAX;
}

size_t smxrt_corpus_category_count(const smxrt_corpus_t *corpus) {
  return corpus->corpus.categories.size();
}

const char *smxrt_corpus_category_name(const smxrt_corpus_t *corpus,
                                       size_t index) {
  const auto &categories = corpus->corpus.categories;
  return index < categories.size() ? categories[index].c_str() : nullptr;
}

//===--- Tokenizer --------------------------------------------------------===//

smxrt_status_t smxrt_tokenizer_train(const smxrt_corpus_t *corpus,
                                     int32_t vocab_size,
                                     const char *model_prefix,
                                     smxrt_tokenizer_t **out_tokenizer) {
  SMXRT_CHECK_ARGUMENT(out_tokenizer);
  *out_tokenizer = nullptr;
  SMXRT_CHECK_ARGUMENT(corpus);
  SMXRT_CHECK_ARGUMENT(model_prefix);
  return catchExceptions([&]() -> smxrt_status_t {
    auto tokenizer = std::make_unique<smxrt_tokenizer_t>();
    SMXRT_RETURN_IF_ERROR(Tokenizer::train(
        documentTexts(corpus->corpus), vocab_size,
        std::string(model_prefix) + ".model", tokenizer->tokenizer));
    *out_tokenizer = tokenizer.release();
    return nullptr;
  });
}

smxrt_status_t smxrt_tokenizer_load(const char *model_path,
                                    smxrt_tokenizer_t **out_tokenizer) {
  SMXRT_CHECK_ARGUMENT(out_tokenizer);
  *out_tokenizer = nullptr;
  SMXRT_CHECK_ARGUMENT(model_path);
  return catchExceptions([&]() -> smxrt_status_t {
    auto tokenizer = std::make_unique<smxrt_tokenizer_t>();
    SMXRT_RETURN_IF_ERROR(Tokenizer::load(model_path, tokenizer->tokenizer));
    *out_tokenizer = tokenizer.release();
    return nullptr;
  });
}

void smxrt_tokenizer_free(smxrt_tokenizer_t *tokenizer) { delete tokenizer; }

int32_t smxrt_tokenizer_vocab_size(const smxrt_tokenizer_t *tokenizer) {
  return tokenizer->tokenizer->vocabSize();
}

const char *smxrt_tokenizer_piece(const smxrt_tokenizer_t *tokenizer,
                                  int32_t id) {
  if (id < 0 || id >= tokenizer->tokenizer->vocabSize())
    return nullptr;
  return tokenizer->tokenizer->piece(id).c_str();
}

smxrt_status_t smxrt_tokenizer_encode(const smxrt_tokenizer_t *tokenizer,
                                      const char *text, int32_t *ids,
                                      size_t capacity, size_t *out_count) {
  SMXRT_CHECK_ARGUMENT(tokenizer);
  SMXRT_CHECK_ARGUMENT(text);
  SMXRT_CHECK_ARGUMENT(out_count);
  if (capacity > 0)
    SMXRT_CHECK_ARGUMENT(ids);
  return catchExceptions([&]() -> smxrt_status_t {
    std::vector<int32_t> encoded;
    SMXRT_RETURN_IF_ERROR(tokenizer->tokenizer->encode(text, encoded));
    *out_count = encoded.size();
    if (encoded.size() > capacity)
      return makeStatusf(SMXRT_STATUS_OUT_OF_RANGE,
                         "the text encodes to %zu ids; the buffer holds %zu",
                         encoded.size(), capacity);
    std::copy(encoded.begin(), encoded.end(), ids);
    return nullptr;
  });
}

smxrt_status_t smxrt_tokenizer_decode(const smxrt_tokenizer_t *tokenizer,
                                      const int32_t *ids, size_t count,
                                      char *text, size_t capacity,
                                      size_t *out_length) {
  SMXRT_CHECK_ARGUMENT(tokenizer);
  SMXRT_CHECK_ARGUMENT(out_length);
  if (count > 0)
    SMXRT_CHECK_ARGUMENT(ids);
  if (capacity > 0)
    SMXRT_CHECK_ARGUMENT(text);
  return catchExceptions([&]() -> smxrt_status_t {
    std::string decoded;
    SMXRT_RETURN_IF_ERROR(tokenizer->tokenizer->decode(
        std::vector<int32_t>(ids, ids + count), decoded));
    *out_length = decoded.size();
    if (decoded.size() >= capacity)
      return makeStatusf(SMXRT_STATUS_OUT_OF_RANGE,
                         "the ids decode to %zu bytes; the buffer holds %zu "
                         "with the terminating NUL",
                         decoded.size(), capacity);
    std::memcpy(text, decoded.c_str(), decoded.size() + 1);
    return nullptr;
  });
}

//===--- Pre-training batches ---------------------------------------------===//

void smxrt_pretrain_options_init(smxrt_pretrain_options_t *options) {
  PretrainOptions defaults;
  options->batch_size = defaults.batchSize;
  options->sequence_length = defaults.sequenceLength;
  options->max_predictions = defaults.maxPredictions;
  options->vocab_size = 0;
  options->seed = defaults.seed;
  options->mask_probability = defaults.maskProbability;
}

smxrt_status_t smxrt_pretrainer_create(const smxrt_corpus_t *corpus,
                                       const smxrt_tokenizer_t *tokenizer,
                                       const smxrt_pretrain_options_t *options,
                                       smxrt_pretrainer_t **out) {
  SMXRT_CHECK_ARGUMENT(out);
  *out = nullptr;
  SMXRT_CHECK_ARGUMENT(corpus);
  SMXRT_CHECK_ARGUMENT(tokenizer);
  SMXRT_CHECK_ARGUMENT(options);
  return catchExceptions([&]() -> smxrt_status_t {
    auto pretrainer = std::make_unique<smxrt_pretrainer_t>();
    pretrainer->options =
        effectivePretrainOptions(*options, *tokenizer->tokenizer);
    std::vector<std::vector<int32_t>> ids;
    SMXRT_RETURN_IF_ERROR(
        tokenizer->tokenizer->encodeAll(documentTexts(corpus->corpus), ids));
    SMXRT_RETURN_IF_ERROR(PretrainBatcher::create(
        ids, toCpp(pretrainer->options), pretrainer->batcher));
    *out = pretrainer.release();
    return nullptr;
  });
}

void smxrt_pretrainer_free(smxrt_pretrainer_t *pretrainer) {
  delete pretrainer;
}

smxrt_pretrain_options_t
smxrt_pretrainer_options(const smxrt_pretrainer_t *pretrainer) {
  return pretrainer->options;
}

smxrt_status_t smxrt_pretrainer_batch(const smxrt_pretrainer_t *pretrainer,
                                      uint64_t step,
                                      const smxrt_pretrain_batch_t *batch) {
  SMXRT_CHECK_ARGUMENT(pretrainer);
  SMXRT_CHECK_ARGUMENT(batch);
  SMXRT_CHECK_ARGUMENT(batch->input_ids);
  SMXRT_CHECK_ARGUMENT(batch->type_ids);
  SMXRT_CHECK_ARGUMENT(batch->mlm_positions);
  SMXRT_CHECK_ARGUMENT(batch->mlm_labels);
  SMXRT_CHECK_ARGUMENT(batch->mlm_weights);
  SMXRT_CHECK_ARGUMENT(batch->order_labels);
  return catchExceptions([&]() -> smxrt_status_t {
    pretrainer->batcher->fill(
        step, PretrainBatchView{batch->input_ids, batch->type_ids,
                                batch->mlm_positions, batch->mlm_labels,
                                batch->mlm_weights, batch->order_labels});
    return nullptr;
  });
}

//===--- Fine-tuning tasks ------------------------------------------------===//

smxrt_status_t smxrt_task_read_tsv(const char *train_path,
                                   const char *eval_path,
                                   const smxrt_tsv_options_t *options,
                                   smxrt_task_t **out_task) {
  SMXRT_CHECK_ARGUMENT(out_task);
  *out_task = nullptr;
  SMXRT_CHECK_ARGUMENT(train_path);
  return catchExceptions([&]() -> smxrt_status_t {
    TsvOptions converted;
    SMXRT_RETURN_IF_ERROR(tsvOptionsFromC(options, converted));
    std::optional<std::string> evalPath;
    if (eval_path)
      evalPath = eval_path;
    auto task = std::make_unique<smxrt_task_t>();
    SMXRT_RETURN_IF_ERROR(
        readTsvTask(train_path, evalPath, converted, task->task));
    *out_task = task.release();
    return nullptr;
  });
}

smxrt_status_t smxrt_task_from_corpus(const smxrt_corpus_t *corpus,
                                      smxrt_task_t **out_task) {
  SMXRT_CHECK_ARGUMENT(out_task);
  *out_task = nullptr;
  SMXRT_CHECK_ARGUMENT(corpus);
  return catchExceptions([&]() -> smxrt_status_t {
    auto task = std::make_unique<smxrt_task_t>();
    taskFromCorpus(corpus->corpus, task->task);
    *out_task = task.release();
    return nullptr;
  });
}

void smxrt_task_free(smxrt_task_t *task) { delete task; }

smxrt_label_kind_t smxrt_task_label_kind(const smxrt_task_t *task) {
  return toC(task->task.kind);
}

smxrt_dtype_t smxrt_task_label_dtype(const smxrt_task_t *task) {
  return task->task.kind == LabelKind::Regression ? SMXRT_DTYPE_F32
                                                  : SMXRT_DTYPE_I32;
}

size_t smxrt_task_class_count(const smxrt_task_t *task) {
  return task->task.classNames.size();
}

const char *smxrt_task_class_name(const smxrt_task_t *task, size_t index) {
  const auto &names = task->task.classNames;
  return index < names.size() ? names[index].c_str() : nullptr;
}

size_t smxrt_task_train_count(const smxrt_task_t *task) {
  return task->task.train.size();
}

size_t smxrt_task_eval_count(const smxrt_task_t *task) {
  return task->task.eval.size();
}

smxrt_status_t smxrt_task_majority_baseline(const smxrt_task_t *task,
                                            int32_t *out_class,
                                            double *out_fraction) {
  SMXRT_CHECK_ARGUMENT(task);
  int32_t majorityClass = 0;
  double fraction = 0;
  SMXRT_RETURN_IF_ERROR(majorityBaseline(task->task, majorityClass, fraction));
  if (out_class)
    *out_class = majorityClass;
  if (out_fraction)
    *out_fraction = fraction;
  return nullptr;
}

smxrt_status_t smxrt_task_batcher_create(const smxrt_task_t *task,
                                         const smxrt_tokenizer_t *tokenizer,
                                         int32_t batch_size,
                                         int32_t sequence_length, uint64_t seed,
                                         smxrt_task_batcher_t **out) {
  SMXRT_CHECK_ARGUMENT(out);
  *out = nullptr;
  SMXRT_CHECK_ARGUMENT(task);
  SMXRT_CHECK_ARGUMENT(tokenizer);
  return catchExceptions([&]() -> smxrt_status_t {
    auto batcher = std::make_unique<smxrt_task_batcher_t>();
    SMXRT_RETURN_IF_ERROR(TaskBatcher::create(task->task, *tokenizer->tokenizer,
                                              batch_size, sequence_length, seed,
                                              batcher->batcher));
    *out = batcher.release();
    return nullptr;
  });
}

void smxrt_task_batcher_free(smxrt_task_batcher_t *batcher) { delete batcher; }

size_t smxrt_task_batcher_train_batches(const smxrt_task_batcher_t *batcher) {
  return batcher->batcher->trainBatches();
}

size_t smxrt_task_batcher_eval_batches(const smxrt_task_batcher_t *batcher) {
  return batcher->batcher->evalBatches();
}

smxrt_status_t
smxrt_task_batcher_train_batch(const smxrt_task_batcher_t *batcher,
                               uint64_t epoch, size_t index,
                               const smxrt_task_batch_t *batch) {
  SMXRT_CHECK_ARGUMENT(batcher);
  SMXRT_RETURN_IF_ERROR(checkTaskBatch(__func__, batch));
  return catchExceptions([&] {
    return batcher->batcher->fillTrain(
        epoch, index,
        TaskBatchView{batch->input_ids, batch->type_ids, batch->labels});
  });
}

smxrt_status_t
smxrt_task_batcher_eval_batch(const smxrt_task_batcher_t *batcher, size_t index,
                              const smxrt_task_batch_t *batch,
                              size_t *out_valid_rows) {
  SMXRT_CHECK_ARGUMENT(batcher);
  SMXRT_CHECK_ARGUMENT(out_valid_rows);
  SMXRT_RETURN_IF_ERROR(checkTaskBatch(__func__, batch));
  return catchExceptions([&] {
    return batcher->batcher->fillEval(
        index, TaskBatchView{batch->input_ids, batch->type_ids, batch->labels},
        *out_valid_rows);
  });
}

} // extern "C"
