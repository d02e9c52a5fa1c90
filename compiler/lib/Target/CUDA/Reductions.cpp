//===- Reductions.cpp - the reductions GPU kernels combine ----------------===//

#include "Reductions.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;

std::optional<gpu::AllReduceOperation>
mlir::smx::getAllReduceKind(Operation *combiner) {
  if (isa<arith::AddFOp>(combiner))
    return gpu::AllReduceOperation::ADD;
  if (isa<arith::MaximumFOp>(combiner))
    return gpu::AllReduceOperation::MAXIMUMF;
  if (isa<arith::MinimumFOp>(combiner))
    return gpu::AllReduceOperation::MINIMUMF;
  if (isa<arith::MaxNumFOp>(combiner))
    return gpu::AllReduceOperation::MAXNUMF;
  if (isa<arith::MinNumFOp>(combiner))
    return gpu::AllReduceOperation::MINNUMF;
  return std::nullopt;
}

Value mlir::smx::createReductionIdentity(OpBuilder &builder, Location loc,
                                         gpu::AllReduceOperation kind,
                                         FloatType type) {
  const llvm::fltSemantics &semantics = type.getFloatSemantics();
  APFloat identity = APFloat::getZero(semantics);
  if (kind == gpu::AllReduceOperation::MAXIMUMF ||
      kind == gpu::AllReduceOperation::MAXNUMF)
    identity = APFloat::getInf(semantics, /*Negative=*/true);
  else if (kind == gpu::AllReduceOperation::MINIMUMF ||
           kind == gpu::AllReduceOperation::MINNUMF)
    identity = APFloat::getInf(semantics, /*Negative=*/false);
  return arith::ConstantFloatOp::create(builder, loc, type, identity);
}

Value mlir::smx::createReductionCombine(OpBuilder &builder, Location loc,
                                        gpu::AllReduceOperation kind, Value lhs,
                                        Value rhs) {
  switch (kind) {
  case gpu::AllReduceOperation::ADD:
    return arith::AddFOp::create(builder, loc, lhs, rhs);
  case gpu::AllReduceOperation::MAXIMUMF:
    return arith::MaximumFOp::create(builder, loc, lhs, rhs);
  case gpu::AllReduceOperation::MINIMUMF:
    return arith::MinimumFOp::create(builder, loc, lhs, rhs);
  case gpu::AllReduceOperation::MAXNUMF:
    return arith::MaxNumFOp::create(builder, loc, lhs, rhs);
  case gpu::AllReduceOperation::MINNUMF:
    return arith::MinNumFOp::create(builder, loc, lhs, rhs);
  default:
    return nullptr;
  }
}
