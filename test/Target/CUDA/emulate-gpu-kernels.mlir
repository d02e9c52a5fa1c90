// RUN: smx-opt %s --split-input-file --smx-outline-gpu-kernels --smx-emulate-gpu-kernels | FileCheck %s

// Softmax over rows of 128 on blocks of 128 threads, emulated: a loop over
// the 16 blocks calls the block's function; it runs each element loop once
// per thread, the threads' partial maxima and sums combined in thread order
// where gpu.all_reduce combined them, the rest of the row once. The row's
// split scratch is one buffer per thread.
// CHECK-LABEL: func.func @softmax
// CHECK: scf.for %[[BLOCK:.*]] = %{{.*}} to %[[C16:.*]] step
// CHECK-NEXT: func.call @softmax_kernel_emulated(%{{.*}}, %{{.*}}, %[[BLOCK]])
// CHECK-NOT: gpu.
// CHECK: func.func private @softmax_kernel_emulated(%[[X:.*]]: memref<16x128xf32>, %[[Y:.*]]: memref<16x128xf32>, %[[ROW:.*]]: index)
// CHECK: %[[SCRATCH:.*]] = memref.alloca() : memref<128x1xf32>
// CHECK: %[[MAX:.*]] = scf.for %[[T:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[TOTAL:.*]] = %{{.*}}) -> (f32) {
// CHECK: %[[PARTIAL:.*]] = scf.for %{{.*}} = %[[T]] to %{{.*}} step %{{.*}} iter_args
// CHECK: memref.load %[[X]][%[[ROW]], %{{.*}}]
// CHECK: %[[NEXT:.*]] = arith.maximumf %[[TOTAL]], %[[PARTIAL]] : f32
// CHECK: scf.yield %[[NEXT]]
// CHECK: arith.maximumf %{{.*}}, %[[MAX]] : f32
// CHECK: scf.for %[[T2:.*]] = %{{.*}} to %{{.*}} step
// CHECK: %[[MINE:.*]] = memref.subview %[[SCRATCH]][%[[T2]], 0] [1, 1] [1, 1]
// CHECK: memref.store %{{.*}}, %[[MINE]][%{{.*}}]
// CHECK: %[[SUM:.*]] = scf.for %{{.*}} iter_args
// CHECK: arith.addf
// CHECK: arith.addf %{{.*}}, %[[SUM]] fastmath<reassoc> : f32
// CHECK: return
// CHECK-NOT: gpu.module
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

// Threads that never wait for each other (one per element, 2 blocks of
// 256 for 384 elements): the kernel's whole body once per thread, past the
// last element guarded off as on the GPU.
// CHECK-LABEL: func.func @elementwise
// CHECK: scf.for %[[BLOCK:.*]] =
// CHECK-NEXT: func.call @elementwise_kernel_emulated(%{{.*}}, %{{.*}}, %[[BLOCK]])
// CHECK: func.func private @elementwise_kernel_emulated(%{{.*}}: memref<384xf32>, %{{.*}}: memref<384xf32>, %[[B:.*]]: index)
// CHECK: scf.for %[[T:.*]] = %{{.*}} to %[[C256:.*]] step
// CHECK: %[[BASE:.*]] = arith.muli %[[B]], %{{.*}}
// CHECK: arith.addi %[[BASE]], %[[T]]
// CHECK: scf.if
func.func @elementwise(%x: memref<384xf32>, %y: memref<384xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c384 = arith.constant 384 : index
  scf.parallel (%i) = (%c0) to (%c384) step (%c1) {
    %v = memref.load %x[%i] : memref<384xf32>
    %w = arith.negf %v : f32
    memref.store %w, %y[%i] : memref<384xf32>
    scf.reduce
  }
  return
}
