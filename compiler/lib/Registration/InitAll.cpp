//===- InitAll.cpp - register smx dialects and passes ---------------------===//

#include "smx/InitAll.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Transforms/FuncBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Shard/IR/ShardDialect.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "smx/Conversion/Passes.h"
#include "smx/Dialect/Mix/IR/MixDialect.h"
#include "smx/Dialect/Mix/Transforms/Passes.h"
#include "smx/Dialect/Moe/IR/MoeDialect.h"
#include "smx/Dialect/Moe/Transforms/Passes.h"
#include "smx/Dialect/Smx/IR/SmxDialect.h"
#include "smx/Dialect/Smx/Transforms/Passes.h"
#include "smx/Partition/Passes.h"
#include "smx/Pipelines/Pipelines.h"
#include "smx/Target/CPU/Passes.h"
#include "smx/Target/CUDA/Passes.h"
#include "smx/Training/Passes.h"

void mlir::smx::registerAllSmxDialects(DialectRegistry &registry) {
  registry.insert<smx::SmxDialect, mix::MixDialect, moe::MoeDialect>();
  registry.insert<func::FuncDialect, arith::ArithDialect, math::MathDialect,
                  tensor::TensorDialect, linalg::LinalgDialect,
                  bufferization::BufferizationDialect, scf::SCFDialect,
                  memref::MemRefDialect, gpu::GPUDialect, NVVM::NVVMDialect,
                  LLVM::LLVMDialect, shard::ShardDialect,
                  // Loop-level IR the pipelines print (linalg's loops).
                  affine::AffineDialect, omp::OpenMPDialect>();

  // Without these, lowering fails at run time, not at build time: dialect
  // conversions to LLVM, "op was not bufferized", a crash in
  // gpu-module-to-binary, "missing LLVMTranslationDialectInterface".
  registerAllExtensions(registry);
  arith::registerBufferizableOpInterfaceExternalModels(registry);
  linalg::registerBufferizableOpInterfaceExternalModels(registry);
  tensor::registerBufferizableOpInterfaceExternalModels(registry);
  scf::registerBufferizableOpInterfaceExternalModels(registry);
  bufferization::func_ext::registerBufferizableOpInterfaceExternalModels(
      registry);
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  registerAllToLLVMIRTranslations(registry);
  smx::registerGradientExternalModels(registry);
}

void mlir::smx::registerAllSmxPasses() {
  registerAllPasses();
  smx::registerSmxPasses();
  mix::registerMixPasses();
  moe::registerMoePasses();
  smx::registerSmxConversionPasses();
  smx::registerSmxCpuTargetPasses();
  smx::registerSmxCudaTargetPasses();
  smx::registerSmxPartitionPasses();
  smx::registerSmxTrainingPasses();
  smx::registerSmxPipelines();
}
