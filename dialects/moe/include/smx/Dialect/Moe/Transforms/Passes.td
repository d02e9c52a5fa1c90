//===- Passes.td - moe dialect passes ----------------------*- tablegen -*-===//

#ifndef SMX_DIALECT_MOE_TRANSFORMS_PASSES_TD
#define SMX_DIALECT_MOE_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def MoeSetCapacityFactorPass : Pass<"moe-set-capacity-factor"> {
  let summary = "Sets the capacity factor of every route and retypes its users";
  let description = [{
    Training and evaluation use different capacity factors (ST-MoE: 1.25 to
    train, 2.0 to evaluate). smx takes both from the spec's
    `moe.capacity_factor`; `smxc --eval-capacity-factor` overrides the
    evaluation one, at compile time. This pass sets `capacity_factor` on
    every `moe.route` and re-infers the result types of the ops downstream
    of the route's `[G, E, C]` results (dispatch, expert FFN, ...) so the IR
    keeps static shapes with the new capacity.

    A route result that a `func.func` returns retypes the function's results
    (unless the function is called: its callers would no longer match).
    The train step (`@train_step`) keeps the training capacity factor: it is
    the training form by construction, and this pass leaves it unchanged.

    Contract: accepts IR where every transitive user of a route result
    either implements `InferTypeOpInterface`, is a `moe.all_to_all` (whose
    result type follows from its input and its grid), verifies with the new
    operand types unchanged (`moe.combine`), or is the `func.return` of an
    uncalled function. Fails with one error naming the first op it cannot
    retype. Guarantees that every route has the requested capacity factor
    and that the IR verifies.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
  let options = [
    Option<"capacityFactor", "capacity-factor", "double", "0.0",
           "The capacity factor to set (> 0)">
  ];
}

#endif // SMX_DIALECT_MOE_TRANSFORMS_PASSES_TD
