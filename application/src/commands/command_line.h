//===- command_line.h - The model executable's arguments --------*- C++ -*-===//

#ifndef SMX_RUNTIME_MODEL_COMMAND_LINE_H
#define SMX_RUNTIME_MODEL_COMMAND_LINE_H

#include "smx_runtime/status.h"

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

namespace smxrt {

enum class Command {
  Help,
  Info,
  Predict,
  Eval,
  Train,
  Finetune,
  Profile,
  Analyze
};

struct CommandLine {
  Command command = Command::Help;
  /// The options given explicitly ("--seed", ...), so that commands can
  /// tell a default from a choice (resuming keeps a checkpoint's settings
  /// unless they are given again).
  std::set<std::string, std::less<>> given;
  bool has(std::string_view option) const { return given.count(option) > 0; }

  // info, predict, eval.
  std::string input;
  std::string output;
  /// Empty: initialize the parameters from `seed` instead. For `eval` of a
  /// training object, a checkpoint directory works too.
  std::string weights;
  uint64_t seed = 0;
  int64_t step = 0;
  bool brief = false;

  // train, finetune, and eval of a training object.
  std::string data;      ///< Corpus file or directory; empty: the default.
  std::string ckpt;      ///< Checkpoint directory; empty: none.
  std::string tokenizer; ///< SentencePiece model; empty: see the commands.
  std::string metrics;   ///< JSON-lines file; empty: CKPT/metrics.jsonl.
  std::string dumpBatch; ///< train: safetensors file for the first batch.
  std::string init;      ///< finetune: checkpoint or safetensors file.
  std::string task;      ///< finetune: training TSV; empty: corpus categories.
  std::string evalTask;  ///< finetune: evaluation TSV.
  std::string freeze;    ///< Comma-separated groups or name patterns.
  std::string labelColumn; ///< TSV label column; empty: "label".
  std::string textColumns; ///< TSV text columns "a" or "a,b"; empty: inferred.
  uint64_t steps = 0;
  uint64_t batch = 0;
  uint64_t warmup = 0;
  uint64_t keep = 3;
  uint64_t every = 0;
  uint64_t epochs = 3;
  uint64_t stopAt = 0;
  uint64_t logEvery = 0;
  uint64_t evalBatches = 0;
  uint64_t calls = 25; ///< profile: rows of the slowest calls; 0: all.

  // analyze.
  bool routing = false;      ///< What routed each token (the one analysis).
  std::string text;          ///< One text per line; empty: held-out corpus.
  std::string exportPath;    ///< .jsonl or .safetensors; empty: none.
  std::string comparePath;   ///< An earlier .jsonl export; empty: none.
  uint64_t maxRows = 2000;   ///< Texts analyzed at most.
  uint64_t top = 8;          ///< Most frequent pieces shown per expert.
  double learningRate = 1e-4;
  bool resume = false;
};

/// Parses `argv[1..]`: a command, then its options as `--name value` or
/// `--name=value`; `--help` or `-h` anywhere asks for the usage. Errors name
/// the offending argument.
smxrt_status_t parseCommandLine(int argc, char **argv, CommandLine &result);
/// The command's name on the command line ("train"); "help" for Help.
const char *commandName(Command command);

/// The text `--help` prints.
std::string usageText(const std::string &program);

} // namespace smxrt

#endif // SMX_RUNTIME_MODEL_COMMAND_LINE_H
