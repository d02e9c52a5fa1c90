//===- tokenizer.cpp - SentencePiece unigram tokenizer --------------------===//
//
// Training runs in memory: the documents reach the trainer through a
// sentence iterator and the model comes back serialized, so no input file
// and no model prefix end up in the model (both would make its bytes depend
// on where it was trained). The serialized model is then written atomically.
//
//===----------------------------------------------------------------------===//

#include "data/tokenizer.h"

#include "file.h"
#include "status_internal.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <unordered_map>

namespace smxrt {
namespace data {

const char *const specialPieces[firstPieceId] = {"[PAD]", "[UNK]", "[CLS]",
                                                 "[SEP]", "[MASK]"};

struct Tokenizer::Impl {
  sentencepiece::SentencePieceProcessor processor;
  std::string serialized;
};

namespace {

/// Feeds the trainer one text at a time.
class TextIterator final : public sentencepiece::SentenceIterator {
public:
  explicit TextIterator(const std::vector<std::string_view> &texts)
      : texts(texts) {
    load();
  }
  bool done() const override { return index >= texts.size(); }
  void Next() override {
    ++index;
    load();
  }
  const std::string &value() const override { return current; }
  sentencepiece::util::Status status() const override { return {}; }

private:
  void load() {
    if (!done())
      current.assign(texts[index].data(), texts[index].size());
  }
  const std::vector<std::string_view> &texts;
  size_t index = 0;
  std::string current;
};

/// SentencePiece's message without the source location it starts with
/// ("./src/trainer_interface.cc(580) [condition] message").
std::string describe(const sentencepiece::util::Status &status) {
  std::string message = status.error_message();
  if (message.rfind("./", 0) == 0) {
    size_t end = message.find("] ");
    if (end != std::string::npos)
      message.erase(0, end + 2);
  }
  return message;
}

smxrt_status_t readModelFile(const std::string &path, std::string &contents) {
  FileDescriptor file;
  uint64_t size = 0;
  SMXRT_RETURN_IF_ERROR(openForReading(path, file, size));
  contents.assign(static_cast<size_t>(size), '\0');
  return readExactlyAt(file, path, 0, &contents[0], contents.size());
}

/// Checks that the special ids are the pieces the pipeline expects, as
/// control symbols (which no text encodes to) except [UNK].
smxrt_status_t
checkSpecialPieces(const sentencepiece::SentencePieceProcessor &processor,
                   const std::string &origin) {
  if (processor.GetPieceSize() <= firstPieceId)
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                       "%s: the tokenizer has %d pieces, too few to hold the "
                       "%d special pieces and any text",
                       origin.c_str(), processor.GetPieceSize(), firstPieceId);
  for (int id = 0; id < firstPieceId; ++id) {
    const std::string &piece = processor.IdToPiece(id);
    if (piece != specialPieces[id])
      return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                         "%s: id %d of the tokenizer is '%s', not the special "
                         "piece '%s'",
                         origin.c_str(), id, piece.c_str(), specialPieces[id]);
    bool expectedKind =
        id == unkId ? processor.IsUnknown(id) : processor.IsControl(id);
    if (!expectedKind)
      return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                         "%s: the tokenizer's '%s' (id %d) is not a %s symbol",
                         origin.c_str(), specialPieces[id], id,
                         id == unkId ? "unknown" : "control");
  }
  return nullptr;
}

} // namespace

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

std::vector<std::pair<std::string, std::string>>
Tokenizer::trainerFlags(int32_t vocabSize) {
  return {
      {"model_type", "unigram"},
      {"vocab_size", std::to_string(vocabSize)},
      {"hard_vocab_limit", "false"},
      {"num_threads", "1"},
      {"input_sentence_size", "0"},
      {"shuffle_input_sentence", "false"},
      {"max_sentence_length", "65536"},
      {"character_coverage", "0.9995"},
      {"seed_sentencepiece_size", "1000000"},
      {"shrinking_factor", "0.75"},
      {"num_sub_iterations", "2"},
      {"max_sentencepiece_length", "16"},
      {"split_by_unicode_script", "true"},
      {"split_by_number", "true"},
      {"split_by_whitespace", "true"},
      {"split_digits", "false"},
      {"byte_fallback", "false"},
      {"normalization_rule_name", "nmt_nfkc"},
      {"add_dummy_prefix", "true"},
      {"remove_extra_whitespaces", "true"},
      {"pad_id", "0"},
      {"unk_id", "1"},
      {"bos_id", "-1"},
      {"eos_id", "-1"},
      {"pad_piece", "[PAD]"},
      {"unk_piece", "[UNK]"},
      {"control_symbols", "[CLS],[SEP],[MASK]"},
  };
}

smxrt_status_t Tokenizer::train(const std::vector<std::string_view> &texts,
                                int32_t vocabSize, const std::string &modelPath,
                                std::unique_ptr<Tokenizer> &tokenizer) {
  if (vocabSize <= firstPieceId)
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                       "%s: a vocabulary of %d pieces cannot hold the %d "
                       "special pieces and any text",
                       modelPath.c_str(), vocabSize, firstPieceId);
  if (texts.empty())
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                       "%s: no text to train the tokenizer on",
                       modelPath.c_str());
  std::unordered_map<std::string, std::string> flags;
  for (auto &[name, value] : trainerFlags(vocabSize))
    flags.emplace(name, value);
  // Progress logging only; warnings still reach stderr.
  flags.emplace("minloglevel", "1");

  TextIterator iterator(texts);
  std::string serialized;
  sentencepiece::util::Status trained =
      sentencepiece::SentencePieceTrainer::Train(flags, &iterator, &serialized);
  if (!trained.ok())
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                       "%s: cannot train a tokenizer of %d pieces: %s",
                       modelPath.c_str(), vocabSize, describe(trained).c_str());

  std::unique_ptr<Tokenizer> loaded;
  SMXRT_RETURN_IF_ERROR(fromSerialized(serialized, modelPath, loaded));
  SMXRT_RETURN_IF_ERROR(writeFileAtomically(modelPath, [&](FileSink &sink) {
    return sink.write(serialized.data(), serialized.size());
  }));
  tokenizer = std::move(loaded);
  return nullptr;
}

smxrt_status_t Tokenizer::load(const std::string &modelPath,
                               std::unique_ptr<Tokenizer> &tokenizer) {
  std::string serialized;
  SMXRT_RETURN_IF_ERROR(readModelFile(modelPath, serialized));
  return fromSerialized(serialized, modelPath, tokenizer);
}

smxrt_status_t
Tokenizer::fromSerialized(const std::string &serialized,
                          const std::string &origin,
                          std::unique_ptr<Tokenizer> &tokenizer) {
  auto impl = std::make_unique<Impl>();
  sentencepiece::util::Status loaded =
      impl->processor.LoadFromSerializedProto(serialized);
  if (!loaded.ok())
    return makeStatusf(SMXRT_STATUS_DATA_LOSS,
                       "%s: not a SentencePiece model: %s", origin.c_str(),
                       describe(loaded).c_str());
  SMXRT_RETURN_IF_ERROR(checkSpecialPieces(impl->processor, origin));
  impl->serialized = serialized;
  tokenizer.reset(new Tokenizer(std::move(impl)));
  return nullptr;
}

int32_t Tokenizer::vocabSize() const { return impl->processor.GetPieceSize(); }

const std::string &Tokenizer::piece(int32_t id) const {
  return impl->processor.IdToPiece(id);
}

const std::string &Tokenizer::serialized() const { return impl->serialized; }

smxrt_status_t Tokenizer::encode(std::string_view text,
                                 std::vector<int32_t> &ids) const {
  std::vector<int> encoded;
  sentencepiece::util::Status status = impl->processor.Encode(text, &encoded);
  if (!status.ok())
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT, "cannot encode text: %s",
                       describe(status).c_str());
  ids.assign(encoded.begin(), encoded.end());
  return nullptr;
}

smxrt_status_t Tokenizer::decode(const std::vector<int32_t> &ids,
                                 std::string &text) const {
  int32_t size = vocabSize();
  for (size_t index = 0; index < ids.size(); ++index)
    if (ids[index] < 0 || ids[index] >= size)
      return makeStatusf(SMXRT_STATUS_OUT_OF_RANGE,
                         "id %d (at index %zu) is outside the vocabulary of "
                         "%d pieces",
                         ids[index], index, size);
  std::vector<int> decodable(ids.begin(), ids.end());
  sentencepiece::util::Status status = impl->processor.Decode(decodable, &text);
  if (!status.ok())
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT, "cannot decode ids: %s",
                       describe(status).c_str());
  return nullptr;
}

smxrt_status_t
Tokenizer::encodeAll(const std::vector<std::string_view> &texts,
                     std::vector<std::vector<int32_t>> &ids) const {
  ids.assign(texts.size(), {});
  auto count = static_cast<std::ptrdiff_t>(texts.size());
  std::atomic<std::ptrdiff_t> firstFailure{count};
  // SentencePieceProcessor::Encode is const and keeps no state.
#pragma omp parallel for schedule(dynamic, 64)
  for (std::ptrdiff_t index = 0; index < count; ++index) {
    bool ok = false;
#if defined(__cpp_exceptions)
    try {
#endif
      std::vector<int> encoded;
      ok = impl->processor.Encode(texts[index], &encoded).ok();
      ids[index].assign(encoded.begin(), encoded.end());
#if defined(__cpp_exceptions)
    } catch (...) {
      ok = false;
    }
#endif
    if (!ok) {
      std::ptrdiff_t seen = firstFailure.load();
      while (index < seen && !firstFailure.compare_exchange_weak(seen, index)) {
      }
    }
  }
  std::ptrdiff_t failed = firstFailure.load();
  if (failed == count)
    return nullptr;
  std::vector<int32_t> ignored;
  smxrt_status_t status = encode(texts[failed], ignored);
  if (!status) // It failed by an exception (out of memory) the first time.
    return makeStatusf(SMXRT_STATUS_RESOURCE_EXHAUSTED,
                       "text %td: cannot encode text: out of memory", failed);
  return annotateStatus(status, formatString("text %td: ", failed));
}

} // namespace data
} // namespace smxrt
