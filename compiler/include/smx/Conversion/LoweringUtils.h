//===- LoweringUtils.h - building blocks of the smx lowerings ---*- C++ -*-===//
//
// What the conversions of the smx, mix and moe dialects to linalg share:
// elementwise and reduction linalg.generic builders, and calls of the
// runtime's CPU kernels (GEMM, routing) on tensors.
//
// A runtime call takes its tensor operands through
// `bufferization.to_buffer ... read_only`, writes into fresh `memref.alloc`
// results and hands them back with `bufferization.to_tensor ... restrict`,
// so One-Shot Bufferize sees exactly what the kernel reads and writes.
// Buffers are passed as unranked memrefs, MLIR's convention for library
// calls (a rank and a descriptor pointer per buffer).
//
//===----------------------------------------------------------------------===//

#ifndef SMX_CONVERSION_LOWERINGUTILS_H
#define SMX_CONVERSION_LOWERINGUTILS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Value.h"
#include "smx/Dialect/Smx/IR/SmxAttributes.h"

namespace mlir::smx {

/// A tensor.empty of `type`.
Value createEmptyTensor(OpBuilder &builder, Location loc,
                        RankedTensorType type);

/// A tensor of `type` filled with `value`.
Value createFilledTensor(OpBuilder &builder, Location loc,
                         RankedTensorType type, Attribute value);

/// The body of an elementwise computation: block arguments in, one value out.
using ElementwiseBody =
    function_ref<Value(OpBuilder &, Location, ValueRange arguments)>;

/// A linalg.generic over the iteration space of `resultType` (all loops
/// parallel) reading `inputs` through `inputMaps` (identity when empty).
Value createElementwise(OpBuilder &builder, Location loc,
                        RankedTensorType resultType, ValueRange inputs,
                        ArrayRef<AffineMap> inputMaps, ElementwiseBody body);

/// The map that reads a tensor of rank `rank` indexed by the trailing loops
/// of a `numLoops`-deep nest (broadcasting a `[D]` vector along `[..., D]`).
AffineMap getTrailingDimsMap(MLIRContext *context, int64_t numLoops,
                             int64_t rank);
/// The map that reads the leading `rank` loops of a `numLoops`-deep nest
/// (a per-row statistic `[...]` broadcast along `[..., D]`).
AffineMap getLeadingDimsMap(MLIRContext *context, int64_t numLoops,
                            int64_t rank);

/// The body of a reduction: (element, accumulator) -> new accumulator.
using ReductionBody = function_ref<Value(OpBuilder &, Location, Value element,
                                         Value accumulator)>;

/// Reduces `input` over dimension `dimension`, starting from `initial`.
/// `prologue`, when given, maps the element (and the values of `extraInputs`
/// broadcast along the reduced dimension) before it is combined.
Value createReduction(OpBuilder &builder, Location loc, Value input,
                      int64_t dimension, Attribute initial,
                      ReductionBody combine,
                      ValueRange extraInputs = {},
                      ElementwiseBody prologue = nullptr);

/// One operand of a runtime GEMM: a row-major matrix inside `tensor` at
/// element `offset` (plus `dynamicOffset`, an i64 value, when set: a loop
/// walking the tensor), with leading dimension `leadingDim`, repeated every
/// `outerStride` / `innerStride` elements over the two batch loops.
struct GemmOperand {
  Value tensor;
  int64_t offset = 0;
  int64_t leadingDim = 0;
  int64_t outerStride = 0;
  int64_t innerStride = 0;
  bool transpose = false;
  Value dynamicOffset = nullptr;
};

/// The problem of a runtime GEMM: `outer` × `inner` products of an m×k and a
/// k×n matrix (after transposes).
struct GemmShape {
  int64_t outer = 1, inner = 1, m = 0, n = 0, k = 0;
};

/// Emits `smxrt_cpu_sgemm` writing into a new tensor of `resultType` (or
/// accumulating into a copy of `accumulator`) laid out as `result`
/// describes (its `tensor` is ignored) and returns the new tensor.
Value emitRuntimeGemm(OpBuilder &builder, Location loc, GemmShape shape,
                      const GemmOperand &a, const GemmOperand &b,
                      RankedTensorType resultType, const GemmOperand &result,
                      Value accumulator = nullptr);

/// `input [M, K] · weight [K, N]` (or `[N, K]` with `transposeWeight`) for
/// a 2-D f32 input: the common dense-layer GEMM.
Value emitMatmul(OpBuilder &builder, Location loc, Value input, Value weight,
                 bool transposeWeight);

/// Calls `name` with the integer `scalars` and the buffers of `inputs`
/// (read) and new buffers of `resultTypes` (written), in that order, and
/// returns the results as tensors. Declares `name` in the module.
SmallVector<Value> emitRuntimeCall(OpBuilder &builder, Location loc,
                                   StringRef name, ValueRange scalars,
                                   ValueRange inputs,
                                   TypeRange resultTypes);

/// A call of the runtime function `name` with `scalars` then the buffers of
/// `inputs` (read-only unranked memrefs) that returns one scalar of
/// `resultType`.
Value emitRuntimeScalarCall(OpBuilder &builder, Location loc, StringRef name,
                            ValueRange scalars, ValueRange inputs,
                            Type resultType);

/// Collapses all leading dimensions: `[a, b, ..., n]` -> `[a·b·..., n]`.
Value collapseToMatrix(OpBuilder &builder, Location loc, Value tensor);
/// The inverse of `collapseToMatrix` for a result of `type`.
Value expandFromMatrix(OpBuilder &builder, Location loc, Value matrix,
                       RankedTensorType type);

/// An `index` constant.
Value indexConstant(OpBuilder &builder, Location loc, int64_t value);

/// `value · factor` for a 0-d f32 tensor.
Value scaleScalar(OpBuilder &builder, Location loc, Value scalar,
                  double factor);

/// Sums every element of an f32 tensor into a 0-d tensor.
Value sumAll(OpBuilder &builder, Location loc, Value tensor);

/// Adds rows of `source` into zeros of `resultType` at the rows `indices`
/// names: for every index tuple `(p..., i...)` of `indices`, with `p...` its
/// first `keptDims` dimensions and `r = indices[p..., i...]`,
/// `result[p..., r, :] += source[p..., i..., :]`. Rows out of range are
/// skipped. Sequential loops: rows may repeat.
Value emitScatterAddRows(OpBuilder &builder, Location loc, Value source,
                         Value indices, RankedTensorType resultType,
                         int64_t keptDims);

/// f32 constants and conversions used by the lowerings.
Value createF32Constant(OpBuilder &builder, Location loc, double value);
/// An i64 constant holding the bits of `value`.
Value createI64Constant(OpBuilder &builder, Location loc, uint64_t value);
/// Converts a float scalar to f32 (accumulation type) and back.
Value extendToF32(OpBuilder &builder, Location loc, Value value);
Value truncateFromF32(OpBuilder &builder, Location loc, Value value,
                      Type elementType);

/// True for a ranked f32 tensor type with a static shape: what the CPU
/// lowerings (f32 GEMMs) accept.
bool isStaticF32Tensor(Type type);

/// The lowerings build static loop nests and GEMM calls: fails with an error
/// on the first op of `dialectNamespace` under `root` with a dynamic shape.
LogicalResult verifyStaticShapes(Operation *root, StringRef dialectNamespace,
                                 StringRef passName);

/// `matrix [M, N] + bias [N]` broadcast over rows.
Value emitBiasAdd(OpBuilder &builder, Location loc, Value matrix, Value bias);

/// A reduction combiner: `element + accumulator`.
Value addFloats(OpBuilder &builder, Location loc, Value element,
                Value accumulator);

/// The scalar activation `kind` of `x` (inside an elementwise body).
Value emitActivation(OpBuilder &builder, Location loc, Activation kind,
                     Value x);

/// `f'(x)` of the activation `kind` for an f32 `x`: the exact derivative
/// of the form emitActivation computes (gelu_tanh differentiates the tanh
/// approximation).
Value emitActivationDerivative(OpBuilder &builder, Location loc,
                               Activation kind, Value x);

/// Counter-based inverted dropout of `input` (smx.dropout's semantics): the
/// element with row-major linear index `i` is kept when the top 24 bits of
/// `mix(mix(seed ^ step·φ) + i·ψ)` (splitmix64's finalizer) read as a
/// number in [0, 1) are at least `rate`, and then scaled by 1/(1 − rate).
///
/// `counterOffset` (an index value), when given, is added to every element's
/// index: a block of a larger tensor computed on its own draws the same mask
/// as the whole tensor when it passes the linear index of its first element.
/// `counterStrides`, when given (one per dimension), replace the row-major
/// strides of `input` in the index: a block whose rows are shorter than
/// the whole tensor's (a device's experts of a layer) indexes the whole.
Value emitDropout(OpBuilder &builder, Location loc, Value input, Value step,
                  double rate, int64_t seed, Value counterOffset = nullptr,
                  ArrayRef<int64_t> counterStrides = {});

/// `input · n` with `n = 1 − jitter + 2·jitter·u` for the same counter-based
/// uniform number `u` as emitDropout's (moe.jitter's semantics), with the
/// same `counterOffset`.
Value emitMultiplicativeJitter(OpBuilder &builder, Location loc, Value input,
                               Value step, double jitter, int64_t seed,
                               Value counterOffset = nullptr);

/// The `index` value of a noise op's optional i64 counter offset (null
/// when the op has none), added to `base` when both are given.
Value getCounterOffsetIndex(OpBuilder &builder, Location loc,
                            Value i64Offset, Value base = nullptr);

/// The pieces of a stable log-sum-exp over the last dimension of a 2-D
/// `[R, C]` tensor: each row's maximum and the sum of `exp(x − maximum)`,
/// both `[R]` f32. `logsumexp = maximum + log(sum)`.
struct RowLogSumExp {
  Value maximum, expSum;
};
RowLogSumExp emitRowLogSumExp(OpBuilder &builder, Location loc, Value matrix);

/// A numerically stable softmax of `input` along `dimension`, accumulated
/// in f32.
Value emitSoftmax(OpBuilder &builder, Location loc, Value input,
                  int64_t dimension);

//===----------------------------------------------------------------------===//
// Row and column maps and sums of `[..., D]` tensors
//===----------------------------------------------------------------------===//

/// The identity map of a `rank`-deep nest.
inline AffineMap identityMap(MLIRContext *context, int64_t rank) {
  return AffineMap::getMultiDimIdentityMap(rank, context);
}

/// The map reading a per-row statistic `[...]` of an `[..., D]` nest.
inline AffineMap rowMap(MLIRContext *context, int64_t rank) {
  return getLeadingDimsMap(context, rank, rank - 1);
}

/// The map reading a `[D]` vector broadcast along `[..., D]`.
inline AffineMap columnMap(MLIRContext *context, int64_t rank) {
  return getTrailingDimsMap(context, rank, 1);
}

/// Sums `input [R..., D]` over its last dimension into `[R...]` (f32),
/// mapping each element (and `extraInputs` broadcast per row) first.
inline Value sumRows(OpBuilder &builder, Location loc, Value input,
                     ValueRange extraInputs, ElementwiseBody prologue) {
  int64_t rank = cast<RankedTensorType>(input.getType()).getRank();
  return createReduction(builder, loc, input, rank - 1,
                         builder.getF32FloatAttr(0.0), addFloats, extraInputs,
                         prologue);
}

/// Sums `matrix [R, D]` over its rows into `[D]` (f32).
inline Value sumColumns(OpBuilder &builder, Location loc, Value matrix) {
  return createReduction(builder, loc, matrix, 0, builder.getF32FloatAttr(0.0),
                         addFloats);
}

} // namespace mlir::smx

#endif // SMX_CONVERSION_LOWERINGUTILS_H
