//===- BuildManifest.cpp - the model manifest of docs/abi.md --------------===//

#include "smx/Target/CPU/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "smx/Dialect/Moe/IR/MoeOps.h"
#include "smx/Dialect/Smx/IR/ModelInterface.h"
#include "smx/Partition/Passes.h"
#include "llvm/Support/JSON.h"

#include "smx_runtime/model_abi.h"

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
    return SMXRT_DTYPE_NAME_F32;
  if (type.isInteger(32))
    return SMXRT_DTYPE_NAME_I32;
  if (type.isInteger(64))
    return SMXRT_DTYPE_NAME_I64;
  return "";
}

/// `{SMXRT_TENSOR_DTYPE: ..., SMXRT_TENSOR_SHAPE: [...]}` of a tensor or scalar type.
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
  return json::Object{{SMXRT_TENSOR_DTYPE, dtype}, {SMXRT_TENSOR_SHAPE, std::move(shape)}};
}

/// The role of argument `index` of `function` (docs/abi.md) and its name.
static FailureOr<std::pair<StringRef, StringRef>>
getArgumentRole(func::FuncOp function, unsigned index) {
  for (auto [attrName, role] :
       {std::pair<StringRef, StringRef>{kParameterAttrName, SMXRT_ROLE_PARAMETER},
        {kFirstMomentAttrName, SMXRT_ROLE_FIRST_MOMENT},
        {kSecondMomentAttrName, SMXRT_ROLE_SECOND_MOMENT},
        {kInputAttrName, SMXRT_ROLE_INPUT}})
    if (auto name = function.getArgAttrOfType<StringAttr>(index, attrName))
      return std::pair<StringRef, StringRef>{name.getValue(), role};
  return function.emitError()
         << "argument " << index << " of @" << function.getName()
         << " has none of " << kParameterAttrName << ", "
         << kFirstMomentAttrName << ", " << kSecondMomentAttrName << ", "
         << kInputAttrName;
}

/// `{SMXRT_ENTRY_ARGUMENTS: [...], SMXRT_ENTRY_RESULTS: [...]}` of an entry function. The
/// forward function's results carry their name and `batch_major`; the train
/// step's also a `role`. Both mark loss terms (`loss_weight`) and metrics.
static FailureOr<json::Object> describeEntryPoint(func::FuncOp function,
                                                  shard::GridOp grid,
                                                  bool withResultRoles) {
  json::Array arguments;
  FunctionType type = function.getFunctionType();
  for (auto [index, argumentType] : llvm::enumerate(type.getInputs())) {
    FailureOr<json::Object> entry =
        describeType(argumentType, function.getLoc());
    FailureOr<std::pair<StringRef, StringRef>> role =
        getArgumentRole(function, index);
    if (failed(entry) || failed(role))
      return failure();
    (*entry)[SMXRT_TENSOR_NAME] = role->first;
    (*entry)[SMXRT_TENSOR_ROLE] = role->second;
    if (role->second == SMXRT_ROLE_PARAMETER) {
      auto init = function.getArgAttrOfType<StringAttr>(index, kInitAttrName);
      (*entry)[SMXRT_TENSOR_INIT] = init ? init.getValue() : SMXRT_INIT_NORMAL;
      if (auto axes = function.getArgAttrOfType<DenseI16ArrayAttr>(
              index, kShardAxesAttrName)) {
        if (!grid)
          return function.emitError()
                 << "argument " << index << " of @" << function.getName()
                 << " is split over grid axes but the module has no grid";
        auto type = cast<RankedTensorType>(argumentType);
        SmallVector<int64_t> globalShape(type.getShape());
        json::Array axesArray;
        for (int16_t axis : axes.asArrayRef()) {
          globalShape[0] *= grid.getShape()[axis];
          axesArray.push_back(axis);
        }
        (*entry)[SMXRT_TENSOR_SHARD_AXES] = std::move(axesArray);
        (*entry)[SMXRT_TENSOR_GLOBAL_SHAPE] = json::Array(globalShape);
      }
    }
    arguments.push_back(std::move(*entry));
  }
  json::Array results;
  for (auto [index, resultType] : llvm::enumerate(type.getResults())) {
    FailureOr<json::Object> entry = describeType(resultType, function.getLoc());
    if (failed(entry))
      return failure();
    StringRef role;
    StringRef name;
    for (auto [attrName, roleName] :
         {std::pair<StringRef, StringRef>{kParameterAttrName, SMXRT_ROLE_PARAMETER},
          {kFirstMomentAttrName, SMXRT_ROLE_FIRST_MOMENT},
          {kSecondMomentAttrName, SMXRT_ROLE_SECOND_MOMENT},
          {kOutputAttrName, SMXRT_ROLE_OUTPUT}})
      if (auto attr = function.getResultAttrOfType<StringAttr>(index,
                                                               attrName)) {
        name = attr.getValue();
        role = roleName;
        break;
      }
    if (role.empty() || (!withResultRoles && role != SMXRT_ROLE_OUTPUT))
      return function.emitError()
             << "result " << index << " of @" << function.getName()
             << " has no " << kOutputAttrName;
    (*entry)[SMXRT_TENSOR_NAME] = name;
    if (withResultRoles)
      (*entry)[SMXRT_TENSOR_ROLE] = role;
    if (role == SMXRT_ROLE_OUTPUT)
      (*entry)[SMXRT_TENSOR_BATCH_MAJOR] =
          static_cast<bool>(function.getResultAttr(index, kBatchMajorAttrName));
    if (auto weight =
            function.getResultAttrOfType<FloatAttr>(index, kLossAttrName))
      (*entry)[SMXRT_TENSOR_LOSS_WEIGHT] = weight.getValueAsDouble();
    if (function.getResultAttr(index, kMetricAttrName))
      (*entry)[SMXRT_TENSOR_METRIC] = true;
    results.push_back(std::move(*entry));
  }
  // Bufferization appends the results as arguments (carrying the results'
  // attributes); the entry point needs to know where the inputs end.
  function->setAttr(kEntryArgumentsAttrName,
                    Builder(function.getContext())
                        .getI64IntegerAttr(type.getNumInputs()));
  return json::Object{{SMXRT_ENTRY_ARGUMENTS, std::move(arguments)},
                      {SMXRT_ENTRY_RESULTS, std::move(results)}};
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
    shard::GridOp grid = getModelGrid(module);
    json::Object entryPoints;
    FailureOr<json::Object> forwardEntry =
        describeEntryPoint(forward, grid, /*withResultRoles=*/false);
    if (failed(forwardEntry))
      return signalPassFailure();
    entryPoints[SMXRT_ENTRY_FORWARD] = std::move(*forwardEntry);
    if (auto trainStep =
            module.lookupSymbol<func::FuncOp>(kTrainStepFunctionName)) {
      FailureOr<json::Object> trainEntry =
          describeEntryPoint(trainStep, grid, /*withResultRoles=*/true);
      if (failed(trainEntry))
        return signalPassFailure();
      entryPoints[SMXRT_ENTRY_TRAIN_STEP] = std::move(*trainEntry);
    }

    // The routes of the forward function: what `info` and `eval` report.
    json::Array moeLayers;
    forward.walk([&](moe::RouteOp route) {
      auto slots = cast<RankedTensorType>(route.getDispatchIndices().getType());
      int64_t tokens = route.getProbs().getType().getDimSize(0);
      auto layer = route->getAttrOfType<IntegerAttr>(kLayerAttrName);
      moeLayers.push_back(json::Object{
          {SMXRT_MOE_LAYER, layer ? layer.getInt() : -1},
          {SMXRT_MOE_EXPERTS, slots.getDimSize(1)},
          {SMXRT_MOE_POLICY, route.getPolicy().getPolicyName()},
          {SMXRT_MOE_CAPACITY_FACTOR, route.getCapacityFactor().convertToDouble()},
          {SMXRT_MOE_GROUPS, slots.getDimSize(0)},
          {SMXRT_MOE_TOKENS_PER_GROUP, tokens / slots.getDimSize(0)},
          {SMXRT_MOE_CAPACITY, slots.getDimSize(2)}});
    });

    auto idsType = dyn_cast<RankedTensorType>(
        forward.getFunctionType().getInputs().empty()
            ? Type()
            : forward.getFunctionType().getInput(0));
    auto modelName = module->getAttrOfType<StringAttr>(kModelAttrName);
    json::Object manifest{
        {SMXRT_MANIFEST_ABI_VERSION, SMXRT_ABI_VERSION},
        {SMXRT_MANIFEST_MODEL, modelName ? modelName.getValue() : SMXRT_MANIFEST_MODEL},
        {SMXRT_MANIFEST_BATCH, idsType && idsType.getRank() == 2 ? idsType.getDimSize(0) : 0},
        {SMXRT_MANIFEST_SEQUENCE,
         idsType && idsType.getRank() == 2 ? idsType.getDimSize(1) : 0},
        {SMXRT_MANIFEST_ENTRY_POINTS, std::move(entryPoints)},
        {SMXRT_MANIFEST_MOE_LAYERS, std::move(moeLayers)}};
    if (auto task = module->getAttrOfType<StringAttr>(kTaskAttrName))
      manifest[SMXRT_MANIFEST_TASK] = task.getValue();
    if (auto precision =
            module->getAttrOfType<StringAttr>(kPrecisionAttrName))
      manifest[SMXRT_MANIFEST_PRECISION] = precision.getValue();
    if (auto gpuArch = module->getAttrOfType<StringAttr>(kGpuArchAttrName)) {
      manifest[SMXRT_MANIFEST_TARGET] = SMXRT_TARGET_CUDA;
      manifest[SMXRT_MANIFEST_GPU_ARCH] = gpuArch.getValue();
    }
    if (grid) {
      ArrayRef<int64_t> shape = grid.getShape();
      manifest[SMXRT_MANIFEST_GRID] =
          json::Object{{SMXRT_GRID_DP, shape[0]}, {SMXRT_GRID_EP, shape[1]}};
    }
    std::string text;
    llvm::raw_string_ostream os(text);
    os << json::Value(std::move(manifest));
    module->setAttr(kManifestAttrName, StringAttr::get(&getContext(), text));
  }
};
} // namespace
