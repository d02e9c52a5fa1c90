//===- RuntimeCalls.cpp - Calls into the runtime's kernels ----------------===//

#include "smx/Conversion/LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "smx/Dialect/Smx/IR/ModelInterface.h"
#include "smx_runtime/model_abi.h"
#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::smx;

/// Declares `name` with `type` in the module around `op`, once.
static void declareRuntimeFunction(OpBuilder &builder, Operation *op,
                                   StringRef name, FunctionType type) {
  auto module = op->getParentOfType<ModuleOp>();
  if (SymbolTable::lookupSymbolIn(module, name))
    return;
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(module.getBody());
  auto function = func::FuncOp::create(builder, module.getLoc(), name, type);
  function.setPrivate();
}

/// The buffer of `tensor` as an unranked memref, read-only.
static Value getReadBuffer(OpBuilder &builder, Location loc, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  auto memrefType = MemRefType::get(type.getShape(), type.getElementType());
  Value buffer = bufferization::ToBufferOp::create(builder, loc, memrefType,
                                                   tensor, /*read_only=*/true);
  return memref::CastOp::create(
      builder, loc, UnrankedMemRefType::get(type.getElementType(), 0), buffer);
}

SmallVector<Value> mlir::smx::emitRuntimeCall(OpBuilder &builder, Location loc,
                                              StringRef name,
                                              ValueRange scalars,
                                              ValueRange inputs,
                                              TypeRange resultTypes) {
  SmallVector<Value> operands(scalars);
  for (Value input : inputs)
    operands.push_back(getReadBuffer(builder, loc, input));
  SmallVector<Value> resultBuffers;
  for (Type type : resultTypes) {
    auto tensorType = cast<RankedTensorType>(type);
    auto memrefType =
        MemRefType::get(tensorType.getShape(), tensorType.getElementType());
    Value buffer = memref::AllocOp::create(builder, loc, memrefType,
                                           builder.getI64IntegerAttr(64));
    resultBuffers.push_back(buffer);
    operands.push_back(memref::CastOp::create(
        builder, loc, UnrankedMemRefType::get(tensorType.getElementType(), 0),
        buffer));
  }
  declareRuntimeFunction(
      builder, builder.getInsertionBlock()->getParentOp(), name,
      builder.getFunctionType(ValueRange(operands).getTypes(), {}));
  func::CallOp::create(builder, loc, name, TypeRange(), operands);
  SmallVector<Value> results;
  for (auto [type, buffer] : llvm::zip_equal(resultTypes, resultBuffers))
    results.push_back(bufferization::ToTensorOp::create(
        builder, loc, type, buffer, /*restrict=*/builder.getUnitAttr(),
        /*writable=*/builder.getUnitAttr()));
  return results;
}

Value mlir::smx::emitRuntimeScalarCall(OpBuilder &builder, Location loc,
                                      StringRef name, ValueRange scalars,
                                      ValueRange inputs, Type resultType) {
  SmallVector<Value> operands(scalars);
  for (Value input : inputs)
    operands.push_back(getReadBuffer(builder, loc, input));
  declareRuntimeFunction(
      builder, builder.getInsertionBlock()->getParentOp(), name,
      builder.getFunctionType(ValueRange(operands).getTypes(), {resultType}));
  return func::CallOp::create(builder, loc, name, TypeRange{resultType},
                              operands)
      .getResult(0);
}

/// The runtime GEMM compiled code calls in the module around `op`: with
/// bf16 operands (kPrecisionAttrName) for the CPU, the one that rounds them
/// to bfloat16 and sums their products in f32; otherwise the f32 one. On
/// CUDA (kGpuArchAttrName) that is the f32 one too, which
/// smx-use-cuda-runtime points at cuBLASLt's bf16 compute.
static StringRef getGemmEntryPoint(Operation *op) {
  auto module = op->getParentOfType<ModuleOp>();
  auto precision =
      module ? module->getAttrOfType<StringAttr>(kPrecisionAttrName) : nullptr;
  if (precision && precision.getValue() == "bf16" &&
      !module->hasAttr(kGpuArchAttrName))
    return SMXRT_SYMBOL_STRING(SMXRT_CPU_SGEMM_BF16_MEMREF);
  return SMXRT_SYMBOL_STRING(SMXRT_CPU_SGEMM_MEMREF);
}

Value mlir::smx::emitRuntimeGemm(OpBuilder &builder, Location loc,
                                 GemmShape shape, const GemmOperand &a,
                                 const GemmOperand &b,
                                 RankedTensorType resultType,
                                 const GemmOperand &result, Value accumulator) {
  Value aTensor = a.tensor, bTensor = b.tensor;
  auto constant = [&](int64_t value) {
    return createI64Constant(builder, loc, value);
  };
  SmallVector<Value> operands = {
      constant(shape.outer), constant(shape.inner),
      constant(shape.m),     constant(shape.n),
      constant(shape.k),     constant(a.transpose),
      constant(b.transpose), constant(accumulator ? 1 : 0)};
  auto appendMatrix = [&](Value buffer, const GemmOperand &operand) {
    Value offset = constant(operand.offset);
    if (operand.dynamicOffset)
      offset = operand.offset == 0
                   ? operand.dynamicOffset
                   : arith::AddIOp::create(builder, loc, offset,
                                           operand.dynamicOffset)
                         .getResult();
    operands.append({buffer, offset, constant(operand.leadingDim),
                     constant(operand.outerStride),
                     constant(operand.innerStride)});
  };
  appendMatrix(getReadBuffer(builder, loc, aTensor), a);
  appendMatrix(getReadBuffer(builder, loc, bTensor), b);
  auto memrefType =
      MemRefType::get(resultType.getShape(), resultType.getElementType());
  Value resultBuffer = memref::AllocOp::create(builder, loc, memrefType,
                                               builder.getI64IntegerAttr(64));
  if (accumulator) {
    Value source = bufferization::ToBufferOp::create(
        builder, loc, memrefType, accumulator, /*read_only=*/true);
    memref::CopyOp::create(builder, loc, source, resultBuffer);
  }
  appendMatrix(memref::CastOp::create(
                   builder, loc,
                   UnrankedMemRefType::get(resultType.getElementType(), 0),
                   resultBuffer),
               result);
  StringRef name =
      getGemmEntryPoint(builder.getInsertionBlock()->getParentOp());
  declareRuntimeFunction(
      builder, builder.getInsertionBlock()->getParentOp(), name,
      builder.getFunctionType(ValueRange(operands).getTypes(), {}));
  func::CallOp::create(builder, loc, name, TypeRange(), operands);
  return bufferization::ToTensorOp::create(
      builder, loc, resultType, resultBuffer,
      /*restrict=*/builder.getUnitAttr(), /*writable=*/builder.getUnitAttr());
}

Value mlir::smx::emitMatmul(OpBuilder &builder, Location loc, Value input,
                            Value weight, bool transposeWeight) {
  auto inputType = cast<RankedTensorType>(input.getType());
  auto weightType = cast<RankedTensorType>(weight.getType());
  int64_t rows = inputType.getDimSize(0), depth = inputType.getDimSize(1);
  int64_t columns = weightType.getDimSize(transposeWeight ? 0 : 1);
  GemmShape shape;
  shape.m = rows;
  shape.n = columns;
  shape.k = depth;
  GemmOperand a{input, 0, depth, 0, 0, false};
  GemmOperand b{weight, 0, transposeWeight ? depth : columns,
                0,      0, transposeWeight};
  GemmOperand c{Value(), 0, columns, 0, 0, false};
  auto resultType =
      RankedTensorType::get({rows, columns}, inputType.getElementType());
  return emitRuntimeGemm(builder, loc, shape, a, b, resultType, c);
}
