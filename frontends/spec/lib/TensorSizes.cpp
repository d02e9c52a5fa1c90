//===- TensorSizes.cpp - Tensors a machine can allocate -------------------===//
//
// Shapes are static, so a spec whose tensors cannot be allocated is known at
// compile time; it is reported there, at the spec's size setting, instead of
// when the executable starts.
//
//===----------------------------------------------------------------------===//

#include "TensorSizes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "smx/Dialect/Smx/IR/ModelInterface.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace mlir::smx;
using namespace mlir::smx::spec;

namespace {

/// A tensor that breaks a limit, and why.
struct OversizedTensor {
  std::string name;
  RankedTensorType type;
  /// Bytes, or nullopt when the count overflows int64.
  std::optional<int64_t> bytes;
};

/// The byte size of a static `type`, or nullopt on overflow.
std::optional<int64_t> getByteSize(RankedTensorType type) {
  int64_t elements = 1;
  for (int64_t size : type.getShape())
    if (llvm::MulOverflow(elements, size, elements))
      return std::nullopt;
  int64_t bytes = 0;
  int64_t elementBytes =
      llvm::divideCeil(type.getElementTypeBitWidth(), int64_t(8));
  if (llvm::MulOverflow(elements, elementBytes, bytes))
    return std::nullopt;
  return bytes;
}

bool breaksLimits(RankedTensorType type) {
  if (!type || !type.hasStaticShape() || !type.getElementType().isIntOrFloat())
    return false;
  for (int64_t size : type.getShape())
    if (size > kMaxTensorDimension)
      return true;
  std::optional<int64_t> bytes = getByteSize(type);
  return !bytes || *bytes > kMaxTensorBytes;
}

/// "1.5 TiB" for a byte count.
std::string formatBytes(int64_t bytes) {
  static const char *units[] = {"bytes", "KiB", "MiB", "GiB",
                                "TiB",   "PiB", "EiB"};
  double value = static_cast<double>(bytes);
  unsigned unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(units)) {
    value /= 1024.0;
    ++unit;
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  if (unit == 0)
    os << bytes << " bytes";
  else
    os << llvm::format("%.1f ", value) << units[unit];
  return text;
}

/// The first tensor of `module` that breaks a limit: parameters and inputs
/// by their names, op results by their ops' names.
std::optional<OversizedTensor> findOversizedTensor(ModuleOp module) {
  std::optional<OversizedTensor> found;
  module.walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (auto function = dyn_cast<func::FuncOp>(op)) {
      for (auto [index, argument] : llvm::enumerate(function.getArguments())) {
        auto type = dyn_cast<RankedTensorType>(argument.getType());
        if (!breaksLimits(type))
          continue;
        auto name =
            function.getArgAttrOfType<StringAttr>(index, kParameterAttrName);
        if (!name)
          name = function.getArgAttrOfType<StringAttr>(index, kInputAttrName);
        found = OversizedTensor{name ? name.str() : "argument", type,
                                getByteSize(type)};
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    }
    for (Value result : op->getResults()) {
      auto type = dyn_cast<RankedTensorType>(result.getType());
      if (!breaksLimits(type))
        continue;
      std::string name = op->getName().getStringRef().str();
      if (auto nameLoc = dyn_cast<NameLoc>(op->getLoc()))
        name = nameLoc.getName().str() + " (" + name + ")";
      found = OversizedTensor{name, type, getByteSize(type)};
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return found;
}

} // namespace

LogicalResult mlir::smx::spec::checkTensorSizes(ModuleOp module,
                                                const ModelSpec &spec,
                                                Location specLocation) {
  std::optional<OversizedTensor> tensor = findOversizedTensor(module);
  if (!tensor)
    return success();
  // Blame the setting that gives the largest dimension.
  int64_t largest = 0;
  for (int64_t size : tensor->type.getShape())
    largest = std::max(largest, size);
  Location location = specLocation;
  const ModelSpec::SizeSetting *blamed = nullptr;
  for (const ModelSpec::SizeSetting &setting : spec.sizeSettings)
    if (setting.value == largest) {
      blamed = &setting;
      break;
    }
  if (blamed)
    if (auto file = dyn_cast<FileLineColLoc>(specLocation))
      location =
          FileLineColLoc::get(file.getFilename(), blamed->line, blamed->column);
  InFlightDiagnostic diagnostic = emitError(location);
  diagnostic << "tensor '" << tensor->name << "' (" << tensor->type << ") ";
  if (!tensor->bytes)
    diagnostic << "has more bytes than a 64-bit size can count";
  else if (*tensor->bytes > kMaxTensorBytes)
    diagnostic << "needs " << *tensor->bytes << " bytes ("
               << formatBytes(*tensor->bytes) << "), more than the "
               << formatBytes(kMaxTensorBytes) << " a tensor may take";
  else
    diagnostic << "has a dimension above " << kMaxTensorDimension
               << ", the largest the BLAS kernels take";
  if (blamed)
    diagnostic << "; '" << blamed->key << "' is " << blamed->value;
  return failure();
}
