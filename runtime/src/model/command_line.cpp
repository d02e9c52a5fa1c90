//===- command_line.cpp - The model executable's arguments ----------------===//
//
// A table of options says which commands accept each one, so that a flag
// given to the wrong command is an error rather than silently ignored.
//
//===----------------------------------------------------------------------===//

#include "command_line.h"

#include "status_internal.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string_view>

namespace smxrt {
namespace {

struct CommandInfo {
  Command command;
  const char *name;
};
constexpr CommandInfo commands[] = {{Command::Info, "info"},
                                    {Command::Predict, "predict"},
                                    {Command::Eval, "eval"}};

enum CommandMask : unsigned {
  InfoOnly = 1u << static_cast<unsigned>(Command::Info),
  PredictOnly = 1u << static_cast<unsigned>(Command::Predict),
  EvalOnly = 1u << static_cast<unsigned>(Command::Eval),
};

enum class OptionKind { Flag, String, Unsigned, Signed };

struct OptionInfo {
  const char *name;
  OptionKind kind;
  unsigned commands;
  /// Required by these commands.
  unsigned requiredBy;
};
constexpr OptionInfo options[] = {
    {"--brief", OptionKind::Flag, InfoOnly, 0},
    {"--input", OptionKind::String, PredictOnly | EvalOnly,
     PredictOnly | EvalOnly},
    {"--output", OptionKind::String, PredictOnly, PredictOnly},
    {"--weights", OptionKind::String, PredictOnly | EvalOnly, 0},
    {"--seed", OptionKind::Unsigned, PredictOnly | EvalOnly, 0},
    {"--step", OptionKind::Signed, PredictOnly, 0},
};

unsigned maskOf(Command command) {
  return 1u << static_cast<unsigned>(command);
}

smxrt_status_t invalid(const std::string &message) {
  return makeStatus(SMXRT_STATUS_INVALID_ARGUMENT, message);
}

smxrt_status_t parseInteger(const OptionInfo &option, const std::string &text,
                            CommandLine &result) {
  errno = 0;
  char *end = nullptr;
  bool isUnsigned = option.kind == OptionKind::Unsigned;
  bool bad = text.empty() || (isUnsigned && text[0] == '-');
  if (!bad && isUnsigned)
    result.seed = std::strtoull(text.c_str(), &end, 10);
  else if (!bad)
    result.step = std::strtoll(text.c_str(), &end, 10);
  if (bad || errno == ERANGE || *end != '\0')
    return invalid(formatString("%s: '%s' is not %s 64-bit integer",
                                option.name, text.c_str(),
                                isUnsigned ? "an unsigned" : "a"));
  return nullptr;
}

smxrt_status_t applyOption(const OptionInfo &option, const std::string &value,
                           CommandLine &result) {
  switch (option.kind) {
  case OptionKind::Flag:
    result.brief = true;
    return nullptr;
  case OptionKind::String: {
    if (value.empty())
      return invalid(formatString("%s: the path is empty", option.name));
    std::string_view name = option.name;
    (name == "--input"    ? result.input
     : name == "--output" ? result.output
                          : result.weights) = value;
    return nullptr;
  }
  case OptionKind::Unsigned:
  case OptionKind::Signed:
    return parseInteger(option, value, result);
  }
  return nullptr;
}

const char *commandName(Command command) {
  for (const CommandInfo &info : commands)
    if (info.command == command)
      return info.name;
  return "help";
}

} // namespace

smxrt_status_t parseCommandLine(int argc, char **argv, CommandLine &result) {
  return catchExceptions([&]() -> smxrt_status_t {
    result = CommandLine();
    for (int index = 1; index < argc; ++index)
      if (!std::strcmp(argv[index], "--help") ||
          !std::strcmp(argv[index], "-h"))
        return nullptr;
    if (argc < 2)
      return invalid("no command given; run with --help for the usage");
    std::string_view commandArgument = argv[1];
    const CommandInfo *command = nullptr;
    for (const CommandInfo &info : commands)
      if (commandArgument == info.name)
        command = &info;
    if (!command)
      return invalid(formatString("unknown command '%s' (expected info, "
                                  "predict or eval)",
                                  argv[1]));
    result.command = command->command;

    std::set<std::string_view> given;
    for (int index = 2; index < argc; ++index) {
      std::string argument = argv[index];
      size_t equals = argument.find('=');
      std::string name = argument.substr(0, equals);
      const OptionInfo *option = nullptr;
      for (const OptionInfo &info : options)
        if (name == info.name)
          option = &info;
      if (!option)
        return invalid(
            argument.compare(0, 1, "-") == 0
                ? formatString("unknown option '%s'", name.c_str())
                : formatString("unexpected argument '%s'", argument.c_str()));
      if (!(option->commands & maskOf(result.command)))
        return invalid(formatString("%s is not an option of '%s'", option->name,
                                    command->name));
      if (!given.insert(option->name).second)
        return invalid(formatString("%s is given twice", option->name));
      std::string value;
      if (option->kind == OptionKind::Flag) {
        if (equals != std::string::npos)
          return invalid(formatString("%s takes no value", option->name));
      } else if (equals != std::string::npos) {
        value = argument.substr(equals + 1);
      } else if (index + 1 < argc) {
        value = argv[++index];
      } else {
        return invalid(formatString("%s needs a value", option->name));
      }
      SMXRT_RETURN_IF_ERROR(applyOption(*option, value, result));
    }
    for (const OptionInfo &option : options)
      if ((option.requiredBy & maskOf(result.command)) &&
          !given.count(option.name))
        return invalid(formatString("'%s' needs %s",
                                    commandName(result.command), option.name));
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
      "      and shapes unless --brief) and its mixture-of-experts layers\n"
      "  predict --input IN --output OUT [--weights W] [--seed N] [--step N]\n"
      "      runs the forward pass on the rows of IN and writes every result\n"
      "      to OUT (safetensors)\n"
      "  eval --input IN [--weights W] [--seed N]\n"
      "      runs the forward pass and prints expert load, dropped tokens "
      "and,\n"
      "      if IN has labels, the classifier's accuracy\n"
      "\n"
      "options:\n"
      "  --input IN     safetensors with input_ids [N, sequence] I32 and\n"
      "                 optionally type_ids [N, sequence] I32 and labels [N] "
      "I32\n"
      "  --output OUT   safetensors file to write (atomically)\n"
      "  --weights W    safetensors with every parameter; without it the\n"
      "                 parameters are initialized from --seed\n"
      "  --seed N       seed of the parameter initialization (default 0)\n"
      "  --step N       value of the model's step input (default 0)\n"
      "  --brief        info without the parameter table\n"
      "  -h, --help     this text\n",
      program.c_str());
}

} // namespace smxrt
