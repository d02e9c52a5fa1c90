//===- tokenizer.h - SentencePiece unigram tokenizer ------------*- C++ -*-===//
//
// Trains, saves, loads and runs a SentencePiece unigram model whose first
// five ids are the special tokens below ([PAD], [UNK], [CLS], [SEP],
// [MASK]). SentencePiece stays behind this interface, so the
// rest of the runtime needs none of its headers.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_RUNTIME_DATA_TOKENIZER_H
#define SMX_RUNTIME_DATA_TOKENIZER_H

#include "smx_runtime/status.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace smxrt {
namespace data {

constexpr int32_t padId = 0;
constexpr int32_t unkId = 1;
constexpr int32_t clsId = 2;
constexpr int32_t sepId = 3;
constexpr int32_t maskId = 4;
/// Ids below this are special tokens.
constexpr int32_t firstPieceId = 5;

/// The pieces of the special ids, in id order.
extern const char *const specialPieces[firstPieceId];

class Tokenizer {
public:
  Tokenizer(const Tokenizer &) = delete;
  Tokenizer &operator=(const Tokenizer &) = delete;
  ~Tokenizer();

  /// The SentencePiece trainer's flags (name, value) for a vocabulary of at
  /// most `vocabSize` pieces: everything that shapes the model, spelled out
  /// so that no library default can change it. Documented in docs/data.md.
  static std::vector<std::pair<std::string, std::string>>
  trainerFlags(int32_t vocabSize);

  /// Trains on `texts` (one sentence each), writes the model atomically to
  /// `modelPath` and returns it loaded. Deterministic for fixed inputs.
  static smxrt_status_t train(const std::vector<std::string_view> &texts,
                              int32_t vocabSize, const std::string &modelPath,
                              std::unique_ptr<Tokenizer> &tokenizer);

  /// Loads a model file; errors name the path.
  static smxrt_status_t load(const std::string &modelPath,
                             std::unique_ptr<Tokenizer> &tokenizer);

  /// Loads a serialized model; `origin` names it in errors.
  static smxrt_status_t fromSerialized(const std::string &serialized,
                                       const std::string &origin,
                                       std::unique_ptr<Tokenizer> &tokenizer);

  int32_t vocabSize() const;
  /// The piece of a valid id.
  const std::string &piece(int32_t id) const;
  /// The serialized model, as saved.
  const std::string &serialized() const;

  /// Encodes text into ids (no special tokens added). Thread-safe.
  smxrt_status_t encode(std::string_view text, std::vector<int32_t> &ids) const;
  /// Decodes ids into text; special ids decode to nothing.
  smxrt_status_t decode(const std::vector<int32_t> &ids,
                        std::string &text) const;

  /// Encodes every text, in parallel; ids[i] are the ids of texts[i].
  smxrt_status_t encodeAll(const std::vector<std::string_view> &texts,
                           std::vector<std::vector<int32_t>> &ids) const;

private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl;
};

} // namespace data
} // namespace smxrt

#endif // SMX_RUNTIME_DATA_TOKENIZER_H
