//===- ModelBuilder.cpp - ModelSpec to smx/mix/moe IR ---------------------===//
//
// Emits the forward function of a model block by block, in the order of
// docs/weights.md. Parameters become function arguments as they are first
// used, each tagged with its weight name; every op is located at the weight
// path of the block that emits it (`loc("layers.3.mixing")`), so diagnostics
// and dumps read in the model's own terms. The task decides what the
// function returns: the model's outputs, or the loss terms and metrics of a
// training objective (docs/training.md, "Objectives the frontend builds").
//
//===----------------------------------------------------------------------===//

#include "smx/Frontend/Spec/ModelBuilder.h"

#include "TensorSizes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "smx/Dialect/Mix/IR/MixOps.h"
#include "smx/Dialect/Moe/IR/MoeOps.h"
#include "smx/Dialect/Smx/IR/SmxOps.h"
#include "llvm/ADT/Twine.h"

using namespace mlir;
using namespace mlir::smx;
using namespace mlir::smx::spec;

namespace {
class ModelBuilder {
public:
  ModelBuilder(MLIRContext *context, const ModelSpec &spec, CompileShape shape,
               ModelTask task)
      : builder(context), spec(spec), shape(shape), task(task),
        f32(builder.getF32Type()), i32(builder.getI32Type()) {}

  OwningOpRef<ModuleOp> build(Location location);

private:
  // Interface of the forward function.
  Value addInput(StringRef name, Type type);
  Value parameter(const Twine &name, ArrayRef<int64_t> shape);
  /// Adds a result; `batchMajor` when it has one row per sequence.
  void addOutput(StringRef name, Value value, bool batchMajor = false);
  /// Adds a term of the training loss with weight `weight`; with weight 0 it
  /// is only reported (a metric), so the train step does not differentiate
  /// a term that cannot change the loss.
  void addLoss(StringRef name, Value value, double weight);
  /// Adds a statistic that the train step reports.
  void addMetric(StringRef name, Value value);
  /// Adds a result named `name` with the further attributes `extra`.
  void addResult(StringRef name, Value value, ArrayRef<NamedAttribute> extra);
  Location at(const Twine &path);
  int64_t nextSeed() { return seedCounter++; }

  // Building blocks.
  RankedTensorType hiddenType(int64_t width) const {
    return RankedTensorType::get({shape.batch, shape.sequence, width}, f32);
  }
  Value dense(const Twine &path, Value input, int64_t inWidth,
              int64_t outWidth);
  Value layerNorm(const Twine &path, Value input, int64_t width);
  Value dropout(Value input, double rate);
  /// The mean cross-entropy of `logits` against `labels` (weighted by
  /// `weights` when given).
  Value crossEntropy(const Twine &path, Value logits, Value labels,
                     Value weights = Value());

  // The model.
  Value embeddings();
  Value mixing(int64_t layer, Value hidden);
  Value attention(const Twine &path, Value hidden);
  Value feedForward(int64_t layer, Value hidden);
  Value mixtureOfExperts(int64_t layer, Value hidden);
  /// The outputs or objective of the task, from the final hidden states.
  void heads(Value sequenceOutput);
  /// `tanh(h[:, 0] · W + b)`, the input of the sentence-level heads.
  Value pooler(Value sequenceOutput);
  /// The MLM logits [B, P, V] at the `mlm_positions` of every sequence.
  Value maskedLmHead(Value sequenceOutput);

  OpBuilder builder;
  const ModelSpec &spec;
  CompileShape shape;
  ModelTask task;
  Type f32, i32;

  Block *body = nullptr;
  SmallVector<DictionaryAttr> argumentAttrs;
  SmallVector<Value> outputs;
  SmallVector<DictionaryAttr> outputAttrs;
  Value inputIds, typeIds, step, paddingMask;
  /// The word embedding table, which the MLM head's output projection
  /// shares.
  Value wordEmbeddings;
  /// The inputs of the training objectives (null when the task has none).
  Value mlmPositions, mlmLabels, mlmWeights, orderLabels, labels;
  int64_t seedCounter = 1;
};
} // namespace

Location ModelBuilder::at(const Twine &path) {
  return NameLoc::get(builder.getStringAttr(path));
}

Value ModelBuilder::addInput(StringRef name, Type type) {
  argumentAttrs.push_back(builder.getDictionaryAttr(
      builder.getNamedAttr(kInputAttrName, builder.getStringAttr(name))));
  return body->addArgument(type, at(name));
}

Value ModelBuilder::parameter(const Twine &name, ArrayRef<int64_t> dims) {
  std::string text = name.str();
  // docs/weights.md: biases start at 0, layer-norm scales at 1, the rest
  // from N(0, 0.02).
  StringRef init = StringRef(text).ends_with("bias")    ? "zeros"
                   : StringRef(text).ends_with(".scale") ? "ones"
                                                         : "normal";
  argumentAttrs.push_back(builder.getDictionaryAttr(
      {builder.getNamedAttr(kParameterAttrName, builder.getStringAttr(text)),
       builder.getNamedAttr(kInitAttrName, builder.getStringAttr(init))}));
  return body->addArgument(RankedTensorType::get(dims, f32), at(text));
}

void ModelBuilder::addResult(StringRef name, Value value,
                             ArrayRef<NamedAttribute> extra) {
  outputs.push_back(value);
  SmallVector<NamedAttribute, 2> attributes = {
      builder.getNamedAttr(kOutputAttrName, builder.getStringAttr(name))};
  llvm::append_range(attributes, extra);
  outputAttrs.push_back(builder.getDictionaryAttr(attributes));
}

void ModelBuilder::addOutput(StringRef name, Value value, bool batchMajor) {
  if (!batchMajor)
    return addResult(name, value, {});
  addResult(name, value,
            builder.getNamedAttr(kBatchMajorAttrName, builder.getUnitAttr()));
}

void ModelBuilder::addLoss(StringRef name, Value value, double weight) {
  if (weight == 0.0)
    return addMetric(name, value);
  addResult(
      name, value,
      builder.getNamedAttr(kLossAttrName, builder.getF64FloatAttr(weight)));
}

void ModelBuilder::addMetric(StringRef name, Value value) {
  addResult(name, value,
            builder.getNamedAttr(kMetricAttrName, builder.getUnitAttr()));
}

Value ModelBuilder::dense(const Twine &path, Value input, int64_t inWidth,
                          int64_t outWidth) {
  Value weight = parameter(path + ".weight", {inWidth, outWidth});
  Value bias = parameter(path + ".bias", {outWidth});
  return DenseOp::create(builder, at(path), input, weight, bias,
                         /*transpose_weight=*/false, /*activation=*/nullptr);
}

Value ModelBuilder::layerNorm(const Twine &path, Value input, int64_t width) {
  Value scale = parameter(path + ".scale", {width});
  Value bias = parameter(path + ".bias", {width});
  return LayerNormOp::create(builder, at(path), input.getType(), input,
                             /*residual=*/Value(), scale, bias,
                             builder.getF64FloatAttr(spec.layerNormEpsilon));
}

Value ModelBuilder::dropout(Value input, double rate) {
  if (rate == 0.0)
    return input;
  return DropoutOp::create(builder, input.getLoc(), input.getType(), input,
                           step, builder.getF64FloatAttr(rate),
                           builder.getI64IntegerAttr(nextSeed()));
}

Value ModelBuilder::crossEntropy(const Twine &path, Value logits, Value labels,
                                 Value weights) {
  return CrossEntropyOp::create(builder, at(path), logits, labels, weights,
                                builder.getI64IntegerAttr(-100));
}

Value ModelBuilder::embeddings() {
  int64_t width = spec.embeddingWidth;
  Location loc = at("embeddings");
  wordEmbeddings = parameter("embeddings.word", {spec.vocabSize, width});
  Value words =
      EmbeddingLookupOp::create(builder, at("embeddings.word"),
                                EmbeddingKind::word, wordEmbeddings, inputIds);
  // Position ids 0..S-1 of every sequence.
  auto idsType = RankedTensorType::get({shape.batch, shape.sequence}, i32);
  Value positionIds = tensor::GenerateOp::create(
      builder, loc, idsType, ValueRange(),
      [&](OpBuilder &nested, Location nestedLoc, ValueRange indices) {
        Value position =
            arith::IndexCastOp::create(nested, nestedLoc, i32, indices[1]);
        tensor::YieldOp::create(nested, nestedLoc, position);
      });
  Value positions = EmbeddingLookupOp::create(
      builder, at("embeddings.position"), EmbeddingKind::position,
      parameter("embeddings.position", {spec.maxLength, width}), positionIds);
  Value types = EmbeddingLookupOp::create(
      builder, at("embeddings.type"), EmbeddingKind::type,
      parameter("embeddings.type", {spec.typeVocabSize, width}), typeIds);
  Value sum = arith::AddFOp::create(
      builder, loc, arith::AddFOp::create(builder, loc, words, positions),
      types);
  Value normalized = layerNorm("embeddings.layer_norm", sum, width);
  Value projected = dense("embeddings.projection", normalized, width,
                          spec.modelWidth);
  return dropout(projected, spec.hiddenDropout);
}

Value ModelBuilder::attention(const Twine &path, Value hidden) {
  int64_t width = spec.modelWidth;
  Value query = dense(path + ".query", hidden, width, width);
  Value key = dense(path + ".key", hidden, width, width);
  Value value = dense(path + ".value", hidden, width, width);
  bool hasDropout = spec.attentionDropout > 0.0;
  Value attended = mix::SelfAttentionOp::create(
      builder, at(path), hidden.getType(), query, key, value, paddingMask,
      hasDropout ? step : Value(), builder.getI64IntegerAttr(spec.numHeads),
      builder.getF64FloatAttr(spec.attentionDropout),
      builder.getI64IntegerAttr(hasDropout ? nextSeed() : 0));
  return dense(path + ".output", attended, width, width);
}

Value ModelBuilder::mixing(int64_t layer, Value hidden) {
  std::string path = "layers." + std::to_string(layer) + ".mixing";
  int64_t length = shape.sequence, width = spec.modelWidth;
  Type type = hidden.getType();
  Value mixed;
  // Parameters are created one statement at a time: function arguments are
  // numbered in creation order, and C++ leaves the order of evaluation of
  // call arguments unspecified.
  switch (spec.layerMixing[layer]) {
  case MixingKind::Linear: {
    Value seqWeight = parameter(path + ".seq_weight", {length, length});
    Value hiddenWeight = parameter(path + ".hidden_weight", {width, width});
    mixed = mix::LinearOp::create(builder, at(path), type, hidden, seqWeight,
                                  hiddenWeight);
    break;
  }
  case MixingKind::Fourier:
    mixed = mix::FourierOp::create(builder, at(path), hidden);
    break;
  case MixingKind::Hartley:
    mixed = mix::HartleyOp::create(builder, at(path), hidden);
    break;
  case MixingKind::Circulant: {
    Value seqParams = parameter(path + ".seq_params", {length});
    Value hiddenParams = parameter(path + ".hidden_params", {width});
    mixed = mix::CirculantOp::create(builder, at(path), type, hidden,
                                     seqParams, hiddenParams);
    break;
  }
  case MixingKind::Toeplitz: {
    Value seqParams = parameter(path + ".seq_params", {2 * length - 1});
    Value hiddenParams = parameter(path + ".hidden_params", {2 * width - 1});
    mixed = mix::ToeplitzOp::create(builder, at(path), type, hidden,
                                    seqParams, hiddenParams);
    break;
  }
  case MixingKind::Attention:
    mixed = attention(path, hidden);
    break;
  }
  // Post-LN, no dropout on the mixing output (docs/weights.md).
  Value sum = ResidualAddOp::create(builder, at(path), type, mixed, hidden);
  return layerNorm("layers." + std::to_string(layer) + ".mixing_layer_norm",
                   sum, width);
}

Value ModelBuilder::feedForward(int64_t layer, Value hidden) {
  std::string path = "layers." + std::to_string(layer) + ".ffn";
  Value inner = dense(path + ".input", hidden, spec.modelWidth,
                      spec.feedForwardWidth);
  Value activated = ActivationOp::create(builder, at(path), inner.getType(),
                                         spec.activation, inner);
  return dense(path + ".output", activated, spec.feedForwardWidth,
               spec.modelWidth);
}

Value ModelBuilder::mixtureOfExperts(int64_t layer, Value hidden) {
  const MoeSpec &moe = *spec.moe;
  std::string prefix = "layers." + std::to_string(layer) + ".moe";
  std::string statsPrefix = "moe." + std::to_string(layer) + ".";
  int64_t width = spec.modelWidth, experts = moe.numExperts;
  int64_t tokens = shape.batch * shape.sequence;
  Location loc = at(prefix);

  SmallVector<ReassociationIndices> flatten = {{0, 1}, {2}};
  Value flat = tensor::CollapseShapeOp::create(builder, loc, hidden, flatten);

  Value routerWeight = parameter(prefix + ".router.weight", {width, experts});
  Value routerBias = parameter(prefix + ".router.bias", {experts});
  // Jitter (training only) perturbs what the router sees, not what the
  // experts get.
  Value routerInput = flat;
  if (moe.router.jitter > 0.0)
    routerInput = moe::JitterOp::create(
        builder, at(prefix + ".router.jitter"), flat, step,
        builder.getF64FloatAttr(moe.router.jitter),
        builder.getI64IntegerAttr(nextSeed()));
  auto router =
      moe::RouterOp::create(builder, at(prefix + ".router"), routerInput,
                            routerWeight, routerBias);

  // The policy attribute from its mnemonic; the parser accepted only
  // registered policies and the options they read.
  MLIRContext *context = builder.getContext();
  const moe::RoutingPolicyInfo *policyInfo =
      moe::lookupRoutingPolicy(moe.router.policy);
  assert(policyInfo && "the spec parser accepts only registered policies");
  auto policy = cast<moe::RoutingPolicyAttrInterface>(policyInfo->buildFromSpec(
      context, moe::RoutingPolicyOptions{moe.router.k,
                                         moe.router.batchPrioritized}));
  Value tokenIds;
  if (policy.routesByTokenId())
    tokenIds = tensor::CollapseShapeOp::create(
        builder, loc, inputIds, SmallVector<ReassociationIndices>{{0, 1}});
  auto route = moe::RouteOp::create(
      builder, at(prefix + ".route"), router.getProbs(), tokenIds, policy,
      builder.getF64FloatAttr(moe.trainCapacityFactor),
      builder.getI64IntegerAttr(moe.groupSize));
  route->setAttr(kLayerAttrName, builder.getI64IntegerAttr(layer));
  Value slots = moe::DispatchOp::create(builder, loc, flat,
                                        route.getDispatchIndices());
  std::string expertPath = prefix + ".experts";
  int64_t inner = spec.feedForwardWidth;
  Value inWeight =
      parameter(expertPath + ".input.weight", {experts, width, inner});
  Value inBias = parameter(expertPath + ".input.bias", {experts, inner});
  Value outWeight =
      parameter(expertPath + ".output.weight", {experts, inner, width});
  Value outBias = parameter(expertPath + ".output.bias", {experts, width});
  // Expert dropout: on the experts' activations, in training only.
  bool hasExpertDropout = moe.expertDropout > 0.0;
  Value expertOutputs = moe::ExpertFFNOp::create(
      builder, at(expertPath), slots.getType(), slots, inWeight, inBias,
      outWeight, outBias, hasExpertDropout ? step : Value(),
      ActivationAttr::get(context, spec.activation),
      builder.getF64FloatAttr(moe.expertDropout),
      builder.getI64IntegerAttr(hasExpertDropout ? nextSeed() : 0));
  Value combined = moe::CombineOp::create(
      builder, loc, flat.getType(), expertOutputs, route.getDispatchIndices(),
      route.getCombineWeights());
  Value unflattened = tensor::ExpandShapeOp::create(
      builder, loc, hidden.getType(), combined, flatten);

  auto load = moe::ExpertLoadOp::create(builder, loc,
                                        route.getDispatchIndices(),
                                        router.getProbs());
  Value zLoss = moe::RouterZLossOp::create(builder, loc, router.getLogits());
  Value balanceLoss;
  if (policy.usesLoadBalanceLoss()) {
    int64_t groups = moe::RouteOp::computeGroupCount(tokens, moe.groupSize);
    balanceLoss = moe::LoadBalanceLossOp::create(
        builder, loc, router.getProbs(),
        policy.getExpertsPerTokenLimit().value_or(1), groups);
  }

  if (task != ModelTask::Inference) {
    // ST-MoE: total = cross-entropy + factors x auxiliary losses, each
    // summed over the MoE layers (one term per layer).
    addMetric(statsPrefix + "tokens_per_expert", load.getTokensPerExpert());
    addMetric(statsPrefix + "dropped_fraction", load.getDroppedFraction());
    addLoss(statsPrefix + "router_z_loss", zLoss, moe.zLossFactor);
    if (balanceLoss)
      addLoss(statsPrefix + "load_balance_loss", balanceLoss,
              moe.loadBalanceLossFactor);
    return unflattened;
  }
  addOutput(statsPrefix + "dispatch_indices", route.getDispatchIndices());
  addOutput(statsPrefix + "combine_weights", route.getCombineWeights());
  addOutput(statsPrefix + "tokens_per_expert", load.getTokensPerExpert());
  addOutput(statsPrefix + "dropped_fraction", load.getDroppedFraction());
  addOutput(statsPrefix + "router_z_loss", zLoss);
  if (balanceLoss)
    addOutput(statsPrefix + "load_balance_loss", balanceLoss);
  return unflattened;
}

Value ModelBuilder::pooler(Value sequenceOutput) {
  int64_t width = spec.modelWidth;
  Location loc = at("heads.pooler");
  // The first token of every sequence: [B, 1, d] -> [B, d].
  auto firstTokenType = RankedTensorType::get({shape.batch, 1, width}, f32);
  Value firstToken = tensor::ExtractSliceOp::create(
      builder, loc, firstTokenType, sequenceOutput, ValueRange(), ValueRange(),
      ValueRange(), builder.getDenseI64ArrayAttr({0, 0, 0}),
      builder.getDenseI64ArrayAttr({shape.batch, 1, width}),
      builder.getDenseI64ArrayAttr({1, 1, 1}));
  Value first = tensor::CollapseShapeOp::create(
      builder, loc, firstToken, SmallVector<ReassociationIndices>{{0, 1}, {2}});
  Value pooledDense = dense("heads.pooler", first, width, width);
  return ActivationOp::create(builder, loc, pooledDense.getType(),
                              Activation::tanh, pooledDense);
}

Value ModelBuilder::maskedLmHead(Value sequenceOutput) {
  // docs/weights.md: LN(gelu_tanh(h · W + b)) · embeddings.wordᵀ +
  // output_bias, on the hidden states at the masked positions only.
  int64_t width = spec.embeddingWidth;
  Location loc = at("heads.mlm");
  Value masked =
      GatherPositionsOp::create(builder, loc, sequenceOutput, mlmPositions);
  Value transformed = dense("heads.mlm.dense", masked, spec.modelWidth, width);
  Value activated = ActivationOp::create(builder, loc, transformed.getType(),
                                         Activation::gelu_tanh, transformed);
  Value normalized = layerNorm("heads.mlm.layer_norm", activated, width);
  Value outputBias = parameter("heads.mlm.output_bias", {spec.vocabSize});
  return DenseOp::create(builder, loc, normalized, wordEmbeddings, outputBias,
                         /*transpose_weight=*/true, /*activation=*/nullptr);
}

void ModelBuilder::heads(Value sequenceOutput) {
  int64_t width = spec.modelWidth;
  switch (task) {
  case ModelTask::Inference: {
    addOutput("sequence_output", sequenceOutput, /*batchMajor=*/true);
    if (!spec.heads.needsPooler())
      return;
    Value pooled = pooler(sequenceOutput);
    addOutput("pooled_output", pooled, /*batchMajor=*/true);
    if (spec.heads.sentenceOrder)
      addOutput("sentence_order_logits",
                dense("heads.sentence_order", pooled, width, 2),
                /*batchMajor=*/true);
    if (spec.heads.classifierOutputs)
      addOutput("classifier_logits",
                dense("heads.classifier", pooled, width,
                      *spec.heads.classifierOutputs),
                /*batchMajor=*/true);
    return;
  }
  case ModelTask::Pretrain: {
    Value mlmLogits = maskedLmHead(sequenceOutput);
    addLoss("mlm_loss",
            crossEntropy("heads.mlm", mlmLogits, mlmLabels, mlmWeights),
            /*weight=*/1.0);
    if (!spec.heads.sentenceOrder)
      return;
    Value pooled = pooler(sequenceOutput);
    Value orderLogits = dense("heads.sentence_order", pooled, width, 2);
    addLoss("sentence_order_loss",
            crossEntropy("heads.sentence_order", orderLogits, orderLabels),
            /*weight=*/1.0);
    return;
  }
  case ModelTask::Finetune: {
    Value pooled = pooler(sequenceOutput);
    Value logits =
        dense("heads.classifier", pooled, width, *spec.heads.classifierOutputs);
    Value loss;
    if (spec.heads.regression) {
      // One output per sequence: [B, 1] against the [B] targets.
      Value scores = tensor::CollapseShapeOp::create(
          builder, at("heads.classifier"), logits,
          SmallVector<ReassociationIndices>{{0, 1}});
      loss = MeanSquaredErrorOp::create(builder, at("heads.classifier"),
                                        scores, labels);
    } else {
      loss = crossEntropy("heads.classifier", logits, labels);
    }
    addLoss("classifier_loss", loss, /*weight=*/1.0);
    // For accuracy in evaluation; the train step reports only losses and
    // metrics, so it drops this result.
    addOutput("classifier_logits", logits, /*batchMajor=*/true);
    return;
  }
  }
  llvm_unreachable("unknown model task");
}

OwningOpRef<ModuleOp> ModelBuilder::build(Location location) {
  OwningOpRef<ModuleOp> module = ModuleOp::create(location, spec.name);
  builder.setInsertionPointToEnd(module->getBody());
  auto function = func::FuncOp::create(builder, location, kForwardFunctionName,
                                       builder.getFunctionType({}, {}));
  body = function.addEntryBlock();
  builder.setInsertionPointToStart(body);

  auto idsType = RankedTensorType::get({shape.batch, shape.sequence}, i32);
  inputIds = addInput("input_ids", idsType);
  typeIds = addInput("type_ids", idsType);
  step = addInput("step", builder.getI64Type());
  // The labels of the training objective, after the inputs every task has.
  if (task == ModelTask::Pretrain) {
    int64_t slots = shape.predictionSlots();
    auto slotIdsType = RankedTensorType::get({shape.batch, slots}, i32);
    mlmPositions = addInput("mlm_positions", slotIdsType);
    mlmLabels = addInput("mlm_labels", slotIdsType);
    mlmWeights = addInput("mlm_weights",
                          RankedTensorType::get({shape.batch, slots}, f32));
    if (spec.heads.sentenceOrder)
      orderLabels =
          addInput("order_labels", RankedTensorType::get({shape.batch}, i32));
  } else if (task == ModelTask::Finetune) {
    // Class indices, or the targets of a regression head.
    labels = addInput("labels", RankedTensorType::get(
                                    {shape.batch},
                                    spec.heads.regression ? Type(f32) : i32));
  }
  // Pad tokens have id 0; attention masks them as keys.
  Value padId = arith::ConstantOp::create(
      builder, at("padding_mask"), DenseElementsAttr::get(idsType, 0));
  paddingMask = arith::CmpIOp::create(builder, at("padding_mask"),
                                      arith::CmpIPredicate::ne, inputIds,
                                      padId);

  Value hidden = embeddings();
  for (int64_t layer = 0; layer < spec.numLayers; ++layer) {
    Value mixed = mixing(layer, hidden);
    Value transformed = spec.layerIsMoe[layer]
                            ? mixtureOfExperts(layer, mixed)
                            : feedForward(layer, mixed);
    Value sum =
        ResidualAddOp::create(builder, transformed.getLoc(), mixed.getType(),
                              dropout(transformed, spec.hiddenDropout), mixed);
    hidden = layerNorm("layers." + std::to_string(layer) + ".output_layer_norm",
                       sum, spec.modelWidth);
  }
  // The sequence output (or the objective's losses) leads the results: move
  // the per-layer statistics collected so far behind it and the heads.
  SmallVector<Value> layerOutputs = std::move(outputs);
  SmallVector<DictionaryAttr> layerOutputAttrs = std::move(outputAttrs);
  outputs.clear();
  outputAttrs.clear();
  heads(hidden);
  outputs.append(layerOutputs);
  outputAttrs.append(layerOutputAttrs);

  func::ReturnOp::create(builder, location, outputs);
  function.setFunctionType(builder.getFunctionType(
      body->getArgumentTypes(), ValueRange(outputs).getTypes()));
  function.setAllArgAttrs(argumentAttrs);
  function.setAllResultAttrs(outputAttrs);
  module->getOperation()->setAttr(kModelAttrName,
                                  builder.getStringAttr(spec.name));
  // The objective a training pipeline builds the train step for (the
  // manifest's `task`).
  if (task != ModelTask::Inference)
    module->getOperation()->setAttr(
        kTaskAttrName, builder.getStringAttr(task == ModelTask::Pretrain
                                                 ? SMXRT_TASK_PRETRAIN
                                                 : SMXRT_TASK_FINETUNE));
  return module;
}

/// Checks that `spec` has the heads `task` trains, reporting at `location`.
static LogicalResult verifyTask(const ModelSpec &spec, CompileShape shape,
                                ModelTask task, Location location) {
  switch (task) {
  case ModelTask::Inference:
    return success();
  case ModelTask::Pretrain:
    if (!spec.heads.mlm)
      return emitError(location)
             << "pre-training needs the masked-LM head, but the spec sets "
                "'heads.mlm' to false";
    if (shape.maxPredictions < 1)
      return emitError(location)
             << "pre-training needs at least 1 masked-LM prediction per "
                "sequence, got "
             << shape.maxPredictions;
    return success();
  case ModelTask::Finetune:
    if (!spec.heads.classifierOutputs)
      return emitError(location)
             << "fine-tuning needs a classifier head, but the spec has no "
                "'heads.classifier'";
    return success();
  }
  llvm_unreachable("unknown model task");
}

OwningOpRef<ModuleOp> mlir::smx::spec::buildModel(MLIRContext *context,
                                                  const ModelSpec &spec,
                                                  CompileShape shape,
                                                  Location location,
                                                  ModelTask task) {
  context->loadDialect<arith::ArithDialect, func::FuncDialect,
                       tensor::TensorDialect, SmxDialect, mix::MixDialect,
                       moe::MoeDialect>();
  if (failed(verifyTask(spec, shape, task, location)))
    return nullptr;
  OwningOpRef<ModuleOp> module =
      ModelBuilder(context, spec, shape, task).build(location);
  if (module && failed(checkTensorSizes(*module, spec, location)))
    return nullptr;
  return module;
}
