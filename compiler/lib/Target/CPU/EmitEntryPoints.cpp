//===- EmitEntryPoints.cpp - the C entry points of a compiled model -------===//
//
// The runtime calls a compiled model through two C functions (docs/abi.md).
// smx_model_forward wraps each buffer pointer in a memref descriptor (the
// shapes are static, so sizes and strides are constants) and hands it to
// @forward through an unrealized cast that the LLVM conversion folds away.
//
//===----------------------------------------------------------------------===//

#include "smx/Target/CPU/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "smx/Dialect/Smx/IR/ModelInterface.h"
#include "llvm/Support/JSON.h"

#include "smx_runtime/model_abi.h"

namespace mlir::smx {
#define GEN_PASS_DEF_SMXEMITENTRYPOINTSPASS
#include "smx/Target/CPU/Passes.h.inc"
} // namespace mlir::smx

using namespace mlir;
using namespace mlir::smx;
namespace json = llvm::json;

/// Loads pointer number `index` of the pointer array `array`.
static Value loadPointer(OpBuilder &builder, Location loc, Value array,
                         int32_t index) {
  auto pointerType = LLVM::LLVMPointerType::get(builder.getContext());
  Value slot = LLVM::GEPOp::create(builder, loc, pointerType, pointerType,
                                   array, ArrayRef<LLVM::GEPArg>{index});
  return LLVM::LoadOp::create(builder, loc, pointerType, slot);
}

/// A memref of `type` over the runtime buffer at `pointer`.
static FailureOr<Value> wrapBuffer(OpBuilder &builder, Location loc,
                                   MemRefType type, Value pointer) {
  if (!type.hasStaticShape() || !type.getLayout().isIdentity())
    return emitError(loc) << "smx-emit-entry-points: an entry function "
                          << "takes a memref without a static shape and "
                             "identity layout: "
                          << type;
  MLIRContext *context = builder.getContext();
  Type i64 = builder.getI64Type();
  auto pointerType = LLVM::LLVMPointerType::get(context);
  int64_t rank = type.getRank();
  SmallVector<Type> fields = {pointerType, pointerType, i64};
  if (rank > 0) {
    fields.push_back(LLVM::LLVMArrayType::get(i64, rank));
    fields.push_back(LLVM::LLVMArrayType::get(i64, rank));
  }
  auto descriptorType = LLVM::LLVMStructType::getLiteral(context, fields);
  auto constant = [&](int64_t value) {
    return LLVM::ConstantOp::create(builder, loc, i64,
                                    builder.getI64IntegerAttr(value));
  };
  Value descriptor = LLVM::UndefOp::create(builder, loc, descriptorType);
  descriptor = LLVM::InsertValueOp::create(builder, loc, descriptor, pointer,
                                           ArrayRef<int64_t>{0});
  descriptor = LLVM::InsertValueOp::create(builder, loc, descriptor, pointer,
                                           ArrayRef<int64_t>{1});
  descriptor = LLVM::InsertValueOp::create(builder, loc, descriptor,
                                           constant(0), ArrayRef<int64_t>{2});
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)))
    return failure();
  for (int64_t dim = 0; dim < rank; ++dim) {
    descriptor = LLVM::InsertValueOp::create(
        builder, loc, descriptor, constant(type.getDimSize(dim)),
        ArrayRef<int64_t>{3, dim});
    descriptor = LLVM::InsertValueOp::create(builder, loc, descriptor,
                                             constant(strides[dim]),
                                             ArrayRef<int64_t>{4, dim});
  }
  return UnrealizedConversionCastOp::create(builder, loc, type, descriptor)
      .getResult(0);
}

/// Adds `entryName(void **arguments, void **results, void *workspace)`
/// calling `function`: its first `smx.entry_arguments` arguments come from
/// `arguments`, the memrefs buffer-results-to-out-params appended from
/// `results`, and its arena (smx-plan-memory's `smx.workspace` argument,
/// when it has one) is `workspace`. `function` becomes internal.
static LogicalResult emitEntryPoint(ModuleOp module, func::FuncOp function,
                                    StringRef entryName) {
  MLIRContext *context = module.getContext();
  auto entryArguments =
      function->getAttrOfType<IntegerAttr>(kEntryArgumentsAttrName);
  if (!entryArguments)
    return function.emitError() << "smx-emit-entry-points: @"
                                << function.getName() << " has no "
                                << kEntryArgumentsAttrName
                                << " (run smx-build-manifest first)";
  unsigned numArguments = entryArguments.getInt();

  OpBuilder builder = OpBuilder::atBlockEnd(module.getBody());
  Location loc = function.getLoc();
  auto pointerType = LLVM::LLVMPointerType::get(context);
  auto entry = func::FuncOp::create(
      builder, loc, entryName,
      builder.getFunctionType({pointerType, pointerType, pointerType}, {}));
  Block *body = entry.addEntryBlock();
  builder.setInsertionPointToStart(body);
  SmallVector<Value> operands;
  for (auto [index, type] :
       llvm::enumerate(function.getFunctionType().getInputs())) {
    if (function.getArgAttr(index, kWorkspaceAttrName)) {
      FailureOr<Value> workspace = wrapBuffer(
          builder, loc, cast<MemRefType>(type), body->getArgument(2));
      if (failed(workspace))
        return failure();
      operands.push_back(*workspace);
      continue;
    }
    bool isResult = index >= numArguments;
    Value pointer = loadPointer(
        builder, loc, body->getArgument(isResult ? 1 : 0),
        static_cast<int32_t>(isResult ? index - numArguments : index));
    if (auto memrefType = dyn_cast<MemRefType>(type)) {
      FailureOr<Value> buffer = wrapBuffer(builder, loc, memrefType, pointer);
      if (failed(buffer))
        return failure();
      operands.push_back(*buffer);
    } else if (type.isIntOrFloat()) {
      operands.push_back(LLVM::LoadOp::create(builder, loc, type, pointer));
    } else {
      return function.emitError()
             << "smx-emit-entry-points: cannot pass " << type;
    }
  }
  func::CallOp::create(builder, loc, function, operands);
  func::ReturnOp::create(builder, loc);
  // Internal: only the entry points are the object's interface.
  function->setAttr("llvm.linkage",
                    LLVM::LinkageAttr::get(context, LLVM::Linkage::Internal));
  return success();
}

/// Completes the manifest with what the lowering decided for each entry
/// function: its memory plan (smx-plan-memory) and the results it updates
/// in place (smx-update-state-in-place), and with the module's profile
/// sites (smx-profile-calls).
static FailureOr<std::string>
completeManifest(ModuleOp module, StringRef manifest,
                 ArrayRef<std::pair<func::FuncOp, StringRef>> entries) {
  llvm::Expected<json::Value> parsed = json::parse(manifest);
  if (!parsed) {
    llvm::consumeError(parsed.takeError());
    return module.emitError()
           << "smx-emit-entry-points: the manifest is not valid JSON";
  }
  json::Object *entryPoints =
      parsed->getAsObject()
          ? parsed->getAsObject()->getObject(SMXRT_MANIFEST_ENTRY_POINTS)
          : nullptr;
  for (auto [function, entryName] : entries) {
    json::Object *entry =
        entryPoints ? entryPoints->getObject(entryName) : nullptr;
    if (!entry)
      return module.emitError() << "smx-emit-entry-points: the manifest has "
                                << "no entry point '" << entryName << "'";
    unsigned numArguments =
        function->getAttrOfType<IntegerAttr>(kEntryArgumentsAttrName).getInt();
    json::Array *results = entry->getArray(SMXRT_ENTRY_RESULTS);
    for (unsigned index = numArguments; index < function.getNumArguments();
         ++index) {
      if (!function.getArgAttr(index, kInPlaceAttrName))
        continue;
      json::Object *result =
          results && index - numArguments < results->size()
              ? (*results)[index - numArguments].getAsObject()
              : nullptr;
      if (!result)
        return function.emitError()
               << "smx-emit-entry-points: the manifest has no result "
               << index - numArguments << " for an in-place out-parameter";
      (*result)[SMXRT_TENSOR_IN_PLACE] = true;
    }
    auto arenaBytes = function->getAttrOfType<IntegerAttr>(kArenaBytesAttrName);
    auto peakBytes =
        function->getAttrOfType<IntegerAttr>(kPeakLiveBytesAttrName);
    if (!arenaBytes || !peakBytes)
      continue;
    json::Object plan{{SMXRT_MEMORY_ARENA_BYTES, arenaBytes.getInt()},
                      {SMXRT_MEMORY_PEAK_LIVE_BYTES, peakBytes.getInt()}};
    if (auto peakAt = function->getAttrOfType<StringAttr>(kPeakAtAttrName))
      plan[SMXRT_MEMORY_PEAK_AT] = peakAt.getValue();
    (*entry)[SMXRT_ENTRY_MEMORY_PLAN] = std::move(plan);
    for (StringRef name :
         {kArenaBytesAttrName, kPeakLiveBytesAttrName, kPeakAtAttrName})
      function->removeAttr(name);
  }
  if (auto sites = module->getAttrOfType<ArrayAttr>(kProfileSitesAttrName)) {
    json::Array profile;
    for (auto site : sites.getAsRange<DictionaryAttr>()) {
      json::Object entry;
      for (NamedAttribute member : site) {
        if (auto text = dyn_cast<StringAttr>(member.getValue()))
          entry[member.getName().getValue()] = text.getValue();
        else if (auto number = dyn_cast<IntegerAttr>(member.getValue()))
          entry[member.getName().getValue()] = number.getInt();
      }
      profile.push_back(std::move(entry));
    }
    (*parsed->getAsObject())[SMXRT_MANIFEST_PROFILE] = std::move(profile);
    module->removeAttr(kProfileSitesAttrName);
  }
  std::string text;
  llvm::raw_string_ostream stream(text);
  stream << *parsed;
  return text;
}

namespace {
struct SmxEmitEntryPointsPass
    : public smx::impl::SmxEmitEntryPointsPassBase<SmxEmitEntryPointsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *context = &getContext();
    auto forward = module.lookupSymbol<func::FuncOp>(kForwardFunctionName);
    auto manifest = module->getAttrOfType<StringAttr>(kManifestAttrName);
    if (!forward || !manifest) {
      module.emitError() << "smx-emit-entry-points: needs @"
                         << kForwardFunctionName << " and the "
                         << kManifestAttrName << " attribute of "
                         << "smx-build-manifest";
      return signalPassFailure();
    }
    if (failed(emitEntryPoint(module, forward,
                              SMXRT_SYMBOL_STRING(SMXRT_MODEL_FORWARD))))
      return signalPassFailure();
    SmallVector<std::pair<func::FuncOp, StringRef>> entries = {
        {forward, SMXRT_ENTRY_FORWARD}};
    if (auto trainStep =
            module.lookupSymbol<func::FuncOp>(kTrainStepFunctionName)) {
      if (failed(emitEntryPoint(
              module, trainStep,
              SMXRT_SYMBOL_STRING(SMXRT_MODEL_TRAIN_STEP))))
        return signalPassFailure();
      entries.push_back({trainStep, SMXRT_ENTRY_TRAIN_STEP});
    }
    FailureOr<std::string> completed =
        completeManifest(module, manifest.getValue(), entries);
    if (failed(completed))
      return signalPassFailure();

    OpBuilder builder = OpBuilder::atBlockEnd(module.getBody());
    Location loc = forward.getLoc();
    auto pointerType = LLVM::LLVMPointerType::get(context);
    // The manifest as a NUL-terminated constant and its accessor.
    builder.setInsertionPointToEnd(module.getBody());
    std::string text = std::move(*completed);
    text.push_back('\0');
    auto arrayType =
        LLVM::LLVMArrayType::get(IntegerType::get(context, 8), text.size());
    LLVM::GlobalOp::create(builder, loc, arrayType, /*isConstant=*/true,
                           LLVM::Linkage::Internal, "smx_manifest_text",
                           builder.getStringAttr(text));
    auto accessor = func::FuncOp::create(
        builder, loc, SMXRT_SYMBOL_STRING(SMXRT_MODEL_MANIFEST),
        builder.getFunctionType({}, {pointerType}));
    builder.setInsertionPointToStart(accessor.addEntryBlock());
    Value address = LLVM::AddressOfOp::create(builder, loc, pointerType,
                                              "smx_manifest_text");
    func::ReturnOp::create(builder, loc, address);
    module->removeAttr(kManifestAttrName);
  }
};
} // namespace
