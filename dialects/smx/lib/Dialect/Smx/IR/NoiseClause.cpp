//===- NoiseClause.cpp - syntax of training-noise clauses -----------------===//

#include "smx/Dialect/Smx/IR/NoiseClause.h"

#include "mlir/IR/Builders.h"

namespace mlir::smx {

ParseResult
parseNoiseClause(OpAsmParser &parser, StringRef keyword, FloatAttr &rate,
                 IntegerAttr &seed,
                 std::optional<OpAsmParser::UnresolvedOperand> &step,
                 std::optional<OpAsmParser::UnresolvedOperand> &offset) {
  if (failed(parser.parseOptionalKeyword(keyword)))
    return success();
  Builder &builder = parser.getBuilder();
  double rateValue = 0.0;
  int64_t seedValue = 0;
  if (parser.parseLParen() || parser.parseFloat(rateValue) ||
      parser.parseComma() || parser.parseKeyword("seed") ||
      parser.parseEqual() || parser.parseInteger(seedValue))
    return failure();
  rate = builder.getF64FloatAttr(rateValue);
  seed = builder.getI64IntegerAttr(seedValue);
  if (succeeded(parser.parseOptionalComma())) {
    OpAsmParser::UnresolvedOperand operand;
    if (parser.parseKeyword("step") || parser.parseEqual() ||
        parser.parseOperand(operand))
      return failure();
    step = operand;
    if (succeeded(parser.parseOptionalComma())) {
      if (parser.parseKeyword("offset") || parser.parseEqual() ||
          parser.parseOperand(operand))
        return failure();
      offset = operand;
    }
  }
  return parser.parseRParen();
}

void printNoiseClause(OpAsmPrinter &printer, StringRef keyword,
                      FloatAttr rate, IntegerAttr seed, Value step,
                      Value offset) {
  bool hasRate = rate && !rate.getValue().isZero();
  bool hasSeed = seed && seed.getInt() != 0;
  if (!hasRate && !hasSeed && !step)
    return;
  printer << " " << keyword << "(";
  printer.printFloat(rate ? rate.getValue() : APFloat(0.0));
  printer << ", seed = " << (seed ? seed.getInt() : 0);
  if (step)
    printer << ", step = " << step;
  if (offset)
    printer << ", offset = " << offset;
  printer << ")";
}

void setNoiseCounterOffsetOperand(MutableOperandRange operand, Value offset) {
  if (offset)
    operand.assign(offset);
  else
    operand.clear();
}

LogicalResult verifyNoiseClause(Operation *op, StringRef constraint,
                                StringRef name, APFloat rate, Value step) {
  double value = rate.convertToDouble();
  if (!(value >= 0.0 && value < 1.0))
    return op->emitOpError() << constraint << ": " << name
                             << " must be in [0, 1), got " << value;
  if (value > 0.0 && !step)
    return op->emitOpError() << constraint << ": " << name << " " << value
                             << " needs a step operand to key its random "
                                "stream";
  return success();
}

} // namespace mlir::smx
