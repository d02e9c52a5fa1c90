//===- StructuredMatrices.h - circulant and Toeplitz matrices ---*- C++ -*-===//
//
// The matrices of mix.circulant and mix.toeplitz as tensor.generate ops over
// their parameter vectors: shared by mix-materialize-structured-weights and
// the ops' gradient rules, so both read the parameters the same way.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_DIALECT_MIX_IR_STRUCTUREDMATRICES_H
#define SMX_DIALECT_MIX_IR_STRUCTUREDMATRICES_H

#include "mlir/IR/Builders.h"

namespace mlir::mix {

/// Which entry of the parameter vector a structured matrix of size `n` holds
/// at (row, column).
using ParameterIndexFn = Value (*)(OpBuilder &, Location, Value row,
                                  Value column, Value n);

/// C(v)[r, c] = v[(r - c) mod n].
Value getCirculantIndex(OpBuilder &b, Location loc, Value row, Value column,
                        Value n);

/// T(t)[r, c] = t[n - 1 + c - r].
Value getToeplitzIndex(OpBuilder &b, Location loc, Value row, Value column,
                       Value n);

/// The `n`-by-`n` structured matrix of `params` (transposed when
/// `transpose`), `n` being dimension `dim` of `input`.
Value buildStructuredMatrix(OpBuilder &b, Location loc, Value input,
                            int64_t dim, Value params, bool transpose,
                            ParameterIndexFn parameterIndex);

} // namespace mlir::mix

#endif // SMX_DIALECT_MIX_IR_STRUCTUREDMATRICES_H
