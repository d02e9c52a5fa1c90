//===- StructuredMatrices.cpp - circulant and Toeplitz matrices -----------===//

#include "smx/Dialect/Mix/IR/StructuredMatrices.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

Value mlir::mix::getCirculantIndex(OpBuilder &b, Location loc, Value row,
                                  Value column, Value n) {
  Value shifted = arith::AddIOp::create(
      b, loc, arith::SubIOp::create(b, loc, row, column), n);
  return arith::RemUIOp::create(b, loc, shifted, n);
}

Value mlir::mix::getToeplitzIndex(OpBuilder &b, Location loc, Value row,
                                 Value column, Value n) {
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value diagonal = arith::SubIOp::create(
      b, loc, arith::AddIOp::create(b, loc, n, column), row);
  return arith::SubIOp::create(b, loc, diagonal, one);
}

Value mlir::mix::buildStructuredMatrix(OpBuilder &b, Location loc,
                                      Value input, int64_t dim, Value params,
                                      bool transpose,
                                      ParameterIndexFn parameterIndex) {
  auto inputType = cast<RankedTensorType>(input.getType());
  int64_t staticSize = inputType.getDimSize(dim);
  Value size = tensor::DimOp::create(b, loc, input, dim);
  SmallVector<Value> dynamicSizes;
  if (ShapedType::isDynamic(staticSize))
    dynamicSizes.assign(2, size);
  auto matrixType = RankedTensorType::get({staticSize, staticSize},
                                          inputType.getElementType());
  return tensor::GenerateOp::create(
      b, loc, matrixType, dynamicSizes,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange indices) {
        Value row = indices[transpose ? 1 : 0];
        Value column = indices[transpose ? 0 : 1];
        Value index = parameterIndex(nested, nestedLoc, row, column, size);
        Value element =
            tensor::ExtractOp::create(nested, nestedLoc, params, index);
        tensor::YieldOp::create(nested, nestedLoc, element);
      });
}

