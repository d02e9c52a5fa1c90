//===- MoeOps.cpp - moe dialect ops ---------------------------------------===//

#include "smx/Dialect/Moe/IR/MoeOps.h"

#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/PatternMatch.h"
#include "smx/Dialect/Smx/IR/NoiseClause.h"
#include "smx/Dialect/Smx/IR/ShapeVerification.h"
#include "llvm/ADT/SmallSet.h"
#include <algorithm>
#include <cmath>

using namespace mlir;
using namespace mlir::moe;
using smx::getMalformedOperandsPlaceholder;
using smx::formatSize;
using smx::verifyElementType;
using smx::verifyShape;
using smx::verifySizesMatch;

static constexpr int64_t kDynamic = ShapedType::kDynamic;

/// `numerator / denominator`, dynamic when either is.
static int64_t divideSizes(int64_t numerator, int64_t denominator) {
  if (ShapedType::isDynamic(numerator) || ShapedType::isDynamic(denominator))
    return kDynamic;
  return numerator / denominator;
}

/// Checks that a group count divides the token count ((Cn) of several ops).
static LogicalResult verifyGroupsDivideTokens(Operation *op,
                                              StringRef constraint,
                                              int64_t numTokens,
                                              int64_t numGroups) {
  if (ShapedType::isDynamic(numTokens) || ShapedType::isDynamic(numGroups) ||
      (numGroups > 0 && numTokens % numGroups == 0))
    return success();
  return op->emitOpError() << constraint << ": " << numTokens
                           << " tokens cannot be split into " << numGroups
                           << " equal groups";
}

//===----------------------------------------------------------------------===//
// RouterOp
//===----------------------------------------------------------------------===//

static ParseResult
parseJitter(OpAsmParser &parser, FloatAttr &jitter, IntegerAttr &seed,
            std::optional<OpAsmParser::UnresolvedOperand> &step,
            std::optional<OpAsmParser::UnresolvedOperand> &offset) {
  return smx::parseNoiseClause(parser, "jitter", jitter, seed, step, offset);
}

static void printJitter(OpAsmPrinter &printer, Operation *, FloatAttr jitter,
                        IntegerAttr seed, Value step, Value offset) {
  smx::printNoiseClause(printer, "jitter", jitter, seed, step, offset);
}

static ParseResult
parseExpertDropout(OpAsmParser &parser, FloatAttr &rate, IntegerAttr &seed,
                   std::optional<OpAsmParser::UnresolvedOperand> &step,
                   std::optional<OpAsmParser::UnresolvedOperand> &offset) {
  return smx::parseNoiseClause(parser, "dropout", rate, seed, step, offset);
}

static void printExpertDropout(OpAsmPrinter &printer, Operation *,
                               FloatAttr rate, IntegerAttr seed, Value step,
                               Value offset) {
  smx::printNoiseClause(printer, "dropout", rate, seed, step, offset);
}



LogicalResult
RouterOp::inferReturnTypes(MLIRContext *context,
                           std::optional<Location>, Adaptor adaptor,
                           SmallVectorImpl<Type> &inferredReturnTypes) {
  auto inputType = cast<RankedTensorType>(adaptor.getInput().getType());
  auto weightType = cast<RankedTensorType>(adaptor.getWeight().getType());
  Type scoresType =
      getMalformedOperandsPlaceholder(Float32Type::get(context), /*rank=*/2);
  if (inputType.getRank() == 2 && weightType.getRank() == 2)
    scoresType = RankedTensorType::get(
        {inputType.getDimSize(0), weightType.getDimSize(1)},
        Float32Type::get(context));
  inferredReturnTypes.assign({scoresType, scoresType});
  return success();
}

LogicalResult RouterOp::verify() {
  RankedTensorType inputType = getInput().getType();
  RankedTensorType weightType = getWeight().getType();
  if (inputType.getRank() != 2 || weightType.getRank() != 2)
    return emitOpError() << "(C1): expected an input of rank 2 [T, d] and a "
                            "weight of rank 2 [d, E], got "
                         << inputType << " and " << weightType;
  if (failed(verifySizesMatch(*this, "(C2)", "input width",
                              inputType.getDimSize(1), "weight rows",
                              weightType.getDimSize(0))))
    return failure();
  return verifyShape(*this, "(C3)", "bias", getBias().getType(),
                     {weightType.getDimSize(1)});
}

//===----------------------------------------------------------------------===//
// JitterOp
//===----------------------------------------------------------------------===//

LogicalResult JitterOp::verify() {
  if (getJitter().isZero())
    return emitOpError() << "(C1): jitter must be in (0, 1), got 0";
  return smx::verifyNoiseClause(*this, "(C1)", "jitter", getJitter(),
                                getStep());
}

bool JitterOp::hasTrainingNoise() { return true; }

void JitterOp::removeTrainingNoise(RewriterBase &rewriter) {
  rewriter.replaceOp(*this, getInput());
}

int64_t JitterOp::getNoiseCounterCount() {
  return getInput().getType().getNumElements();
}

Value JitterOp::getNoiseCounterOffset() { return getCounterOffset(); }

void JitterOp::setNoiseCounterOffset(Value offset) {
  smx::setNoiseCounterOffsetOperand(getCounterOffsetMutable(), offset);
}

//===----------------------------------------------------------------------===//
// RouteOp
//===----------------------------------------------------------------------===//

int64_t RouteOp::computeGroupCount(int64_t numTokens, int64_t groupSize) {
  if (ShapedType::isDynamic(numTokens))
    return kDynamic;
  int64_t groups = std::max<int64_t>(numTokens / groupSize, 1);
  while (numTokens % groups != 0)
    ++groups;
  return groups;
}

LogicalResult
RouteOp::inferReturnTypes(MLIRContext *context,
                          std::optional<Location>, Adaptor adaptor,
                          SmallVectorImpl<Type> &inferredReturnTypes) {
  auto probsType = cast<RankedTensorType>(adaptor.getProbs().getType());
  double capacityFactor = adaptor.getCapacityFactor().convertToDouble();
  int64_t groupSize = adaptor.getGroupSize();
  if (probsType.getRank() != 2 || !(capacityFactor > 0.0) || groupSize <= 0) {
    inferredReturnTypes.assign(
        {getMalformedOperandsPlaceholder(IntegerType::get(context, 32),
                                         /*rank=*/3),
         getMalformedOperandsPlaceholder(Float32Type::get(context),
                                         /*rank=*/3)});
    return success();
  }
  int64_t numTokens = probsType.getDimSize(0);
  int64_t numExperts = probsType.getDimSize(1);
  int64_t numGroups = computeGroupCount(numTokens, groupSize);
  // The policy's capacity rule sets the static slot count.
  int64_t capacity =
      cast<RoutingPolicyAttrInterface>(adaptor.getPolicy())
          .computeExpertCapacity(divideSizes(numTokens, numGroups), numExperts,
                                 capacityFactor);
  SmallVector<int64_t> slotShape = {numGroups, numExperts, capacity};
  inferredReturnTypes.assign(
      {RankedTensorType::get(slotShape, IntegerType::get(context, 32)),
       RankedTensorType::get(slotShape, Float32Type::get(context))});
  return success();
}

LogicalResult RouteOp::verify() {
  auto policy = cast<RoutingPolicyAttrInterface>(getPolicy());
  RankedTensorType probsType = getProbs().getType();
  if (failed(smx::verifyRank(*this, "(C1)", "probs", probsType, 2)))
    return failure();
  if (!(getCapacityFactor().convertToDouble() > 0.0))
    return emitOpError() << "(C2): capacity_factor must be positive, got "
                         << getCapacityFactor().convertToDouble();
  if (getGroupSize() <= 0)
    return emitOpError() << "(C3): group_size must be positive, got "
                         << getGroupSize();
  bool byTokenId = policy.routesByTokenId();
  if (byTokenId && !getTokenIds())
    return emitOpError() << "(C4): policy " << getPolicy()
                         << " routes by token id and needs token_ids";
  if (!byTokenId && getTokenIds())
    return emitOpError() << "(C4): policy " << getPolicy()
                         << " routes by probability and takes no token_ids";
  if (getTokenIds() &&
      failed(verifyShape(*this, "(C4)", "token_ids", getTokenIds().getType(),
                         {probsType.getDimSize(0)})))
    return failure();
  int64_t numExperts = probsType.getDimSize(1);
  std::optional<int64_t> limit = policy.getExpertsPerTokenLimit();
  if (limit && !ShapedType::isDynamic(numExperts) && *limit > numExperts)
    return emitOpError() << "(C5): policy " << getPolicy()
                         << " sends a token to " << *limit
                         << " experts, but there are only " << numExperts;
  return success();
}

//===----------------------------------------------------------------------===//
// DispatchOp
//===----------------------------------------------------------------------===//

LogicalResult
DispatchOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                             Adaptor adaptor,
                             SmallVectorImpl<Type> &inferredReturnTypes) {
  auto inputType = cast<RankedTensorType>(adaptor.getInput().getType());
  auto indicesType = cast<RankedTensorType>(adaptor.getIndices().getType());
  if (inputType.getRank() != 2 || indicesType.getRank() != 3) {
    inferredReturnTypes.push_back(
        getMalformedOperandsPlaceholder(inputType.getElementType(),
                                        /*rank=*/4));
    return success();
  }
  SmallVector<int64_t> shape(indicesType.getShape());
  shape.push_back(inputType.getDimSize(1));
  inferredReturnTypes.push_back(
      RankedTensorType::get(shape, inputType.getElementType()));
  return success();
}

LogicalResult DispatchOp::verify() {
  RankedTensorType inputType = getInput().getType();
  RankedTensorType indicesType = getIndices().getType();
  if (inputType.getRank() != 2 || indicesType.getRank() != 3)
    return emitOpError() << "(C1): expected an input of rank 2 [T, d] and "
                            "indices of rank 3 [G, E, C], got "
                         << inputType << " and " << indicesType;
  return verifyGroupsDivideTokens(*this, "(C2)", inputType.getDimSize(0),
                                  indicesType.getDimSize(0));
}

//===----------------------------------------------------------------------===//
// ExpertFFNOp
//===----------------------------------------------------------------------===//

LogicalResult
ExpertFFNOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                              Adaptor adaptor,
                              SmallVectorImpl<Type> &inferredReturnTypes) {
  inferredReturnTypes.push_back(adaptor.getInput().getType());
  return success();
}

/// The constraints of `moe.expert_ffn` (C1–C6) on its operand types.
static LogicalResult verifyExpertFFN(Operation *op, RankedTensorType inputType,
                                     RankedTensorType inWeightType,
                                     RankedTensorType inBiasType,
                                     RankedTensorType outWeightType,
                                     RankedTensorType outBiasType) {
  if (inputType.getRank() != 4)
    return op->emitOpError() << "(C1): expected an input of rank 4 [G, E, C, d], "
                            "got "
                         << inputType;
  int64_t experts = inputType.getDimSize(1), width = inputType.getDimSize(3);
  int64_t hidden =
      inWeightType.getRank() == 3 ? inWeightType.getDimSize(2) : kDynamic;
  struct Parameter {
    StringRef constraint, name;
    RankedTensorType type;
    SmallVector<int64_t> shape;
  };
  Parameter parameters[] = {
      {"(C2)", "in_weight", inWeightType, {experts, width, hidden}},
      {"(C3)", "in_bias", inBiasType, {experts, hidden}},
      {"(C4)", "out_weight", outWeightType, {experts, hidden, width}},
      {"(C5)", "out_bias", outBiasType, {experts, width}}};
  for (const Parameter &parameter : parameters)
    if (failed(verifyShape(op, parameter.constraint, parameter.name,
                           parameter.type, parameter.shape)) ||
        failed(verifyElementType(op, "(C6)", parameter.name, parameter.type,
                                 inputType.getElementType())))
      return failure();
  return success();
}

/// (C8): the counter's experts are whole copies of the op's.
static LogicalResult verifyCounterExperts(Operation *op,
                                          RankedTensorType inputType,
                                          std::optional<uint64_t> counter) {
  int64_t experts = inputType.getDimSize(1);
  if (!counter || ShapedType::isDynamic(experts))
    return success();
  int64_t value = static_cast<int64_t>(*counter);
  if (value <= 0 || value % experts != 0)
    return op->emitOpError() << "(C8): counter_experts " << value
                             << " is not a positive multiple of the "
                             << experts << " experts";
  return success();
}

LogicalResult ExpertFFNOp::verify() {
  if (failed(verifyExpertFFN(*this, getInput().getType(),
                             getInWeight().getType(), getInBias().getType(),
                             getOutWeight().getType(),
                             getOutBias().getType())) ||
      failed(verifyCounterExperts(*this, getInput().getType(),
                                  getCounterExperts())))
    return failure();
  return smx::verifyNoiseClause(*this, "(C7)", "dropout_rate",
                                getDropoutRate(), getStep());
}

int64_t ExpertFFNOp::getNoiseCounterCount() {
  // The activations [G, E, C, F].
  RankedTensorType input = getInput().getType();
  return input.getDimSize(0) * input.getDimSize(1) * input.getDimSize(2) *
         getInWeight().getType().getDimSize(2);
}

Value ExpertFFNOp::getNoiseCounterOffset() { return getCounterOffset(); }

void ExpertFFNOp::setNoiseCounterOffset(Value offset) {
  smx::setNoiseCounterOffsetOperand(getCounterOffsetMutable(), offset);
}

bool ExpertFFNOp::hasTrainingNoise() { return !getDropoutRate().isZero(); }

void ExpertFFNOp::removeTrainingNoise(RewriterBase &rewriter) {
  rewriter.modifyOpInPlace(*this, [&] {
    setDropoutRate(APFloat(0.0));
    setSeed(0);
    getStepMutable().clear();
    getCounterOffsetMutable().clear();
    removeCounterExpertsAttr();
  });
}

LogicalResult ExpertFFNGradOp::verify() {
  if (failed(verifyExpertFFN(*this, getInput().getType(),
                             getInWeight().getType(), getInBias().getType(),
                             getOutWeight().getType(),
                             getOutBias().getType())) ||
      failed(verifyCounterExperts(*this, getInput().getType(),
                                  getCounterExperts())))
    return failure();
  return smx::verifyNoiseClause(*this, "(C7)", "dropout_rate",
                                getDropoutRate(), getStep());
}

//===----------------------------------------------------------------------===//
// CombineOp
//===----------------------------------------------------------------------===//

/// The constraints of `moe.combine` (C1–C4) on its operand and result types.
static LogicalResult verifyCombine(Operation *op, RankedTensorType inputType,
                                   RankedTensorType indicesType,
                                   RankedTensorType weightsType,
                                   RankedTensorType resultType) {
  if (inputType.getRank() != 4 || resultType.getRank() != 2)
    return op->emitOpError() << "(C1): expected an input of rank 4 [G, E, C, d] "
                            "and a result of rank 2 [T, d], got "
                         << inputType << " and " << resultType;
  if (failed(verifyElementType(op, "(C1)", "result", resultType,
                               inputType.getElementType())))
    return failure();
  ArrayRef<int64_t> slotShape = inputType.getShape().drop_back();
  if (failed(verifyShape(op, "(C2)", "indices", indicesType,
                         slotShape)) ||
      failed(verifyShape(op, "(C2)", "weights", weightsType,
                         slotShape)) ||
      failed(verifySizesMatch(op, "(C3)", "result width",
                              resultType.getDimSize(1), "slot width",
                              inputType.getDimSize(3))))
    return failure();
  return verifyGroupsDivideTokens(op, "(C4)", resultType.getDimSize(0),
                                  inputType.getDimSize(0));
}

LogicalResult CombineOp::verify() {
  return verifyCombine(*this, getInput().getType(), getIndices().getType(),
                       getWeights().getType(), getResult().getType());
}

LogicalResult CombineGradOp::verify() {
  return verifyCombine(*this, getInput().getType(), getIndices().getType(),
                       getWeights().getType(), getResultGrad().getType());
}

LogicalResult RouteGradOp::verify() {
  RankedTensorType gradType = getWeightsGrad().getType();
  RankedTensorType probsType = getProbsGrad().getType();
  if (gradType.getRank() != 3 || probsType.getRank() != 2)
    return emitOpError() << "(C1): expected weights_grad [G, E, C] and a "
                            "result [T, E], got "
                         << gradType << " and " << probsType;
  if (failed(verifyShape(*this, "(C1)", "indices", getIndices().getType(),
                         gradType.getShape())) ||
      failed(verifySizesMatch(*this, "(C1)", "result experts",
                              probsType.getDimSize(1), "slot experts",
                              gradType.getDimSize(1))))
    return failure();
  return verifyGroupsDivideTokens(*this, "(C1)", probsType.getDimSize(0),
                                  gradType.getDimSize(0));
}

//===----------------------------------------------------------------------===//
// LoadBalanceLossOp, RouterZLossOp
//===----------------------------------------------------------------------===//

/// Checks (C1) of both auxiliary losses: router scores of rank 2 `[T, E]`.
static LogicalResult verifyRouterScores(Operation *op, StringRef name,
                                        RankedTensorType type) {
  return smx::verifyRank(op, "(C1)", name, type, 2);
}

LogicalResult LoadBalanceLossOp::inferReturnTypes(
    MLIRContext *context, std::optional<Location>, Adaptor,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  return smx::inferScalarLossType(context, inferredReturnTypes);
}

/// The constraints of `moe.load_balance_loss` (C1–C3).
static LogicalResult verifyLoadBalance(Operation *op,
                                       RankedTensorType probsType,
                                       int64_t topK, int64_t groups) {
  if (failed(verifyRouterScores(op, "probs", probsType)))
    return failure();
  int64_t numExperts = probsType.getDimSize(1);
  if (topK < 1 || (!ShapedType::isDynamic(numExperts) && topK > numExperts))
    return op->emitOpError() << "(C2): top_k must be in [1, " << formatSize(numExperts)
                         << "], got " << topK;
  if (groups <= 0)
    return op->emitOpError() << "(C3): groups must be positive, got "
                         << groups;
  return verifyGroupsDivideTokens(op, "(C3)", probsType.getDimSize(0),
                                  groups);
}

LogicalResult LoadBalanceLossOp::verify() {
  return verifyLoadBalance(*this, getProbs().getType(), getTopK(),
                           getGroups());
}

LogicalResult LoadBalanceLossGradOp::verify() {
  return verifyLoadBalance(*this, getProbs().getType(), getTopK(),
                           getGroups());
}

LogicalResult RouterZLossOp::inferReturnTypes(
    MLIRContext *context, std::optional<Location>, Adaptor,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  return smx::inferScalarLossType(context, inferredReturnTypes);
}

LogicalResult RouterZLossOp::verify() {
  return verifyRouterScores(*this, "logits", getLogits().getType());
}

LogicalResult RouterZLossGradOp::verify() {
  return verifyRouterScores(*this, "logits", getLogits().getType());
}

//===----------------------------------------------------------------------===//
// AllToAllOp
//===----------------------------------------------------------------------===//

LogicalResult AllToAllOp::verify() {
  int64_t rank = getInput().getType().getRank();
  for (auto [name, axis] :
       {std::pair<StringRef, int64_t>{"split_axis", getSplitAxis()},
        {"concat_axis", getConcatAxis()}})
    if (axis < 0 || axis >= rank)
      return emitOpError() << "(C3): " << name << " " << axis
                           << " is out of range for an input of rank " << rank;
  return success();
}

LogicalResult
AllToAllOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  shard::GridOp grid = shard::getGridOrNull(*this, getGridAttr(), symbolTable);
  if (!grid)
    return emitOpError() << "(C1): " << getGridAttr()
                         << " does not name a shard.grid";
  ArrayRef<int64_t> gridShape = grid.getShape();
  llvm::SmallSet<int16_t, 4> seenAxes;
  for (int16_t axis : getGridAxes()) {
    if (axis < 0 || axis >= static_cast<int64_t>(gridShape.size()))
      return emitOpError() << "(C2): grid axis " << axis
                           << " is out of range for grid " << getGridAttr()
                           << " of rank " << gridShape.size();
    if (!seenAxes.insert(axis).second)
      return emitOpError() << "(C2): grid axis " << axis << " repeats";
  }
  int64_t devices = shard::collectiveProcessGroupSize(getGridAxes(), grid);
  RankedTensorType inputType = getInput().getType();
  int64_t splitAxis = getSplitAxis(), concatAxis = getConcatAxis();
  // verify() reports axes out of range; symbol uses may be checked anyway.
  if (splitAxis < 0 || splitAxis >= inputType.getRank() || concatAxis < 0 ||
      concatAxis >= inputType.getRank())
    return failure();
  int64_t splitSize = inputType.getDimSize(splitAxis);
  if (!ShapedType::isDynamic(devices) && !ShapedType::isDynamic(splitSize) &&
      splitSize % devices != 0)
    return emitOpError() << "(C4): split_axis " << splitAxis << " of size "
                         << splitSize << " is not divisible by the "
                         << devices << " devices along the grid axes";
  FailureOr<RankedTensorType> expected = inferResultType(symbolTable);
  if (failed(expected))
    return failure();
  return verifyShape(*this, "(C5)", "result", getResult().getType(),
                     expected->getShape());
}

FailureOr<RankedTensorType>
AllToAllOp::inferResultType(SymbolTableCollection &symbolTables) {
  shard::GridOp grid = shard::getGridOrNull(*this, getGridAttr(), symbolTables);
  RankedTensorType inputType = getInput().getType();
  int64_t splitAxis = getSplitAxis(), concatAxis = getConcatAxis();
  if (!grid || splitAxis < 0 || splitAxis >= inputType.getRank() ||
      concatAxis < 0 || concatAxis >= inputType.getRank())
    return failure();
  int64_t devices = shard::collectiveProcessGroupSize(getGridAxes(), grid);
  SmallVector<int64_t> shape(inputType.getShape());
  if (!ShapedType::isDynamic(devices) && !ShapedType::isDynamic(shape[splitAxis]) &&
      shape[splitAxis] % devices != 0)
    return failure();
  shape[splitAxis] = divideSizes(shape[splitAxis], devices);
  if (!ShapedType::isDynamic(shape[concatAxis]) &&
      !ShapedType::isDynamic(devices))
    shape[concatAxis] *= devices;
  else
    shape[concatAxis] = kDynamic;
  return inputType.clone(shape);
}

//===----------------------------------------------------------------------===//
// ExpertLoadOp
//===----------------------------------------------------------------------===//

LogicalResult
ExpertLoadOp::inferReturnTypes(MLIRContext *context,
                               std::optional<Location>,
                               Adaptor adaptor,
                               SmallVectorImpl<Type> &inferredReturnTypes) {
  auto indicesType =
      cast<RankedTensorType>(adaptor.getDispatchIndices().getType());
  auto probsType = cast<RankedTensorType>(adaptor.getProbs().getType());
  Type loadType = getMalformedOperandsPlaceholder(IntegerType::get(context, 64),
                                                  /*rank=*/1);
  if (indicesType.getRank() == 3 && probsType.getRank() == 2)
    loadType = RankedTensorType::get({indicesType.getDimSize(1)},
                                     IntegerType::get(context, 64));
  inferredReturnTypes.assign(
      {loadType, RankedTensorType::get({}, Float32Type::get(context))});
  return success();
}

LogicalResult ExpertLoadOp::verify() {
  RankedTensorType indicesType = getDispatchIndices().getType();
  RankedTensorType probsType = getProbs().getType();
  if (indicesType.getRank() != 3 || probsType.getRank() != 2)
    return emitOpError() << "(C1): expected dispatch_indices of rank 3 "
                            "[G, E, C] and probs of rank 2 [T, E], got "
                         << indicesType << " and " << probsType;
  if (failed(verifySizesMatch(*this, "(C2)", "experts in dispatch_indices",
                              indicesType.getDimSize(1), "experts in probs",
                              probsType.getDimSize(1))))
    return failure();
  return verifyGroupsDivideTokens(*this, "(C3)", probsType.getDimSize(0),
                                  indicesType.getDimSize(0));
}

#define GET_OP_CLASSES
#include "smx/Dialect/Moe/IR/MoeOps.cpp.inc"
