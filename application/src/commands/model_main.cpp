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
#include "distributed/job.h"
#include "model/manifest.h"
#include "smx_runtime/cuda.h"

#include "handles.h"
#include "status_internal.h"


#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>

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

/// `eval --input IN` runs on the rows of IN; a training object without
/// --input is evaluated on the held-out split of its data.
smxrt_status_t runEvalDispatch(const ModelManifest &manifest,
                               smxrt_model_forward_fn_t forward,
                               const CommandLine &commandLine,
                               std::FILE *out) {
  if (commandLine.has("--input")) {
    for (const char *option :
         {"--data", "--task", "--eval-task", "--tokenizer", "--eval-batches",
          "--label-column", "--text-columns"})
      if (commandLine.has(option))
        return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                           "%s is not an option of 'eval --input' (it selects "
                           "the held-out data of 'eval' without --input)",
                           option);
    return runEvalCommand(manifest, forward, commandLine, out);
  }
  if (manifest.task.empty())
    return makeStatus(SMXRT_STATUS_INVALID_ARGUMENT, "'eval' needs --input");
  return runTrainingEvalCommand(manifest, forward, commandLine, out);
}

smxrt_status_t runModelMain(int argc, char **argv,
                            smxrt_model_manifest_fn_t manifestFunction,
                            smxrt_model_forward_fn_t forward,
                            smxrt_model_train_step_fn_t trainStep,
                            const std::string &program,
                            std::unique_ptr<Job> &job) {
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
  if (commandLine.command == Command::Info)
    return runInfoCommand(manifest, commandLine, stdout);
  // The GPU first: every buffer from here on is managed memory.
  if (manifest.runsOnGpu())
    SMXRT_RETURN_IF_ERROR(smxrt_cuda_open(
        static_cast<int32_t>(localRankFromLauncher())));
  SMXRT_RETURN_IF_ERROR(Job::join(manifest, program, argc, argv, job));
  // On a grid: training, fine-tuning and the held-out evaluation of a
  // training object, whose batches split over the processes.
  bool runsOnGrid = commandLine.command == Command::Train ||
                    commandLine.command == Command::Finetune ||
                    (commandLine.command == Command::Eval &&
                     !commandLine.has("--input"));
  if (manifest.isPartitioned() && !runsOnGrid)
    return makeStatusf(
        SMXRT_STATUS_UNIMPLEMENTED,
        "'%s%s' of a model compiled with smxc --grid is not built yet; "
        "'train', 'finetune' and 'eval' without --input are. Its checkpoints "
        "hold the whole model: run it with an executable compiled without "
        "--grid (docs/distributed.md)",
        commandName(commandLine.command),
        commandLine.command == Command::Eval ? " --input" : "");
  // The leader alone prints; the others' reports would repeat it.
  std::unique_ptr<std::FILE, int (*)(std::FILE *)> discard(nullptr,
                                                           std::fclose);
  std::FILE *out = stdout;
  if (!job->isLeader()) {
    discard.reset(std::fopen("/dev/null", "w"));
    if (!discard)
      return makeStatus(SMXRT_STATUS_IO_ERROR, "cannot open /dev/null");
    out = discard.get();
  }
  switch (commandLine.command) {
  case Command::Info:
    break;
  case Command::Predict:
    return runPredictCommand(manifest, forward, commandLine, out);
  case Command::Eval:
    return runEvalDispatch(manifest, forward, commandLine, out);
  case Command::Train:
    return runTrainCommand(manifest, forward, trainStep, commandLine, out);
  case Command::Finetune:
    return runFinetuneCommand(manifest, forward, trainStep, commandLine, out);
  case Command::Profile:
    return runProfileCommand(manifest, forward, trainStep, commandLine, out);
  case Command::Analyze:
    return runAnalyzeCommand(manifest, forward, commandLine, out);
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
  std::unique_ptr<Job> job;
  StatusPtr status(catchExceptions([&]() -> smxrt_status_t {
    program = programName(argc, argv);
    return runModelMain(argc, argv, manifest, forward, trainStep, program,
                        job);
  }));
  if (std::fflush(stdout) != 0 && !status)
    status.reset(
        makeStatus(SMXRT_STATUS_IO_ERROR, "cannot write to standard output"));
  if (!status)
    return 0;
  // In a job of several processes, the leader's error comes first: a
  // failure every process meets (a bad option, a missing file) is reported
  // once, as mpirun ends the others when the leader exits. One that only
  // another process meets is still reported, by that process.
  std::string where;
  if (job && !job->isLeader()) {
    std::this_thread::sleep_for(std::chrono::seconds(2));
    where = formatString(" (rank %lld of %lld)",
                         static_cast<long long>(job->rank()),
                         static_cast<long long>(job->size()));
  }
  std::fprintf(stderr, "%s%s: error: %s\n",
               program.empty() ? "model" : program.c_str(), where.c_str(),
               smxrt_status_message(status.get()));
  // The others may wait in a collective this process will never join.
  if (job)
    job->abortIfShared(1);
  return 1;
}
