//===- NoiseClause.h - syntax of training-noise clauses ---------*- C++ -*-===//
//
// Ops that draw training-only noise (attention dropout, router jitter) spell
// it the same way: `<keyword>(<rate>, seed = <seed>[, step = %step
// [, offset = %offset]])`, or nothing when there is no noise. `offset` is
// the counter of the op's first element in the unsharded tensor (the
// partitioning passes set it). These helpers back the ODS custom
// directives of those ops.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_DIALECT_SMX_IR_NOISECLAUSE_H
#define SMX_DIALECT_SMX_IR_NOISECLAUSE_H

#include "mlir/IR/OpImplementation.h"
#include <optional>

namespace mlir::smx {

ParseResult
parseNoiseClause(OpAsmParser &parser, StringRef keyword, FloatAttr &rate,
                 IntegerAttr &seed,
                 std::optional<OpAsmParser::UnresolvedOperand> &step,
                 std::optional<OpAsmParser::UnresolvedOperand> &offset);

void printNoiseClause(OpAsmPrinter &printer, StringRef keyword,
                      FloatAttr rate, IntegerAttr seed, Value step,
                      Value offset);

/// Sets a noise op's optional counter-offset `operand` to `offset`, or
/// clears it when `offset` is null.
void setNoiseCounterOffsetOperand(MutableOperandRange operand, Value offset);

/// Checks a noise rate in [0, 1) and that a positive rate has a step to key
/// its random stream; `constraint` and `name` label the message.
LogicalResult verifyNoiseClause(Operation *op, StringRef constraint,
                                StringRef name, APFloat rate, Value step);

} // namespace mlir::smx

#endif // SMX_DIALECT_SMX_IR_NOISECLAUSE_H
