//===- smx-opt.cpp - run smx passes on MLIR files -------------------------===//
//
// The mlir-opt of smx: parses, verifies and transforms IR of the smx, mix and
// moe dialects and of every upstream dialect the smx pipeline lowers through.
//
//===----------------------------------------------------------------------===//

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "smx/InitAll.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::smx::registerAllSmxDialects(registry);
  mlir::smx::registerAllSmxPasses();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "smx optimizer driver: smx, mix and moe dialects\n",
      registry));
}
