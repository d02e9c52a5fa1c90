//===- smxc.cpp - the smx compiler driver ---------------------------------===//
//
// smxc SPEC.yaml [-o OUT] [--emit=mlir] [--batch N] [--seq N]
//
// Reads a model spec, builds its smx/mix/moe IR and writes the stage that
// --emit names. Spec errors are reported as file:line:col and exit 1.
//
//===----------------------------------------------------------------------===//

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Support/FileUtilities.h"
#include "smx/Frontend/Spec/ModelBuilder.h"
#include "smx/Frontend/Spec/SpecParser.h"
#include "smx/InitAll.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

using namespace mlir;
namespace cl = llvm::cl;

namespace {
enum class EmitKind { Mlir };

cl::OptionCategory smxcCategory("smxc options");
cl::opt<std::string> specPath(cl::Positional, cl::desc("<model spec .yaml>"),
                              cl::Required, cl::cat(smxcCategory));
cl::opt<std::string> outputPath("o", cl::desc("Output file ('-' for stdout)"),
                                cl::value_desc("path"), cl::init("-"),
                                cl::cat(smxcCategory));
cl::opt<EmitKind> emitKind(
    "emit", cl::desc("What to produce"), cl::init(EmitKind::Mlir),
    cl::values(clEnumValN(EmitKind::Mlir, "mlir",
                          "the model's smx/mix/moe IR (forward function)")),
    cl::cat(smxcCategory));
cl::opt<int64_t> batchSize("batch",
                           cl::desc("Compiled batch size (default: the "
                                    "spec's compile.batch)"),
                           cl::init(0), cl::cat(smxcCategory));
cl::opt<int64_t> sequenceLength("seq",
                                cl::desc("Compiled sequence length (default: "
                                         "the spec's compile.seq)"),
                                cl::init(0), cl::cat(smxcCategory));

int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "smxc") << message << "\n";
  return 1;
}
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  cl::HideUnrelatedOptions(smxcCategory);
  cl::ParseCommandLineOptions(argc, argv, "smx compiler: model spec to code\n");

  std::string errorMessage;
  std::unique_ptr<llvm::MemoryBuffer> specBuffer =
      openInputFile(specPath, &errorMessage);
  if (!specBuffer)
    return fail(errorMessage);
  llvm::SourceMgr sourceMgr;
  unsigned bufferId =
      sourceMgr.AddNewSourceBuffer(std::move(specBuffer), llvm::SMLoc());
  FailureOr<smx::spec::ModelSpec> spec = smx::spec::parseModelSpec(
      sourceMgr, bufferId, llvm::sys::path::stem(specPath));
  if (failed(spec))
    return 1;

  smx::spec::CompileShape shape{spec->compileBatch, spec->compileSequence};
  if (batchSize.getNumOccurrences()) {
    if (batchSize < 1)
      return fail("--batch must be at least 1, got " + Twine(batchSize));
    shape.batch = batchSize;
  }
  if (sequenceLength.getNumOccurrences()) {
    if (sequenceLength < 1 || sequenceLength > spec->maxLength)
      return fail("--seq must be in [1, " + Twine(spec->maxLength) +
                  "] (the model's max_length), got " + Twine(sequenceLength));
    if (spec->needsFullLength() && sequenceLength != spec->maxLength)
      return fail("--seq must equal the model's max_length " +
                  Twine(spec->maxLength) +
                  ": non-attention mixing layers run on inputs padded to it");
    shape.sequence = sequenceLength;
  }

  DialectRegistry registry;
  smx::registerAllSmxDialects(registry);
  MLIRContext context(registry);
  OwningOpRef<ModuleOp> module = smx::spec::buildModel(
      &context, *spec, shape, FileLineColLoc::get(&context, specPath, 1, 1));
  if (failed(verify(*module)))
    return fail("internal error: the IR built for '" + specPath +
                "' does not verify");

  std::unique_ptr<llvm::ToolOutputFile> output =
      openOutputFile(outputPath, &errorMessage);
  if (!output)
    return fail(errorMessage);
  switch (emitKind) {
  case EmitKind::Mlir:
    module->print(output->os());
    break;
  }
  output->keep();
  return 0;
}
