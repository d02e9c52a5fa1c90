//===- Gradients.cpp - reverse mode over a block of smx ops ---------------===//

#include "smx/Training/Gradients.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/TypeUtilities.h"
#include "smx/Dialect/Smx/IR/SmxInterfaces.h"

using namespace mlir;
using namespace mlir::smx;

void GradientMap::accumulate(OpBuilder &builder, Location loc, Value value,
                             Value gradient) {
  Value &slot = gradients[value];
  slot = slot ? arith::AddFOp::create(builder, loc, slot, gradient).getResult()
              : gradient;
}

LogicalResult mlir::smx::backpropagate(ArrayRef<Operation *> ops,
                                       Operation *insertionPoint,
                                       GradientMap &gradients) {
  OpBuilder builder(insertionPoint);
  for (Operation *op : llvm::reverse(ops)) {
    SmallVector<Value> resultGradients;
    bool reachesLoss = false;
    for (Value result : op->getResults()) {
      resultGradients.push_back(gradients.lookup(result));
      reachesLoss |= static_cast<bool>(resultGradients.back());
    }
    // A gradient stops at ops without float operands (constants, integer
    // arithmetic): no parameter is behind them.
    bool hasFloatOperand = llvm::any_of(op->getOperandTypes(), [](Type type) {
      return isa<FloatType>(getElementTypeOrSelf(type));
    });
    if (!reachesLoss || !hasFloatOperand)
      continue;
    auto differentiable = dyn_cast<DifferentiableOpInterface>(op);
    if (!differentiable)
      return op->emitOpError()
             << "is on the path from the parameters to the loss but has no "
                "gradient (it does not implement DifferentiableOpInterface)";
    SmallVector<Value> operandGradients(op->getNumOperands());
    if (failed(differentiable.buildGradients(builder, resultGradients,
                                             operandGradients)))
      return failure();
    for (auto [operand, gradient] :
         llvm::zip_equal(op->getOperands(), operandGradients))
      if (gradient)
        gradients.accumulate(builder, op->getLoc(), operand, gradient);
  }
  return success();
}
