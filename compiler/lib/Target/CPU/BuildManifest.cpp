//===- BuildManifest.cpp - the model manifest of docs/abi.md --------------===//

#include "smx/Target/CPU/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "smx/Dialect/Moe/IR/MoeOps.h"
#include "smx/Dialect/Smx/IR/ModelInterface.h"
#include "llvm/Support/JSON.h"

namespace mlir::smx {
#define GEN_PASS_DEF_SMXBUILDMANIFESTPASS
#include "smx/Target/CPU/Passes.h.inc"
} // namespace mlir::smx

using namespace mlir;
using namespace mlir::smx;
namespace json = llvm::json;

/// The safetensors spelling of an element type, or empty when the ABI has
/// none for it.
static StringRef getDtypeName(Type type) {
  if (type.isF32())
    return "F32";
  if (type.isInteger(32))
    return "I32";
  if (type.isInteger(64))
    return "I64";
  return "";
}

/// `{"dtype": ..., "shape": [...]}` of a tensor or scalar type.
static FailureOr<json::Object> describeType(Type type, Location loc) {
  json::Array shape;
  Type elementType = type;
  if (auto tensorType = dyn_cast<RankedTensorType>(type)) {
    if (!tensorType.hasStaticShape())
      return emitError(loc) << "the model interface needs static shapes, got "
                            << type;
    for (int64_t size : tensorType.getShape())
      shape.push_back(size);
    elementType = tensorType.getElementType();
  }
  StringRef dtype = getDtypeName(elementType);
  if (dtype.empty())
    return emitError(loc) << "the model interface has no dtype for " << type;
  return json::Object{{"dtype", dtype}, {"shape", std::move(shape)}};
}

namespace {
struct SmxBuildManifestPass
    : public smx::impl::SmxBuildManifestPassBase<SmxBuildManifestPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto forward = module.lookupSymbol<func::FuncOp>(kForwardFunctionName);
    if (!forward) {
      module.emitError() << "smx-build-manifest: no @" << kForwardFunctionName
                         << " function";
      return signalPassFailure();
    }
    json::Array arguments;
    for (auto [index, type] :
         llvm::enumerate(forward.getFunctionType().getInputs())) {
      FailureOr<json::Object> entry = describeType(type, forward.getLoc());
      if (failed(entry))
        return signalPassFailure();
      if (auto name = forward.getArgAttrOfType<StringAttr>(index,
                                                           kParameterAttrName)) {
        (*entry)["name"] = name.getValue();
        (*entry)["role"] = "parameter";
        auto init = forward.getArgAttrOfType<StringAttr>(index, kInitAttrName);
        (*entry)["init"] = init ? init.getValue() : "normal";
      } else if (auto name = forward.getArgAttrOfType<StringAttr>(
                     index, kInputAttrName)) {
        (*entry)["name"] = name.getValue();
        (*entry)["role"] = "input";
      } else {
        forward.emitError() << "argument " << index << " of @"
                            << kForwardFunctionName << " has neither "
                            << kParameterAttrName << " nor " << kInputAttrName;
        return signalPassFailure();
      }
      arguments.push_back(std::move(*entry));
    }
    json::Array results;
    for (auto [index, type] :
         llvm::enumerate(forward.getFunctionType().getResults())) {
      FailureOr<json::Object> entry = describeType(type, forward.getLoc());
      auto name =
          forward.getResultAttrOfType<StringAttr>(index, kOutputAttrName);
      if (failed(entry))
        return signalPassFailure();
      if (!name) {
        forward.emitError() << "result " << index << " of @"
                            << kForwardFunctionName << " has no "
                            << kOutputAttrName;
        return signalPassFailure();
      }
      (*entry)["name"] = name.getValue();
      (*entry)["batch_major"] =
          static_cast<bool>(forward.getResultAttr(index, kBatchMajorAttrName));
      results.push_back(std::move(*entry));
    }

    json::Array moeLayers;
    module.walk([&](moe::RouteOp route) {
      auto slots = cast<RankedTensorType>(route.getDispatchIndices().getType());
      int64_t tokens = route.getProbs().getType().getDimSize(0);
      auto layer = route->getAttrOfType<IntegerAttr>(kLayerAttrName);
      moeLayers.push_back(json::Object{
          {"layer", layer ? layer.getInt() : -1},
          {"experts", slots.getDimSize(1)},
          {"policy", route.getPolicy().getPolicyName()},
          {"capacity_factor", route.getCapacityFactor().convertToDouble()},
          {"groups", slots.getDimSize(0)},
          {"tokens_per_group", tokens / slots.getDimSize(0)},
          {"capacity", slots.getDimSize(2)}});
    });

    auto idsType = dyn_cast<RankedTensorType>(
        forward.getFunctionType().getInputs().empty()
            ? Type()
            : forward.getFunctionType().getInput(0));
    auto modelName = module->getAttrOfType<StringAttr>(kModelAttrName);
    json::Object manifest{
        {"abi_version", 1},
        {"model", modelName ? modelName.getValue() : "model"},
        {"batch", idsType && idsType.getRank() == 2 ? idsType.getDimSize(0) : 0},
        {"sequence",
         idsType && idsType.getRank() == 2 ? idsType.getDimSize(1) : 0},
        {"entry_points",
         json::Object{{"forward",
                       json::Object{{"arguments", std::move(arguments)},
                                    {"results", std::move(results)}}}}},
        {"moe_layers", std::move(moeLayers)}};
    std::string text;
    llvm::raw_string_ostream os(text);
    os << json::Value(std::move(manifest));
    module->setAttr(kManifestAttrName, StringAttr::get(&getContext(), text));
  }
};
} // namespace
