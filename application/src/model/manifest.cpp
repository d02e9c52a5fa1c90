//===- manifest.cpp - Parsing and checking the model manifest -------------===//
//
// Every error names the member by its path in the document
// ("entry_points.forward.results[2].dtype"), since a bad manifest is a
// compiler bug that someone has to find in generated JSON.
//
//===----------------------------------------------------------------------===//

#include "model/manifest_reading.h"

#include "smx_runtime/smx_runtime.h"

#include "json.h"
#include "status_internal.h"
#include "tensor_internal.h"

#include <optional>
#include <set>

namespace smxrt {

const ArgumentSpec *ModelManifest::findArgument(std::string_view name) const {
  for (const ArgumentSpec &argument : arguments)
    if (argument.name == name)
      return &argument;
  return nullptr;
}

const ResultSpec *ModelManifest::findResult(std::string_view name) const {
  for (const ResultSpec &result : results)
    if (result.name == name)
      return &result;
  return nullptr;
}

const ArgumentSpec *TrainStepSpec::findArgument(std::string_view name) const {
  for (const ArgumentSpec &argument : arguments)
    if (argument.role == ArgumentRole::Input && argument.name == name)
      return &argument;
  return nullptr;
}

const ResultSpec *TrainStepSpec::findResult(std::string_view name) const {
  for (const ResultSpec &result : results)
    if (result.role == ResultRole::Output && result.name == name)
      return &result;
  return nullptr;
}

std::vector<int64_t> TrainStepSpec::inPlaceArguments() const {
  std::vector<int64_t> arguments(results.size(), -1);
  for (auto [resultRun, argumentRun] :
       {std::pair{&parameterResults, &parameters},
        {&firstMomentResults, &firstMoments},
        {&secondMomentResults, &secondMoments}})
    for (size_t index = 0; index < resultRun->size(); ++index)
      if (results[(*resultRun)[index]].inPlace)
        arguments[(*resultRun)[index]] =
            static_cast<int64_t>((*argumentRun)[index]);
  return arguments;
}

int64_t TrainStepSpec::bufferBytes() const {
  // A result that is not an output is the next value of a parameter or
  // moment: a second copy unless the step updates it in place.
  int64_t bytes = 0;
  for (const ArgumentSpec &argument : arguments)
    bytes += static_cast<int64_t>(argument.byteSize);
  for (const ResultSpec &result : results)
    if (result.role == ResultRole::Output || !result.inPlace)
      bytes += static_cast<int64_t>(result.byteSize);
  return bytes;
}

int64_t ModelManifest::forwardBufferBytes() const {
  int64_t bytes = 0;
  for (const ArgumentSpec &argument : arguments)
    bytes += static_cast<int64_t>(argument.byteSize);
  for (const ResultSpec &result : results)
    bytes += static_cast<int64_t>(result.byteSize);
  return bytes;
}

const char *argumentRoleName(ArgumentRole role) {
  using manifest_reading::trainStepArgumentRoles;
  for (const auto &spelling : trainStepArgumentRoles)
    if (spelling.role == role)
      return spelling.name;
  return "unknown";
}

const char *parameterInitName(ParameterInit init) {
  switch (init) {
  case ParameterInit::None:
    return "none";
  case ParameterInit::Normal:
    return SMXRT_INIT_NORMAL;
  case ParameterInit::Zeros:
    return SMXRT_INIT_ZEROS;
  case ParameterInit::Ones:
    return SMXRT_INIT_ONES;
  }
  return "unknown";
}

namespace {
using namespace manifest_reading;

class ManifestReader {
public:
  explicit ManifestReader(ModelManifest &manifest) : manifest(manifest) {}

  smxrt_status_t read(const json::Value &root) {
    SMXRT_RETURN_IF_ERROR(
        readStringMember(root, "", SMXRT_MANIFEST_MODEL, manifest.model));
    SMXRT_RETURN_IF_ERROR(
        readIntegerMember(root, "", SMXRT_MANIFEST_BATCH, 1, manifest.batch));
    SMXRT_RETURN_IF_ERROR(readIntegerMember(root, "", SMXRT_MANIFEST_SEQUENCE,
                                            1, manifest.sequence));
    const json::Value *entryPoints = nullptr;
    SMXRT_RETURN_IF_ERROR(
        requireMember(root, "", SMXRT_MANIFEST_ENTRY_POINTS, entryPoints));
    const json::Value *forward = nullptr;
    SMXRT_RETURN_IF_ERROR(requireMember(*entryPoints,
                                        SMXRT_MANIFEST_ENTRY_POINTS,
                                        SMXRT_ENTRY_FORWARD, forward));
    const std::string forwardPath =
        SMXRT_MANIFEST_ENTRY_POINTS "." SMXRT_ENTRY_FORWARD;
    const json::Array *arguments = nullptr;
    SMXRT_RETURN_IF_ERROR(readArrayMember(*forward, forwardPath,
                                          SMXRT_ENTRY_ARGUMENTS, arguments));
    for (size_t index = 0; index < arguments->size(); ++index)
      SMXRT_RETURN_IF_ERROR(readArgument(
          (*arguments)[index],
          elementPath(memberPath(forwardPath, SMXRT_ENTRY_ARGUMENTS), index)));
    const json::Array *results = nullptr;
    SMXRT_RETURN_IF_ERROR(
        readArrayMember(*forward, forwardPath, SMXRT_ENTRY_RESULTS, results));
    for (size_t index = 0; index < results->size(); ++index)
      SMXRT_RETURN_IF_ERROR(readResult(
          (*results)[index],
          elementPath(memberPath(forwardPath, SMXRT_ENTRY_RESULTS), index)));
    SMXRT_RETURN_IF_ERROR(
        readMemoryPlan(*forward, forwardPath, manifest.memoryPlan));
    if (!manifest.findArgument(SMXRT_INPUT_IDS))
      return invalid(memberPath(forwardPath, SMXRT_ENTRY_ARGUMENTS),
                     "no 'input_ids' input");
    if (const json::Value *moeLayers = root.find(SMXRT_MANIFEST_MOE_LAYERS)) {
      if (!moeLayers->isArray())
        return wrongKind(SMXRT_MANIFEST_MOE_LAYERS, "an array", *moeLayers);
      for (size_t index = 0; index < moeLayers->getArray().size(); ++index)
        SMXRT_RETURN_IF_ERROR(
            readMoeLayer(moeLayers->getArray()[index],
                         elementPath(SMXRT_MANIFEST_MOE_LAYERS, index)));
    }
    if (const json::Value *profile = root.find(SMXRT_MANIFEST_PROFILE)) {
      if (!profile->isArray())
        return wrongKind(SMXRT_MANIFEST_PROFILE, "an array", *profile);
      for (size_t index = 0; index < profile->getArray().size(); ++index)
        SMXRT_RETURN_IF_ERROR(
            readProfileSite(profile->getArray()[index],
                            elementPath(SMXRT_MANIFEST_PROFILE, index)));
    }
    if (const json::Value *grid = root.find(SMXRT_MANIFEST_GRID)) {
      SMXRT_RETURN_IF_ERROR(readIntegerMember(*grid, SMXRT_MANIFEST_GRID,
                                              SMXRT_GRID_DP, 1,
                                              manifest.dataParallel));
      SMXRT_RETURN_IF_ERROR(readIntegerMember(*grid, SMXRT_MANIFEST_GRID,
                                              SMXRT_GRID_EP, 1,
                                              manifest.expertParallel));
    }
    if (const json::Value *precision = root.find(SMXRT_MANIFEST_PRECISION)) {
      SMXRT_RETURN_IF_ERROR(readString(*precision, SMXRT_MANIFEST_PRECISION,
                                       manifest.precision));
      if (manifest.precision != "f32" && manifest.precision != "bf16")
        return invalid(SMXRT_MANIFEST_PRECISION,
                       "unknown precision '" + manifest.precision +
                           "' (expected 'f32' or 'bf16')");
    }
    if (const json::Value *target = root.find(SMXRT_MANIFEST_TARGET)) {
      std::string name;
      SMXRT_RETURN_IF_ERROR(readString(*target, SMXRT_MANIFEST_TARGET, name));
      if (name != SMXRT_TARGET_CUDA)
        return invalid(SMXRT_MANIFEST_TARGET, "unknown target '" + name +
                                                  "' (expected 'cuda')");
      const json::Value *arch = root.find(SMXRT_MANIFEST_GPU_ARCH);
      if (!arch)
        return invalid(SMXRT_MANIFEST_GPU_ARCH,
                       "missing for target 'cuda'");
      SMXRT_RETURN_IF_ERROR(
          readString(*arch, SMXRT_MANIFEST_GPU_ARCH, manifest.gpuArch));
    }
    if (const json::Value *task = root.find(SMXRT_MANIFEST_TASK)) {
      SMXRT_RETURN_IF_ERROR(
          readString(*task, SMXRT_MANIFEST_TASK, manifest.task));
      if (manifest.task != SMXRT_TASK_PRETRAIN &&
          manifest.task != SMXRT_TASK_FINETUNE)
        return invalid(SMXRT_MANIFEST_TASK,
                       "unknown task '" + manifest.task +
                           "' (expected 'pretrain' or 'finetune')");
    }
    if (const json::Value *trainStep =
            entryPoints->find(SMXRT_ENTRY_TRAIN_STEP)) {
      if (manifest.task.empty())
        return invalid(SMXRT_MANIFEST_ENTRY_POINTS "." SMXRT_ENTRY_TRAIN_STEP,
                       "present, but the manifest has no 'task'");
      manifest.hasTrainStep = true;
      SMXRT_RETURN_IF_ERROR(readTrainStep(manifest, *trainStep));
    }
    return nullptr;
  }

private:
  smxrt_status_t readArgument(const json::Value &entry,
                              const std::string &path) {
    ArgumentSpec argument;
    SMXRT_RETURN_IF_ERROR(readTensorSpec(entry, path, argument));
    if (!argumentNames.insert(argument.name).second)
      return invalid(path, "duplicate argument '" + argument.name + "'");
    std::string role;
    SMXRT_RETURN_IF_ERROR(
        readRole(entry, path, forwardArgumentRoles, argument.role, role));
    if (argument.role == ArgumentRole::Input)
      SMXRT_RETURN_IF_ERROR(
          checkInput(manifest, argument, path, /*scheduleScalars=*/false));
    else
      SMXRT_RETURN_IF_ERROR(readParameterMembers(entry, path, argument));
    manifest.arguments.push_back(std::move(argument));
    return nullptr;
  }

  smxrt_status_t readResult(const json::Value &entry, const std::string &path) {
    ResultSpec result;
    SMXRT_RETURN_IF_ERROR(readTensorSpec(entry, path, result));
    if (!resultNames.insert(result.name).second)
      return invalid(path, "duplicate result '" + result.name + "'");
    // Routing statistics (moe.<i>.*) describe the whole batch even when one
    // of their dimensions happens to equal it (E or G == batch); an explicit
    // batch_major settles any other case.
    result.batchMajor = !result.shape.empty() &&
                        result.shape[0] == manifest.batch &&
                        result.name.compare(0, 4, "moe.") != 0;
    if (const json::Value *batchMajor = entry.find(SMXRT_TENSOR_BATCH_MAJOR)) {
      if (!batchMajor->isBool())
        return wrongKind(memberPath(path, SMXRT_TENSOR_BATCH_MAJOR),
                         "a boolean", *batchMajor);
      if (batchMajor->getBool() &&
          (result.shape.empty() || result.shape[0] != manifest.batch))
        return invalid(memberPath(path, SMXRT_TENSOR_BATCH_MAJOR),
                       "true, but the first dimension is not the batch");
      result.batchMajor = batchMajor->getBool();
    }
    SMXRT_RETURN_IF_ERROR(readLossAndMetric(entry, path, result));
    if (!result.batchMajor && result.shape.size() == SMXRT_MAX_RANK)
      return invalid(memberPath(path, SMXRT_TENSOR_SHAPE),
                     formatString("rank %d leaves no room for the chunk "
                                  "dimension of a per-batch result",
                                  SMXRT_MAX_RANK));
    manifest.results.push_back(std::move(result));
    return nullptr;
  }

  smxrt_status_t readProfileSite(const json::Value &entry,
                                 const std::string &path) {
    if (!entry.isObject())
      return wrongKind(path, "an object", entry);
    ProfileSiteSpec site;
    SMXRT_RETURN_IF_ERROR(readStringMember(entry, path, SMXRT_PROFILE_AT, site.at));
    SMXRT_RETURN_IF_ERROR(
        readStringMember(entry, path, SMXRT_PROFILE_KIND, site.kind));
    SMXRT_RETURN_IF_ERROR(
        readIntegerMember(entry, path, SMXRT_PROFILE_BYTES, 0, site.bytes));
    SMXRT_RETURN_IF_ERROR(
        readIntegerMember(entry, path, SMXRT_PROFILE_FLOPS, 0, site.flops));
    SMXRT_RETURN_IF_ERROR(
        readStringMember(entry, path, SMXRT_PROFILE_CALLEE, site.callee));
    manifest.profileSites.push_back(std::move(site));
    return nullptr;
  }

  smxrt_status_t readMoeLayer(const json::Value &entry,
                              const std::string &path) {
    if (!entry.isObject())
      return wrongKind(path, "an object", entry);
    MoeLayerSpec layer;
    SMXRT_RETURN_IF_ERROR(
        readIntegerMember(entry, path, SMXRT_MOE_LAYER, 0, layer.layer));
    SMXRT_RETURN_IF_ERROR(
        readIntegerMember(entry, path, SMXRT_MOE_EXPERTS, 1, layer.experts));
    SMXRT_RETURN_IF_ERROR(
        readStringMember(entry, path, SMXRT_MOE_POLICY, layer.policy));
    const json::Value *capacityFactor = nullptr;
    SMXRT_RETURN_IF_ERROR(
        requireMember(entry, path, SMXRT_MOE_CAPACITY_FACTOR, capacityFactor));
    if (!capacityFactor->isNumber())
      return wrongKind(memberPath(path, SMXRT_MOE_CAPACITY_FACTOR), "a number",
                       *capacityFactor);
    layer.capacityFactor = capacityFactor->getNumber();
    SMXRT_RETURN_IF_ERROR(
        readIntegerMember(entry, path, SMXRT_MOE_GROUPS, 1, layer.groups));
    SMXRT_RETURN_IF_ERROR(readIntegerMember(
        entry, path, SMXRT_MOE_TOKENS_PER_GROUP, 1, layer.tokensPerGroup));
    SMXRT_RETURN_IF_ERROR(
        readIntegerMember(entry, path, SMXRT_MOE_CAPACITY, 0, layer.capacity));
    manifest.moeLayers.push_back(std::move(layer));
    return nullptr;
  }

  ModelManifest &manifest;
  std::set<std::string, std::less<>> argumentNames;
  std::set<std::string, std::less<>> resultNames;
};

/// Checked before anything else: a newer manifest may differ everywhere.
smxrt_status_t checkAbiVersion(const json::Value &root) {
  const json::Value *version = root.find(SMXRT_MANIFEST_ABI_VERSION);
  if (!version)
    return invalid(SMXRT_MANIFEST_ABI_VERSION, "missing");
  if (!version->isInteger())
    return wrongKind(SMXRT_MANIFEST_ABI_VERSION, "an integer", *version);
  if (version->getInteger() != SMXRT_ABI_VERSION)
    return makeStatusf(SMXRT_STATUS_UNIMPLEMENTED,
                       "the model was compiled for ABI version %lld, but this "
                       "runtime implements ABI version %d; rebuild the model "
                       "with an smxc that matches this runtime",
                       static_cast<long long>(version->getInteger()),
                       SMXRT_ABI_VERSION);
  return nullptr;
}

} // namespace

smxrt_status_t parseModelManifest(std::string_view text,
                                  ModelManifest &manifest) {
  return catchExceptions([&]() -> smxrt_status_t {
    json::ParseError parseError;
    std::optional<json::Value> root = json::parse(text, parseError);
    if (!root)
      return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                         "invalid model manifest: bad JSON at line %zu, column "
                         "%zu: %s",
                         parseError.line, parseError.column,
                         parseError.message.c_str());
    if (!root->isObject())
      return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                         "invalid model manifest: expected an object, got %s",
                         json::Value::describeKind(root->kind()));
    smxrt_status_t status = checkAbiVersion(*root);
    if (!status) {
      manifest = ModelManifest();
      manifest.text = std::string(text);
      status = ManifestReader(manifest).read(*root);
    }
    if (status && smxrt_status_code(status) == SMXRT_STATUS_INVALID_ARGUMENT)
      return annotateStatus(status, "invalid model manifest: ");
    return status;
  });
}

} // namespace smxrt