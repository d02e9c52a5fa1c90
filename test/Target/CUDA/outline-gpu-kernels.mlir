// RUN: smx-opt %s --split-input-file --smx-outline-gpu-kernels | FileCheck %s
// RUN: smx-opt %s --split-input-file --smx-outline-gpu-kernels=block-per-row=false | FileCheck %s --check-prefix=THREAD

// An elementwise loop nest of two layers: one kernel, one thread per
// element, launched twice with each layer's buffers. 4 x 96 = 384 threads
// in blocks of 256: 2 blocks, the second partly idle behind the guard. The
// indices come back from the linear thread index, the last dimension
// fastest. Host code outside loops stays.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK: func.func @forward(%[[X:.*]]: memref<4x96xf32>, %[[Y:.*]]: memref<4x96xf32>, %[[Z:.*]]: memref<4x96xf32>, %[[S:.*]]: memref<f32>)
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C256:.*]] = arith.constant 256 : index
// CHECK: gpu.launch_func @smx_kernels::@forward_kernel blocks in (%[[C2]], %[[ONE:.*]], %[[ONE]]) threads in (%[[C256]], %[[ONE]], %[[ONE]]) args(%[[X]] : memref<4x96xf32>, %[[Y]] : memref<4x96xf32>)
// CHECK: gpu.launch_func @smx_kernels::@forward_kernel blocks in ({{.*}}) threads in ({{.*}}) args(%[[Y]] : memref<4x96xf32>, %[[Z]] : memref<4x96xf32>)
// CHECK: memref.store
// CHECK-NEXT: return

// CHECK: gpu.module @smx_kernels
// CHECK: gpu.func @forward_kernel(%[[IN:.*]]: memref<4x96xf32>, %[[OUT:.*]]: memref<4x96xf32>) kernel attributes {known_block_size = array<i32: 256, 1, 1>}
// CHECK-DAG: %[[B:.*]] = gpu.block_id x
// CHECK-DAG: %[[T:.*]] = gpu.thread_id x
// CHECK: %[[BASE:.*]] = arith.muli %[[B]], %{{.*}} : index
// CHECK: %[[LINEAR:.*]] = arith.addi %[[BASE]], %[[T]] : index
// CHECK: %[[IN_RANGE:.*]] = arith.cmpi ult, %[[LINEAR]], %{{.*}} : index
// CHECK: scf.if %[[IN_RANGE]] {
// CHECK: %[[J:.*]] = arith.remui %[[LINEAR]], %{{.*}} : index
// CHECK: %[[I:.*]] = arith.divui %[[LINEAR]], %{{.*}} : index
// CHECK: memref.load %[[IN]][%[[I]], %[[J]]]
// CHECK: memref.store %{{.*}}, %[[OUT]][%[[I]], %[[J]]]
// CHECK: gpu.return
// CHECK-NOT: gpu.func
func.func @forward(%x: memref<4x96xf32>, %y: memref<4x96xf32>,
                   %z: memref<4x96xf32>, %s: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c96 = arith.constant 96 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c4, %c96) step (%c1, %c1) {
    %v = memref.load %x[%i, %j] : memref<4x96xf32>
    %w = arith.mulf %v, %v : f32
    memref.store %w, %y[%i, %j] : memref<4x96xf32>
    scf.reduce
  }
  scf.parallel (%i, %j) = (%c0, %c0) to (%c4, %c96) step (%c1, %c1) {
    %v = memref.load %y[%i, %j] : memref<4x96xf32>
    %w = arith.mulf %v, %v : f32
    memref.store %w, %z[%i, %j] : memref<4x96xf32>
    scf.reduce
  }
  %zero = arith.constant 0.0 : f32
  memref.store %zero, %s[] : memref<f32>
  return
}

// -----

// A row kernel (smx-fuse-row-loops) with rows of 64: one block of 64
// threads per row, 6 blocks. Thread t takes elements t, t + 64, ... of each
// row loop; the row's scratch keeps only the thread's elements (element k
// at k / 64). A sum of 6 values into a scalar is a row of its own, too
// short for a block: one thread, the accumulator in a register.
// CHECK-LABEL: func.func @rows
// CHECK: gpu.launch_func @smx_kernels::@rows_kernel blocks in (%[[C6:.*]], %[[ONE:.*]], %[[ONE]]) threads in (%[[C64:.*]], %[[ONE]], %[[ONE]])
// CHECK: gpu.launch_func @smx_kernels::@rows_kernel_0 blocks in (%[[ONE:.*]], %[[ONE]], %[[ONE]]) threads in (%{{.*}}, %[[ONE]], %[[ONE]])
// CHECK: gpu.func @rows_kernel(%[[X:.*]]: memref<6x64xf32>, %[[Y:.*]]: memref<6x64xf32>) kernel attributes {known_block_size = array<i32: 64, 1, 1>}
// CHECK-DAG: %[[ROW:.*]] = gpu.block_id x
// CHECK-DAG: %[[T:.*]] = gpu.thread_id x
// CHECK-DAG: %[[SCRATCH:.*]] = memref.alloca() : memref<1xf32>
// CHECK-NOT: memref.alloca_scope
// CHECK: scf.for %[[K:.*]] = %[[T]] to %{{.*}} step %[[STRIDE:.*]] {
// CHECK: memref.load %[[X]][%[[ROW]], %[[K]]]
// CHECK: %[[SLOT:.*]] = arith.divui %[[K]], %[[STRIDE]]
// CHECK: memref.store %{{.*}}, %[[SCRATCH]][%[[SLOT]]]
// CHECK: scf.for %[[K2:.*]] = %[[T]] to
// CHECK: memref.store %{{.*}}, %[[Y]][%[[ROW]], %[[K2]]]
// CHECK: gpu.func @rows_kernel_0(%[[SUM:.*]]: memref<f32>, %{{.*}}) kernel attributes {known_block_size = array<i32: 32, 1, 1>}
// CHECK: scf.if
// CHECK: %[[INIT:.*]] = memref.load %[[SUM]][]
// CHECK: %[[TOTAL:.*]] = scf.for {{.*}} iter_args(%{{.*}} = %[[INIT]]) -> (f32)
// CHECK: memref.store %[[TOTAL]], %[[SUM]][]

// Without block-per-row: one thread per row, per-row scratch hoisted to the
// kernel's entry.
// THREAD-LABEL: func.func @rows
// THREAD: gpu.func @rows_kernel({{.*}}) kernel attributes {known_block_size = array<i32: 32, 1, 1>}
// THREAD-NEXT: %[[SCRATCH:.*]] = memref.alloca() : memref<64xf32>
// THREAD-NOT: memref.alloca_scope
// THREAD: scf.if
// THREAD: scf.for
// THREAD: memref.store %{{.*}}, %[[SCRATCH]]
func.func @rows(%x: memref<6x64xf32>, %y: memref<6x64xf32>, %t: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c6 = arith.constant 6 : index
  %c64 = arith.constant 64 : index
  %cst = arith.constant 0.0 : f32
  scf.parallel (%r) = (%c0) to (%c6) step (%c1) {
    memref.alloca_scope {
      %scratch = memref.alloca() : memref<64xf32>
      scf.for %k = %c0 to %c64 step %c1 {
        %v = memref.load %x[%r, %k] : memref<6x64xf32>
        memref.store %v, %scratch[%k] : memref<64xf32>
      }
      scf.for %k = %c0 to %c64 step %c1 {
        %v = memref.load %scratch[%k] : memref<64xf32>
        memref.store %v, %y[%r, %k] : memref<6x64xf32>
      }
    }
    scf.reduce
  }
  scf.for %r = %c0 to %c6 step %c1 {
    %old = memref.load %t[] : memref<f32>
    %v = memref.load %y[%r, %c0] : memref<6x64xf32>
    %new = arith.addf %old, %v : f32
    memref.store %new, %t[] : memref<f32>
  }
  return
}

// -----

// Softmax over rows of 128: the max and the sum are each a row loop
// reducing one value, so each thread reduces its elements and
// gpu.all_reduce combines the block's partial results, which then combine
// with the loop's initial value; per-row scalars hold the same value in
// every thread.
// CHECK-LABEL: func.func @softmax
// CHECK: gpu.func @softmax_kernel(%[[X:.*]]: memref<16x128xf32>, %[[Y:.*]]: memref<16x128xf32>) kernel attributes {known_block_size = array<i32: 128, 1, 1>}
// CHECK-DAG: %[[T:.*]] = gpu.thread_id x
// CHECK: %[[INIT:.*]] = memref.load
// CHECK: %[[NEG_INF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: %[[PARTIAL_MAX:.*]] = scf.for %{{.*}} = %[[T]] to %{{.*}} step %{{.*}} iter_args(%[[M:.*]] = %[[NEG_INF]]) -> (f32) {
// CHECK: arith.maximumf %{{.*}}, %[[M]]
// CHECK: %[[MAX:.*]] = gpu.all_reduce maximumf %[[PARTIAL_MAX]] uniform {
// CHECK: %[[ROW_MAX:.*]] = arith.maximumf %[[INIT]], %[[MAX]] : f32
// CHECK: memref.store %[[ROW_MAX]]
// CHECK: %[[PARTIAL_SUM:.*]] = scf.for %{{.*}} = %[[T]] to %{{.*}} iter_args(%{{.*}} = %{{.*}}) -> (f32) {
// CHECK: %[[SUM:.*]] = gpu.all_reduce add %[[PARTIAL_SUM]] uniform {
// CHECK: arith.addf %{{.*}}, %[[SUM]] fastmath<reassoc> : f32
// CHECK: scf.for %[[K:.*]] = %[[T]] to
// CHECK: arith.divf
// CHECK: memref.store %{{.*}}, %[[Y]][%{{.*}}, %[[K]]]
func.func @softmax(%x: memref<16x128xf32>, %y: memref<16x128xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c128 = arith.constant 128 : index
  %neg_inf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  scf.parallel (%r) = (%c0) to (%c16) step (%c1) {
    memref.alloca_scope {
      %max = memref.alloca() : memref<f32>
      %exp = memref.alloca() : memref<128xf32>
      %sum = memref.alloca() : memref<f32>
      memref.store %neg_inf, %max[] : memref<f32>
      %m0 = memref.load %max[] : memref<f32>
      %m = scf.for %k = %c0 to %c128 step %c1 iter_args(%a = %m0) -> (f32) {
        %v = memref.load %x[%r, %k] : memref<16x128xf32>
        %n = arith.maximumf %v, %a : f32
        scf.yield %n : f32
      }
      memref.store %m, %max[] : memref<f32>
      scf.for %k = %c0 to %c128 step %c1 {
        %v = memref.load %x[%r, %k] : memref<16x128xf32>
        %mm = memref.load %max[] : memref<f32>
        %d = arith.subf %v, %mm : f32
        %e = math.exp %d : f32
        memref.store %e, %exp[%k] : memref<128xf32>
      }
      memref.store %zero, %sum[] : memref<f32>
      %s0 = memref.load %sum[] : memref<f32>
      %s = scf.for %k = %c0 to %c128 step %c1 iter_args(%a = %s0) -> (f32) {
        %e = memref.load %exp[%k] : memref<128xf32>
        %n = arith.addf %e, %a fastmath<reassoc> : f32
        scf.yield %n : f32
      }
      memref.store %s, %sum[] : memref<f32>
      scf.for %k = %c0 to %c128 step %c1 {
        %e = memref.load %exp[%k] : memref<128xf32>
        %ss = memref.load %sum[] : memref<f32>
        %q = arith.divf %e, %ss : f32
        memref.store %q, %y[%r, %k] : memref<16x128xf32>
      }
    }
    scf.reduce
  }
  return
}

// -----

// A per-row value updated in place (an optimizer's bias element) beside
// the row's elements: every thread loads the old value, then one barrier,
// the store, another barrier, so that no thread reads a value another one
// already updated.
// CHECK-LABEL: func.func @in_place
// CHECK: gpu.func @in_place_kernel(%[[B:.*]]: memref<8xf32>, %[[W:.*]]: memref<8x64xf32>) kernel attributes {known_block_size = array<i32: 64, 1, 1>}
// CHECK-DAG: %[[ROW:.*]] = gpu.block_id x
// CHECK-DAG: %[[T:.*]] = gpu.thread_id x
// CHECK: memref.load %[[B]][%[[ROW]]]
// CHECK: gpu.barrier
// CHECK-NEXT: memref.store %{{.*}}, %[[B]][%[[ROW]]]
// CHECK-NEXT: gpu.barrier
// CHECK: scf.for %[[K:.*]] = %[[T]] to
// CHECK: memref.store %{{.*}}, %[[W]][%[[ROW]], %[[K]]]
func.func @in_place(%b: memref<8xf32>, %w: memref<8x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c64 = arith.constant 64 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%r) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %b[%r] : memref<8xf32>
    %n = arith.addf %v, %one : f32
    memref.store %n, %b[%r] : memref<8xf32>
    scf.parallel (%k) = (%c0) to (%c64) step (%c1) {
      %x = memref.load %w[%r, %k] : memref<8x64xf32>
      %y = arith.mulf %x, %n : f32
      memref.store %y, %w[%r, %k] : memref<8x64xf32>
      scf.reduce
    }
    scf.reduce
  }
  return
}

// -----

// A row that reads an element another thread of its block would write (a
// shift: element k + 1 of what the row wrote) keeps one thread per row.
// CHECK-LABEL: func.func @shift
// CHECK: gpu.func @shift_kernel({{.*}}) kernel attributes {known_block_size = array<i32: 32, 1, 1>}
// CHECK: scf.if
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NOT: gpu.all_reduce
func.func @shift(%x: memref<8x64xf32>, %y: memref<8x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c63 = arith.constant 63 : index
  %c64 = arith.constant 64 : index
  scf.parallel (%r) = (%c0) to (%c8) step (%c1) {
    scf.for %k = %c0 to %c64 step %c1 {
      %v = memref.load %x[%r, %k] : memref<8x64xf32>
      memref.store %v, %y[%r, %k] : memref<8x64xf32>
    }
    scf.for %k = %c0 to %c63 step %c1 {
      %next = arith.addi %k, %c1 : index
      %v = memref.load %y[%r, %next] : memref<8x64xf32>
      memref.store %v, %y[%r, %k] : memref<8x64xf32>
    }
    scf.reduce
  }
  return
}

// -----

// Reductions as linalg lowers them, accumulating in memory:
// - over the leading dimensions of [4, 32, 64] into [64] (a bias
//   gradient): the parallel dimension moves outside, one block per column,
//   each block's threads summing its 128 rows;
// - over a whole [4, 32] buffer into a scalar (a loss): the nest becomes
//   one loop of 128, one row on one block.
// CHECK-LABEL: func.func @reductions
// CHECK: gpu.launch_func @smx_kernels::@reductions_kernel blocks in (%[[C64:.*]], %{{.*}}, %{{.*}}) threads in (%[[C128:.*]], %{{.*}}, %{{.*}})
// CHECK: gpu.launch_func @smx_kernels::@reductions_kernel_0 blocks in (%[[ONE:.*]], %[[ONE]], %[[ONE]]) threads in (%{{.*}}, %[[ONE]], %[[ONE]])
// CHECK: gpu.func @reductions_kernel(%[[DB:.*]]: memref<64xf32>, %[[DY:.*]]: memref<4x32x64xf32>) kernel attributes {known_block_size = array<i32: 128, 1, 1>}
// CHECK-DAG: %[[COLUMN:.*]] = gpu.block_id x
// CHECK-DAG: %[[T:.*]] = gpu.thread_id x
// CHECK: %[[INIT:.*]] = memref.load %[[DB]][%[[COLUMN]]]
// CHECK: %[[PARTIAL:.*]] = scf.for %[[K:.*]] = %[[T]] to %{{.*}} step %{{.*}} iter_args
// CHECK: memref.load %[[DY]][%{{.*}}, %{{.*}}, %[[COLUMN]]]
// CHECK: %[[SUM:.*]] = gpu.all_reduce add %[[PARTIAL]] uniform
// CHECK: %[[TOTAL:.*]] = arith.addf %[[INIT]], %[[SUM]]
// CHECK: memref.store %[[TOTAL]], %[[DB]][%[[COLUMN]]]
// CHECK: gpu.func @reductions_kernel_0(%[[LOSS:.*]]: memref<f32>, %{{.*}}: memref<4x32xf32>) kernel attributes {known_block_size = array<i32: 128, 1, 1>}
// CHECK: gpu.all_reduce add
// CHECK: memref.store %{{.*}}, %[[LOSS]][]
func.func @reductions(%dy: memref<4x32x64xf32>, %db: memref<64xf32>,
                      %x: memref<4x32xf32>, %loss: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  scf.for %a = %c0 to %c4 step %c1 {
    scf.for %b = %c0 to %c32 step %c1 {
      scf.parallel (%c) = (%c0) to (%c64) step (%c1) {
        %v = memref.load %dy[%a, %b, %c] : memref<4x32x64xf32>
        %acc = memref.load %db[%c] : memref<64xf32>
        %sum = arith.addf %v, %acc : f32
        memref.store %sum, %db[%c] : memref<64xf32>
        scf.reduce
      }
    }
  }
  scf.for %a = %c0 to %c4 step %c1 {
    scf.for %b = %c0 to %c32 step %c1 {
      %v = memref.load %x[%a, %b] : memref<4x32xf32>
      %acc = memref.load %loss[] : memref<f32>
      %sum = arith.addf %v, %acc : f32
      memref.store %sum, %loss[] : memref<f32>
    }
  }
  return
}

// -----

// A loop that calls the runtime (attention's loop over examples) stays on
// the host; the loop nests inside it are kernels. Allocation stays too.
// CHECK-LABEL: func.func @examples
// CHECK: scf.for %[[E:.*]] =
// CHECK-NEXT: %[[BUFFER:.*]] = memref.alloc()
// CHECK-NEXT: func.call @smxrt_cpu_sgemm_memref
// CHECK: gpu.launch_func @smx_kernels::@examples_kernel {{.*}} args(%[[BUFFER]] : memref<8xf32>, %{{.*}} : memref<2x8xf32>, %[[E]] : index)
// CHECK-NEXT: memref.dealloc %[[BUFFER]]
// CHECK: gpu.func @examples_kernel
func.func private @smxrt_cpu_sgemm_memref(memref<8xf32>)
func.func @examples(%out: memref<2x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  scf.for %e = %c0 to %c2 step %c1 {
    %buffer = memref.alloc() : memref<8xf32>
    func.call @smxrt_cpu_sgemm_memref(%buffer) : (memref<8xf32>) -> ()
    scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
      %v = memref.load %buffer[%i] : memref<8xf32>
      memref.store %v, %out[%e, %i] : memref<2x8xf32>
      scf.reduce
    }
    memref.dealloc %buffer : memref<8xf32>
  }
  return
}

// -----

// Loop nests with no iteration are dropped; a module without loop nests is
// left as it was.
// CHECK-LABEL: module {
// CHECK: func.func @empty
// CHECK-NOT: gpu
func.func @empty(%x: memref<0xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%i) = (%c0) to (%c0) step (%c1) {
    %v = memref.load %x[%i] : memref<0xf32>
    memref.store %v, %x[%i] : memref<0xf32>
    scf.reduce
  }
  return
}
