//===- BuildVjp.cpp - the vector-Jacobian product of a function -----------===//

#include "smx/Training/Passes.h"

#include "smx/Training/Gradients.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/IRMapping.h"

namespace mlir::smx {
#define GEN_PASS_DEF_SMXBUILDVJPPASS
#include "smx/Training/Passes.h.inc"
} // namespace mlir::smx

using namespace mlir;
using namespace mlir::smx;

/// Whether values of `type` carry gradients: float tensors.
static bool isDifferentiableType(Type type) {
  auto tensorType = dyn_cast<RankedTensorType>(type);
  return tensorType && isa<FloatType>(tensorType.getElementType());
}

namespace {
struct SmxBuildVjpPass : smx::impl::SmxBuildVjpPassBase<SmxBuildVjpPass> {
  using Base::Base;

  void runOnOperation() override {
    if (failed(buildVjp()))
      signalPassFailure();
  }

  LogicalResult buildVjp();
};
} // namespace

LogicalResult SmxBuildVjpPass::buildVjp() {
  ModuleOp module = getOperation();
  auto source = module.lookupSymbol<func::FuncOp>(function);
  if (!source)
    return module.emitError() << "smx-build-vjp: no function @" << function;
  if (!source.getBody().hasOneBlock())
    return source.emitOpError() << "must have a single block";
  std::string name = function + "_vjp";
  if (module.lookupSymbol(name))
    return module.emitError() << "smx-build-vjp: @" << name
                              << " already exists";
  FunctionType sourceType = source.getFunctionType();
  for (Type type : llvm::concat<const Type>(sourceType.getInputs(),
                                            sourceType.getResults()))
    if (auto shaped = dyn_cast<ShapedType>(type);
        shaped && !shaped.hasStaticShape())
      return source.emitOpError() << "has a dynamic shape (" << type
                                  << "); smx-build-vjp needs static shapes";

  SmallVector<Type> argumentTypes(sourceType.getInputs());
  SmallVector<unsigned> cotangentResults;
  for (auto [index, type] : llvm::enumerate(sourceType.getResults()))
    if (isDifferentiableType(type)) {
      cotangentResults.push_back(index);
      argumentTypes.push_back(type);
    }
  SmallVector<Type> resultTypes(sourceType.getResults());
  SmallVector<unsigned> gradientArguments;
  for (auto [index, type] : llvm::enumerate(sourceType.getInputs()))
    if (isDifferentiableType(type)) {
      gradientArguments.push_back(index);
      resultTypes.push_back(type);
    }

  OpBuilder builder(&getContext());
  builder.setInsertionPointAfter(source);
  Location loc = source.getLoc();
  auto vjp = func::FuncOp::create(builder, loc, name,
                                  builder.getFunctionType(argumentTypes,
                                                          resultTypes));
  Block *body = vjp.addEntryBlock();
  IRMapping mapping;
  for (auto [index, argument] : llvm::enumerate(source.getArguments()))
    mapping.map(argument, body->getArgument(index));
  builder.setInsertionPointToStart(body);
  SmallVector<Operation *> ops;
  for (Operation &op : source.getBody().front().without_terminator())
    ops.push_back(builder.clone(op, mapping));
  SmallVector<Value> results = llvm::map_to_vector(
      source.getBody().front().getTerminator()->getOperands(),
      [&](Value value) { return mapping.lookupOrDefault(value); });
  auto returnOp = func::ReturnOp::create(builder, loc);
  builder.setInsertionPoint(returnOp);

  GradientMap gradients;
  for (auto [position, index] : llvm::enumerate(cotangentResults))
    gradients.accumulate(
        builder, loc, results[index],
        body->getArgument(sourceType.getNumInputs() + position));
  if (failed(backpropagate(ops, returnOp, gradients)))
    return failure();
  for (unsigned index : gradientArguments) {
    Value gradient = gradients.lookup(body->getArgument(index));
    if (!gradient) {
      auto type = cast<RankedTensorType>(sourceType.getInput(index));
      gradient = arith::ConstantOp::create(
          builder, loc,
          DenseElementsAttr::get(
              type, FloatAttr::get(type.getElementType(), 0.0)));
    }
    results.push_back(gradient);
  }
  returnOp->setOperands(results);
  return success();
}
