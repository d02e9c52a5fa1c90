/*===- smx_runtime/data.h - Training data pipeline ----------------*- C -*-===*
 *
 * Text in, batches out, for pre-training (masked language modelling plus
 * sentence order) and fine-tuning (classification or regression):
 *
 *   corpus     a directory or file of text: fortune files (quotes between
 *              lines holding only "%") or plain paragraphs;
 *   tokenizer  a SentencePiece unigram model with fixed special ids;
 *   pretrain   BERT-style batches computed from (seed, step) alone, so a run
 *              resumed at step N needs nothing but N;
 *   task       labelled examples from a GLUE-style TSV file or from a
 *              corpus's categories (the default task), with a fixed
 *              held-out split and seed-shuffled training epochs.
 *
 * docs/data.md describes the formats, the special tokens, the masking rules,
 * the default task and what makes every result reproducible. Functions that
 * return no status require valid handles. Handles are immutable after
 * creation, so any number of threads may read one concurrently.
 *
 *===----------------------------------------------------------------------===*/

#ifndef SMX_RUNTIME_DATA_H
#define SMX_RUNTIME_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "smx_runtime/api.h"
#include "smx_runtime/status.h"
#include "smx_runtime/tensor.h"

SMXRT_EXTERN_C_BEGIN

/*===--- Corpus ----------------------------------------------------------===*/

/* Debian's `fortunes` package, read in place. */
#define SMXRT_DEFAULT_CORPUS_PATH "/usr/share/games/fortunes"

typedef struct smxrt_corpus_t smxrt_corpus_t;

/* Reads a corpus from a file or a directory (NULL: the default corpus). In a
 * directory, every regular file whose name does not start with "." or end
 * in ".dat" or ".u8" is read, in name order; symbolic links and
 * subdirectories are skipped. A file holding a line that is exactly "%" is
 * in fortune format: one document per quote; any other file holds one
 * document per blank-line-separated paragraph. A document's category is its
 * file's name; whitespace inside a document is collapsed to single spaces.
 * Fails with NOT_FOUND for a missing path, IO_ERROR for an unreadable one
 * and INVALID_ARGUMENT when no document is found, each naming the path. */
SMXRT_API smxrt_status_t smxrt_corpus_read(const char *path,
                                           smxrt_corpus_t **out_corpus);

/* NULL is a no-op. */
SMXRT_API void smxrt_corpus_free(smxrt_corpus_t *corpus);

SMXRT_API size_t smxrt_corpus_document_count(const smxrt_corpus_t *corpus);
/* The normalized text; NULL when index >= count. Valid until the corpus is
 * freed. */
SMXRT_API const char *smxrt_corpus_document_text(const smxrt_corpus_t *corpus,
                                                 size_t index);
/* The category index of a document (see smxrt_corpus_category_name);
 * SIZE_MAX when index >= count. */
SMXRT_API size_t smxrt_corpus_document_category(const smxrt_corpus_t *corpus,
                                                size_t index);

/* Categories are the names of the files that hold documents, sorted
 * byte-wise. */
SMXRT_API size_t smxrt_corpus_category_count(const smxrt_corpus_t *corpus);
/* NULL when index >= count. */
SMXRT_API const char *smxrt_corpus_category_name(const smxrt_corpus_t *corpus,
                                                 size_t index);

/*===--- Tokenizer -------------------------------------------------------===*/

/* Special ids, the same in every tokenizer this runtime trains or loads. */
#define SMXRT_TOKEN_PAD 0  /* "[PAD]" */
#define SMXRT_TOKEN_UNK 1  /* "[UNK]" */
#define SMXRT_TOKEN_CLS 2  /* "[CLS]" */
#define SMXRT_TOKEN_SEP 3  /* "[SEP]" */
#define SMXRT_TOKEN_MASK 4 /* "[MASK]" */
/* Ids below this are special; text pieces start here. */
#define SMXRT_TOKEN_FIRST_PIECE 5

typedef struct smxrt_tokenizer_t smxrt_tokenizer_t;

/* Trains a SentencePiece unigram model on the corpus's documents, with at
 * most `vocab_size` pieces (special tokens included; fewer when the corpus
 * is too small to support that many), writes it atomically to
 * "<model_prefix>.model" and returns it loaded. The result depends only on
 * the documents and `vocab_size` (docs/data.md lists the trainer flags).
 * Fails with INVALID_ARGUMENT for a vocabulary too small for the corpus's
 * characters and IO_ERROR when the file cannot be written. */
SMXRT_API smxrt_status_t smxrt_tokenizer_train(
    const smxrt_corpus_t *corpus, int32_t vocab_size, const char *model_prefix,
    smxrt_tokenizer_t **out_tokenizer);

/* Loads a model file written by smxrt_tokenizer_train (or by spm_train with
 * the same special pieces). Fails with NOT_FOUND for a missing file,
 * DATA_LOSS for one that is not a SentencePiece model and INVALID_ARGUMENT
 * for a model whose special pieces are not the ones above. */
SMXRT_API smxrt_status_t
smxrt_tokenizer_load(const char *model_path, smxrt_tokenizer_t **out_tokenizer);

/* NULL is a no-op. */
SMXRT_API void smxrt_tokenizer_free(smxrt_tokenizer_t *tokenizer);

/* The number of pieces; every id the tokenizer produces is below it. */
SMXRT_API int32_t
smxrt_tokenizer_vocab_size(const smxrt_tokenizer_t *tokenizer);

/* The piece of an id (e.g. "[CLS]", "\xE2\x96\x81the"); NULL when the id is
 * out of range. Valid until the tokenizer is freed. */
SMXRT_API const char *smxrt_tokenizer_piece(const smxrt_tokenizer_t *tokenizer,
                                            int32_t id);

/* Encodes UTF-8 text (no special tokens added). Stores the number of ids in
 * *out_count and, when it is at most `capacity`, the ids in `ids` (which may
 * be NULL when capacity is 0); fails with OUT_OF_RANGE, *out_count still
 * set, when the ids do not fit. */
SMXRT_API smxrt_status_t
smxrt_tokenizer_encode(const smxrt_tokenizer_t *tokenizer, const char *text,
                       int32_t *ids, size_t capacity, size_t *out_count);

/* Decodes ids to text, NUL-terminated, into `text` of `capacity` bytes.
 * [PAD], [CLS], [SEP] and [MASK] decode to nothing, [UNK] to " \xE2\x81\x87 "
 * (SentencePiece's default). Stores the text's length (without the NUL)
 * in *out_length; fails with OUT_OF_RANGE when it does not fit (or an id is
 * out of range). */
SMXRT_API smxrt_status_t smxrt_tokenizer_decode(
    const smxrt_tokenizer_t *tokenizer, const int32_t *ids, size_t count,
    char *text, size_t capacity, size_t *out_length);

/*===--- Pre-training batches --------------------------------------------===*/

/* A zero max_predictions, vocab_size or mask_probability takes the
 * default. */
typedef struct smxrt_pretrain_options_t {
  int32_t batch_size;      /* B >= 1 */
  int32_t sequence_length; /* S >= 5 */
  int32_t max_predictions; /* P >= 1; default 80 */
  /* Random replacements are drawn from [SMXRT_TOKEN_FIRST_PIECE,
   * vocab_size); every token id must be below it. Default: the
   * tokenizer's. */
  int32_t vocab_size;
  uint64_t seed;
  double mask_probability; /* in (0, 1]; default 0.15 */
} smxrt_pretrain_options_t;

/* Sets the defaults: B 8, S 128, P 80, vocab_size 0, seed 0, 0.15. */
SMXRT_API void smxrt_pretrain_options_init(smxrt_pretrain_options_t *options);

/* Caller memory for one batch, dense row-major. */
typedef struct smxrt_pretrain_batch_t {
  int32_t *input_ids;     /* [B, S] */
  int32_t *type_ids;      /* [B, S] */
  int32_t *mlm_positions; /* [B, P] */
  int32_t *mlm_labels;    /* [B, P] */
  float *mlm_weights;     /* [B, P] */
  int32_t *order_labels;  /* [B] */
} smxrt_pretrain_batch_t;

typedef struct smxrt_pretrainer_t smxrt_pretrainer_t;

/* Tokenizes every document of the corpus and keeps the ids. Fails with
 * INVALID_ARGUMENT for bad options or a corpus of fewer than 2 tokens. */
SMXRT_API smxrt_status_t smxrt_pretrainer_create(
    const smxrt_corpus_t *corpus, const smxrt_tokenizer_t *tokenizer,
    const smxrt_pretrain_options_t *options, smxrt_pretrainer_t **out);

/* NULL is a no-op. */
SMXRT_API void smxrt_pretrainer_free(smxrt_pretrainer_t *pretrainer);

/* The options in effect (defaults filled in). */
SMXRT_API smxrt_pretrain_options_t
smxrt_pretrainer_options(const smxrt_pretrainer_t *pretrainer);

/* Fills every element of the batch of `step`: a function of the seed, the
 * step, the token ids and the options, nothing else. Fails with
 * INVALID_ARGUMENT if a buffer is NULL. */
SMXRT_API smxrt_status_t
smxrt_pretrainer_batch(const smxrt_pretrainer_t *pretrainer, uint64_t step,
                       const smxrt_pretrain_batch_t *batch);

/*===--- Fine-tuning tasks -----------------------------------------------===*/

/* The values are part of the ABI: never renumber, only append. */
typedef enum smxrt_label_kind_e {
  /* Reading a TSV file: classification if every label is a non-negative
   * integer or any label is not a number, regression otherwise. */
  SMXRT_LABEL_AUTO = 0,
  SMXRT_LABEL_CLASSIFICATION = 1, /* I32 labels: class indices */
  SMXRT_LABEL_REGRESSION = 2,     /* F32 labels */
} smxrt_label_kind_t;

typedef struct smxrt_tsv_options_t {
  /* Column names of the header row. NULL text columns: every column but the
   * label's, when there are one or two of them. */
  const char *text_a_column;
  const char *text_b_column; /* only read when text_a_column is set */
  const char *label_column;  /* NULL: "label" */
  smxrt_label_kind_t label_kind;
} smxrt_tsv_options_t;

typedef struct smxrt_task_t smxrt_task_t;

/* Reads a task from GLUE-style TSV files with a header row (no quoting;
 * CRLF accepted; blank lines skipped). `eval_path` NULL holds out the
 * training file's examples as the default task does (docs/data.md). Labels
 * that are non-negative integers are class indices; other class names are
 * numbered in byte-wise order, and an evaluation label the training file
 * lacks is an error. Errors name "<file>:<line>:". `options` may be NULL. */
SMXRT_API smxrt_status_t smxrt_task_read_tsv(const char *train_path,
                                             const char *eval_path,
                                             const smxrt_tsv_options_t *options,
                                             smxrt_task_t **out_task);

/* The default task: each document is an example whose label is its
 * category index; a document whose text's 64-bit FNV-1a hash is 0 modulo 10
 * is held out for evaluation. */
SMXRT_API smxrt_status_t smxrt_task_from_corpus(const smxrt_corpus_t *corpus,
                                                smxrt_task_t **out_task);

/* NULL is a no-op. */
SMXRT_API void smxrt_task_free(smxrt_task_t *task);

/* SMXRT_LABEL_CLASSIFICATION or SMXRT_LABEL_REGRESSION. */
SMXRT_API smxrt_label_kind_t smxrt_task_label_kind(const smxrt_task_t *task);
/* SMXRT_DTYPE_I32 for classification, SMXRT_DTYPE_F32 for regression. */
SMXRT_API smxrt_dtype_t smxrt_task_label_dtype(const smxrt_task_t *task);
/* Classes (0 for regression) and their names; NULL when out of range. */
SMXRT_API size_t smxrt_task_class_count(const smxrt_task_t *task);
SMXRT_API const char *smxrt_task_class_name(const smxrt_task_t *task,
                                            size_t index);
SMXRT_API size_t smxrt_task_train_count(const smxrt_task_t *task);
SMXRT_API size_t smxrt_task_eval_count(const smxrt_task_t *task);

/* The most frequent class of the evaluation set (the lowest index on a tie)
 * and its share of the set: the accuracy of always predicting it. Fails
 * with INVALID_ARGUMENT for a regression task or an empty evaluation set.
 * Either output may be NULL. */
SMXRT_API smxrt_status_t smxrt_task_majority_baseline(const smxrt_task_t *task,
                                                      int32_t *out_class,
                                                      double *out_fraction);

/* Caller memory for one batch, dense row-major. */
typedef struct smxrt_task_batch_t {
  int32_t *input_ids; /* [B, S] */
  int32_t *type_ids;  /* [B, S] */
  void *labels;       /* [B], of smxrt_task_label_dtype */
} smxrt_task_batch_t;

typedef struct smxrt_task_batcher_t smxrt_task_batcher_t;

/* Tokenizes every example as "[CLS] a [SEP]" or "[CLS] a [SEP] b [SEP]",
 * truncated to `sequence_length` tokens (the longer text loses its last
 * token first). Fails with INVALID_ARGUMENT when batch_size < 1,
 * sequence_length < 3 (5 with a second text) or the training set is smaller
 * than one batch. */
SMXRT_API smxrt_status_t smxrt_task_batcher_create(
    const smxrt_task_t *task, const smxrt_tokenizer_t *tokenizer,
    int32_t batch_size, int32_t sequence_length, uint64_t seed,
    smxrt_task_batcher_t **out);

/* NULL is a no-op. */
SMXRT_API void smxrt_task_batcher_free(smxrt_task_batcher_t *batcher);

/* Full training batches per epoch: floor(train count / B); the remainder,
 * a different one each epoch, is skipped. */
SMXRT_API size_t
smxrt_task_batcher_train_batches(const smxrt_task_batcher_t *batcher);

/* Evaluation batches: ceil(eval count / B). */
SMXRT_API size_t
smxrt_task_batcher_eval_batches(const smxrt_task_batcher_t *batcher);

/* Batch `index` of epoch `epoch`: the training set in an order drawn from
 * (seed, epoch). Fails with OUT_OF_RANGE for an index past the epoch. */
SMXRT_API smxrt_status_t smxrt_task_batcher_train_batch(
    const smxrt_task_batcher_t *batcher, uint64_t epoch, size_t index,
    const smxrt_task_batch_t *batch);

/* Evaluation batch `index`, in file order. Rows past the end of the set
 * (in the last batch only) are padding: [PAD] ids, type 0, label 0; their
 * count is B minus *out_valid_rows. */
SMXRT_API smxrt_status_t smxrt_task_batcher_eval_batch(
    const smxrt_task_batcher_t *batcher, size_t index,
    const smxrt_task_batch_t *batch, size_t *out_valid_rows);

SMXRT_EXTERN_C_END

#endif /* SMX_RUNTIME_DATA_H */
