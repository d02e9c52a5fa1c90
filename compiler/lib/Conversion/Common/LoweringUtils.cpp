//===- LoweringUtils.cpp - building blocks of the smx lowerings -----------===//

#include "smx/Conversion/LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::smx;

Value mlir::smx::createEmptyTensor(OpBuilder &builder, Location loc,
                                   RankedTensorType type) {
  return tensor::EmptyOp::create(builder, loc, type.getShape(),
                                 type.getElementType());
}

Value mlir::smx::createFilledTensor(OpBuilder &builder, Location loc,
                                    RankedTensorType type, Attribute value) {
  Value scalar =
      arith::ConstantOp::create(builder, loc, cast<TypedAttr>(value));
  return linalg::FillOp::create(builder, loc, scalar,
                                createEmptyTensor(builder, loc, type))
      .getResult(0);
}

Value mlir::smx::createElementwise(OpBuilder &builder, Location loc,
                                   RankedTensorType resultType,
                                   ValueRange inputs,
                                   ArrayRef<AffineMap> inputMaps,
                                   ElementwiseBody body) {
  MLIRContext *context = builder.getContext();
  int64_t rank = resultType.getRank();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, context);
  SmallVector<AffineMap> maps(inputMaps);
  if (maps.empty())
    maps.assign(inputs.size(), identity);
  maps.push_back(identity);
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      builder, loc, resultType, inputs,
      ValueRange{createEmptyTensor(builder, loc, resultType)}, maps, iterators,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange arguments) {
        Value result = body(nested, nestedLoc, arguments.drop_back());
        linalg::YieldOp::create(nested, nestedLoc, result);
      });
  return generic.getResult(0);
}

AffineMap mlir::smx::getTrailingDimsMap(MLIRContext *context, int64_t numLoops,
                                        int64_t rank) {
  SmallVector<AffineExpr> results;
  for (int64_t dim = numLoops - rank; dim < numLoops; ++dim)
    results.push_back(getAffineDimExpr(dim, context));
  return AffineMap::get(numLoops, 0, results, context);
}

AffineMap mlir::smx::getLeadingDimsMap(MLIRContext *context, int64_t numLoops,
                                       int64_t rank) {
  SmallVector<AffineExpr> results;
  for (int64_t dim = 0; dim < rank; ++dim)
    results.push_back(getAffineDimExpr(dim, context));
  return AffineMap::get(numLoops, 0, results, context);
}

Value mlir::smx::createReduction(OpBuilder &builder, Location loc, Value input,
                                 int64_t dimension, Attribute initial,
                                 ReductionBody combine, ValueRange extraInputs,
                                 ElementwiseBody prologue) {
  MLIRContext *context = builder.getContext();
  auto inputType = cast<RankedTensorType>(input.getType());
  int64_t rank = inputType.getRank();
  SmallVector<int64_t> resultShape;
  SmallVector<AffineExpr> reducedDims;
  for (int64_t dim = 0; dim < rank; ++dim) {
    if (dim == dimension)
      continue;
    resultShape.push_back(inputType.getDimSize(dim));
    reducedDims.push_back(getAffineDimExpr(dim, context));
  }
  auto resultType =
      RankedTensorType::get(resultShape, cast<TypedAttr>(initial).getType());
  AffineMap reducedMap = AffineMap::get(rank, 0, reducedDims, context);
  SmallVector<AffineMap> maps = {
      AffineMap::getMultiDimIdentityMap(rank, context)};
  maps.append(extraInputs.size(), reducedMap);
  maps.push_back(reducedMap);
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  iterators[dimension] = utils::IteratorType::reduction;
  SmallVector<Value> inputs = {input};
  inputs.append(extraInputs.begin(), extraInputs.end());
  auto generic = linalg::GenericOp::create(
      builder, loc, resultType, inputs,
      ValueRange{createFilledTensor(builder, loc, resultType, initial)}, maps,
      iterators,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange arguments) {
        Value element = prologue
                            ? prologue(nested, nestedLoc, arguments.drop_back())
                            : arguments.front();
        linalg::YieldOp::create(
            nested, nestedLoc,
            combine(nested, nestedLoc, element, arguments.back()));
      });
  return generic.getResult(0);
}

/// `[[0, ..., rank - 2], [rank - 1]]`: all leading dimensions as one.
static SmallVector<ReassociationIndices>
getLeadingDimsReassociation(int64_t rank) {
  ReassociationIndices leading;
  for (int64_t dim = 0; dim + 1 < rank; ++dim)
    leading.push_back(dim);
  return {leading, {rank - 1}};
}

Value mlir::smx::collapseToMatrix(OpBuilder &builder, Location loc,
                                  Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  if (type.getRank() == 2)
    return tensor;
  return tensor::CollapseShapeOp::create(
      builder, loc, tensor, getLeadingDimsReassociation(type.getRank()));
}

Value mlir::smx::expandFromMatrix(OpBuilder &builder, Location loc,
                                  Value matrix, RankedTensorType type) {
  if (type.getRank() == 2)
    return matrix;
  return tensor::ExpandShapeOp::create(
      builder, loc, type, matrix, getLeadingDimsReassociation(type.getRank()));
}

Value mlir::smx::indexConstant(OpBuilder &builder, Location loc,
                                int64_t value) {
  return arith::ConstantIndexOp::create(builder, loc, value);
}

Value mlir::smx::scaleScalar(OpBuilder &builder, Location loc, Value scalar,
                             double factor) {
  return createElementwise(
      builder, loc, cast<RankedTensorType>(scalar.getType()), scalar, {},
      [&](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
        return arith::MulFOp::create(b, nestedLoc, arguments[0],
                                     createF32Constant(b, nestedLoc, factor));
      });
}

Value mlir::smx::sumAll(OpBuilder &builder, Location loc, Value tensor) {
  Attribute zero = builder.getF32FloatAttr(0.0);
  while (cast<RankedTensorType>(tensor.getType()).getRank() > 0)
    tensor = createReduction(
        builder, loc, tensor,
        cast<RankedTensorType>(tensor.getType()).getRank() - 1, zero,
        addFloats);
  return tensor;
}

Value mlir::smx::emitScatterAddRows(OpBuilder &builder, Location loc,
                                    Value source, Value indices,
                                    RankedTensorType resultType,
                                    int64_t keptDims) {
  auto indicesType = cast<RankedTensorType>(indices.getType());
  int64_t rows = resultType.getDimSize(keptDims);
  int64_t width = resultType.getShape().back();
  Value zero = indexConstant(builder, loc, 0);
  Value one = indexConstant(builder, loc, 1);
  SmallVector<Value> lowerBounds(indicesType.getRank(), zero);
  SmallVector<Value> steps(indicesType.getRank(), one);
  SmallVector<Value> upperBounds;
  for (int64_t size : indicesType.getShape())
    upperBounds.push_back(indexConstant(builder, loc, size));
  Value initial = createFilledTensor(
      builder, loc, resultType,
      builder.getFloatAttr(resultType.getElementType(), 0.0));
  scf::LoopNest nest = scf::buildLoopNest(
      builder, loc, lowerBounds, upperBounds, steps, ValueRange{initial},
      [&](OpBuilder &b, Location nestedLoc, ValueRange position,
          ValueRange running) -> scf::ValueVector {
        Value rawRow = tensor::ExtractOp::create(b, nestedLoc, indices,
                                                 position);
        Value row = arith::IndexCastOp::create(b, nestedLoc, b.getIndexType(),
                                               rawRow);
        Value nonNegative = arith::CmpIOp::create(
            b, nestedLoc, arith::CmpIPredicate::sge, row,
            indexConstant(b, nestedLoc, 0));
        Value belowRows = arith::CmpIOp::create(
            b, nestedLoc, arith::CmpIPredicate::slt, row,
            indexConstant(b, nestedLoc, rows));
        Value inRange =
            arith::AndIOp::create(b, nestedLoc, nonNegative, belowRows);
        auto ifOp = scf::IfOp::create(
            b, nestedLoc, inRange,
            [&](OpBuilder &thenBuilder, Location thenLoc) {
              auto columns = scf::ForOp::create(
                  thenBuilder, thenLoc, indexConstant(thenBuilder, thenLoc, 0),
                  indexConstant(thenBuilder, thenLoc, width),
                  indexConstant(thenBuilder, thenLoc, 1), ValueRange{running},
                  [&](OpBuilder &cb, Location cLoc, Value column,
                      ValueRange accumulated) {
                    SmallVector<Value> from(position);
                    from.push_back(column);
                    SmallVector<Value> to(position.take_front(keptDims));
                    to.push_back(row);
                    to.push_back(column);
                    Value element =
                        tensor::ExtractOp::create(cb, cLoc, source, from);
                    Value current = tensor::ExtractOp::create(
                        cb, cLoc, accumulated[0], to);
                    Value sum =
                        arith::AddFOp::create(cb, cLoc, current, element);
                    Value inserted = tensor::InsertOp::create(
                        cb, cLoc, sum, accumulated[0], to);
                    scf::YieldOp::create(cb, cLoc, inserted);
                  });
              scf::YieldOp::create(thenBuilder, thenLoc, columns.getResult(0));
            },
            [&](OpBuilder &elseBuilder, Location elseLoc) {
              scf::YieldOp::create(elseBuilder, elseLoc, running[0]);
            });
        return {ifOp.getResult(0)};
      });
  return nest.results.front();
}

Value mlir::smx::createI64Constant(OpBuilder &builder, Location loc,
                                   uint64_t value) {
  return arith::ConstantOp::create(
      builder, loc, builder.getI64IntegerAttr(static_cast<int64_t>(value)));
}

Value mlir::smx::createF32Constant(OpBuilder &builder, Location loc,
                                   double value) {
  return arith::ConstantOp::create(builder, loc,
                                   builder.getF32FloatAttr(value));
}

Value mlir::smx::extendToF32(OpBuilder &builder, Location loc, Value value) {
  if (value.getType().isF32())
    return value;
  return arith::ExtFOp::create(builder, loc, builder.getF32Type(), value);
}

Value mlir::smx::truncateFromF32(OpBuilder &builder, Location loc, Value value,
                                 Type elementType) {
  if (elementType.isF32())
    return value;
  return arith::TruncFOp::create(builder, loc, elementType, value);
}

Value mlir::smx::addFloats(OpBuilder &builder, Location loc, Value element,
                           Value accumulator) {
  return arith::AddFOp::create(builder, loc, element, accumulator);
}

bool mlir::smx::isStaticF32Tensor(Type type) {
  auto tensorType = dyn_cast<RankedTensorType>(type);
  return tensorType && tensorType.hasStaticShape() &&
         tensorType.getElementType().isF32();
}

Value mlir::smx::emitBiasAdd(OpBuilder &builder, Location loc, Value matrix,
                             Value bias) {
  MLIRContext *context = builder.getContext();
  return createElementwise(
      builder, loc, cast<RankedTensorType>(matrix.getType()), {matrix, bias},
      {AffineMap::getMultiDimIdentityMap(2, context),
       getTrailingDimsMap(context, 2, 1)},
      [](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
        return arith::AddFOp::create(b, nestedLoc, arguments[0], arguments[1]);
      });
}

LogicalResult mlir::smx::verifyStaticShapes(Operation *root,
                                            StringRef dialectNamespace,
                                            StringRef passName) {
  auto isStatic = [](Type type) {
    auto shaped = dyn_cast<ShapedType>(type);
    return !shaped || shaped.hasStaticShape();
  };
  WalkResult result = root->walk([&](Operation *op) {
    if (op->getDialect() &&
        op->getDialect()->getNamespace() == dialectNamespace &&
        (!llvm::all_of(op->getOperandTypes(), isStatic) ||
         !llvm::all_of(op->getResultTypes(), isStatic))) {
      op->emitOpError() << "has a dynamic shape; " << passName
                        << " lowers static shapes only (compile the model "
                           "for a fixed batch and sequence length)";
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return failure(result.wasInterrupted());
}
