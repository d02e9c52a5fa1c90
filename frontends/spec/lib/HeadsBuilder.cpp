//===- HeadsBuilder.cpp - A spec's heads and training objectives ----------===//
//
// The pooler, the masked-LM and sentence-order heads, the classifier, and
// what the task returns: outputs, or loss terms and metrics
// (docs/training.md, "Objectives the frontend builds").
//
//===----------------------------------------------------------------------===//

#include "ModelBuilderImpl.h"

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
      loss = MeanSquaredErrorOp::create(builder, at("heads.classifier"), scores,
                                        labels);
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
