//===- commands.h - The model executable's commands -------------*- C++ -*-===//
//
// Each command reads the checked manifest and its command line, prints its
// report to `out`, and returns an error status for the driver to print.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_RUNTIME_MODEL_COMMANDS_H
#define SMX_RUNTIME_MODEL_COMMANDS_H

#include "commands/command_line.h"
#include "model/manifest.h"

#include "smx_application/model_main.h"

#include <cstdio>
#include <string>
#include <vector>

namespace smxrt {

smxrt_status_t runInfoCommand(const ModelManifest &manifest,
                              const CommandLine &commandLine, std::FILE *out);
smxrt_status_t runPredictCommand(const ModelManifest &manifest,
                                 smxrt_model_forward_fn_t forward,
                                 const CommandLine &commandLine,
                                 std::FILE *out);
/// `eval --input IN`, for any model.
smxrt_status_t runEvalCommand(const ModelManifest &manifest,
                              smxrt_model_forward_fn_t forward,
                              const CommandLine &commandLine, std::FILE *out);
/// `eval` without --input, for a training object: the held-out split.
smxrt_status_t runTrainingEvalCommand(const ModelManifest &manifest,
                                      smxrt_model_forward_fn_t forward,
                                      const CommandLine &commandLine,
                                      std::FILE *out);
smxrt_status_t runTrainCommand(const ModelManifest &manifest,
                               smxrt_model_forward_fn_t forward,
                               smxrt_model_train_step_fn_t trainStep,
                               const CommandLine &commandLine, std::FILE *out);
smxrt_status_t runFinetuneCommand(const ModelManifest &manifest,
                                  smxrt_model_forward_fn_t forward,
                                  smxrt_model_train_step_fn_t trainStep,
                                  const CommandLine &commandLine,
                                  std::FILE *out);
/// `profile`: times the steps of a model compiled with `smxc --profile`
/// (profile_command.cpp).
smxrt_status_t runProfileCommand(const ModelManifest &manifest,
                                 smxrt_model_forward_fn_t forward,
                                 smxrt_model_train_step_fn_t trainStep,
                                 const CommandLine &commandLine,
                                 std::FILE *out);

/// `analyze --routing`: which experts took each token of some texts, and
/// what each expert took (analyze_command.cpp).
smxrt_status_t runAnalyzeCommand(const ModelManifest &manifest,
                                 smxrt_model_forward_fn_t forward,
                                 const CommandLine &commandLine,
                                 std::FILE *out);

/// Lays out rows of cells in left-aligned columns two spaces apart, the
/// first row being the header.
std::string formatTable(const std::vector<std::vector<std::string>> &rows);

} // namespace smxrt

#endif // SMX_RUNTIME_MODEL_COMMANDS_H
