//===- UpstreamGradients.cpp - reverse-mode rules of upstream ops ---------===//
//
// The model builder uses a few upstream ops between smx ops: tensor
// arithmetic (summed embeddings, weighted loss terms), reshapes around MoE layers and the [CLS] slice of the
// pooler. Their gradients are attached as external models of
// DifferentiableOpInterface, so the train-step builder treats every op the
// same way.
//
//===----------------------------------------------------------------------===//

#include "smx/Training/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "smx/Dialect/Smx/IR/SmxInterfaces.h"

using namespace mlir;
using namespace mlir::smx;

namespace {

/// `a + b`: the gradient reaches both operands unchanged.
struct AddFGradient
    : DifferentiableOpInterface::ExternalModel<AddFGradient, arith::AddFOp> {
  LogicalResult buildGradients(Operation *, OpBuilder &,
                               ArrayRef<Value> resultGradients,
                               MutableArrayRef<Value> operandGradients) const {
    operandGradients[0] = resultGradients[0];
    operandGradients[1] = resultGradients[0];
    return success();
  }
};

/// `a · b`: each operand's gradient is the result gradient times the other.
struct MulFGradient
    : DifferentiableOpInterface::ExternalModel<MulFGradient, arith::MulFOp> {
  LogicalResult buildGradients(Operation *op, OpBuilder &builder,
                               ArrayRef<Value> resultGradients,
                               MutableArrayRef<Value> operandGradients) const {
    Location loc = op->getLoc();
    operandGradients[0] = arith::MulFOp::create(
        builder, loc, resultGradients[0], op->getOperand(1));
    operandGradients[1] = arith::MulFOp::create(
        builder, loc, resultGradients[0], op->getOperand(0));
    return success();
  }
};

/// `a − b`: the gradient, and its negation.
struct SubFGradient
    : DifferentiableOpInterface::ExternalModel<SubFGradient, arith::SubFOp> {
  LogicalResult buildGradients(Operation *op, OpBuilder &builder,
                               ArrayRef<Value> resultGradients,
                               MutableArrayRef<Value> operandGradients) const {
    operandGradients[0] = resultGradients[0];
    operandGradients[1] =
        arith::NegFOp::create(builder, op->getLoc(), resultGradients[0]);
    return success();
  }
};

/// A collapse is undone by the expansion with the same reassociation.
struct CollapseShapeGradient
    : DifferentiableOpInterface::ExternalModel<CollapseShapeGradient,
                                               tensor::CollapseShapeOp> {
  LogicalResult buildGradients(Operation *op, OpBuilder &builder,
                               ArrayRef<Value> resultGradients,
                               MutableArrayRef<Value> operandGradients) const {
    auto collapse = cast<tensor::CollapseShapeOp>(op);
    if (!collapse.getSrcType().hasStaticShape())
      return op->emitOpError() << "needs a static source shape for its "
                                  "gradient";
    operandGradients[0] = tensor::ExpandShapeOp::create(
        builder, op->getLoc(), collapse.getSrcType(), resultGradients[0],
        collapse.getReassociationIndices());
    return success();
  }
};

/// An expansion is undone by the collapse with the same reassociation.
struct ExpandShapeGradient
    : DifferentiableOpInterface::ExternalModel<ExpandShapeGradient,
                                               tensor::ExpandShapeOp> {
  LogicalResult buildGradients(Operation *op, OpBuilder &builder,
                               ArrayRef<Value> resultGradients,
                               MutableArrayRef<Value> operandGradients) const {
    auto expand = cast<tensor::ExpandShapeOp>(op);
    operandGradients[0] = tensor::CollapseShapeOp::create(
        builder, op->getLoc(), expand.getSrcType(), resultGradients[0],
        expand.getReassociationIndices());
    return success();
  }
};

/// A slice's gradient is the result gradient inserted at the slice's place
/// into zeros of the source's shape.
struct ExtractSliceGradient
    : DifferentiableOpInterface::ExternalModel<ExtractSliceGradient,
                                               tensor::ExtractSliceOp> {
  LogicalResult buildGradients(Operation *op, OpBuilder &builder,
                               ArrayRef<Value> resultGradients,
                               MutableArrayRef<Value> operandGradients) const {
    auto slice = cast<tensor::ExtractSliceOp>(op);
    RankedTensorType sourceType = slice.getSourceType();
    auto elementType = dyn_cast<FloatType>(sourceType.getElementType());
    if (!sourceType.hasStaticShape() || !elementType)
      return op->emitOpError() << "needs a static float source for its "
                                  "gradient";
    Location loc = op->getLoc();
    Value zeros = arith::ConstantOp::create(
        builder, loc,
        DenseElementsAttr::get(sourceType, FloatAttr::get(elementType, 0.0)));
    operandGradients[slice.getSourceMutable().getOperandNumber()] =
        tensor::InsertSliceOp::create(builder, loc, resultGradients[0], zeros,
                                      slice.getMixedOffsets(),
                                      slice.getMixedSizes(),
                                      slice.getMixedStrides());
    return success();
  }
};

} // namespace

void mlir::smx::registerGradientExternalModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *context, arith::ArithDialect *) {
    arith::AddFOp::attachInterface<AddFGradient>(*context);
    arith::MulFOp::attachInterface<MulFGradient>(*context);
    arith::SubFOp::attachInterface<SubFGradient>(*context);
  });
  registry.addExtension(+[](MLIRContext *context, tensor::TensorDialect *) {
    tensor::CollapseShapeOp::attachInterface<CollapseShapeGradient>(*context);
    tensor::ExpandShapeOp::attachInterface<ExpandShapeGradient>(*context);
    tensor::ExtractSliceOp::attachInterface<ExtractSliceGradient>(*context);
  });
}
