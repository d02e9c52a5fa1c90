//===- command_line.h - The model executable's arguments --------*- C++ -*-===//

#ifndef SMX_RUNTIME_MODEL_COMMAND_LINE_H
#define SMX_RUNTIME_MODEL_COMMAND_LINE_H

#include "smx_runtime/status.h"

#include <cstdint>
#include <string>

namespace smxrt {

enum class Command { Help, Info, Predict, Eval };

struct CommandLine {
  Command command = Command::Help;
  std::string input;
  std::string output;
  /// Empty: initialize the parameters from `seed` instead.
  std::string weights;
  uint64_t seed = 0;
  int64_t step = 0;
  bool brief = false;
};

/// Parses `argv[1..]`: a command, then its options as `--name value` or
/// `--name=value`; `--help` or `-h` anywhere asks for the usage. Errors name
/// the offending argument.
smxrt_status_t parseCommandLine(int argc, char **argv, CommandLine &result);

/// The text `--help` prints.
std::string usageText(const std::string &program);

} // namespace smxrt

#endif // SMX_RUNTIME_MODEL_COMMAND_LINE_H
