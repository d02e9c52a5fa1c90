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

#include "ModelBuilderImpl.h"
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

using namespace mlir::smx::spec::detail;


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
                           step, /*counter_offset=*/Value(),
                           builder.getF64FloatAttr(rate),
                           builder.getI64IntegerAttr(nextSeed()));
}

Value ModelBuilder::crossEntropy(const Twine &path, Value logits, Value labels,
                                 Value weights) {
  return CrossEntropyOp::create(builder, at(path), logits, labels, weights,
                                builder.getI64IntegerAttr(-100),
                                /*count_over=*/nullptr, /*grid_axes=*/nullptr);
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
      hasDropout ? step : Value(), /*counter_offset=*/Value(),
      builder.getI64IntegerAttr(spec.numHeads),
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
