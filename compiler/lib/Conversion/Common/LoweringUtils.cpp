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
#include "smx_runtime/model_abi.h"
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

/// Declares `name` with `type` in the module around `op`, once.
static void declareRuntimeFunction(OpBuilder &builder, Operation *op,
                                   StringRef name, FunctionType type) {
  auto module = op->getParentOfType<ModuleOp>();
  if (SymbolTable::lookupSymbolIn(module, name))
    return;
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(module.getBody());
  auto function =
      func::FuncOp::create(builder, module.getLoc(), name, type);
  function.setPrivate();
}

/// The buffer of `tensor` as an unranked memref, read-only.
static Value getReadBuffer(OpBuilder &builder, Location loc, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  auto memrefType = MemRefType::get(type.getShape(), type.getElementType());
  Value buffer = bufferization::ToBufferOp::create(builder, loc, memrefType,
                                                   tensor, /*read_only=*/true);
  return memref::CastOp::create(
      builder, loc, UnrankedMemRefType::get(type.getElementType(), 0), buffer);
}

SmallVector<Value> mlir::smx::emitRuntimeCall(OpBuilder &builder, Location loc,
                                              StringRef name,
                                              ValueRange scalars,
                                              ValueRange inputs,
                                              TypeRange resultTypes) {
  SmallVector<Value> operands(scalars);
  for (Value input : inputs)
    operands.push_back(getReadBuffer(builder, loc, input));
  SmallVector<Value> resultBuffers;
  for (Type type : resultTypes) {
    auto tensorType = cast<RankedTensorType>(type);
    auto memrefType =
        MemRefType::get(tensorType.getShape(), tensorType.getElementType());
    Value buffer = memref::AllocOp::create(builder, loc, memrefType,
                                           builder.getI64IntegerAttr(64));
    resultBuffers.push_back(buffer);
    operands.push_back(memref::CastOp::create(
        builder, loc,
        UnrankedMemRefType::get(tensorType.getElementType(), 0), buffer));
  }
  declareRuntimeFunction(
      builder, builder.getInsertionBlock()->getParentOp(), name,
      builder.getFunctionType(ValueRange(operands).getTypes(), {}));
  func::CallOp::create(builder, loc, name, TypeRange(), operands);
  SmallVector<Value> results;
  for (auto [type, buffer] : llvm::zip_equal(resultTypes, resultBuffers))
    results.push_back(bufferization::ToTensorOp::create(
        builder, loc, type, buffer, /*restrict=*/builder.getUnitAttr(),
        /*writable=*/builder.getUnitAttr()));
  return results;
}

static Value createI64Constant(OpBuilder &builder, Location loc,
                               uint64_t value) {
  return arith::ConstantOp::create(
      builder, loc, builder.getI64IntegerAttr(static_cast<int64_t>(value)));
}

Value mlir::smx::emitRuntimeGemm(OpBuilder &builder, Location loc,
                                 GemmShape shape, const GemmOperand &a,
                                 const GemmOperand &b,
                                 RankedTensorType resultType,
                                 const GemmOperand &result,
                                 Value accumulator) {
  auto constant = [&](int64_t value) {
    return createI64Constant(builder, loc, value);
  };
  SmallVector<Value> operands = {
      constant(shape.outer),          constant(shape.inner),
      constant(shape.m),              constant(shape.n),
      constant(shape.k),              constant(a.transpose),
      constant(b.transpose),          constant(accumulator ? 1 : 0)};
  auto appendMatrix = [&](Value buffer, const GemmOperand &operand) {
    operands.append({buffer, constant(operand.offset),
                     constant(operand.leadingDim),
                     constant(operand.outerStride),
                     constant(operand.innerStride)});
  };
  appendMatrix(getReadBuffer(builder, loc, a.tensor), a);
  appendMatrix(getReadBuffer(builder, loc, b.tensor), b);
  auto memrefType =
      MemRefType::get(resultType.getShape(), resultType.getElementType());
  Value resultBuffer = memref::AllocOp::create(builder, loc, memrefType,
                                               builder.getI64IntegerAttr(64));
  if (accumulator) {
    Value source = bufferization::ToBufferOp::create(
        builder, loc, memrefType, accumulator, /*read_only=*/true);
    memref::CopyOp::create(builder, loc, source, resultBuffer);
  }
  appendMatrix(memref::CastOp::create(
                   builder, loc,
                   UnrankedMemRefType::get(resultType.getElementType(), 0),
                   resultBuffer),
               result);
  StringRef name = SMXRT_SYMBOL_STRING(SMXRT_CPU_SGEMM_MEMREF);
  declareRuntimeFunction(
      builder, builder.getInsertionBlock()->getParentOp(), name,
      builder.getFunctionType(ValueRange(operands).getTypes(), {}));
  func::CallOp::create(builder, loc, name, TypeRange(), operands);
  return bufferization::ToTensorOp::create(
      builder, loc, resultType, resultBuffer,
      /*restrict=*/builder.getUnitAttr(), /*writable=*/builder.getUnitAttr());
}

Value mlir::smx::emitMatmul(OpBuilder &builder, Location loc, Value input,
                            Value weight, bool transposeWeight) {
  auto inputType = cast<RankedTensorType>(input.getType());
  auto weightType = cast<RankedTensorType>(weight.getType());
  int64_t rows = inputType.getDimSize(0), depth = inputType.getDimSize(1);
  int64_t columns = weightType.getDimSize(transposeWeight ? 0 : 1);
  GemmShape shape;
  shape.m = rows;
  shape.n = columns;
  shape.k = depth;
  GemmOperand a{input, 0, depth, 0, 0, false};
  GemmOperand b{weight, 0, transposeWeight ? depth : columns, 0, 0,
                transposeWeight};
  GemmOperand c{Value(), 0, columns, 0, 0, false};
  auto resultType =
      RankedTensorType::get({rows, columns}, inputType.getElementType());
  return emitRuntimeGemm(builder, loc, shape, a, b, resultType, c);
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

Value mlir::smx::emitActivation(OpBuilder &builder, Location loc,
                                Activation kind, Value x) {
  Type type = x.getType();
  auto constant = [&](double value) {
    return arith::ConstantOp::create(builder, loc, builder.getFloatAttr(type, value));
  };
  switch (kind) {
  case Activation::gelu_tanh: {
    // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
    Value cube = arith::MulFOp::create(
        builder, loc, arith::MulFOp::create(builder, loc, x, x), x);
    Value inner = arith::AddFOp::create(
        builder, loc, x, arith::MulFOp::create(builder, loc, constant(0.044715), cube));
    Value scaled = arith::MulFOp::create(
        builder, loc, constant(std::sqrt(2.0 / M_PI)), inner);
    Value tanh = math::TanhOp::create(builder, loc, scaled);
    Value onePlus = arith::AddFOp::create(builder, loc, constant(1.0), tanh);
    return arith::MulFOp::create(
        builder, loc, arith::MulFOp::create(builder, loc, constant(0.5), x), onePlus);
  }
  case Activation::gelu: {
    // 0.5·x·(1 + erf(x/√2))
    Value scaled = arith::MulFOp::create(builder, loc, x, constant(M_SQRT1_2));
    Value erf = math::ErfOp::create(builder, loc, scaled);
    Value onePlus = arith::AddFOp::create(builder, loc, constant(1.0), erf);
    return arith::MulFOp::create(
        builder, loc, arith::MulFOp::create(builder, loc, constant(0.5), x), onePlus);
  }
  case Activation::relu:
    return arith::MaximumFOp::create(builder, loc, x, constant(0.0));
  case Activation::tanh:
    return math::TanhOp::create(builder, loc, x);
  }
  llvm_unreachable("unknown activation");
}

Value mlir::smx::emitActivationDerivative(OpBuilder &b, Location loc,
                                          Activation kind, Value x) {
  auto constant = [&](double value) { return createF32Constant(b, loc, value); };
  auto mul = [&](Value lhs, Value rhs) {
    return arith::MulFOp::create(b, loc, lhs, rhs).getResult();
  };
  auto add = [&](Value lhs, Value rhs) {
    return arith::AddFOp::create(b, loc, lhs, rhs).getResult();
  };
  switch (kind) {
  case Activation::gelu_tanh: {
    // y = 0.5·x·(1 + t), t = tanh(c·(x + a·x³)):
    // y' = 0.5·(1 + t) + 0.5·x·(1 − t²)·c·(1 + 3a·x²)
    double c = std::sqrt(2.0 / M_PI), a = 0.044715;
    Value square = mul(x, x);
    Value inner = mul(constant(c), add(x, mul(constant(a), mul(square, x))));
    Value t = math::TanhOp::create(b, loc, inner);
    Value sech2 = arith::SubFOp::create(b, loc, constant(1.0), mul(t, t));
    Value innerDerivative =
        mul(constant(c), add(constant(1.0), mul(constant(3.0 * a), square)));
    return add(mul(constant(0.5), add(constant(1.0), t)),
               mul(mul(constant(0.5), x), mul(sech2, innerDerivative)));
  }
  case Activation::gelu: {
    // y' = Φ(x) + x·φ(x)
    Value cdf = mul(constant(0.5),
                    add(constant(1.0),
                        math::ErfOp::create(b, loc, mul(x, constant(M_SQRT1_2)))));
    Value density =
        mul(constant(1.0 / std::sqrt(2.0 * M_PI)),
            math::ExpOp::create(b, loc, mul(constant(-0.5), mul(x, x))));
    return add(cdf, mul(x, density));
  }
  case Activation::relu: {
    Value positive = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT,
                                           x, constant(0.0));
    return arith::SelectOp::create(b, loc, positive, constant(1.0),
                                   constant(0.0));
  }
  case Activation::tanh: {
    Value t = math::TanhOp::create(b, loc, x);
    return arith::SubFOp::create(b, loc, constant(1.0), mul(t, t));
  }
  }
  llvm_unreachable("unknown activation");
}

/// The splitmix64 finalizer: a bijective 64-bit mixer.
static Value mix64(OpBuilder &b, Location loc, Value z) {
  auto xorShift = [&](Value value, int64_t shift) {
    Value shifted =
        arith::ShRUIOp::create(b, loc, value, createI64Constant(b, loc, shift));
    return arith::XOrIOp::create(b, loc, value, shifted).getResult();
  };
  z = arith::MulIOp::create(b, loc, xorShift(z, 30),
                            createI64Constant(b, loc, 0xBF58476D1CE4E5B9ull));
  z = arith::MulIOp::create(b, loc, xorShift(z, 27),
                            createI64Constant(b, loc, 0x94D049BB133111EBull));
  return xorShift(z, 31);
}

/// An elementwise map of `input` that also sees, per element, a counter-
/// based uniform number in [0, 1): the top 24 bits of
/// `mix(mix(seed ^ step·φ) + i·ψ)` for the element's row-major index `i`.
/// `body` gets the element (extended to f32) and its uniform number, and
/// returns the f32 result, which is truncated to the input's element type.
static Value emitWithCounterUniform(
    OpBuilder &builder, Location loc, Value input, Value step, int64_t seed,
    function_ref<Value(OpBuilder &, Location, Value x, Value uniform)> body) {
  auto type = cast<RankedTensorType>(input.getType());
  int64_t rank = type.getRank();
  // The stream key: mix(seed ^ step·φ), computed once per call.
  Value stepTerm = arith::MulIOp::create(
      builder, loc, step,
      createI64Constant(builder, loc, 0x9E3779B97F4A7C15ull));
  Value seeded = arith::XOrIOp::create(
      builder, loc, stepTerm,
      createI64Constant(builder, loc, static_cast<uint64_t>(seed)));
  Value key = mix64(builder, loc, seeded);
  return createElementwise(
      builder, loc, type, input, {},
      [&](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
        // The element's row-major linear index: its counter.
        Value linear = indexConstant(b, nestedLoc, 0);
        for (int64_t dim = 0; dim < rank; ++dim) {
          Value scaled = arith::MulIOp::create(
              b, nestedLoc, linear,
              indexConstant(b, nestedLoc, type.getDimSize(dim)));
          Value index = linalg::IndexOp::create(b, nestedLoc, dim);
          linear = arith::AddIOp::create(b, nestedLoc, scaled, index);
        }
        Value counter = arith::IndexCastOp::create(b, nestedLoc,
                                                   b.getI64Type(), linear);
        Value spread = arith::MulIOp::create(
            b, nestedLoc, counter,
            createI64Constant(b, nestedLoc, 0xD1B54A32D192ED03ull));
        Value bits = mix64(b, nestedLoc,
                           arith::AddIOp::create(b, nestedLoc, key, spread));
        // The top 24 bits as a uniform number in [0, 1).
        Value top = arith::ShRUIOp::create(b, nestedLoc, bits,
                                           createI64Constant(b, nestedLoc, 40));
        Value uniform = arith::MulFOp::create(
            b, nestedLoc,
            arith::UIToFPOp::create(b, nestedLoc, b.getF32Type(), top),
            createF32Constant(b, nestedLoc, std::ldexp(1.0, -24)));
        Value x = extendToF32(b, nestedLoc, arguments[0]);
        return truncateFromF32(b, nestedLoc, body(b, nestedLoc, x, uniform),
                               type.getElementType());
      });
}

Value mlir::smx::emitDropout(OpBuilder &builder, Location loc, Value input,
                             Value step, double rate, int64_t seed) {
  return emitWithCounterUniform(
      builder, loc, input, step, seed,
      [&](OpBuilder &b, Location nestedLoc, Value x, Value uniform) -> Value {
        Value keep =
            arith::CmpFOp::create(b, nestedLoc, arith::CmpFPredicate::OGE,
                                  uniform, createF32Constant(b, nestedLoc, rate));
        Value scaled = arith::MulFOp::create(
            b, nestedLoc, x,
            createF32Constant(b, nestedLoc, 1.0 / (1.0 - rate)));
        return arith::SelectOp::create(b, nestedLoc, keep, scaled,
                                       createF32Constant(b, nestedLoc, 0.0));
      });
}

Value mlir::smx::emitMultiplicativeJitter(OpBuilder &builder, Location loc,
                                          Value input, Value step,
                                          double jitter, int64_t seed) {
  return emitWithCounterUniform(
      builder, loc, input, step, seed,
      [&](OpBuilder &b, Location nestedLoc, Value x, Value uniform) -> Value {
        // n = 1 - jitter + 2·jitter·u, uniform in [1 - jitter, 1 + jitter).
        Value spread = arith::MulFOp::create(
            b, nestedLoc, uniform, createF32Constant(b, nestedLoc, 2 * jitter));
        Value noise = arith::AddFOp::create(
            b, nestedLoc, spread, createF32Constant(b, nestedLoc, 1 - jitter));
        return arith::MulFOp::create(b, nestedLoc, x, noise);
      });
}

RowLogSumExp mlir::smx::emitRowLogSumExp(OpBuilder &builder, Location loc,
                                         Value matrix) {
  RowLogSumExp result;
  result.maximum = createReduction(
      builder, loc, matrix, 1,
      builder.getF32FloatAttr(-std::numeric_limits<float>::infinity()),
      [](OpBuilder &b, Location nestedLoc, Value element, Value accumulator) {
        return arith::MaximumFOp::create(b, nestedLoc, element, accumulator);
      },
      {},
      [](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
        return extendToF32(b, nestedLoc, arguments[0]);
      });
  result.expSum = createReduction(
      builder, loc, matrix, 1, builder.getF32FloatAttr(0.0), addFloats,
      {result.maximum},
      [](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
        return math::ExpOp::create(
            b, nestedLoc,
            arith::SubFOp::create(b, nestedLoc,
                                  extendToF32(b, nestedLoc, arguments[0]),
                                  arguments[1]));
      });
  return result;
}

Value mlir::smx::emitSoftmax(OpBuilder &builder, Location loc, Value input,
                             int64_t dimension) {
  auto type = cast<RankedTensorType>(input.getType());
  int64_t rank = type.getRank();
  Type elementType = type.getElementType();
  MLIRContext *context = builder.getContext();
  Value maximum = createReduction(
      builder, loc, input, dimension,
      builder.getF32FloatAttr(-std::numeric_limits<float>::infinity()),
      [](OpBuilder &b, Location nestedLoc, Value element, Value accumulator) {
        return arith::MaximumFOp::create(b, nestedLoc, element, accumulator);
      },
      {},
      [](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
        return extendToF32(b, nestedLoc, arguments[0]);
      });
  auto shiftedExp = [](OpBuilder &b, Location nestedLoc, Value x, Value max) {
    return math::ExpOp::create(
        b, nestedLoc,
        arith::SubFOp::create(b, nestedLoc, extendToF32(b, nestedLoc, x), max));
  };
  Value sum = createReduction(
      builder, loc, input, dimension, builder.getF32FloatAttr(0.0), addFloats,
      {maximum}, [&](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
        return shiftedExp(b, nestedLoc, arguments[0], arguments[1]);
      });
  SmallVector<AffineExpr> kept;
  for (int64_t dim = 0; dim < rank; ++dim)
    if (dim != dimension)
      kept.push_back(getAffineDimExpr(dim, context));
  AffineMap reducedMap = AffineMap::get(rank, 0, kept, context);
  return createElementwise(
      builder, loc, type, {input, maximum, sum},
      {AffineMap::getMultiDimIdentityMap(rank, context), reducedMap,
       reducedMap},
      [&](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
        Value numerator = shiftedExp(b, nestedLoc, arguments[0], arguments[1]);
        return truncateFromF32(
            b, nestedLoc,
            arith::DivFOp::create(b, nestedLoc, numerator, arguments[2]),
            elementType);
      });
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
