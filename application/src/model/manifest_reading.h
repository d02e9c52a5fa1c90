//===- manifest_reading.h - Reading the manifest's JSON ---------*- C++ -*-===//
//
// The pieces the manifest reader (manifest.cpp) and the train step's reader
// (train_step_manifest.cpp) share: typed members whose errors name the
// member by its path in the document, roles, tensors and inputs.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_APPLICATION_MODEL_MANIFEST_READING_H
#define SMX_APPLICATION_MODEL_MANIFEST_READING_H

#include "model/manifest.h"

#include "json.h"
#include "status_internal.h"

#include <string>
#include <string_view>

namespace smxrt {
namespace manifest_reading {

smxrt_status_t invalid(const std::string &path, const std::string &problem);

smxrt_status_t wrongKind(const std::string &path, const char *expected,
                         const json::Value &value);

/// The member `key` of the object at `path`; an error if it is missing.
smxrt_status_t requireMember(const json::Value &object, const std::string &path,
                             std::string_view key, const json::Value *&member);

std::string memberPath(const std::string &path, std::string_view key);

std::string elementPath(const std::string &path, size_t index);

smxrt_status_t readInteger(const json::Value &value, const std::string &path,
                           int64_t minimum, int64_t &result);

smxrt_status_t readString(const json::Value &value, const std::string &path,
                          std::string &result);

/// Reads the integer member `key` of `object` (at `path`), >= minimum.
smxrt_status_t readIntegerMember(const json::Value &object,
                                 const std::string &path, std::string_view key,
                                 int64_t minimum, int64_t &result);

smxrt_status_t readStringMember(const json::Value &object,
                                const std::string &path, std::string_view key,
                                std::string &result);

smxrt_status_t readArrayMember(const json::Value &object,
                               const std::string &path, std::string_view key,
                               const json::Array *&result);

/// name, dtype and shape, common to arguments and results.
smxrt_status_t readTensorSpec(const json::Value &entry, const std::string &path,
                              TensorSpec &spec);

/// A parameter's SMXRT_TENSOR_INIT: normal, zeros or ones (the last two F32
/// only); and, for a parameter split over grid axes, SMXRT_TENSOR_SHARD_AXES
/// and SMXRT_TENSOR_GLOBAL_SHAPE.
smxrt_status_t readParameterMembers(const json::Value &entry,
                                    const std::string &path,
                                    ArgumentSpec &parameter);

/// SMXRT_TENSOR_LOSS_WEIGHT and SMXRT_TENSOR_METRIC of a result, both optional.
smxrt_status_t readLossAndMetric(const json::Value &entry,
                                 const std::string &path, ResultSpec &result);

/// Checks an input the application supplies: `step` (I64 []), with
/// `scheduleScalars` the train step's schedule scalars too, and otherwise
/// batch-major tensors (input_ids and type_ids: I32 [B, S]).
smxrt_status_t checkInput(const ModelManifest &manifest,
                          const ArgumentSpec &input, const std::string &path,
                          bool scheduleScalars);

/// Reads the optional SMXRT_ENTRY_MEMORY_PLAN of the entry point `entry`
/// (at `path`).
smxrt_status_t readMemoryPlan(const json::Value &entry, const std::string &path,
                              MemoryPlanSpec &plan);

/// Reads and checks entry_points.train_step into manifest.trainStep, after
/// the forward function (train_step_manifest.cpp).
smxrt_status_t readTrainStep(ModelManifest &manifest, const json::Value &entry);

/// A role as the manifest spells it (model_abi.h) and as the runtime holds
/// it; each entry point's list of allowed roles is one table.
template <typename Role> struct RoleSpelling {
  const char *name;
  Role role;
};

constexpr RoleSpelling<ArgumentRole> forwardArgumentRoles[] = {
    {SMXRT_ROLE_INPUT, ArgumentRole::Input},
    {SMXRT_ROLE_PARAMETER, ArgumentRole::Parameter}};
constexpr RoleSpelling<ArgumentRole> trainStepArgumentRoles[] = {
    {SMXRT_ROLE_INPUT, ArgumentRole::Input},
    {SMXRT_ROLE_PARAMETER, ArgumentRole::Parameter},
    {SMXRT_ROLE_FIRST_MOMENT, ArgumentRole::FirstMoment},
    {SMXRT_ROLE_SECOND_MOMENT, ArgumentRole::SecondMoment}};
constexpr RoleSpelling<ResultRole> trainStepResultRoles[] = {
    {SMXRT_ROLE_PARAMETER, ResultRole::Parameter},
    {SMXRT_ROLE_FIRST_MOMENT, ResultRole::FirstMoment},
    {SMXRT_ROLE_SECOND_MOMENT, ResultRole::SecondMoment},
    {SMXRT_ROLE_OUTPUT, ResultRole::Output}};

/// Reads the "role" of `entry` as one of `roles`; `spelling` gets the text.
template <typename Role, size_t Count>
smxrt_status_t readRole(const json::Value &entry, const std::string &path,
                        const RoleSpelling<Role> (&roles)[Count], Role &role,
                        std::string &spelling) {
  SMXRT_RETURN_IF_ERROR(
      readStringMember(entry, path, SMXRT_TENSOR_ROLE, spelling));
  for (const RoleSpelling<Role> &candidate : roles)
    if (spelling == candidate.name) {
      role = candidate.role;
      return nullptr;
    }
  std::string expected;
  for (size_t index = 0; index < Count; ++index)
    expected += std::string(index == 0           ? "'"
                            : index + 1 == Count ? " or '"
                                                 : ", '") +
                roles[index].name + "'";
  return invalid(memberPath(path, SMXRT_TENSOR_ROLE),
                 "unknown role '" + spelling + "' (expected " + expected + ")");
}

} // namespace manifest_reading
} // namespace smxrt

#endif // SMX_APPLICATION_MODEL_MANIFEST_READING_H
