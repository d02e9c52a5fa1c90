//===- model_main.cpp - smxrt_model_main, the driver's entry point --------===//
//
// Parses the command line and the manifest, runs one command, and turns any
// error into one line on stderr and exit status 1. Nothing escapes: C++
// exceptions become statuses, and statuses become that line.
//
//===----------------------------------------------------------------------===//

#include "smx_application/model_main.h"

#include "commands/command_line.h"
#include "commands/commands.h"
#include "model/manifest.h"

#include "handles.h"
#include "status_internal.h"

#include "smx_runtime/comm.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace smxrt {
namespace {

std::string programName(int argc, char **argv) {
  if (argc < 1 || !argv[0] || !*argv[0])
    return "model";
  const char *slash = std::strrchr(argv[0], '/');
  return slash ? slash + 1 : argv[0];
}

/// libomp leaves its threads unbound unless told to bind them. On a small
/// machine the scheduler then now and then puts the main thread and a
/// spinning worker on one core, and every step takes several times longer:
/// tiny_sm's train step on 2 cores took 4 ms in some runs and 15 ms in
/// others, and always 4 ms with the threads bound. So bind them, one per
/// core, unless the user chose a binding. libomp reads these variables when
/// it starts, at the first parallel region, after this.
void bindThreadsByDefault() {
  if (std::getenv("OMP_PROC_BIND") || std::getenv("OMP_PLACES") ||
      std::getenv("KMP_AFFINITY"))
    return;
  setenv("OMP_PROC_BIND", "true", /*overwrite=*/0);
  setenv("OMP_PLACES", "cores", /*overwrite=*/0);
}

/// A model executable runs as one process until smxc partitions models over
/// a grid of processes (docs/distributed.md): N copies started by mpirun
/// would train N independent models into the same checkpoints. So under an
/// MPI launcher with more than one process, every process stops; rank 0
/// says why, once, and exits non-zero, which fails the job. The others
/// exit 0, quietly: a rank that exited non-zero first would make mpirun
/// kill rank 0 before it could print the reason.
smxrt_status_t requireOneProcess(const std::string &program) {
  smxrt_comm_t comm = nullptr;
  SMXRT_RETURN_IF_ERROR(smxrt_comm_open(SMXRT_COMM_AUTO, 60.0, &comm));
  int64_t size = smxrt_comm_size(comm), rank = smxrt_comm_rank(comm);
  smxrt_comm_close(comm);
  if (size == 1)
    return nullptr;
  if (rank != 0)
    std::_Exit(0);
  return makeStatusf(SMXRT_STATUS_UNIMPLEMENTED,
                     "this job has %lld processes, but %s was compiled for "
                     "one: run it without mpirun (training across processes, "
                     "smxc --grid, is not implemented yet: "
                     "docs/distributed.md)",
                     static_cast<long long>(size), program.c_str());
}

/// `eval --input IN` runs on the rows of IN; a training object without
/// --input is evaluated on the held-out split of its data.
smxrt_status_t runEvalDispatch(const ModelManifest &manifest,
                               smxrt_model_forward_fn_t forward,
                               const CommandLine &commandLine) {
  if (commandLine.has("--input")) {
    for (const char *option :
         {"--data", "--task", "--eval-task", "--tokenizer", "--eval-batches",
          "--label-column", "--text-columns"})
      if (commandLine.has(option))
        return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                           "%s is not an option of 'eval --input' (it selects "
                           "the held-out data of 'eval' without --input)",
                           option);
    return runEvalCommand(manifest, forward, commandLine, stdout);
  }
  if (manifest.task.empty())
    return makeStatus(SMXRT_STATUS_INVALID_ARGUMENT, "'eval' needs --input");
  return runTrainingEvalCommand(manifest, forward, commandLine, stdout);
}

smxrt_status_t runModelMain(int argc, char **argv,
                            smxrt_model_manifest_fn_t manifestFunction,
                            smxrt_model_forward_fn_t forward,
                            smxrt_model_train_step_fn_t trainStep,
                            const std::string &program) {
  CommandLine commandLine;
  SMXRT_RETURN_IF_ERROR(parseCommandLine(argc, argv, commandLine));
  if (commandLine.command == Command::Help) {
    std::fputs(usageText(program).c_str(), stdout);
    return nullptr;
  }
  const char *manifestText = manifestFunction ? manifestFunction() : nullptr;
  if (!manifestText || !forward)
    return makeStatus(SMXRT_STATUS_INVALID_ARGUMENT,
                      "the model object provides no manifest or no forward "
                      "function");
  ModelManifest manifest;
  SMXRT_RETURN_IF_ERROR(parseModelManifest(manifestText, manifest));
  if (commandLine.command != Command::Info)
    SMXRT_RETURN_IF_ERROR(requireOneProcess(program));
  switch (commandLine.command) {
  case Command::Info:
    return runInfoCommand(manifest, commandLine, stdout);
  case Command::Predict:
    return runPredictCommand(manifest, forward, commandLine, stdout);
  case Command::Eval:
    return runEvalDispatch(manifest, forward, commandLine);
  case Command::Train:
    return runTrainCommand(manifest, forward, trainStep, commandLine, stdout);
  case Command::Finetune:
    return runFinetuneCommand(manifest, forward, trainStep, commandLine,
                              stdout);
  case Command::Profile:
    return runProfileCommand(manifest, forward, trainStep, commandLine,
                             stdout);
  case Command::Help:
    break;
  }
  return nullptr;
}

} // namespace
} // namespace smxrt

using namespace smxrt;

extern "C" int smxrt_model_main(int argc, char **argv,
                                smxrt_model_manifest_fn_t manifest,
                                smxrt_model_forward_fn_t forward,
                                smxrt_model_train_step_fn_t trainStep) {
  bindThreadsByDefault();
  std::string program;
  StatusPtr status(catchExceptions([&]() -> smxrt_status_t {
    program = programName(argc, argv);
    return runModelMain(argc, argv, manifest, forward, trainStep, program);
  }));
  if (std::fflush(stdout) != 0 && !status)
    status.reset(
        makeStatus(SMXRT_STATUS_IO_ERROR, "cannot write to standard output"));
  if (!status)
    return 0;
  std::fprintf(stderr, "%s: error: %s\n",
               program.empty() ? "model" : program.c_str(),
               smxrt_status_message(status.get()));
  return 1;
}
