//===- analyze_command.cpp - `model analyze --routing` --------------------===//
//
// What the router learned. Runs the forward pass on texts (one per line of
// --text, or the corpus's held-out documents), reads every MoE layer's
// dispatch indices and combine weights, and maps each filled slot back to
// its token: which experts took each token and with what weight. Reports,
// per layer, each expert's load, its most frequent pieces (decoded with the
// model's tokenizer) and the classes of the tokens it took (punctuation,
// numbers, stop words, capitalized words) beside those of all tokens.
// --export writes the decisions as JSON lines or safetensors; --compare
// reports how many of an earlier export's decisions the model still makes.
//
//===----------------------------------------------------------------------===//

#include "commands/commands.h"

#include "data/corpus.h"
#include "data/task_batches.h"
#include "data/text.h"
#include "data/tokenizer.h"
#include "model/forward_runner.h"
#include "model/parameters.h"
#include "training/checkpoint.h"
#include "training/train_progress.h"

#include "file.h"
#include "json.h"
#include "status_internal.h"
#include "tensor_internal.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <map>
#include <set>
#include <unordered_map>

namespace smxrt {
namespace {

//===----------------------------------------------------------------------===//
// Token classes
//===----------------------------------------------------------------------===//

enum class TokenClass {
  Punctuation,
  Number,
  StopWord,
  Capitalized,
  Other,
  Special,
};
constexpr std::array<const char *, 6> tokenClassNames = {
    "punctuation", "numbers", "stop words", "capitalized", "other", "special"};
constexpr size_t tokenClassCount = tokenClassNames.size();

/// Frequent English function words (compared in lower case).
constexpr const char *stopWords[] = {
    "a",     "about", "all",   "also",  "an",   "and",   "any",   "are",
    "as",    "at",    "be",    "been",  "but",  "by",    "can",   "could",
    "did",   "do",    "does",  "for",   "from", "had",   "has",   "have",
    "he",    "her",   "his",   "how",   "i",    "if",    "in",    "into",
    "is",    "it",    "its",   "me",    "more", "most",  "my",    "no",
    "not",   "of",    "on",    "only",  "or",   "our",   "out",   "over",
    "she",   "so",    "some",  "such",  "than", "that",  "the",   "their",
    "them",  "then",  "there", "these", "they", "this",  "those", "to",
    "too",   "up",    "very",  "was",   "we",   "were",  "what",  "when",
    "where", "which", "who",   "will",  "with", "would", "you",   "your"};

/// The word marker SentencePiece puts before a piece that starts a word.
constexpr std::string_view wordMarker = "\xE2\x96\x81";

std::string_view withoutWordMarker(std::string_view piece) {
  if (piece.substr(0, wordMarker.size()) == wordMarker)
    piece.remove_prefix(wordMarker.size());
  return piece;
}

/// The piece's class. Stop words and capitalized words are pieces that
/// start a word (a fragment inside a word, "he" of "the", is neither).
TokenClass classifyPiece(int32_t id, std::string_view piece) {
  if (id < data::firstPieceId)
    return TokenClass::Special;
  std::string_view text = withoutWordMarker(piece);
  bool startsWord = text.size() < piece.size();
  if (text.empty())
    return TokenClass::Other;
  auto isAscii = [](char c) { return static_cast<unsigned char>(c) < 0x80; };
  if (std::all_of(text.begin(), text.end(), [&](char c) {
        return isAscii(c) && std::ispunct(static_cast<unsigned char>(c));
      }))
    return TokenClass::Punctuation;
  if (std::any_of(text.begin(), text.end(), [&](char c) {
        return isAscii(c) && std::isdigit(static_cast<unsigned char>(c));
      }))
    return TokenClass::Number;
  if (!startsWord)
    return TokenClass::Other;
  std::string lower(text);
  for (char &c : lower)
    if (isAscii(c))
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char *word : stopWords)
    if (lower == word)
      return TokenClass::StopWord;
  if (isAscii(text[0]) && std::isupper(static_cast<unsigned char>(text[0])))
    return TokenClass::Capitalized;
  return TokenClass::Other;
}

//===----------------------------------------------------------------------===//
// Texts and inputs
//===----------------------------------------------------------------------===//

/// The texts to route and where they came from.
struct Texts {
  std::vector<std::string> lines;
  std::string origin;
};

smxrt_status_t readTexts(const CommandLine &commandLine, Texts &texts) {
  if (!commandLine.text.empty()) {
    std::string contents;
    SMXRT_RETURN_IF_ERROR(data::readWholeFile(commandLine.text, contents));
    data::forEachLine(contents, [&](std::string_view line) {
      if (!data::isBlank(line))
        texts.lines.emplace_back(line);
    });
    texts.origin = commandLine.text;
    if (texts.lines.empty())
      return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                         "%s: no text to analyze (every line is blank)",
                         commandLine.text.c_str());
    return nullptr;
  }
  data::Corpus corpus;
  SMXRT_RETURN_IF_ERROR(data::readCorpus(
      commandLine.data.empty() ? data::defaultCorpusPath : commandLine.data,
      corpus));
  for (const data::Document &document : corpus.documents)
    if (data::isHeldOut(document.text))
      texts.lines.push_back(document.text);
  texts.origin = "the held-out documents of " + corpus.path;
  if (texts.lines.empty())
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                       "%s: no held-out document to analyze",
                       corpus.path.c_str());
  return nullptr;
}

/// The tokenizer: --tokenizer, else the checkpoint directory's.
smxrt_status_t loadTokenizer(const CommandLine &commandLine,
                             const WeightsSource &weights,
                             const ModelManifest &manifest,
                             std::unique_ptr<data::Tokenizer> &tokenizer) {
  std::string path = commandLine.tokenizer;
  if (path.empty() && !weights.checkpointRoot.empty())
    path = weights.checkpointRoot + "/tokenizer.model";
  if (path.empty())
    return invalidArgument(
        "analyze needs the model's tokenizer: --tokenizer P, or --weights "
        "CKPT of a checkpoint directory that holds tokenizer.model");
  SMXRT_RETURN_IF_ERROR(data::Tokenizer::load(path, tokenizer));
  const ArgumentSpec *table = manifest.findArgument("embeddings.word");
  if (table && tokenizer->vocabSize() > table->shape[0])
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                       "%s: %d pieces, but embeddings.word has %lld rows",
                       path.c_str(), tokenizer->vocabSize(),
                       static_cast<long long>(table->shape[0]));
  return nullptr;
}

/// Every batch-major input of the model for `rows` ([CLS] text [SEP],
/// padded): input_ids from the rows, every other input zeros.
smxrt_status_t makeInputs(const ModelManifest &manifest,
                          const std::vector<std::vector<int32_t>> &rows,
                          BatchInputs &inputs) {
  inputs.rows = static_cast<int64_t>(rows.size());
  inputs.tensors.clear();
  inputs.tensors.resize(manifest.arguments.size());
  bool hasIds = false;
  for (size_t index = 0; index < manifest.arguments.size(); ++index) {
    const ArgumentSpec &argument = manifest.arguments[index];
    if (argument.role != ArgumentRole::Input || argument.name == stepInputName)
      continue;
    std::vector<int64_t> shape = argument.shape;
    shape[0] = inputs.rows;
    SMXRT_RETURN_IF_ERROR(
        createTensor(argument.dtype, shape, inputs.tensors[index]));
    smxrt_tensor_t *tensor = inputs.tensors[index].get();
    std::memset(smxrt_tensor_data(tensor), 0, smxrt_tensor_byte_size(tensor));
    if (argument.name != "input_ids")
      continue;
    hasIds = true;
    auto *ids = static_cast<int32_t *>(smxrt_tensor_data(tensor));
    for (size_t row = 0; row < rows.size(); ++row)
      std::copy(rows[row].begin(), rows[row].end(),
                ids + row * manifest.sequence);
  }
  if (!hasIds)
    return invalidArgument("the model takes no input_ids: there are no "
                           "tokens to route");
  return nullptr;
}

//===----------------------------------------------------------------------===//
// Decisions
//===----------------------------------------------------------------------===//

/// One expert that took a token.
struct Choice {
  int32_t expert;
  float weight;
};

/// What one MoE layer did with every token position [N·S].
struct LayerDecisions {
  const MoeLayerSpec *layer;
  const smxrt_tensor_t *indices;
  const smxrt_tensor_t *weights;
  std::vector<std::vector<Choice>> byToken;
};

/// The result `name` if the model returns it with `dtype`, else nullptr.
const smxrt_tensor_t *findResultOfType(const ModelManifest &manifest,
                                       const BatchResults &results,
                                       const std::string &name,
                                       smxrt_dtype_t dtype) {
  const smxrt_tensor_t *tensor = findResult(manifest, results, name);
  return tensor && smxrt_tensor_dtype(tensor) == dtype ? tensor : nullptr;
}

/// Maps every filled slot of every chunk back to its token position.
smxrt_status_t collectDecisions(const ModelManifest &manifest,
                                const BatchResults &results,
                                std::vector<LayerDecisions> &layers) {
  const int64_t batch = manifest.batch, sequence = manifest.sequence;
  for (const MoeLayerSpec &layer : manifest.moeLayers) {
    std::string prefix = "moe." + std::to_string(layer.layer) + ".";
    LayerDecisions decisions{
        &layer,
        findResultOfType(manifest, results, prefix + "dispatch_indices",
                         SMXRT_DTYPE_I32),
        findResultOfType(manifest, results, prefix + "combine_weights",
                         SMXRT_DTYPE_F32),
        {}};
    if (!decisions.indices || !decisions.weights)
      return makeStatusf(SMXRT_STATUS_UNIMPLEMENTED,
                         "the model does not return %sdispatch_indices (I32) "
                         "and %scombine_weights (F32): recompile it with this "
                         "smxc",
                         prefix.c_str(), prefix.c_str());
    const int64_t *shape = smxrt_tensor_shape(decisions.indices);
    // [chunks, groups, experts, capacity]
    if (smxrt_tensor_rank(decisions.indices) != 4 || shape[1] != layer.groups ||
        shape[2] != layer.experts || shape[3] != layer.capacity ||
        layer.groups * layer.tokensPerGroup != batch * sequence)
      return makeStatusf(
          SMXRT_STATUS_DATA_LOSS,
          "%sdispatch_indices has shape %s, not the manifest's "
          "[chunks, %lld, %lld, %lld]",
          prefix.c_str(),
          formatShape(shape, smxrt_tensor_rank(decisions.indices)).c_str(),
          static_cast<long long>(layer.groups),
          static_cast<long long>(layer.experts),
          static_cast<long long>(layer.capacity));
    const auto *indices = static_cast<const int32_t *>(
        smxrt_tensor_const_data(decisions.indices));
    const auto *weights =
        static_cast<const float *>(smxrt_tensor_const_data(decisions.weights));
    decisions.byToken.resize(static_cast<size_t>(results.rows * sequence));
    const int64_t slotsPerChunk = layer.groups * layer.experts * layer.capacity;
    for (int64_t chunk = 0; chunk < results.chunks; ++chunk)
      for (int64_t slot = 0; slot < slotsPerChunk; ++slot) {
        int32_t token = indices[chunk * slotsPerChunk + slot];
        if (token < 0)
          continue;
        int64_t group = slot / (layer.experts * layer.capacity);
        int64_t expert = slot / layer.capacity % layer.experts;
        if (token >= layer.tokensPerGroup)
          return makeStatusf(SMXRT_STATUS_DATA_LOSS,
                             "%sdispatch_indices holds token %d of a group of "
                             "%lld",
                             prefix.c_str(), token,
                             static_cast<long long>(layer.tokensPerGroup));
        // Tokens are the rows of the chunk's [B·S] flattening, group-major.
        int64_t flat = group * layer.tokensPerGroup + token;
        int64_t row = chunk * batch + flat / sequence;
        if (row >= results.rows)
          continue; // a padding row of the last chunk
        decisions.byToken[row * sequence + flat % sequence].push_back(
            {static_cast<int32_t>(expert),
             weights[chunk * slotsPerChunk + slot]});
      }
    for (std::vector<Choice> &choices : decisions.byToken)
      std::sort(choices.begin(), choices.end(),
                [](const Choice &a, const Choice &b) {
                  return a.weight != b.weight ? a.weight > b.weight
                                              : a.expert < b.expert;
                });
    layers.push_back(std::move(decisions));
  }
  return nullptr;
}

//===----------------------------------------------------------------------===//
// Report
//===----------------------------------------------------------------------===//

std::string percent(int64_t part, int64_t whole) {
  return whole > 0 ? formatString("%.1f%%", 100.0 * part / whole) : "-";
}

/// A piece in quotes, its word marker shown as "▁", quotes, backslashes and
/// control bytes escaped.
std::string showPiece(std::string_view piece) {
  std::string shown;
  for (char c : piece) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f)
      shown += formatString("\\x%02x", byte);
    else if (c == '\'' || c == '\\')
      shown += std::string("\\") + c;
    else
      shown += c;
  }
  return "'" + shown + "'";
}

void describeLayer(const LayerDecisions &decisions,
                   const std::vector<int32_t> &ids,
                   const data::Tokenizer &tokenizer, uint64_t top,
                   std::string &text) {
  const MoeLayerSpec &layer = *decisions.layer;
  struct ExpertStats {
    int64_t tokens = 0;
    double weight = 0;
    std::array<int64_t, tokenClassCount> classes{};
    std::unordered_map<int32_t, int64_t> pieces;
  };
  std::vector<ExpertStats> experts(static_cast<size_t>(layer.experts));
  ExpertStats all;
  int64_t dropped = 0, several = 0;
  for (size_t position = 0; position < ids.size(); ++position) {
    int32_t id = ids[position];
    if (id == data::padId)
      continue;
    auto tokenClass =
        static_cast<size_t>(classifyPiece(id, tokenizer.piece(id)));
    ++all.tokens;
    ++all.classes[tokenClass];
    const std::vector<Choice> &choices = decisions.byToken[position];
    dropped += choices.empty();
    several += choices.size() > 1;
    for (const Choice &choice : choices) {
      ExpertStats &stats = experts[static_cast<size_t>(choice.expert)];
      ++stats.tokens;
      stats.weight += choice.weight;
      ++stats.classes[tokenClass];
      ++stats.pieces[id];
    }
  }
  text += formatString(
      "layer %lld: %lld experts, %s, capacity factor %g (%lld slots per "
      "expert per group of %lld tokens)\n",
      static_cast<long long>(layer.layer),
      static_cast<long long>(layer.experts), layer.policy.c_str(),
      layer.capacityFactor, static_cast<long long>(layer.capacity),
      static_cast<long long>(layer.tokensPerGroup));
  text += formatString("  %lld tokens; taken by no expert: %s; by two or "
                       "more: %s\n",
                       static_cast<long long>(all.tokens),
                       percent(dropped, all.tokens).c_str(),
                       percent(several, all.tokens).c_str());
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header = {"expert", "tokens", "mean weight"};
  for (const char *name : tokenClassNames)
    header.push_back(name);
  header.push_back("most frequent pieces");
  rows.push_back(header);
  auto classCells = [](const ExpertStats &stats,
                       std::vector<std::string> &row) {
    for (int64_t count : stats.classes)
      row.push_back(percent(count, stats.tokens));
  };
  for (size_t expert = 0; expert < experts.size(); ++expert) {
    const ExpertStats &stats = experts[expert];
    std::vector<std::string> row = {
        std::to_string(expert),
        formatString("%lld (%s)", static_cast<long long>(stats.tokens),
                     percent(stats.tokens, all.tokens).c_str()),
        stats.tokens ? formatString("%.3f", stats.weight / stats.tokens) : "-"};
    classCells(stats, row);
    std::vector<std::pair<int32_t, int64_t>> frequent(stats.pieces.begin(),
                                                      stats.pieces.end());
    std::sort(
        frequent.begin(), frequent.end(), [](const auto &a, const auto &b) {
          return a.second != b.second ? a.second > b.second : a.first < b.first;
        });
    std::string pieces;
    for (size_t rank = 0; rank < std::min<size_t>(top, frequent.size());
         ++rank) {
      const auto &[id, count] = frequent[rank];
      pieces += (rank ? " " : "") + showPiece(tokenizer.piece(id)) + " " +
                percent(count, stats.tokens);
    }
    row.push_back(pieces);
    rows.push_back(std::move(row));
  }
  std::vector<std::string> allRow = {"all", std::to_string(all.tokens), ""};
  classCells(all, allRow);
  allRow.push_back("");
  rows.push_back(std::move(allRow));
  data::forEachLine(formatTable(rows), [&](std::string_view line) {
    text += "  " + std::string(line) + "\n";
  });
}

//===----------------------------------------------------------------------===//
// Export and comparison
//===----------------------------------------------------------------------===//

bool endsWith(const std::string &text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// One JSON object per token that is not padding.
smxrt_status_t exportJsonLines(const std::string &path,
                               const std::vector<int32_t> &ids,
                               int64_t sequence,
                               const std::vector<LayerDecisions> &layers,
                               const data::Tokenizer &tokenizer) {
  return writeFileAtomically(path, [&](FileSink &sink) -> smxrt_status_t {
    std::string line;
    for (size_t position = 0; position < ids.size(); ++position) {
      if (ids[position] == data::padId)
        continue;
      json::Object experts;
      for (const LayerDecisions &decisions : layers) {
        json::Array choices;
        for (const Choice &choice : decisions.byToken[position])
          choices.push_back(json::Array{json::Value(choice.expert),
                                        jsonFloat(choice.weight)});
        experts.emplace_back(std::to_string(decisions.layer->layer),
                             std::move(choices));
      }
      json::Object token;
      token.emplace_back("row", static_cast<int64_t>(position) / sequence);
      token.emplace_back("position", static_cast<int64_t>(position) % sequence);
      token.emplace_back("id", ids[position]);
      token.emplace_back("piece", tokenizer.piece(ids[position]));
      token.emplace_back("class",
                         tokenClassNames[static_cast<size_t>(classifyPiece(
                             ids[position], tokenizer.piece(ids[position])))]);
      token.emplace_back("experts", std::move(experts));
      line.clear();
      json::serializeTo(json::Value(std::move(token)), line);
      line += '\n';
      SMXRT_RETURN_IF_ERROR(sink.write(line.data(), line.size()));
    }
    return nullptr;
  });
}

/// input_ids and every layer's dispatch indices and combine weights, as
/// `predict` writes them ([chunks, G, E, C]).
smxrt_status_t exportSafetensors(const std::string &path,
                                 const ModelManifest &manifest,
                                 const BatchInputs &inputs,
                                 const BatchResults &results,
                                 const std::vector<LayerDecisions> &layers) {
  const ArgumentSpec *ids = manifest.findArgument("input_ids");
  std::vector<std::pair<std::string, const smxrt_tensor_t *>> tensors = {
      {"input_ids", inputs.tensors[ids - manifest.arguments.data()].get()}};
  for (const LayerDecisions &decisions : layers) {
    std::string prefix = "moe." + std::to_string(decisions.layer->layer) + ".";
    tensors.emplace_back(prefix + "dispatch_indices", decisions.indices);
    tensors.emplace_back(prefix + "combine_weights", decisions.weights);
  }
  return writeTensorsFile(path, tensors,
                          {{"model", manifest.model},
                           {"batch", std::to_string(manifest.batch)},
                           {"sequence", std::to_string(manifest.sequence)},
                           {"rows", std::to_string(results.rows)},
                           {"chunks", std::to_string(results.chunks)}});
}

/// Reads an export's expert sets per (layer, token position).
smxrt_status_t compareWithExport(const std::string &path,
                                 const std::vector<int32_t> &ids,
                                 int64_t sequence,
                                 const std::vector<LayerDecisions> &layers,
                                 std::string &text) {
  std::string contents;
  SMXRT_RETURN_IF_ERROR(data::readWholeFile(path, contents));
  std::map<int64_t, size_t> layerIndex;
  for (size_t index = 0; index < layers.size(); ++index)
    layerIndex[layers[index].layer->layer] = index;
  std::vector<int64_t> compared(layers.size(), 0), same(layers.size(), 0);
  size_t lineNumber = 0;
  // One token of the export: its layers' expert sets against this run's.
  auto compareToken = [&](std::string_view line) -> smxrt_status_t {
    json::ParseError error;
    std::optional<json::Value> value = json::parse(line, error);
    auto bad = [&](const std::string &why) {
      return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT, "%s:%zu: %s",
                         path.c_str(), lineNumber, why.c_str());
    };
    if (!value)
      return bad(
          formatString("column %zu: %s", error.column, error.message.c_str()));
    const json::Value *row = value->find("row");
    const json::Value *position = value->find("position");
    const json::Value *id = value->find("id");
    const json::Value *experts = value->find("experts");
    if (!row || !row->isInteger() || !position || !position->isInteger() ||
        !id || !id->isInteger() || !experts || !experts->isObject())
      return bad("not a token of `analyze --routing --export` (row, "
                 "position, id, experts)");
    int64_t at = row->getInteger() * sequence + position->getInteger();
    if (position->getInteger() < 0 || position->getInteger() >= sequence ||
        row->getInteger() < 0 || at >= static_cast<int64_t>(ids.size()))
      return bad(formatString(
          "row %lld, position %lld is not among the %zu texts analyzed here",
          static_cast<long long>(row->getInteger()),
          static_cast<long long>(position->getInteger()),
          ids.size() / static_cast<size_t>(sequence)));
    if (ids[at] != id->getInteger())
      return bad(formatString(
          "row %lld, position %lld is id %lld there and %d here: the texts "
          "(or the tokenizer) differ",
          static_cast<long long>(row->getInteger()),
          static_cast<long long>(position->getInteger()),
          static_cast<long long>(id->getInteger()), ids[at]));
    for (const auto &[key, choices] : experts->getObject()) {
      bool isNumber = !key.empty() && key.size() < 10 &&
                      std::all_of(key.begin(), key.end(),
                                  [](char c) { return c >= '0' && c <= '9'; });
      auto found =
          isNumber ? layerIndex.find(std::stoll(key)) : layerIndex.end();
      if (found == layerIndex.end() || !choices.isArray())
        return bad("layer '" + key + "' is not an MoE layer of this model");
      std::set<int64_t> before, now;
      for (const json::Value &choice : choices.getArray()) {
        if (!choice.isArray() || choice.getArray().empty() ||
            !choice.getArray()[0].isInteger())
          return bad("layer '" + key + "': a choice is not [expert, weight]");
        before.insert(choice.getArray()[0].getInteger());
      }
      for (const Choice &choice : layers[found->second].byToken[at])
        now.insert(choice.expert);
      ++compared[found->second];
      same[found->second] += before == now;
    }
    return nullptr;
  };
  smxrt_status_t failure = nullptr;
  data::forEachLine(contents, [&](std::string_view line) {
    ++lineNumber;
    if (!failure && !data::isBlank(line))
      failure = compareToken(line);
  });
  SMXRT_RETURN_IF_ERROR(failure);
  text += "compared with " + path + ":\n";
  for (size_t index = 0; index < layers.size(); ++index)
    text += formatString(
        "  layer %lld: the same experts for %lld of %lld tokens (%s)\n",
        static_cast<long long>(layers[index].layer->layer),
        static_cast<long long>(same[index]),
        static_cast<long long>(compared[index]),
        percent(same[index], compared[index]).c_str());
  return nullptr;
}

} // namespace

smxrt_status_t runAnalyzeCommand(const ModelManifest &manifest,
                                 smxrt_model_forward_fn_t forward,
                                 const CommandLine &commandLine,
                                 std::FILE *out) {
  if (manifest.moeLayers.empty())
    return invalidArgument(
        "the model has no MoE layers: there is no routing to analyze");
  if (commandLine.maxRows < 1)
    return invalidArgument("--max-rows must be at least 1");
  if (!commandLine.exportPath.empty() &&
      !endsWith(commandLine.exportPath, ".jsonl") &&
      !endsWith(commandLine.exportPath, ".safetensors"))
    return invalidArgument(
        formatString("--export %s: the name must end in .jsonl or .safetensors",
                     commandLine.exportPath.c_str()));

  WeightsSource weights;
  if (!commandLine.weights.empty())
    SMXRT_RETURN_IF_ERROR(resolveWeightsSource(commandLine.weights, weights));
  std::unique_ptr<data::Tokenizer> tokenizer;
  SMXRT_RETURN_IF_ERROR(
      loadTokenizer(commandLine, weights, manifest, tokenizer));
  Texts texts;
  SMXRT_RETURN_IF_ERROR(readTexts(commandLine, texts));
  size_t available = texts.lines.size();
  if (texts.lines.size() > commandLine.maxRows)
    texts.lines.resize(commandLine.maxRows);

  // [CLS] text [SEP], cut to the compiled sequence, as fine-tuning packs it.
  std::vector<std::string_view> views(texts.lines.begin(), texts.lines.end());
  std::vector<std::vector<int32_t>> encoded;
  SMXRT_RETURN_IF_ERROR(tokenizer->encodeAll(views, encoded));
  std::vector<std::vector<int32_t>> rows;
  for (const std::vector<int32_t> &ids : encoded)
    rows.push_back(
        data::packExample(ids, nullptr, static_cast<int32_t>(manifest.sequence))
            .ids);
  BatchInputs inputs;
  SMXRT_RETURN_IF_ERROR(makeInputs(manifest, rows, inputs));

  ForwardBuffers buffers;
  SMXRT_RETURN_IF_ERROR(allocateForwardBuffers(manifest, buffers));
  if (weights.weightsFile.empty())
    initializeParameters(manifest, commandLine.seed, buffers.arguments);
  else
    SMXRT_RETURN_IF_ERROR(
        loadParameters(manifest, weights.weightsFile, buffers.arguments));
  BatchResults results;
  SMXRT_RETURN_IF_ERROR(
      runForwardInChunks(manifest, forward, buffers, inputs, 0, results));
  std::vector<LayerDecisions> layers;
  SMXRT_RETURN_IF_ERROR(collectDecisions(manifest, results, layers));

  const ArgumentSpec *idsSpec = manifest.findArgument("input_ids");
  const auto *idData = static_cast<const int32_t *>(smxrt_tensor_const_data(
      inputs.tensors[idsSpec - manifest.arguments.data()].get()));
  std::vector<int32_t> ids(idData, idData + inputs.rows * manifest.sequence);

  std::string text = formatString(
      "model: %s, batch %lld x sequence %lld\n"
      "parameters: %s\n"
      "texts: %zu of %zu from %s, as [CLS] text [SEP] rows\n\n",
      manifest.model.c_str(), static_cast<long long>(manifest.batch),
      static_cast<long long>(manifest.sequence),
      weights.weightsFile.empty()
          ? formatString("initialized from --seed %llu (untrained)",
                         static_cast<unsigned long long>(commandLine.seed))
                .c_str()
          : weights.weightsFile.c_str(),
      texts.lines.size(), available, texts.origin.c_str());
  for (const LayerDecisions &decisions : layers) {
    describeLayer(decisions, ids, *tokenizer, commandLine.top, text);
    text += "\n";
  }
  if (!commandLine.comparePath.empty())
    SMXRT_RETURN_IF_ERROR(compareWithExport(commandLine.comparePath, ids,
                                            manifest.sequence, layers, text));
  if (!commandLine.exportPath.empty()) {
    if (endsWith(commandLine.exportPath, ".jsonl"))
      SMXRT_RETURN_IF_ERROR(exportJsonLines(
          commandLine.exportPath, ids, manifest.sequence, layers, *tokenizer));
    else
      SMXRT_RETURN_IF_ERROR(exportSafetensors(commandLine.exportPath, manifest,
                                              inputs, results, layers));
    text += "wrote " + commandLine.exportPath + "\n";
  }
  std::fputs(text.c_str(), out);
  return nullptr;
}

} // namespace smxrt
