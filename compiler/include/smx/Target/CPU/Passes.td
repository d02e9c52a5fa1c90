//===- Passes.td - smx CPU target passes -------------------*- tablegen -*-===//

#ifndef SMX_TARGET_CPU_PASSES_TD
#define SMX_TARGET_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def SmxBuildManifestPass : Pass<"smx-build-manifest", "ModuleOp"> {
  let summary = "Records the model interface as the module's manifest";
  let description = [{
    Reads the forward function (`@forward`, its `smx.input`,
    `smx.parameter` and `smx.output` attributes) and every `moe.route`, and
    stores the manifest of docs/abi.md as the module's `smx.manifest` string
    attribute, for `smx-emit-entry-points` to embed in the object.

    Contract: runs on tensor-level IR with static shapes, after the routes
    have their final capacity factor. Guarantees the manifest lists every
    argument and result of `@forward` in order.
  }];
}

def SmxEmitEntryPointsPass : Pass<"smx-emit-entry-points", "ModuleOp"> {
  let summary = "Adds the C entry points of the compiled model";
  let description = [{
    Adds `smx_model_forward(void **arguments, void **results, void
    *workspace)`, which passes `workspace` as the function's arena (its
    `smx.workspace` argument, if it has one) and wraps
    each runtime-owned buffer in a memref descriptor (static shape,
    identity layout) and calls `@forward`, the same
    `smx_model_train_step` for `@train_step` when the module has one, and
    `smx_model_manifest(void)`, which returns the module's manifest as a
    NUL-terminated string (docs/abi.md), with each entry function's memory
    plan (`smx-plan-memory`) added to its entry. `@forward` gets internal
    linkage.

    Contract: runs after bufferization and `buffer-results-to-out-params`:
    `@forward` takes its inputs and parameters (memrefs with static shapes
    and identity layouts, or i64 scalars) followed by one memref per result.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def SmxUpdateStateInPlacePass : Pass<"smx-update-state-in-place",
                                     "func::FuncOp"> {
  let summary = "Makes the train step update parameters and moments in place";
  let description = [{
    After `buffer-results-to-out-params`, an entry function (one with
    `smx.entry_arguments`) writes the next value of each parameter and Adam
    moment into an out-parameter carrying the same `smx.parameter`,
    `smx.first_moment` or `smx.second_moment` name as the argument it reads.
    Where the pass proves that every read of the argument (and of views of
    it) comes before the first write of the out-parameter, except reads in
    that write itself when it is an all-parallel `linalg.generic` reading
    the argument through the same indexing map it writes the out-parameter
    with, it replaces the out-parameter by the argument: the function
    updates the state in place and never accesses the out-parameter, which
    it marks `smx.in_place`. (First, as `smx-plan-memory` does, results
    only copied into their out-parameters at the end are computed there.)
    `smx-emit-entry-points` marks those results
    `"in_place": true` in the manifest, so the application holds one copy
    of the training state instead of two (docs/abi.md).

    Contract: runs after `buffer-results-to-out-params`, before
    `smx-plan-memory` and the deallocation pipeline.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def SmxPlanMemoryPass : Pass<"smx-plan-memory", "func::FuncOp"> {
  let summary = "Places a function's static buffers in one arena by liveness";
  let description = [{
    Gives every static `memref.alloc` of the function's entry block an
    offset in one arena, so that buffers whose lifetimes overlap never share
    bytes and dead buffers' bytes are reused (buffer assignment by
    liveness; greedy-by-size packing, 64-byte aligned). Each allocation
    becomes a `memref.view` of a single `memref.alloc` of `i8` at the top of
    the function, or, in an entry function (one with `smx.entry_arguments`),
    a view of a new last argument `memref<N x i8>` marked `smx.workspace`:
    the arena the application allocates once and passes on every call
    (docs/abi.md). A buffer lives from its allocation to the last
    entry-block operation that uses it or an alias of it (views, casts,
    values yielded out of regions); a use inside a region counts at the
    region's entry-block ancestor. Buffers that are returned, or whose
    address is taken as an integer, keep their own allocation. First, a
    buffer that is only copied into an out-parameter at the end (what
    `buffer-results-to-out-params` leaves) becomes that out-parameter: the
    result is computed in the caller's buffer, without a copy.

    The function records the plan: `smx.arena_bytes` (the arena's size),
    `smx.peak_live_bytes` (the most bytes its buffers hold at one point, a
    lower bound on any arena) and `smx.peak_at` (the model path of the
    operation where that peak is reached). `smx-emit-entry-points` copies
    them into the manifest.

    Contract: runs after bufferization and before the deallocation
    pipeline (the function has no `memref.dealloc` yet); the deallocation
    pipeline then frees the arena at the function's end.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::memref::MemRefDialect",
  ];
}

def SmxOutlineKernelsPass : Pass<"smx-outline-kernels", "ModuleOp"> {
  let summary = "Moves each loop nest into a kernel function, one per distinct body";
  let description = [{
    Every result-less `scf.parallel` or `scf.for` at the top level of a
    function becomes a call to a private function (its kernel) that takes
    the values the loop uses from outside as arguments, in order of first
    use, and clones the constants it uses. Kernels whose text is the same
    (every layer of an encoder runs the same loop nests on its own buffers)
    are one function. Kernels carry `passthrough = ["noinline"]` and
    internal linkage.

    Why: the model's functions are otherwise one LLVM function with every
    loop nest of every layer, and LLVM's loop passes spend most of the
    compile time walking it; outlined and shared, each distinct loop nest
    is optimized once, in a small function.

    Contract: runs on loop-level IR with memrefs, before
    `convert-scf-to-openmp`.
  }];  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def SmxProfileCallsPass : Pass<"smx-profile-calls", "ModuleOp"> {
  let summary = "Times every call and copy of the entry functions";
  let description = [{
    For `smxc --profile`. Every `func.call` (kernels, runtime GEMMs and
    routes) and `memref.copy` at the top level of an entry function (one
    with `smx.entry_arguments`) becomes a profile site, numbered across the
    module: it is bracketed by `smxrt_profile_begin(site)` and
    `smxrt_profile_end(site)`, and the module's `smx.profile_sites` lists,
    per site, the model path of its location (`at`), its `kind` (gemm,
    route, elementwise, reduction, copy), the `bytes` of the static buffers
    it touches, for GEMMs its `flops`, and the `entry` function it is in.
    `smx-emit-entry-points` puts the list in the manifest (docs/abi.md);
    `OUT profile` reports it, and `bench/gpu/roofline.py` reads it.

    Contract: runs after `smx-outline-kernels`, before
    `smx-emit-entry-points` and `convert-scf-to-openmp`.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::func::FuncDialect",
  ];
}

def SmxApproximateMathPass : Pass<"smx-approximate-math"> {
  let summary = "Replaces libm calls of the model with vectorizable polynomials";
  let description = [{
    Rewrites `math.tanh`, `math.exp`, `math.log`, `math.erf` and the other
    f32 functions upstream MLIR approximates into `arith` polynomials
    (Cephes-style range reduction; a few ulp from libm). Left alone, each
    becomes a scalar libm call that the loop vectorizer can only unroll
    around; as polynomials the GELU, softmax and router loops vectorize.

    Contract: runs on any IR with `math` ops of f32 (or vectors of f32);
    other element types are left for `convert-math-to-libm`. The integration
    tests bound the end-to-end error against the float64 reference.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def SmxFuseRowLoopsPass : Pass<"smx-fuse-row-loops"> {
  let summary = "Fuses consecutive parallel loops that work row by row";
  let description = [{
    Fuses consecutive `scf.parallel` loops (no reductions, not nested in
    another `scf.parallel`) over their common leading dimensions, when
    each iteration of the later loop touches only the rows the same
    iteration of the earlier one touched: the sweeps of a softmax, a layer
    norm or their gradients then run row by row while the row is in the
    L1 cache, one fork for all of them. Dimensions beyond the common
    prefix become parallel loops inside the fused one
    (`smx-prepare-parallel-loops` makes them sequential).

    Legality: both bodies touch memory only through `memref.load` and
    `memref.store`; a buffer one writes and the other accesses is indexed
    by the prefix induction variables in its leading dimensions in both;
    different buffers of which one is written do not overlap (traced to
    their allocation, or to an argument of an entry function, and their
    static byte range there: views of the arena). Operations between the
    loops that have no memory effects, or only allocate, move above the
    first.

    Row contraction: a buffer (an allocation, or a view of the arena) that
    only the loads and stores of one fused loop touch, each in its own
    row, becomes a `memref.alloca` of one row inside the loop body (in a
    `memref.alloca_scope`): the softmax's scaled scores and exponentials
    live in the L1 cache and are never written back to memory.

    Contract: runs on loop-level IR after `convert-linalg-to-parallel-loops`
    and before `smx-prepare-parallel-loops`. The arithmetic is unchanged,
    so results are bit-identical.
  }];
  let options = [
    Option<"minRows", "min-rows", "int64_t", /*default=*/"16",
           "Fewest iterations of the common dimensions worth fusing over "
           "(fewer leave threads idle)">,
    Option<"contractRows", "contract-rows", "bool", /*default=*/"true",
           "Replace buffers private to the rows of a fused loop by a stack "
           "buffer per row">,
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::memref::MemRefDialect"];
}

def SmxPrepareParallelLoopsPass : Pass<"smx-prepare-parallel-loops"> {
  let summary = "Shapes loop nests for threads outside and vectors inside";
  let description = [{
    Prepares the `scf.parallel` nests of `convert-linalg-to-parallel-loops`
    for `convert-scf-to-openmp`:

    - only the outermost `scf.parallel` of a nest stays parallel; the ones
      inside it become `scf.for` nests (one fork per nest, never nested
      teams);
    - when the body of a multi-dimensional outermost loop is straight-line
      code, its innermost dimension becomes an `scf.for` inside the
      parallel loop, so threads split the outer dimensions and the loop
      vectorizer sees a plain unit-stride loop;
    - a nest whose static work (iterations times operations of its
      bodies) is below `min-parallel-work` becomes sequential: forking a
      team costs more than it saves.
      The per-row stack buffers of `smx-fuse-row-loops` in it (each in a
      `memref.alloca_scope`) become one buffer before the nest.
    - a reduction loop that loads its accumulator from memory, combines it
      with one binary operation and stores it back each iteration (what
      the lowering of a linalg reduction leaves) carries the accumulator
      in a register instead: one load before the loop, one store after
      it. A float sum or product becomes `fastmath<reassoc>` so that the
      loop vectorizer may split it into lanes; this is the one place the
      CPU path reorders floating-point arithmetic. The loop must write
      nothing else; the buffers it reads are the reduction's inputs, which
      bufferization never aliases with its output.

    Contract: runs on loop-level IR. `convert-linalg-to-parallel-loops`
    produces `scf.parallel` ops without reductions; loops with reductions
    are left as they are.
  }];
  let options = [
    Option<"minParallelWork", "min-parallel-work", "int64_t",
           /*default=*/"65536",
           "Smallest static work (iterations times operations) to run on "
           "threads">,
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect"];
}

#endif // SMX_TARGET_CPU_PASSES_TD
