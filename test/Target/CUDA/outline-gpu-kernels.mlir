// RUN: smx-opt %s --split-input-file --smx-outline-gpu-kernels | FileCheck %s

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

// A row kernel (smx-fuse-row-loops): one thread per row runs the row's
// sequential loops and its per-row scratch, which moves to the kernel's
// entry. 6 rows: one block of 32 threads (a warp), the rest guarded off.
// A loop nest without parallel dimensions runs on one thread.
// CHECK-LABEL: func.func @rows
// CHECK: gpu.launch_func @smx_kernels::@rows_kernel blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in (%[[C32:.*]], %{{.*}}, %{{.*}})
// CHECK: gpu.launch_func @smx_kernels::@rows_kernel_0 blocks in (%[[ONE:.*]], %[[ONE]], %[[ONE]]) threads in (%[[ONE]], %[[ONE]], %[[ONE]])
// CHECK: gpu.func @rows_kernel({{.*}}) kernel attributes {known_block_size = array<i32: 32, 1, 1>}
// CHECK-NEXT: %[[SCRATCH:.*]] = memref.alloca() : memref<64xf32>
// CHECK-NOT: memref.alloca_scope
// CHECK: scf.if
// CHECK: scf.for
// CHECK: memref.store %{{.*}}, %[[SCRATCH]]
// CHECK: gpu.func @rows_kernel_0({{.*}}) kernel attributes {known_block_size = array<i32: 1, 1, 1>}
// CHECK-NOT: gpu.block_id
// CHECK: scf.for
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
