//===- checkpoint.cpp - Training checkpoints ------------------------------===//

#include "training/checkpoint.h"

#include "distributed/parameter_slices.h"

#include "model/parameters.h"

#include "data/corpus.h"
#include "data/text.h"

#include "file.h"
#include "status_internal.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace smxrt {
namespace {

constexpr const char *weightsFileName = "weights.safetensors";
constexpr const char *optimizerFileName = "optimizer.safetensors";
constexpr const char *metaFileName = "meta.json";
constexpr const char *latestFileName = "latest";

/// The step of a "step-NNNNNN" name (six digits or more); -1 otherwise.
int64_t stepOfName(const std::string &name) {
  if (name.compare(0, 5, "step-") != 0 || name.size() < 11 || name.size() > 24)
    return -1;
  int64_t step = 0;
  for (size_t index = 5; index < name.size(); ++index) {
    if (name[index] < '0' || name[index] > '9')
      return -1;
    step = step * 10 + (name[index] - '0');
  }
  return step;
}

smxrt_status_t syncDirectory(const std::string &path) {
  FileDescriptor directory(
      ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!directory.isOpen() || ::fsync(directory.get()) != 0)
    return makeStatusf(SMXRT_STATUS_IO_ERROR,
                       "%s: cannot sync the directory: %s", path.c_str(),
                       std::strerror(errno));
  return nullptr;
}

smxrt_status_t writeTextFile(const std::string &path, const std::string &text) {
  return writeFileAtomically(path, [&](FileSink &sink) {
    return sink.write(text.data(), text.size());
  });
}

/// Removes a directory tree; an error message, or empty on success.
std::string removeTree(const std::string &path) {
  std::error_code error;
  std::filesystem::remove_all(path, error);
  return error ? path + ": " + error.message() : std::string();
}

/// The names in `directory` (unsorted); empty if it cannot be read.
std::vector<std::string> entriesOf(const std::string &directory) {
  std::vector<std::string> names;
  if (DIR *handle = ::opendir(directory.c_str())) {
    while (const struct dirent *entry = ::readdir(handle))
      names.emplace_back(entry->d_name);
    ::closedir(handle);
  }
  return names;
}

/// Removes temporary checkpoint directories of processes that are gone
/// (".step-NNNNNN.tmp.<pid>", left by a crash).
void removeStaleTemporaries(const std::string &directory) {
  for (const std::string &name : entriesOf(directory)) {
    size_t marker = name.rfind(".tmp.");
    if (name.compare(0, 6, ".step-") != 0 || marker == std::string::npos)
      continue;
    long pid = std::strtol(name.c_str() + marker + 5, nullptr, 10);
    if (pid > 0 && pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH)
      removeTree(joinPath(directory, name));
  }
}

smxrt_status_t
addTensors(smxrt_safetensors_writer_t *writer,
           const CheckpointTensors &tensors, const char *prefix,
           smxrt_tensor_t *(CheckpointTensors::*get)(size_t) const) {
  const TrainState &state = tensors.trainState();
  for (size_t index = 0; index < state.parameterCount(); ++index)
    SMXRT_RETURN_IF_ERROR(smxrt_safetensors_writer_add_tensor(
        writer, (prefix + state.parameterSpec(index).name).c_str(),
        (tensors.*get)(index)));
  return nullptr;
}

smxrt_status_t writeTensors(const std::string &path,
                            const CheckpointTensors &tensors, bool optimizer,
                            const ModelManifest &manifest, int64_t step) {
  smxrt_safetensors_writer_t *rawWriter = nullptr;
  SMXRT_RETURN_IF_ERROR(smxrt_safetensors_writer_create(&rawWriter));
  SafetensorsWriterPtr writer(rawWriter);
  if (optimizer) {
    SMXRT_RETURN_IF_ERROR(addTensors(writer.get(), tensors, "first_moment.",
                                     &CheckpointTensors::firstMoment));
    SMXRT_RETURN_IF_ERROR(addTensors(writer.get(), tensors, "second_moment.",
                                     &CheckpointTensors::secondMoment));
  } else {
    SMXRT_RETURN_IF_ERROR(addTensors(writer.get(), tensors, "",
                                     &CheckpointTensors::parameter));
  }
  SMXRT_RETURN_IF_ERROR(smxrt_safetensors_writer_add_metadata(
      writer.get(), "model", manifest.model.c_str()));
  SMXRT_RETURN_IF_ERROR(smxrt_safetensors_writer_add_metadata(
      writer.get(), "step", std::to_string(step).c_str()));
  return smxrt_safetensors_writer_write(writer.get(), path.c_str());
}

smxrt_status_t loadTensors(const std::string &path, TrainState &state,
                           const char *prefix,
                           smxrt_tensor_t *(TrainState::*get)(size_t) const) {
  SafetensorsFilePtr file;
  SMXRT_RETURN_IF_ERROR(openSafetensors(path, file));
  for (size_t index = 0; index < state.parameterCount(); ++index) {
    const ArgumentSpec &parameter = state.parameterSpec(index);
    bool found = false;
    SMXRT_RETURN_IF_ERROR(readParameterTensor(
        file.get(), path, prefix + parameter.name, parameter,
        (state.*get)(index), /*required=*/true, found));
  }
  return nullptr;
}

} // namespace

std::string checkpointName(int64_t step) {
  return formatString("step-%06lld", static_cast<long long>(step));
}

std::string manifestHash(const ModelManifest &manifest) {
  return formatString(
      "%016llx", static_cast<unsigned long long>(data::fnv1a64(manifest.text)));
}

std::string trainingHash(const ModelManifest &manifest) {
  std::string identity = formatString(
      "model=%s task=%s batch=%lld sequence=%lld", manifest.model.c_str(),
      manifest.task.c_str(), static_cast<long long>(manifest.globalBatch()),
      static_cast<long long>(manifest.sequence));
  for (size_t index : manifest.trainStep.parameters) {
    const ArgumentSpec &parameter = manifest.trainStep.arguments[index];
    identity += "\n" + parameter.name + ":" +
                smxrt_dtype_name(parameter.dtype);
    for (int64_t size : parameter.wholeShape())
      identity += " " + std::to_string(size);
  }
  return formatString(
      "%016llx", static_cast<unsigned long long>(data::fnv1a64(identity)));
}

std::string joinPath(const std::string &directory, const std::string &name) {
  if (directory.empty())
    return name;
  return directory.back() == '/' ? directory + name : directory + "/" + name;
}

bool pathExists(const std::string &path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0;
}

bool isDirectory(const std::string &path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

smxrt_status_t makeDirectories(const std::string &path) {
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (error || !isDirectory(path))
    return makeStatusf(SMXRT_STATUS_IO_ERROR,
                       "%s: cannot create the "
                       "directory: %s",
                       path.c_str(),
                       error ? error.message().c_str() : "not a directory");
  return nullptr;
}

smxrt_status_t lockCheckpointDirectory(const std::string &directory,
                                       bool mustExist, FileDescriptor &lock) {
  if (!mustExist)
    SMXRT_RETURN_IF_ERROR(makeDirectories(directory));
  FileDescriptor opened(
      ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!opened.isOpen())
    return makeStatusf(errno == ENOENT ? SMXRT_STATUS_NOT_FOUND
                                       : SMXRT_STATUS_IO_ERROR,
                       "%s: cannot open the checkpoint directory: %s",
                       directory.c_str(), std::strerror(errno));
  if (::flock(opened.get(), LOCK_EX | LOCK_NB) != 0)
    return makeStatusf(errno == EWOULDBLOCK ? SMXRT_STATUS_INVALID_ARGUMENT
                                            : SMXRT_STATUS_IO_ERROR,
                       "%s: %s", directory.c_str(),
                       errno == EWOULDBLOCK
                           ? "another training run is using this checkpoint "
                             "directory"
                           : std::strerror(errno));
  lock = std::move(opened);
  return nullptr;
}

std::vector<std::pair<int64_t, std::string>>
listCheckpoints(const std::string &directory) {
  std::vector<std::pair<int64_t, std::string>> checkpoints;
  for (const std::string &name : entriesOf(directory)) {
    int64_t step = stepOfName(name);
    if (step >= 0 && isDirectory(joinPath(directory, name)))
      checkpoints.emplace_back(step, name);
  }
  std::sort(checkpoints.begin(), checkpoints.end());
  return checkpoints;
}

smxrt_status_t findLatestCheckpoint(const std::string &directory,
                                    std::string &stepDirectory, bool &exists) {
  std::string latestPath = joinPath(directory, latestFileName);
  exists = pathExists(latestPath);
  if (!exists)
    return nullptr;
  std::string contents;
  SMXRT_RETURN_IF_ERROR(data::readWholeFile(latestPath, contents));
  while (!contents.empty() &&
         (contents.back() == '\n' || contents.back() == '\r' ||
          contents.back() == ' '))
    contents.pop_back();
  if (stepOfName(contents) < 0)
    return makeStatusf(SMXRT_STATUS_DATA_LOSS,
                       "%s: expected one line 'step-NNNNNN', found '%s'",
                       latestPath.c_str(), contents.substr(0, 40).c_str());
  stepDirectory = joinPath(directory, contents);
  if (!isDirectory(stepDirectory))
    return makeStatusf(SMXRT_STATUS_DATA_LOSS,
                       "%s names %s, which is not a directory",
                       latestPath.c_str(), stepDirectory.c_str());
  return nullptr;
}

smxrt_status_t CheckpointTensors::gather(const TrainState &trainState) {
  state = &trainState;
  for (auto &tensors : gathered) {
    tensors.clear();
    tensors.resize(trainState.parameterCount());
  }
  for (size_t index = 0; index < trainState.parameterCount(); ++index) {
    const ArgumentSpec &parameter = trainState.parameterSpec(index);
    if (!parameter.isSplit())
      continue;
    SMXRT_RETURN_IF_ERROR(gatherWhole(parameter, trainState.parameter(index),
                                      gathered[Parameter][index]));
    SMXRT_RETURN_IF_ERROR(gatherWhole(parameter,
                                      trainState.firstMoment(index),
                                      gathered[FirstMoment][index]));
    SMXRT_RETURN_IF_ERROR(gatherWhole(parameter,
                                      trainState.secondMoment(index),
                                      gathered[SecondMoment][index]));
  }
  return nullptr;
}

smxrt_tensor_t *CheckpointTensors::get(Kind kind, size_t index) const {
  if (smxrt_tensor_t *whole = gathered[kind][index].get())
    return whole;
  switch (kind) {
  case Parameter:
    return state->parameter(index);
  case FirstMoment:
    return state->firstMoment(index);
  default:
    return state->secondMoment(index);
  }
}

smxrt_tensor_t *CheckpointTensors::parameter(size_t index) const {
  return get(Parameter, index);
}
smxrt_tensor_t *CheckpointTensors::firstMoment(size_t index) const {
  return get(FirstMoment, index);
}
smxrt_tensor_t *CheckpointTensors::secondMoment(size_t index) const {
  return get(SecondMoment, index);
}

smxrt_status_t writeCheckpoint(const std::string &directory, int64_t step,
                               const ModelManifest &manifest,
                               const CheckpointTensors &tensors,
                               const json::Object &meta, uint64_t keep,
                               std::string &stepDirectory, std::string &note) {
  SMXRT_RETURN_IF_ERROR(makeDirectories(directory));
  removeStaleTemporaries(directory);
  const std::string name = checkpointName(step);
  stepDirectory = joinPath(directory, name);
  const std::string temporary =
      joinPath(directory, "." + name + ".tmp." + std::to_string(::getpid()));
  removeTree(temporary);
  if (::mkdir(temporary.c_str(), 0755) != 0)
    return makeStatusf(SMXRT_STATUS_IO_ERROR, "%s: cannot create: %s",
                       temporary.c_str(), std::strerror(errno));
  smxrt_status_t status = [&]() -> smxrt_status_t {
    SMXRT_RETURN_IF_ERROR(writeTensors(joinPath(temporary, weightsFileName),
                                       tensors, false, manifest, step));
    SMXRT_RETURN_IF_ERROR(writeTensors(joinPath(temporary, optimizerFileName),
                                       tensors, true, manifest, step));
    SMXRT_RETURN_IF_ERROR(writeTextFile(joinPath(temporary, metaFileName),
                                        json::serialize(meta) + "\n"));
    SMXRT_RETURN_IF_ERROR(syncDirectory(temporary));
    // A directory of this step that `latest` does not name is the leftover
    // of a run that stopped between the rename and `latest`; move it aside.
    std::string latest;
    bool hasLatest = false;
    StatusPtr latestStatus(findLatestCheckpoint(directory, latest, hasLatest));
    if (isDirectory(stepDirectory)) {
      if (!latestStatus && hasLatest && latest == stepDirectory)
        return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                           "%s already exists and is the latest checkpoint; "
                           "not overwriting it",
                           stepDirectory.c_str());
      std::string aside = joinPath(directory, "." + name + ".old.tmp." +
                                                  std::to_string(::getpid()));
      if (::rename(stepDirectory.c_str(), aside.c_str()) != 0)
        return makeStatusf(SMXRT_STATUS_IO_ERROR,
                           "%s: cannot move the stale checkpoint aside: %s",
                           stepDirectory.c_str(), std::strerror(errno));
      removeTree(aside);
    }
    if (::rename(temporary.c_str(), stepDirectory.c_str()) != 0)
      return makeStatusf(SMXRT_STATUS_IO_ERROR,
                         "%s: cannot rename the temporary directory %s: %s",
                         stepDirectory.c_str(), temporary.c_str(),
                         std::strerror(errno));
    return syncDirectory(directory);
  }();
  if (status) {
    removeTree(temporary);
    return status;
  }
  SMXRT_RETURN_IF_ERROR(
      writeTextFile(joinPath(directory, latestFileName), name + "\n"));

  // Keep the newest `keep` checkpoints up to this one; never touch newer
  // ones (they belong to a run that went further and are not `latest`).
  std::vector<std::pair<int64_t, std::string>> checkpoints =
      listCheckpoints(directory);
  uint64_t kept = 0;
  for (auto it = checkpoints.rbegin(); it != checkpoints.rend(); ++it) {
    if (it->first > step)
      continue;
    if (++kept <= keep)
      continue;
    std::string problem = removeTree(joinPath(directory, it->second));
    if (!problem.empty())
      note += (note.empty() ? "" : "; ") + ("cannot delete " + problem);
  }
  return nullptr;
}

smxrt_status_t readCheckpointMeta(const std::string &stepDirectory,
                                  json::Value &meta) {
  std::string path = joinPath(stepDirectory, metaFileName);
  std::string text;
  SMXRT_RETURN_IF_ERROR(data::readWholeFile(path, text));
  json::ParseError error;
  std::optional<json::Value> parsed = json::parse(text, error);
  if (!parsed)
    return makeStatusf(
        SMXRT_STATUS_DATA_LOSS, "%s: invalid JSON at line %zu, column %zu: %s",
        path.c_str(), error.line, error.column, error.message.c_str());
  const json::Value *format = parsed->find("format");
  const json::Value *version = parsed->find("version");
  const json::Value *step = parsed->find("step");
  if (!parsed->isObject() || !format || !format->isString() ||
      format->getString() != checkpointFormat)
    return makeStatusf(SMXRT_STATUS_DATA_LOSS,
                       "%s: not an smx checkpoint's meta.json (no \"format\": "
                       "\"%s\")",
                       path.c_str(), checkpointFormat);
  if (!version || !version->isInteger() ||
      version->getInteger() != checkpointVersion)
    return makeStatusf(SMXRT_STATUS_UNIMPLEMENTED,
                       "%s: checkpoint version %s; this runtime reads version "
                       "%lld",
                       path.c_str(),
                       version ? json::serialize(*version).c_str() : "missing",
                       static_cast<long long>(checkpointVersion));
  if (!step || !step->isInteger() || step->getInteger() < 0)
    return makeStatusf(SMXRT_STATUS_DATA_LOSS,
                       "%s: \"step\" is missing or not a non-negative integer",
                       path.c_str());
  meta = std::move(*parsed);
  return nullptr;
}

smxrt_status_t loadCheckpointState(const std::string &stepDirectory,
                                   TrainState &state) {
  SMXRT_RETURN_IF_ERROR(loadTensors(joinPath(stepDirectory, weightsFileName),
                                    state, "", &TrainState::parameter));
  std::string optimizer = joinPath(stepDirectory, optimizerFileName);
  SMXRT_RETURN_IF_ERROR(
      loadTensors(optimizer, state, "first_moment.", &TrainState::firstMoment));
  return loadTensors(optimizer, state, "second_moment.",
                     &TrainState::secondMoment);
}

smxrt_status_t resolveWeightsSource(const std::string &path,
                                    WeightsSource &source) {
  source = WeightsSource();
  struct stat info;
  if (::stat(path.c_str(), &info) != 0)
    return makeStatusf(errno == ENOENT ? SMXRT_STATUS_NOT_FOUND
                                       : SMXRT_STATUS_IO_ERROR,
                       "%s: %s", path.c_str(), std::strerror(errno));
  if (!S_ISDIR(info.st_mode)) {
    source.weightsFile = path;
    return nullptr;
  }
  bool hasLatest = false;
  SMXRT_RETURN_IF_ERROR(
      findLatestCheckpoint(path, source.stepDirectory, hasLatest));
  if (hasLatest) {
    source.checkpointRoot = path;
  } else if (pathExists(joinPath(path, weightsFileName))) {
    source.stepDirectory = path;
    std::string trimmed = path;
    while (trimmed.size() > 1 && trimmed.back() == '/')
      trimmed.pop_back();
    size_t slash = trimmed.find_last_of('/');
    source.checkpointRoot = slash == std::string::npos ? "."
                            : slash == 0               ? "/"
                                         : trimmed.substr(0, slash);
  } else {
    return makeStatusf(SMXRT_STATUS_NOT_FOUND,
                       "%s: a directory with neither a 'latest' file (a "
                       "checkpoint directory) nor '%s' (one checkpoint)",
                       path.c_str(), weightsFileName);
  }
  source.weightsFile = joinPath(source.stepDirectory, weightsFileName);
  return nullptr;
}

} // namespace smxrt
