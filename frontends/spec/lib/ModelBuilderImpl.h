//===- ModelBuilderImpl.h - The builder of a model's IR ---------*- C++ -*-===//
//
// The class behind buildModel (ModelBuilder.h), split over ModelBuilder.cpp
// (inputs, parameters, embeddings, mixing, feed-forward, the function),
// MoeLayerBuilder.cpp (mixture-of-experts layers) and HeadsBuilder.cpp
// (pooler, heads and training objectives).
//
//===----------------------------------------------------------------------===//

#ifndef SMX_FRONTEND_SPEC_LIB_MODELBUILDERIMPL_H
#define SMX_FRONTEND_SPEC_LIB_MODELBUILDERIMPL_H

#include "smx/Frontend/Spec/ModelBuilder.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "smx/Dialect/Smx/IR/SmxAttributes.h"
#include "llvm/ADT/Twine.h"

namespace mlir::smx::spec::detail {

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

} // namespace mlir::smx::spec::detail

#endif // SMX_FRONTEND_SPEC_LIB_MODELBUILDERIMPL_H
