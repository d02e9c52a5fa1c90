//===- Passes.h - smx conversion passes -------------------------*- C++ -*-===//

#ifndef SMX_CONVERSION_PASSES_H
#define SMX_CONVERSION_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Shard/IR/ShardDialect.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"

namespace mlir::smx {

#define GEN_PASS_DECL
#include "smx/Conversion/Passes.h.inc"

/// Patterns lowering the smx, mix and moe ops (see the passes' contracts).
void populateSmxToLinalgPatterns(RewritePatternSet &patterns);
/// The training ops of smx (dropout, losses, gradient ops, optimizer); part
/// of populateSmxToLinalgPatterns.
void populateSmxTrainingToLinalgPatterns(RewritePatternSet &patterns);
/// The smx gradient ops' patterns, part of
/// populateSmxTrainingToLinalgPatterns.
void populateSmxGradientsToLinalgPatterns(RewritePatternSet &patterns);
void populateMixToLinalgPatterns(RewritePatternSet &patterns);
void populateMoeToLinalgPatterns(RewritePatternSet &patterns);
/// The moe gradient ops' patterns, part of populateMoeToLinalgPatterns.
void populateMoeGradientsToLinalgPatterns(RewritePatternSet &patterns);

#define GEN_PASS_REGISTRATION
#include "smx/Conversion/Passes.h.inc"

} // namespace mlir::smx

#endif // SMX_CONVERSION_PASSES_H
