//===- manifest.cpp - Parsing and checking the model manifest -------------===//
//
// Every error names the member by its path in the document
// ("entry_points.forward.results[2].dtype"), since a bad manifest is a
// compiler bug that someone has to find in generated JSON.
//
//===----------------------------------------------------------------------===//

#include "manifest.h"

#include "smx_runtime/smx_runtime.h"

#include "json.h"
#include "status_internal.h"
#include "tensor_internal.h"

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

const char *parameterInitName(ParameterInit init) {
  switch (init) {
  case ParameterInit::None:
    return "none";
  case ParameterInit::Normal:
    return "normal";
  case ParameterInit::Zeros:
    return "zeros";
  case ParameterInit::Ones:
    return "ones";
  }
  return "unknown";
}

namespace {

smxrt_status_t invalid(const std::string &path, const std::string &problem) {
  return makeStatus(SMXRT_STATUS_INVALID_ARGUMENT, path + ": " + problem);
}

smxrt_status_t wrongKind(const std::string &path, const char *expected,
                         const json::Value &value) {
  return invalid(path, formatString("expected %s, got %s", expected,
                                    json::Value::describeKind(value.kind())));
}

/// The member `key` of the object at `path`; an error if it is missing.
smxrt_status_t requireMember(const json::Value &object, const std::string &path,
                             std::string_view key, const json::Value *&member) {
  member = object.find(key);
  if (!member)
    return invalid(path.empty() ? std::string(key) : path,
                   path.empty() ? "missing"
                                : "missing member '" + std::string(key) + "'");
  return nullptr;
}

std::string memberPath(const std::string &path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string elementPath(const std::string &path, size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

smxrt_status_t readInteger(const json::Value &value, const std::string &path,
                           int64_t minimum, int64_t &result) {
  if (!value.isInteger())
    return wrongKind(path, "an integer", value);
  result = value.getInteger();
  if (result < minimum)
    return invalid(path, formatString("%lld is less than %lld",
                                      static_cast<long long>(result),
                                      static_cast<long long>(minimum)));
  return nullptr;
}

smxrt_status_t readString(const json::Value &value, const std::string &path,
                          std::string &result) {
  if (!value.isString())
    return wrongKind(path, "a string", value);
  result = value.getString();
  return nullptr;
}

/// Reads the integer member `key` of `object` (at `path`), >= minimum.
smxrt_status_t readIntegerMember(const json::Value &object,
                                 const std::string &path, std::string_view key,
                                 int64_t minimum, int64_t &result) {
  const json::Value *member = nullptr;
  SMXRT_RETURN_IF_ERROR(requireMember(object, path, key, member));
  return readInteger(*member, memberPath(path, key), minimum, result);
}

smxrt_status_t readStringMember(const json::Value &object,
                                const std::string &path, std::string_view key,
                                std::string &result) {
  const json::Value *member = nullptr;
  SMXRT_RETURN_IF_ERROR(requireMember(object, path, key, member));
  return readString(*member, memberPath(path, key), result);
}

smxrt_status_t readArrayMember(const json::Value &object,
                               const std::string &path, std::string_view key,
                               const json::Array *&result) {
  const json::Value *member = nullptr;
  SMXRT_RETURN_IF_ERROR(requireMember(object, path, key, member));
  if (!member->isArray())
    return wrongKind(memberPath(path, key), "an array", *member);
  result = &member->getArray();
  return nullptr;
}

/// name, dtype and shape, common to arguments and results.
smxrt_status_t readTensorSpec(const json::Value &entry, const std::string &path,
                              TensorSpec &spec) {
  if (!entry.isObject())
    return wrongKind(path, "an object", entry);
  SMXRT_RETURN_IF_ERROR(readStringMember(entry, path, "name", spec.name));
  if (spec.name.empty())
    return invalid(memberPath(path, "name"), "empty name");
  std::string dtypeName;
  SMXRT_RETURN_IF_ERROR(readStringMember(entry, path, "dtype", dtypeName));
  spec.dtype = smxrt_dtype_from_name(dtypeName.c_str());
  if (spec.dtype == SMXRT_DTYPE_INVALID)
    return invalid(memberPath(path, "dtype"),
                   "unknown dtype '" + dtypeName + "'");
  const json::Array *shape = nullptr;
  SMXRT_RETURN_IF_ERROR(readArrayMember(entry, path, "shape", shape));
  std::string shapePath = memberPath(path, "shape");
  if (shape->size() > SMXRT_MAX_RANK)
    return invalid(shapePath, formatString("rank %zu exceeds the maximum %d",
                                           shape->size(), SMXRT_MAX_RANK));
  spec.shape.clear();
  for (size_t axis = 0; axis < shape->size(); ++axis) {
    int64_t dimension = 0;
    SMXRT_RETURN_IF_ERROR(readInteger(
        (*shape)[axis], elementPath(shapePath, axis), 0, dimension));
    spec.shape.push_back(dimension);
  }
  ArraySize size;
  SMXRT_RETURN_IF_ERROR(annotateStatus(
      computeArraySize(spec.dtype, spec.shape.data(), spec.shape.size(), size),
      shapePath + ": ", SMXRT_STATUS_INVALID_ARGUMENT));
  spec.elementCount = size.elementCount;
  spec.byteSize = size.byteSize;
  return nullptr;
}

class ManifestReader {
public:
  explicit ManifestReader(ModelManifest &manifest) : manifest(manifest) {}

  smxrt_status_t read(const json::Value &root) {
    SMXRT_RETURN_IF_ERROR(readStringMember(root, "", "model", manifest.model));
    SMXRT_RETURN_IF_ERROR(
        readIntegerMember(root, "", "batch", 1, manifest.batch));
    SMXRT_RETURN_IF_ERROR(
        readIntegerMember(root, "", "sequence", 1, manifest.sequence));
    const json::Value *entryPoints = nullptr;
    SMXRT_RETURN_IF_ERROR(requireMember(root, "", "entry_points", entryPoints));
    const json::Value *forward = nullptr;
    SMXRT_RETURN_IF_ERROR(
        requireMember(*entryPoints, "entry_points", "forward", forward));
    const std::string forwardPath = "entry_points.forward";
    const json::Array *arguments = nullptr;
    SMXRT_RETURN_IF_ERROR(
        readArrayMember(*forward, forwardPath, "arguments", arguments));
    for (size_t index = 0; index < arguments->size(); ++index)
      SMXRT_RETURN_IF_ERROR(readArgument(
          (*arguments)[index],
          elementPath(memberPath(forwardPath, "arguments"), index)));
    const json::Array *results = nullptr;
    SMXRT_RETURN_IF_ERROR(
        readArrayMember(*forward, forwardPath, "results", results));
    for (size_t index = 0; index < results->size(); ++index)
      SMXRT_RETURN_IF_ERROR(
          readResult((*results)[index],
                     elementPath(memberPath(forwardPath, "results"), index)));
    if (!manifest.findArgument("input_ids"))
      return invalid(memberPath(forwardPath, "arguments"),
                     "no 'input_ids' input");
    if (const json::Value *moeLayers = root.find("moe_layers")) {
      if (!moeLayers->isArray())
        return wrongKind("moe_layers", "an array", *moeLayers);
      for (size_t index = 0; index < moeLayers->getArray().size(); ++index)
        SMXRT_RETURN_IF_ERROR(readMoeLayer(moeLayers->getArray()[index],
                                           elementPath("moe_layers", index)));
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
    SMXRT_RETURN_IF_ERROR(readStringMember(entry, path, "role", role));
    if (role == "input") {
      argument.role = ArgumentRole::Input;
      SMXRT_RETURN_IF_ERROR(checkInput(argument, path));
    } else if (role == "parameter") {
      argument.role = ArgumentRole::Parameter;
      SMXRT_RETURN_IF_ERROR(readInit(entry, path, argument));
    } else {
      return invalid(memberPath(path, "role"),
                     "unknown role '" + role +
                         "' (expected 'input' or 'parameter')");
    }
    manifest.arguments.push_back(std::move(argument));
    return nullptr;
  }

  /// The driver supplies `step` from --step and every other input from the
  /// input file, row by row: those must be batch-major.
  smxrt_status_t checkInput(const ArgumentSpec &input,
                            const std::string &path) const {
    std::string shape = formatShape(input.shape.data(), input.shape.size());
    if (input.name == stepInputName) {
      if (input.dtype != SMXRT_DTYPE_I64 || !input.shape.empty())
        return invalid(path, formatString("input 'step' is %s %s, expected "
                                          "I64 []",
                                          smxrt_dtype_name(input.dtype),
                                          shape.c_str()));
      return nullptr;
    }
    if (input.shape.empty() || input.shape[0] != manifest.batch)
      return invalid(path,
                     formatString("input '%s' has shape %s, whose "
                                  "first dimension is not the batch %lld",
                                  input.name.c_str(), shape.c_str(),
                                  static_cast<long long>(manifest.batch)));
    if ((input.name == "input_ids" || input.name == "type_ids") &&
        (input.dtype != SMXRT_DTYPE_I32 || input.shape.size() != 2 ||
         input.shape[1] != manifest.sequence))
      return invalid(
          path,
          formatString("input '%s' is %s %s, expected I32 [%lld, %lld]",
                       input.name.c_str(), smxrt_dtype_name(input.dtype),
                       shape.c_str(), static_cast<long long>(manifest.batch),
                       static_cast<long long>(manifest.sequence)));
    return nullptr;
  }

  static smxrt_status_t readInit(const json::Value &entry,
                                 const std::string &path,
                                 ArgumentSpec &parameter) {
    std::string init;
    SMXRT_RETURN_IF_ERROR(readStringMember(entry, path, "init", init));
    if (init == "normal")
      parameter.init = ParameterInit::Normal;
    else if (init == "zeros")
      parameter.init = ParameterInit::Zeros;
    else if (init == "ones")
      parameter.init = ParameterInit::Ones;
    else
      return invalid(memberPath(path, "init"),
                     "unknown init '" + init +
                         "' (expected 'normal', 'zeros' or 'ones')");
    if (parameter.init != ParameterInit::Zeros &&
        parameter.dtype != SMXRT_DTYPE_F32)
      return invalid(memberPath(path, "init"),
                     formatString("init '%s' needs an F32 parameter, but '%s' "
                                  "is %s",
                                  init.c_str(), parameter.name.c_str(),
                                  smxrt_dtype_name(parameter.dtype)));
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
    if (const json::Value *batchMajor = entry.find("batch_major")) {
      if (!batchMajor->isBool())
        return wrongKind(memberPath(path, "batch_major"), "a boolean",
                         *batchMajor);
      if (batchMajor->getBool() &&
          (result.shape.empty() || result.shape[0] != manifest.batch))
        return invalid(memberPath(path, "batch_major"),
                       "true, but the first dimension is not the batch");
      result.batchMajor = batchMajor->getBool();
    }
    if (!result.batchMajor && result.shape.size() == SMXRT_MAX_RANK)
      return invalid(memberPath(path, "shape"),
                     formatString("rank %d leaves no room for the chunk "
                                  "dimension of a per-batch result",
                                  SMXRT_MAX_RANK));
    manifest.results.push_back(std::move(result));
    return nullptr;
  }

  smxrt_status_t readMoeLayer(const json::Value &entry,
                              const std::string &path) {
    if (!entry.isObject())
      return wrongKind(path, "an object", entry);
    MoeLayerSpec layer;
    SMXRT_RETURN_IF_ERROR(
        readIntegerMember(entry, path, "layer", 0, layer.layer));
    SMXRT_RETURN_IF_ERROR(
        readIntegerMember(entry, path, "experts", 1, layer.experts));
    SMXRT_RETURN_IF_ERROR(
        readStringMember(entry, path, "policy", layer.policy));
    const json::Value *capacityFactor = nullptr;
    SMXRT_RETURN_IF_ERROR(
        requireMember(entry, path, "capacity_factor", capacityFactor));
    if (!capacityFactor->isNumber())
      return wrongKind(memberPath(path, "capacity_factor"), "a number",
                       *capacityFactor);
    layer.capacityFactor = capacityFactor->getNumber();
    SMXRT_RETURN_IF_ERROR(
        readIntegerMember(entry, path, "groups", 1, layer.groups));
    SMXRT_RETURN_IF_ERROR(readIntegerMember(entry, path, "tokens_per_group", 1,
                                            layer.tokensPerGroup));
    SMXRT_RETURN_IF_ERROR(
        readIntegerMember(entry, path, "capacity", 0, layer.capacity));
    manifest.moeLayers.push_back(std::move(layer));
    return nullptr;
  }

  ModelManifest &manifest;
  std::set<std::string, std::less<>> argumentNames;
  std::set<std::string, std::less<>> resultNames;
};

/// Checked before anything else: a newer manifest may differ everywhere.
smxrt_status_t checkAbiVersion(const json::Value &root) {
  const json::Value *version = root.find("abi_version");
  if (!version)
    return invalid("abi_version", "missing");
  if (!version->isInteger())
    return wrongKind("abi_version", "an integer", *version);
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
      status = ManifestReader(manifest).read(*root);
    }
    if (status && smxrt_status_code(status) == SMXRT_STATUS_INVALID_ARGUMENT)
      return annotateStatus(status, "invalid model manifest: ");
    return status;
  });
}

} // namespace smxrt
