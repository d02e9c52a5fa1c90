//===- Passes.td - smx CUDA target passes ------------------*- tablegen -*-===//

#ifndef SMX_TARGET_CUDA_PASSES_TD
#define SMX_TARGET_CUDA_PASSES_TD

include "mlir/Pass/PassBase.td"

def SmxOutlineGpuKernelsPass : Pass<"smx-outline-gpu-kernels", "ModuleOp"> {
  let summary = "Maps each loop nest to a GPU kernel, one per distinct body";
  let description = [{
    Every loop nest of a host function that touches only memory (no call,
    allocation, deallocation or copy inside it) becomes a `gpu.launch_func`
    of a `gpu.func` kernel in the module's `gpu.module @smx_kernels`.

    First, the nests take a form with more parallelism: a perfect nest of
    `scf.for`s around one `scf.parallel` (linalg's reductions over leading
    dimensions: a bias gradient) becomes the `scf.parallel` around the
    `scf.for`s; with `block-per-row`, any other perfect nest of `scf.for`s
    over constant ranges becomes one loop, the single row of an
    `scf.parallel` of one iteration (a reduction over a whole buffer: a
    loss); and an accumulator that a row's loop updates in memory at one
    location becomes an iteration argument, loaded before the loop and
    stored after it. Then:

    - a result-free `scf.parallel` with constant bounds runs one thread per
      iteration of its parallel dimensions: the dimensions are linearized,
      each thread computes `blockIdx.x * blockDim.x + threadIdx.x`, returns
      when past the last iteration, recovers its indices (last dimension
      fastest, so that neighbouring threads touch neighbouring elements)
      and runs the loop body, whose nested loops stay sequential in the
      thread;
    - with `block-per-row`, a row kernel (an `scf.parallel` over rows whose
      body runs loops over the row's elements: `scf.for` or one-dimensional
      `scf.parallel` from 0 to a constant, elementwise or reducing values
      with addf, maximumf, minimumf, maxnumf or minnumf) runs one block per
      row: thread t of the block takes elements t, t + T, ... of every
      element loop, each reduction's partial results are combined by
      `gpu.all_reduce` (warp shuffles and shared memory) and then with the
      loop's initial value, and the rest of the row runs on every thread on
      values that are the same in all. A per-row value stored to memory the
      row also reads (an accumulator loaded before its loop, a bias element
      updated in place) is stored between two `gpu.barrier`s, so that every
      thread reads the old value before and the new one after. The row's
      one-dimensional scratch buffers keep only each thread's elements
      (element k at k / T). This needs every buffer the row writes to be
      accessed only at the element loop's index, in one position, or only
      at per-row indices and written outside element loops; otherwise, and
      for rows shorter than a warp, the row runs on one thread;
    - anything else (a loop nest whose bounds are not constants) runs on
      one thread.

    Blocks have `block-size` threads (fewer, rounded to a warp, when the
    loop has fewer iterations), recorded as the kernel's
    `known_block_size`. The kernel takes the values the loop uses from
    outside as arguments and clones the constants it uses; kernels of equal
    text are one `gpu.func` (the layers of an encoder launch the same
    kernels on their own buffers). `memref.alloca_scope`s inside a kernel
    are inlined and their `memref.alloca`s (per-thread scratch of static
    size) hoisted to the kernel's entry.

    Loops that call the runtime (attention's loop over examples, which
    calls the GEMM) stay on the host, and the loop nests inside them are
    mapped the same way. What stays on the host reads and writes the same
    buffers: the CUDA runtime allocates every buffer in managed memory and
    each launch is synchronous (docs/gpu.md).

    Contract: runs on loop-level IR with memrefs (after
    `convert-linalg-to-parallel-loops`), before `convert-scf-to-cf`.
    Guarantees that no host function has a result-free `scf.parallel` left
    and sets `gpu.container_module` on the module.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"256",
           "Threads per block (a multiple of 32, at most 1024)">,
    Option<"blockPerRow", "block-per-row", "bool", /*default=*/"true",
           "Run each row of a row kernel on a block, its reductions "
           "combined by gpu.all_reduce (false: one thread per row)">,
  ];
  let dependentDialects = [
    "::mlir::gpu::GPUDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::arith::ArithDialect",
  ];
}

def SmxEmulateGpuKernelsPass : Pass<"smx-emulate-gpu-kernels", "ModuleOp"> {
  let summary = "Runs the GPU kernels on the CPU, one thread after another";
  let description = [{
    Checks the GPU mapping without a GPU (`smxc --target=cuda-emulator`):
    every `gpu.func` of `@smx_kernels` becomes a `func.func` that runs one
    block, given its index, and every `gpu.launch_func` a loop over the
    blocks that calls it. A block runs its threads one after another:

    - a kernel without `gpu.all_reduce` or `gpu.barrier` (its threads never
      wait for each other) runs its whole body once per thread;
    - a kernel of `smx-outline-gpu-kernels`' rows on blocks runs, in order,
      each of its top-level ops: an element loop (`scf.for` from the thread
      index, by the block size) once per thread, its partial results
      combined in thread order where a `gpu.all_reduce` reads them; the row's
      split scratch as one buffer per thread; the rest once, as the threads
      compute the same values.

    The emulated kernels compute what the GPU's compute, up to the order of
    floating-point sums in each `gpu.all_reduce`.

    Contract: runs after `smx-outline-gpu-kernels`, before the conversion to
    LLVM. Leaves no `gpu` op and removes `gpu.container_module`.
  }];
  let dependentDialects = [
    "::mlir::func::FuncDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::memref::MemRefDialect",
  ];
}

def SmxUseCudaRuntimePass : Pass<"smx-use-cuda-runtime", "ModuleOp"> {
  let summary = "Calls the CUDA runtime's kernels instead of the CPU's";
  let description = [{
    Replaces each call of a CPU runtime entry point that the CUDA runtime
    implements on the GPU by a call of its CUDA counterpart, which takes the
    same arguments: `smxrt_cpu_sgemm_memref` becomes
    `smxrt_cuda_sgemm_memref` (cuBLASLt, bf16 tensor-core products summed
    in f32). Calls without a counterpart (`smxrt_cpu_route_memref`, the
    grid's collectives) stay: they run on the host over managed memory, or
    on the communication backend the runtime picked for device buffers.

    Contract: runs after the lowering to runtime calls and before
    `smx-emit-entry-points`.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

#endif // SMX_TARGET_CUDA_PASSES_TD
