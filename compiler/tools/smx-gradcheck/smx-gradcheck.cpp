//===- smx-gradcheck.cpp - generated gradients against finite differences -===//
//
// smx-gradcheck FILE.mlir [--seed N] [--delta H] [--tolerance T]
//                         [--max-elements N]
//
// For every function `@f` of FILE (float tensor arguments and results,
// static shapes), builds `@f_vjp` with smx-build-vjp, compiles the module
// with the CPU pipeline and runs it in a JIT. With random inputs `x` and
// random result cotangents `r`, the gradient of `L(x) = sum_k <r_k, f_k(x)>`
// that `@f_vjp` returns is compared, element by element, with the central
// difference `(L(x + h·e_j) − L(x − h·e_j)) / 2h`. One line per argument;
// exit 1 if any argument's largest difference, relative to its largest
// gradient, exceeds the tolerance. Integer inputs (token ids, positions)
// are written as constants inside the function.
//
// The CPU path computes in f32 (its GEMMs are sgemm), so the check runs in
// f32: with inputs of order 1, h = 1e-2 keeps both the truncation error
// (~h²) and the rounding error (~1e-7/h) near 1e-4 of the gradient, far
// below what a wrong rule produces.
//
//===----------------------------------------------------------------------===//

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "smx/InitAll.h"
#include "smx/Pipelines/Pipelines.h"
#include "smx/Training/Passes.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <random>

using namespace mlir;
namespace cl = llvm::cl;

namespace {

cl::OptionCategory category("smx-gradcheck options");
cl::opt<std::string> inputPath(cl::Positional, cl::desc("<input.mlir>"),
                               cl::Required, cl::cat(category));
cl::opt<unsigned> seed("seed", cl::desc("Seed of the random inputs"),
                       cl::init(0), cl::cat(category));
cl::opt<double> delta("delta", cl::desc("Finite-difference step"),
                      cl::init(1e-2), cl::cat(category));
cl::opt<double> tolerance(
    "tolerance",
    cl::desc("Largest |gradient - difference| allowed, relative to the "
             "argument's largest gradient"),
    cl::init(1e-3), cl::cat(category));
cl::opt<bool> openmpLoops(
    "openmp",
    cl::desc("Compile parallel loops to OpenMP, as smxc does (default: "
             "sequential loops)"),
    cl::init(false), cl::cat(category));
cl::opt<unsigned> maxElements(
    "max-elements",
    cl::desc("Elements checked per argument (a random subset beyond)"),
    cl::init(64), cl::cat(category));

int fail(const Twine &message) {
  llvm::errs() << "smx-gradcheck: error: " << message << "\n";
  return 1;
}

/// An f32 tensor and the memref descriptor that points at it:
/// {allocated, aligned, offset, sizes[rank], strides[rank]}.
struct Tensor {
  RankedTensorType type;
  std::vector<float> data;
  std::vector<int64_t> descriptor;
  void *descriptorPointer = nullptr;

  explicit Tensor(RankedTensorType type)
      : type(type), data(type.getNumElements()) {
    int64_t rank = type.getRank();
    descriptor.assign(3 + 2 * rank, 0);
    auto address = reinterpret_cast<int64_t>(data.data());
    descriptor[0] = descriptor[1] = address;
    int64_t stride = 1;
    for (int64_t dim = rank - 1; dim >= 0; --dim) {
      descriptor[3 + dim] = type.getDimSize(dim);
      descriptor[3 + rank + dim] = stride;
      stride *= type.getDimSize(dim);
    }
    descriptorPointer = descriptor.data();
  }
};

/// Calls the C interface of `name` with `tensors` (arguments, then
/// results as out-parameters).
LogicalResult call(ExecutionEngine &engine, StringRef name,
                   ArrayRef<Tensor *> tensors) {
  SmallVector<void *> arguments;
  for (Tensor *tensor : tensors)
    arguments.push_back(&tensor->descriptorPointer);
  if (llvm::Error error =
          engine.invokePacked(("_mlir_ciface_" + name).str(), arguments)) {
    llvm::errs() << "smx-gradcheck: error: calling @" << name << ": "
                 << llvm::toString(std::move(error)) << "\n";
    return failure();
  }
  return success();
}

/// Everything checked about one function.
struct FunctionCheck {
  std::string name;
  SmallVector<RankedTensorType> argumentTypes, resultTypes;
};

/// `sum_k <r_k, f_k(x)>` in double.
double projectedLoss(ExecutionEngine &engine, const FunctionCheck &check,
                     std::vector<Tensor> &inputs,
                     const std::vector<Tensor> &cotangents, bool &ok) {
  std::vector<Tensor> outputs;
  for (RankedTensorType type : check.resultTypes)
    outputs.emplace_back(type);
  SmallVector<Tensor *> tensors;
  for (Tensor &tensor : inputs)
    tensors.push_back(&tensor);
  for (Tensor &tensor : outputs)
    tensors.push_back(&tensor);
  if (failed(call(engine, check.name, tensors))) {
    ok = false;
    return 0.0;
  }
  double loss = 0.0;
  for (auto [output, cotangent] : llvm::zip_equal(outputs, cotangents))
    for (size_t i = 0; i < output.data.size(); ++i)
      loss += static_cast<double>(output.data[i]) * cotangent.data[i];
  return loss;
}

LogicalResult checkFunction(ExecutionEngine &engine,
                            const FunctionCheck &check, std::mt19937 &random) {
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<Tensor> inputs, cotangents;
  for (RankedTensorType type : check.argumentTypes) {
    inputs.emplace_back(type);
    for (float &value : inputs.back().data)
      value = uniform(random);
  }
  for (RankedTensorType type : check.resultTypes) {
    cotangents.emplace_back(type);
    for (float &value : cotangents.back().data)
      value = uniform(random);
  }

  // The generated gradients.
  std::vector<Tensor> vjpOutputs;
  for (RankedTensorType type : check.resultTypes)
    vjpOutputs.emplace_back(type);
  for (RankedTensorType type : check.argumentTypes)
    vjpOutputs.emplace_back(type);
  SmallVector<Tensor *> tensors;
  for (Tensor &tensor : inputs)
    tensors.push_back(&tensor);
  for (Tensor &tensor : cotangents)
    tensors.push_back(&tensor);
  for (Tensor &tensor : vjpOutputs)
    tensors.push_back(&tensor);
  if (failed(call(engine, check.name + "_vjp", tensors)))
    return failure();

  // The primal results of @f_vjp are those of @f.
  {
    std::vector<Tensor> outputs;
    for (RankedTensorType type : check.resultTypes)
      outputs.emplace_back(type);
    SmallVector<Tensor *> forwardTensors;
    for (Tensor &tensor : inputs)
      forwardTensors.push_back(&tensor);
    for (Tensor &tensor : outputs)
      forwardTensors.push_back(&tensor);
    if (failed(call(engine, check.name, forwardTensors)))
      return failure();
    for (size_t result = 0; result < outputs.size(); ++result)
      if (outputs[result].data != vjpOutputs[result].data) {
        llvm::outs() << "@" << check.name << " result " << result
                     << ": @" << check.name
                     << "_vjp computes a different value: FAIL\n";
        return failure();
      }
  }

  bool allPassed = true;
  for (size_t argument = 0; argument < inputs.size(); ++argument) {
    const std::vector<float> &gradient =
        vjpOutputs[check.resultTypes.size() + argument].data;
    std::vector<size_t> elements(gradient.size());
    for (size_t i = 0; i < elements.size(); ++i)
      elements[i] = i;
    std::shuffle(elements.begin(), elements.end(), random);
    elements.resize(std::min<size_t>(elements.size(), maxElements));
    double largestGradient = 0.0, largestDifference = 0.0;
    for (float value : gradient)
      largestGradient = std::max(largestGradient, std::fabs(double(value)));
    bool ok = true;
    for (size_t element : elements) {
      float saved = inputs[argument].data[element];
      inputs[argument].data[element] = saved + static_cast<float>(delta);
      double plus = projectedLoss(engine, check, inputs, cotangents, ok);
      inputs[argument].data[element] = saved - static_cast<float>(delta);
      double minus = projectedLoss(engine, check, inputs, cotangents, ok);
      inputs[argument].data[element] = saved;
      if (!ok)
        return failure();
      double difference = (plus - minus) / (2.0 * delta);
      largestGradient = std::max(largestGradient, std::fabs(difference));
      largestDifference = std::max(
          largestDifference, std::fabs(difference - gradient[element]));
    }
    double relative = largestDifference / std::max(largestGradient, 1e-6);
    bool passed = relative <= tolerance;
    allPassed &= passed;
    llvm::outs() << "@" << check.name << " argument " << argument << " "
                 << check.argumentTypes[argument] << ": " << elements.size()
                 << " of " << gradient.size() << " elements, largest gradient "
                 << llvm::format("%.3e", largestGradient)
                 << ", largest difference "
                 << llvm::format("%.3e", largestDifference) << " (relative "
                 << llvm::format("%.2e", relative) << "): "
                 << (passed ? "ok" : "FAIL") << "\n";
  }
  return success(allPassed);
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv, "smx-gradcheck: generated gradients against finite "
                  "differences\n");
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();

  DialectRegistry registry;
  smx::registerAllSmxDialects(registry);
  smx::registerAllSmxPasses();
  MLIRContext context(registry);
  llvm::SourceMgr sourceMgr;
  std::string errorMessage;
  auto buffer = openInputFile(inputPath, &errorMessage);
  if (!buffer)
    return fail(errorMessage);
  sourceMgr.AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return 1;

  SmallVector<FunctionCheck> checks;
  for (auto function : module->getOps<func::FuncOp>()) {
    if (function.isExternal())
      continue;
    FunctionCheck check;
    check.name = function.getName().str();
    FunctionType type = function.getFunctionType();
    for (Type argument : type.getInputs()) {
      auto tensorType = dyn_cast<RankedTensorType>(argument);
      if (!tensorType || !tensorType.hasStaticShape() ||
          !tensorType.getElementType().isF32())
        return fail("@" + check.name + ": every argument must be a static "
                    "f32 tensor (write integer inputs as constants)");
      check.argumentTypes.push_back(tensorType);
    }
    for (Type result : type.getResults()) {
      auto tensorType = dyn_cast<RankedTensorType>(result);
      if (!tensorType || !tensorType.hasStaticShape() ||
          !tensorType.getElementType().isF32())
        return fail("@" + check.name + ": every result must be a static f32 "
                    "tensor");
      check.resultTypes.push_back(tensorType);
    }
    checks.push_back(std::move(check));
  }
  if (checks.empty())
    return fail("'" + inputPath + "' has no function to check");

  PassManager pm(&context);
  for (const FunctionCheck &check : checks) {
    smx::SmxBuildVjpPassOptions options;
    options.function = check.name;
    pm.addPass(smx::createSmxBuildVjpPass(options));
  }
  if (failed(pm.run(*module)))
    return 1;
  for (auto function : module->getOps<func::FuncOp>())
    function->setAttr("llvm.emit_c_interface", UnitAttr::get(&context));
  PassManager lowering(&context);
  // The functions as they are (training noise included), for the JIT.
  smx::TargetOptions targetOptions;
  targetOptions.entryPoints = false;
  targetOptions.threads = openmpLoops;
  smx::addCpuLoweringPasses(lowering, targetOptions);
  if (failed(lowering.run(*module)))
    return 1;

  // The runtime next to this tool: <prefix>/bin/smx-gradcheck uses
  // <prefix>/lib/libsmx_runtime.so.
  std::string toolPath = llvm::sys::fs::getMainExecutable(
      argv[0], reinterpret_cast<void *>(&fail));
  SmallString<128> runtimePath(
      llvm::sys::path::parent_path(llvm::sys::path::parent_path(toolPath)));
  llvm::sys::path::append(runtimePath, "lib", "libsmx_runtime.so");
  if (!llvm::sys::fs::exists(runtimePath))
    return fail("cannot find the runtime: " + runtimePath + " does not exist");
  registerBuiltinDialectTranslation(context);
  registerLLVMDialectTranslation(context);
  ExecutionEngineOptions engineOptions;
  auto transformer = makeOptimizingTransformer(2, 0, nullptr);
  engineOptions.transformer = transformer;
  SmallVector<StringRef> libraries = {runtimePath};
  if (openmpLoops)
    libraries.push_back(SMX_OPENMP_RUNTIME);
  engineOptions.sharedLibPaths = libraries;
  auto engine = ExecutionEngine::create(*module, engineOptions);
  if (!engine)
    return fail("cannot compile the module: " +
                llvm::toString(engine.takeError()));

  std::mt19937 random(seed);
  bool allPassed = true;
  for (const FunctionCheck &check : checks)
    allPassed &= succeeded(checkFunction(**engine, check, random));
  return allPassed ? 0 : 1;
}
