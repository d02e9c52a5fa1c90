//===- CpuPipeline.cpp - spec-level IR to LLVM for the CPU ----------------===//

#include "smx/Pipelines/Pipelines.h"

#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/raw_ostream.h"
#include <cstdio>

using namespace mlir;

void mlir::smx::buildCpuPipeline(OpPassManager &pm,
                                 const CpuPipelineOptions &options) {
  // Written as a textual pipeline: it reads like DESIGN.md's pipeline and
  // can be run step by step with smx-opt. The text is fixed, so a parse
  // failure is a bug in this file (or a pass not registered).
  std::string capacity;
  if (options.capacityFactor > 0.0) {
    char factor[32];
    std::snprintf(factor, sizeof(factor), "%.17g",
                  options.capacityFactor.getValue());
    capacity = "moe-set-capacity-factor{capacity-factor=" +
               std::string(factor) + "},";
  }
  std::string pipeline =
      std::string(options.evaluation ? "smx-strip-training-noise," : "") +
      "smx-fuse," + capacity + "mix-materialize-structured-weights," +
      (options.entryPoints ? "smx-build-manifest," : "") +
      "convert-smx-to-linalg,convert-mix-to-linalg,convert-moe-to-linalg,"
      "func.func(convert-elementwise-to-linalg),canonicalize,"
      // No `cse` from here to bufferization: runtime calls read their
      // tensors through `bufferization.to_buffer` placed right before the
      // call, and CSE would merge those reads into the first one, hiding
      // later reads from One-Shot Bufferize (which may then write in place
      // into a buffer a later call still reads). docs/rationale.md.
      "func.func(linalg-fuse-elementwise-ops),"
      "func.func(smx-approximate-math),"
      "one-shot-bufferize{bufferize-function-boundaries "
      "function-boundary-type-conversion=identity-layout-map},"
      "buffer-results-to-out-params{modify-public-functions},"
      "buffer-deallocation-pipeline," +
      (options.entryPoints ? "smx-emit-entry-points," : "") +
      (options.threads
           ? "func.func(convert-linalg-to-parallel-loops),"
             "func.func(smx-prepare-parallel-loops),convert-scf-to-openmp,"
           : "func.func(convert-linalg-to-loops),") +
      // Memrefs before control flow: the bodies of OpenMP loops sit in
      // single-block `memref.alloca_scope` regions until the memref
      // lowering inlines them.
      "lower-affine,expand-strided-metadata,lower-affine,"
      "finalize-memref-to-llvm{use-generic-functions},convert-scf-to-cf,"
      "convert-math-to-llvm,"
      "convert-math-to-libm,convert-to-llvm,reconcile-unrealized-casts";
  if (failed(parsePassPipeline(pipeline, pm, llvm::errs())))
    llvm::report_fatal_error("smx-cpu-pipeline: invalid pipeline text");
}

void mlir::smx::registerSmxPipelines() {
  PassPipelineRegistration<CpuPipelineOptions>(
      "smx-cpu-pipeline",
      "Lowers a model's forward function to LLVM with its C entry points",
      buildCpuPipeline);
}
