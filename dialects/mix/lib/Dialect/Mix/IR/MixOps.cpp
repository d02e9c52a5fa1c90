//===- MixOps.cpp - mix dialect ops ---------------------------------------===//

#include "smx/Dialect/Mix/IR/MixOps.h"
#include "smx/Dialect/Mix/IR/StructuredMatrices.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"
#include "smx/Dialect/Smx/IR/NoiseClause.h"
#include "smx/Dialect/Smx/IR/ShapeVerification.h"

using namespace mlir;
using namespace mlir::mix;
using smx::verifyElementType;
using smx::verifyRank;
using smx::verifyShape;

/// Checks (C1) of every mixing op: hidden states of rank 3 `[B, L, d]`.
static LogicalResult verifyHiddenStates(Operation *op, StringRef name,
                                        RankedTensorType type) {
  return verifyRank(op, "(C1)", name, type, 3);
}

/// Checks that a mixing parameter has the given shape and the element type
/// of the hidden states.
static LogicalResult verifyParameter(Operation *op, StringRef constraint,
                                     StringRef shapeConstraint, StringRef name,
                                     RankedTensorType type,
                                     ArrayRef<int64_t> shape,
                                     Type elementType) {
  if (failed(verifyShape(op, shapeConstraint, name, type, shape)))
    return failure();
  return verifyElementType(op, constraint, name, type, elementType);
}

/// The size of a Toeplitz parameter vector for an `n`-by-`n` matrix.
static int64_t toeplitzParameterCount(int64_t n) {
  return ShapedType::isDynamic(n) ? ShapedType::kDynamic : 2 * n - 1;
}

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

/// The constraints of `mix.linear` on (input, seq_weight, hidden_weight).
static LogicalResult verifyLinearMixing(Operation *op,
                                        RankedTensorType inputType,
                                        RankedTensorType seqWeightType,
                                        RankedTensorType hiddenWeightType) {
  if (failed(verifyHiddenStates(op, "input", inputType)))
    return failure();
  int64_t length = inputType.getDimSize(1), width = inputType.getDimSize(2);
  Type elementType = inputType.getElementType();
  if (failed(verifyParameter(op, "(C4)", "(C2)", "seq_weight", seqWeightType,
                             {length, length}, elementType)))
    return failure();
  return verifyParameter(op, "(C4)", "(C3)", "hidden_weight",
                         hiddenWeightType, {width, width}, elementType);
}

LogicalResult LinearOp::verify() {
  return verifyLinearMixing(*this, getInput().getType(),
                            getSeqWeight().getType(),
                            getHiddenWeight().getType());
}

LogicalResult LinearGradOp::verify() {
  return verifyLinearMixing(*this, getInput().getType(),
                            getSeqWeight().getType(),
                            getHiddenWeight().getType());
}

LogicalResult LinearOp::buildGradients(OpBuilder &builder,
                                       ArrayRef<Value> resultGradients,
                                       MutableArrayRef<Value> operandGradients) {
  auto grad = LinearGradOp::create(builder, getLoc(), getInput(),
                                   getSeqWeight(), getHiddenWeight(),
                                   resultGradients[0]);
  operandGradients[0] = grad.getInputGrad();
  operandGradients[1] = grad.getSeqWeightGrad();
  operandGradients[2] = grad.getHiddenWeightGrad();
  return success();
}

//===----------------------------------------------------------------------===//
// FourierOp, HartleyOp
//===----------------------------------------------------------------------===//

// Both are sums of P · X · Q with symmetric cosine/sine matrices P and Q, so
// each is its own adjoint: the input gradient is the same transform of the
// result gradient.

LogicalResult FourierOp::buildGradients(OpBuilder &builder,
                                        ArrayRef<Value> resultGradients,
                                        MutableArrayRef<Value> operandGradients) {
  operandGradients[0] = FourierOp::create(builder, getLoc(), resultGradients[0]);
  return success();
}

LogicalResult HartleyOp::buildGradients(OpBuilder &builder,
                                        ArrayRef<Value> resultGradients,
                                        MutableArrayRef<Value> operandGradients) {
  operandGradients[0] = HartleyOp::create(builder, getLoc(), resultGradients[0]);
  return success();
}

LogicalResult FourierOp::verify() {
  return verifyHiddenStates(*this, "input", getInput().getType());
}

LogicalResult HartleyOp::verify() {
  return verifyHiddenStates(*this, "input", getInput().getType());
}

//===----------------------------------------------------------------------===//
// CirculantOp, ToeplitzOp
//===----------------------------------------------------------------------===//

/// Verifies a structured mixing op whose parameter vectors have
/// `parameterCount(L)` and `parameterCount(d)` entries.
template <typename StructuredOp>
static LogicalResult
verifyStructuredMixing(StructuredOp op,
                       function_ref<int64_t(int64_t)> parameterCount) {
  RankedTensorType inputType = op.getInput().getType();
  if (failed(verifyHiddenStates(op, "input", inputType)))
    return failure();
  Type elementType = inputType.getElementType();
  if (failed(verifyParameter(op, "(C4)", "(C2)", "seq_params",
                             op.getSeqParams().getType(),
                             {parameterCount(inputType.getDimSize(1))},
                             elementType)))
    return failure();
  return verifyParameter(op, "(C4)", "(C3)", "hidden_params",
                         op.getHiddenParams().getType(),
                         {parameterCount(inputType.getDimSize(2))},
                         elementType);
}

LogicalResult StructuredParamsGradOp::verify() {
  StringRef structure = getStructure();
  if (structure != "circulant" && structure != "toeplitz")
    return emitOpError() << "(C1): structure must be 'circulant' or "
                            "'toeplitz', got '"
                         << structure << "'";
  RankedTensorType matrixType = getMatrixGrad().getType();
  RankedTensorType paramsType = getParamsGrad().getType();
  if (matrixType.getRank() != 2 ||
      !smx::areSizesCompatible(matrixType.getDimSize(0),
                               matrixType.getDimSize(1)))
    return emitOpError() << "(C2): expected a square matrix gradient, got "
                         << matrixType;
  int64_t n = matrixType.getDimSize(0);
  int64_t count = ShapedType::isDynamic(n) ? n
                  : structure == "circulant" ? n
                                             : 2 * n - 1;
  if (failed(verifyShape(*this, "(C2)", "the parameter gradient", paramsType,
                         {count})))
    return failure();
  return verifyElementType(*this, "(C2)", "the parameter gradient",
                           paramsType, matrixType.getElementType());
}

/// The gradient rule of a structured mixing op: mix.linear_grad on the
/// materialized matrices, then each matrix gradient summed into the
/// parameters it reads.
template <typename StructuredOp>
static LogicalResult
buildStructuredGradients(StructuredOp op, OpBuilder &builder,
                         ArrayRef<Value> resultGradients,
                         MutableArrayRef<Value> operandGradients,
                         ParameterIndexFn parameterIndex, StringRef structure) {
  Location loc = op.getLoc();
  Value seqWeight =
      buildStructuredMatrix(builder, loc, op.getInput(), /*dim=*/1,
                            op.getSeqParams(), /*transpose=*/false,
                            parameterIndex);
  Value hiddenWeight =
      buildStructuredMatrix(builder, loc, op.getInput(), /*dim=*/2,
                            op.getHiddenParams(), /*transpose=*/true,
                            parameterIndex);
  auto grad = LinearGradOp::create(builder, loc, op.getInput(), seqWeight,
                                   hiddenWeight, resultGradients[0]);
  operandGradients[0] = grad.getInputGrad();
  operandGradients[1] = StructuredParamsGradOp::create(
      builder, loc, op.getSeqParams().getType(), grad.getSeqWeightGrad(),
      builder.getStringAttr(structure), /*transpose=*/false);
  operandGradients[2] = StructuredParamsGradOp::create(
      builder, loc, op.getHiddenParams().getType(),
      grad.getHiddenWeightGrad(), builder.getStringAttr(structure),
      /*transpose=*/true);
  return success();
}

LogicalResult CirculantOp::buildGradients(
    OpBuilder &builder, ArrayRef<Value> resultGradients,
    MutableArrayRef<Value> operandGradients) {
  return buildStructuredGradients(*this, builder, resultGradients,
                                  operandGradients, getCirculantIndex,
                                  "circulant");
}

LogicalResult ToeplitzOp::buildGradients(
    OpBuilder &builder, ArrayRef<Value> resultGradients,
    MutableArrayRef<Value> operandGradients) {
  return buildStructuredGradients(*this, builder, resultGradients,
                                  operandGradients, getToeplitzIndex,
                                  "toeplitz");
}

LogicalResult CirculantOp::verify() {
  return verifyStructuredMixing(*this, [](int64_t n) { return n; });
}

LogicalResult ToeplitzOp::verify() {
  return verifyStructuredMixing(*this, toeplitzParameterCount);
}

//===----------------------------------------------------------------------===//
// SelfAttentionOp
//===----------------------------------------------------------------------===//

static ParseResult
parseAttentionDropout(OpAsmParser &parser, FloatAttr &rate, IntegerAttr &seed,
                      std::optional<OpAsmParser::UnresolvedOperand> &step,
                      std::optional<OpAsmParser::UnresolvedOperand> &offset) {
  return smx::parseNoiseClause(parser, "dropout", rate, seed, step, offset);
}

static void printAttentionDropout(OpAsmPrinter &printer, Operation *,
                                  FloatAttr rate, IntegerAttr seed,
                                  Value step, Value offset) {
  smx::printNoiseClause(printer, "dropout", rate, seed, step, offset);
}

/// The constraints of `mix.self_attention` (C1–C4).
static LogicalResult verifySelfAttention(Operation *op,
                                         RankedTensorType hiddenType,
                                         int64_t heads,
                                         RankedTensorType maskType,
                                         APFloat rate, Value step) {
  if (failed(verifyHiddenStates(op, "query, key and value", hiddenType)))
    return failure();
  int64_t width = hiddenType.getDimSize(2);
  if (heads <= 0)
    return op->emitOpError() << "(C2): num_heads must be positive, got "
                             << heads;
  if (!ShapedType::isDynamic(width) && width % heads != 0)
    return op->emitOpError() << "(C2): hidden size " << width
                             << " is not divisible by num_heads = " << heads;
  if (failed(verifyShape(op, "(C3)", "padding_mask", maskType,
                         {hiddenType.getDimSize(0), hiddenType.getDimSize(1)})))
    return failure();
  return smx::verifyNoiseClause(op, "(C4)", "dropout_rate", rate, step);
}

LogicalResult SelfAttentionGradOp::verify() {
  return verifySelfAttention(*this, getQuery().getType(), getNumHeads(),
                             getPaddingMask().getType(), getDropoutRate(),
                             getStep());
}

LogicalResult SelfAttentionOp::buildGradients(
    OpBuilder &builder, ArrayRef<Value> resultGradients,
    MutableArrayRef<Value> operandGradients) {
  auto grad = SelfAttentionGradOp::create(
      builder, getLoc(), getQuery(), getKey(), getValue(), getPaddingMask(),
      resultGradients[0], getStep(), getCounterOffset(), getNumHeadsAttr(),
      getDropoutRateAttr(), getSeedAttr());
  operandGradients[0] = grad.getQueryGrad();
  operandGradients[1] = grad.getKeyGrad();
  operandGradients[2] = grad.getValueGrad();
  return success();
}

LogicalResult SelfAttentionOp::verify() {
  return verifySelfAttention(*this, getQuery().getType(), getNumHeads(),
                             getPaddingMask().getType(), getDropoutRate(),
                             getStep());
}

bool SelfAttentionOp::hasTrainingNoise() {
  return !getDropoutRate().isZero();
}

void SelfAttentionOp::removeTrainingNoise(RewriterBase &rewriter) {
  rewriter.modifyOpInPlace(*this, [&] {
    setDropoutRate(APFloat(0.0));
    setSeed(0);
    getStepMutable().clear();
    getCounterOffsetMutable().clear();
  });
}

int64_t SelfAttentionOp::getNoiseCounterCount() {
  // The probabilities [B, H, L, L].
  RankedTensorType type = getQuery().getType();
  return type.getDimSize(0) * getNumHeads() * type.getDimSize(1) *
         type.getDimSize(1);
}

Value SelfAttentionOp::getNoiseCounterOffset() { return getCounterOffset(); }

void SelfAttentionOp::setNoiseCounterOffset(Value offset) {
  smx::setNoiseCounterOffsetOperand(getCounterOffsetMutable(), offset);
}

#define GET_OP_CLASSES
#include "smx/Dialect/Mix/IR/MixOps.cpp.inc"
