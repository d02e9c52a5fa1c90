//===- MathLowering.cpp - Activations, noise, softmax ---------------------===//

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

Value mlir::smx::emitActivation(OpBuilder &builder, Location loc,
                                Activation kind, Value x) {
  Type type = x.getType();
  auto constant = [&](double value) {
    return arith::ConstantOp::create(builder, loc,
                                     builder.getFloatAttr(type, value));
  };
  switch (kind) {
  case Activation::gelu_tanh: {
    // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
    Value cube = arith::MulFOp::create(
        builder, loc, arith::MulFOp::create(builder, loc, x, x), x);
    Value inner = arith::AddFOp::create(
        builder, loc, x,
        arith::MulFOp::create(builder, loc, constant(0.044715), cube));
    Value scaled = arith::MulFOp::create(
        builder, loc, constant(std::sqrt(2.0 / M_PI)), inner);
    Value tanh = math::TanhOp::create(builder, loc, scaled);
    Value onePlus = arith::AddFOp::create(builder, loc, constant(1.0), tanh);
    return arith::MulFOp::create(
        builder, loc, arith::MulFOp::create(builder, loc, constant(0.5), x),
        onePlus);
  }
  case Activation::gelu: {
    // 0.5·x·(1 + erf(x/√2))
    Value scaled = arith::MulFOp::create(builder, loc, x, constant(M_SQRT1_2));
    Value erf = math::ErfOp::create(builder, loc, scaled);
    Value onePlus = arith::AddFOp::create(builder, loc, constant(1.0), erf);
    return arith::MulFOp::create(
        builder, loc, arith::MulFOp::create(builder, loc, constant(0.5), x),
        onePlus);
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
  auto constant = [&](double value) {
    return createF32Constant(b, loc, value);
  };
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
    Value cdf =
        mul(constant(0.5),
            add(constant(1.0),
                math::ErfOp::create(b, loc, mul(x, constant(M_SQRT1_2)))));
    Value density =
        mul(constant(1.0 / std::sqrt(2.0 * M_PI)),
            math::ExpOp::create(b, loc, mul(constant(-0.5), mul(x, x))));
    return add(cdf, mul(x, density));
  }
  case Activation::relu: {
    Value positive = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, x,
                                           constant(0.0));
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
    function_ref<Value(OpBuilder &, Location, Value x, Value uniform)> body,
    Value counterOffset = nullptr, ArrayRef<int64_t> counterStrides = {}) {
  auto type = cast<RankedTensorType>(input.getType());
  int64_t rank = type.getRank();
  assert((counterStrides.empty() ||
          static_cast<int64_t>(counterStrides.size()) == rank) &&
         "one counter stride per dimension");
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
          if (!counterStrides.empty()) {
            Value index = linalg::IndexOp::create(b, nestedLoc, dim);
            Value scaled = arith::MulIOp::create(
                b, nestedLoc, index,
                indexConstant(b, nestedLoc, counterStrides[dim]));
            linear = arith::AddIOp::create(b, nestedLoc, linear, scaled);
            continue;
          }
          Value scaled = arith::MulIOp::create(
              b, nestedLoc, linear,
              indexConstant(b, nestedLoc, type.getDimSize(dim)));
          Value index = linalg::IndexOp::create(b, nestedLoc, dim);
          linear = arith::AddIOp::create(b, nestedLoc, scaled, index);
        }
        if (counterOffset)
          linear = arith::AddIOp::create(b, nestedLoc, linear, counterOffset);
        Value counter =
            arith::IndexCastOp::create(b, nestedLoc, b.getI64Type(), linear);
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
                             Value step, double rate, int64_t seed,
                             Value counterOffset,
                             ArrayRef<int64_t> counterStrides) {
  return emitWithCounterUniform(
      builder, loc, input, step, seed,
      [&](OpBuilder &b, Location nestedLoc, Value x, Value uniform) -> Value {
        Value keep = arith::CmpFOp::create(
            b, nestedLoc, arith::CmpFPredicate::OGE, uniform,
            createF32Constant(b, nestedLoc, rate));
        Value scaled = arith::MulFOp::create(
            b, nestedLoc, x,
            createF32Constant(b, nestedLoc, 1.0 / (1.0 - rate)));
        return arith::SelectOp::create(b, nestedLoc, keep, scaled,
                                       createF32Constant(b, nestedLoc, 0.0));
      },
      counterOffset, counterStrides);
}

Value mlir::smx::getCounterOffsetIndex(OpBuilder &builder, Location loc,
                                       Value i64Offset, Value base) {
  if (!i64Offset)
    return base;
  Value offset = arith::IndexCastOp::create(builder, loc,
                                            builder.getIndexType(), i64Offset);
  return base ? arith::AddIOp::create(builder, loc, base, offset).getResult()
              : offset;
}

Value mlir::smx::emitMultiplicativeJitter(OpBuilder &builder, Location loc,
                                          Value input, Value step,
                                          double jitter, int64_t seed,
                                          Value counterOffset) {
  return emitWithCounterUniform(
      builder, loc, input, step, seed,
      [&](OpBuilder &b, Location nestedLoc, Value x, Value uniform) -> Value {
        // n = 1 - jitter + 2·jitter·u, uniform in [1 - jitter, 1 + jitter).
        Value spread = arith::MulFOp::create(
            b, nestedLoc, uniform, createF32Constant(b, nestedLoc, 2 * jitter));
        Value noise = arith::AddFOp::create(
            b, nestedLoc, spread, createF32Constant(b, nestedLoc, 1 - jitter));
        return arith::MulFOp::create(b, nestedLoc, x, noise);
      },
      counterOffset);
}

/// The maximum of `input` along `dimension`, in f32.
static Value emitMaximum(OpBuilder &builder, Location loc, Value input,
                         int64_t dimension) {
  return createReduction(
      builder, loc, input, dimension,
      builder.getF32FloatAttr(-std::numeric_limits<float>::infinity()),
      [](OpBuilder &b, Location nestedLoc, Value element, Value accumulator) {
        return arith::MaximumFOp::create(b, nestedLoc, element, accumulator);
      },
      {},
      [](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
        return extendToF32(b, nestedLoc, arguments[0]);
      });
}

/// exp(x - max) in f32, for `arguments` = (x, max): the body that both the
/// log-sum-exp and the softmax sweep over.
static Value emitShiftedExp(OpBuilder &b, Location loc, ValueRange arguments) {
  return math::ExpOp::create(
      b, loc,
      arith::SubFOp::create(b, loc, extendToF32(b, loc, arguments[0]),
                            arguments[1]));
}

RowLogSumExp mlir::smx::emitRowLogSumExp(OpBuilder &builder, Location loc,
                                         Value matrix) {
  RowLogSumExp result;
  result.maximum = emitMaximum(builder, loc, matrix, 1);
  result.expSum = createReduction(builder, loc, matrix, 1,
                                  builder.getF32FloatAttr(0.0), addFloats,
                                  {result.maximum}, emitShiftedExp);
  return result;
}

Value mlir::smx::emitSoftmax(OpBuilder &builder, Location loc, Value input,
                             int64_t dimension) {
  auto type = cast<RankedTensorType>(input.getType());
  int64_t rank = type.getRank();
  Type elementType = type.getElementType();
  MLIRContext *context = builder.getContext();
  Value maximum = emitMaximum(builder, loc, input, dimension);
  SmallVector<AffineExpr> kept;
  for (int64_t dim = 0; dim < rank; ++dim)
    if (dim != dimension)
      kept.push_back(getAffineDimExpr(dim, context));
  AffineMap identity = AffineMap::getMultiDimIdentityMap(rank, context);
  AffineMap reducedMap = AffineMap::get(rank, 0, kept, context);
  // exp(x - max) once, in f32: the sum and the quotient both read it (with
  // the row loops fused, while the row is in the L1 cache).
  Value exponentials = createElementwise(
      builder, loc, RankedTensorType::get(type.getShape(), builder.getF32Type()),
      {input, maximum}, {identity, reducedMap}, emitShiftedExp);
  Value sum = createReduction(builder, loc, exponentials, dimension,
                              builder.getF32FloatAttr(0.0), addFloats);
  return createElementwise(
      builder, loc, type, {exponentials, sum}, {identity, reducedMap},
      [&](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
        return truncateFromF32(
            b, nestedLoc,
            arith::DivFOp::create(b, nestedLoc, arguments[0], arguments[1]),
            elementType);
      });
}
