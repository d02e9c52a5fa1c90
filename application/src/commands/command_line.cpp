//===- command_line.cpp - The model executable's arguments ----------------===//
//
// A table of options says which commands accept each one, so that a flag
// given to the wrong command is an error rather than silently ignored.
//
//===----------------------------------------------------------------------===//

#include "commands/command_line.h"

#include "status_internal.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <variant>

namespace smxrt {
namespace {

struct CommandInfo {
  Command command;
  const char *name;
};
constexpr CommandInfo commands[] = {{Command::Info, "info"},
                                    {Command::Predict, "predict"},
                                    {Command::Eval, "eval"},
                                    {Command::Train, "train"},
                                    {Command::Finetune, "finetune"},
                                    {Command::Profile, "profile"},
                                    {Command::Analyze, "analyze"}};

constexpr unsigned maskOf(Command command) {
  return 1u << static_cast<unsigned>(command);
}

constexpr unsigned Info = maskOf(Command::Info);
constexpr unsigned Predict = maskOf(Command::Predict);
constexpr unsigned Eval = maskOf(Command::Eval);
constexpr unsigned Train = maskOf(Command::Train);
constexpr unsigned Finetune = maskOf(Command::Finetune);
constexpr unsigned Training = Train | Finetune;
constexpr unsigned Profile = maskOf(Command::Profile);
constexpr unsigned Analyze = maskOf(Command::Analyze);

/// Where an option's value goes; the alternative also says how to parse it.
using Field = std::variant<bool CommandLine::*, std::string CommandLine::*,
                           uint64_t CommandLine::*, int64_t CommandLine::*,
                           double CommandLine::*>;

struct OptionInfo {
  const char *name;
  Field field;
  unsigned commands;
  /// Required by these commands.
  unsigned requiredBy;
};

const OptionInfo options[] = {
    {"--brief", &CommandLine::brief, Info, 0},
    {"--input", &CommandLine::input, Predict | Eval, Predict},
    {"--output", &CommandLine::output, Predict, Predict},
    {"--weights", &CommandLine::weights, Predict | Eval | Train | Analyze, 0},
    {"--seed", &CommandLine::seed,
     Predict | Eval | Training | Profile | Analyze, 0},
    {"--step", &CommandLine::step, Predict, 0},
    {"--data", &CommandLine::data, Eval | Training | Analyze, 0},
    {"--steps", &CommandLine::steps, Training | Profile, 0},
    {"--calls", &CommandLine::calls, Profile, 0},
    {"--batch", &CommandLine::batch, Training, 0},
    {"--lr", &CommandLine::learningRate, Training, 0},
    {"--warmup", &CommandLine::warmup, Training, 0},
    {"--ckpt", &CommandLine::ckpt, Training, 0},
    {"--resume", &CommandLine::resume, Training, 0},
    {"--keep", &CommandLine::keep, Training, 0},
    {"--every", &CommandLine::every, Training, 0},
    {"--tokenizer", &CommandLine::tokenizer, Eval | Training | Analyze, 0},
    {"--metrics", &CommandLine::metrics, Training, 0},
    {"--init", &CommandLine::init, Finetune, 0},
    {"--task", &CommandLine::task, Eval | Finetune, 0},
    {"--eval-task", &CommandLine::evalTask, Eval | Finetune, 0},
    {"--epochs", &CommandLine::epochs, Finetune, 0},
    {"--label-column", &CommandLine::labelColumn, Eval | Finetune, 0},
    {"--text-columns", &CommandLine::textColumns, Eval | Finetune, 0},
    {"--freeze", &CommandLine::freeze, Training, 0},
    {"--stop-at", &CommandLine::stopAt, Training, 0},
    {"--log-every", &CommandLine::logEvery, Training, 0},
    {"--eval-batches", &CommandLine::evalBatches, Eval, 0},
    {"--dump-batch", &CommandLine::dumpBatch, Train, 0},
    {"--routing", &CommandLine::routing, Analyze, Analyze},
    {"--text", &CommandLine::text, Analyze, 0},
    {"--export", &CommandLine::exportPath, Analyze, 0},
    {"--compare", &CommandLine::comparePath, Analyze, 0},
    {"--max-rows", &CommandLine::maxRows, Analyze, 0},
    {"--top", &CommandLine::top, Analyze, 0},
};

smxrt_status_t applyOption(const OptionInfo &option, const std::string &text,
                           CommandLine &result) {
  if (auto *flag = std::get_if<bool CommandLine::*>(&option.field)) {
    result.*(*flag) = true;
    return nullptr;
  }
  if (auto *string = std::get_if<std::string CommandLine::*>(&option.field)) {
    if (text.empty()) {
      std::string_view name = option.name;
      return invalidArgument(
          formatString("%s: the %s is empty", option.name,
                       name == "--freeze" || name == "--text-columns" ? "list"
                       : name == "--label-column"                     ? "name"
                                                  : "path"));
    }
    result.*(*string) = text;
    return nullptr;
  }
  errno = 0;
  char *end = nullptr;
  if (auto *number = std::get_if<double CommandLine::*>(&option.field)) {
    double value = text.empty() ? 0.0 : std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || errno == ERANGE ||
        !std::isfinite(value))
      return invalidArgument(formatString("%s: '%s' is not a finite number",
                                          option.name, text.c_str()));
    result.*(*number) = value;
    return nullptr;
  }
  bool isUnsigned =
      std::holds_alternative<uint64_t CommandLine::*>(option.field);
  bool bad = text.empty() || (isUnsigned && text[0] == '-');
  if (!bad && isUnsigned)
    result.*std::get<uint64_t CommandLine::*>(option.field) =
        std::strtoull(text.c_str(), &end, 10);
  else if (!bad)
    result.*std::get<int64_t CommandLine::*>(option.field) =
        std::strtoll(text.c_str(), &end, 10);
  if (bad || errno == ERANGE || *end != '\0')
    return invalidArgument(formatString("%s: '%s' is not %s 64-bit integer",
                                        option.name, text.c_str(),
                                        isUnsigned ? "an unsigned" : "a"));
  return nullptr;
}

} // namespace

const char *commandName(Command command) {
  for (const CommandInfo &info : commands)
    if (info.command == command)
      return info.name;
  return "help";
}

smxrt_status_t parseCommandLine(int argc, char **argv, CommandLine &result) {
  return catchExceptions([&]() -> smxrt_status_t {
    result = CommandLine();
    for (int index = 1; index < argc; ++index)
      if (!std::strcmp(argv[index], "--help") ||
          !std::strcmp(argv[index], "-h"))
        return nullptr;
    if (argc < 2)
      return invalidArgument("no command given; run with --help for the usage");
    std::string_view commandArgument = argv[1];
    const CommandInfo *command = nullptr;
    for (const CommandInfo &info : commands)
      if (commandArgument == info.name)
        command = &info;
    if (!command)
      return invalidArgument(
          formatString("unknown command '%s' (expected info, "
                       "predict, eval, train, finetune, profile or analyze)",
                       argv[1]));
    result.command = command->command;

    for (int index = 2; index < argc; ++index) {
      std::string argument = argv[index];
      size_t equals = argument.find('=');
      std::string name = argument.substr(0, equals);
      const OptionInfo *option = nullptr;
      for (const OptionInfo &info : options)
        if (name == info.name)
          option = &info;
      if (!option)
        return invalidArgument(
            argument.compare(0, 1, "-") == 0
                ? formatString("unknown option '%s'", name.c_str())
                : formatString("unexpected argument '%s'", argument.c_str()));
      if (!(option->commands & maskOf(result.command)))
        return invalidArgument(formatString("%s is not an option of '%s'",
                                            option->name, command->name));
      if (!result.given.insert(option->name).second)
        return invalidArgument(formatString("%s is given twice", option->name));
      std::string value;
      if (std::holds_alternative<bool CommandLine::*>(option->field)) {
        if (equals != std::string::npos)
          return invalidArgument(
              formatString("%s takes no value", option->name));
      } else if (equals != std::string::npos) {
        value = argument.substr(equals + 1);
      } else if (index + 1 < argc) {
        value = argv[++index];
      } else {
        return invalidArgument(formatString("%s needs a value", option->name));
      }
      SMXRT_RETURN_IF_ERROR(applyOption(*option, value, result));
    }
    for (const OptionInfo &option : options)
      if ((option.requiredBy & maskOf(result.command)) &&
          !result.has(option.name))
        return invalidArgument(formatString(
            "'%s' needs %s", commandName(result.command), option.name));
    return nullptr;
  });
}

std::string usageText(const std::string &program) {
  return formatString(
      "usage: %s <command> [options]\n"
      "\n"
      "Runs a model compiled by smxc (docs/runtime.md, \"The model "
      "executable\").\n"
      "\n"
      "commands:\n"
      "  info [--brief]\n"
      "      the model's compiled batch and sequence, its parameters (names\n"
      "      and shapes unless --brief), its mixture-of-experts layers and,\n"
      "      for a training object, its task and loss terms\n"
      "  predict --input IN --output OUT [--weights W] [--seed N] [--step N]\n"
      "      runs the forward pass on the rows of IN and writes every result\n"
      "      to OUT (safetensors)\n"
      "  eval --input IN [--weights W] [--seed N]\n"
      "      runs the forward pass and prints expert load, dropped tokens "
      "and,\n"
      "      if IN has labels, the classifier's accuracy\n"
      "  eval [--weights W|CKPT] [--data D] [--task T --eval-task E]\n"
      "       [--tokenizer P] [--eval-batches N]          (training objects)\n"
      "      the loss terms (and accuracy) on the held-out split\n"
      "  train --steps N [--data D] [--ckpt DIR] [--resume] [--lr X]\n"
      "        [--warmup N] [--batch B] [--seed S] [--weights W] ...\n"
      "      pre-trains a model compiled with smxc --task=pretrain\n"
      "  finetune [--init CKPT|W] [--task T] [--eval-task E]\n"
      "        [--epochs N | --steps N] [--freeze GROUPS] [--ckpt DIR]\n"
      "        [--resume] [--lr X] ...\n"
      "      fine-tunes a model compiled with smxc --task=finetune and\n"
      "      reports held-out accuracy after every epoch and the last step\n"
      "  profile [--steps N] [--seed S] [--calls N]\n"
      "      runs N (default 3) train steps (training objects) or forward\n"
      "      passes on random tokens and prints each one's time; for models\n"
      "      compiled with smxc --profile, also where the time goes, per\n"
      "      kind of kernel and per layer, with bytes and GFLOP/s, and the\n"
      "      N slowest calls (default 25; 0: every call)\n"
      "  analyze --routing [--weights W|CKPT] [--text FILE] [--data D]\n"
      "          [--tokenizer P] [--max-rows N] [--top N] [--export F]\n"
      "          [--compare F]\n"
      "      which experts took each token of the texts (one per line; by\n"
      "      default the corpus's held-out documents), each expert's most\n"
      "      frequent pieces and token classes; --export writes the\n"
      "      decisions (.jsonl or .safetensors), --compare reports how many\n"
      "      agree with an earlier .jsonl export\n"
      "\n"
      "options:\n"
      "  --input IN     safetensors with input_ids [N, sequence] I32 and\n"
      "                 optionally type_ids [N, sequence] I32 and labels [N] "
      "I32\n"
      "  --output OUT   safetensors file to write (atomically)\n"
      "  --weights W    safetensors with every parameter; without it the\n"
      "                 parameters are initialized from --seed\n"
      "  --seed N       seed of the parameter initialization and of the "
      "data\n"
      "                 order (default 0)\n"
      "  --step N       value of the model's step input (default 0)\n"
      "  --brief        info without the parameter table\n"
      "\n"
      "training options (train, finetune):\n"
      "  --data D       corpus file or directory (default "
      "/usr/share/games/fortunes)\n"
      "  --steps N      training steps (train; required unless --resume;\n"
      "                 finetune: instead of --epochs), or steps to time\n"
      "                 (profile)\n"
      "  --epochs N     passes over the training set (finetune; default 3)\n"
      "  --batch B      must equal the compiled batch\n"
      "  --lr X         peak learning rate (default 1e-4)\n"
      "  --warmup N     warmup steps (default 10%% of the steps, at least 1)\n"
      "  --ckpt DIR     write checkpoints to DIR/step-NNNNNN (and "
      "DIR/latest)\n"
      "  --resume       continue from DIR/latest, bit for bit\n"
      "  --every N      steps between checkpoints (default steps/10)\n"
      "  --keep K       checkpoints to keep (default 3)\n"
      "  --tokenizer P  SentencePiece model (default DIR/tokenizer.model, "
      "trained\n"
      "                 on the corpus when missing)\n"
      "  --metrics F    JSON lines, one per step (default "
      "DIR/metrics.jsonl)\n"
      "  --dump-batch F train: write the first step's batch (the train "
      "step's\n"
      "                 tensor inputs) to F as safetensors\n"
      "  --init P       finetune: parameters by name from a checkpoint or a\n"
      "                 safetensors file; the others start from --seed\n"
      "  --task T       finetune: training TSV (default: the corpus's "
      "categories)\n"
      "  --eval-task E  finetune: evaluation TSV (default: held out of T)\n"
      "  --label-column NAME, --text-columns A[,B]\n"
      "                 finetune: the TSV columns (default: 'label', and "
      "the\n"
      "                 other one or two columns)\n"
      "  --freeze G     comma-separated groups (router, experts, attention,\n"
      "                 mixing, embeddings, heads, non-moe) or name "
      "patterns\n"
      "                 (layers.0.*) whose parameters stay unchanged\n"
      "  --stop-at N    stop after step N (a checkpoint is written); --resume\n"
      "                 continues\n"
      "  --log-every N  steps between progress lines when stderr is not a\n"
      "                 terminal (default steps/100)\n"
      "  -h, --help     this text\n",
      program.c_str());
}

} // namespace smxrt
