// RUN: smx-opt %s --smx-outline-kernels | FileCheck %s

// Two layers run the same loop nest on their own buffers: one kernel,
// called twice with each layer's buffers; the constants it uses are cloned
// into it. A loop with a different body is a kernel of its own; code
// outside loops stays where it is.
// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%[[X:.*]]: memref<8xf32>, %[[Y:.*]]: memref<8xf32>, %[[Z:.*]]: memref<8xf32>, %[[S:.*]]: f32)
// CHECK: call @forward_kernel(%[[X]], %[[Y]]) : (memref<8xf32>, memref<8xf32>) -> ()
// CHECK: call @forward_kernel(%[[Y]], %[[Z]]) : (memref<8xf32>, memref<8xf32>) -> ()
// CHECK-NEXT: memref.store
// CHECK-NEXT: call @forward_kernel_0(%[[S]], %[[Z]]) : (f32, memref<8xf32>) -> ()
// CHECK-NEXT: return

// CHECK: func.func private @forward_kernel(%[[IN:.*]]: memref<8xf32>, %[[OUT:.*]]: memref<8xf32>)
// CHECK-SAME: llvm.linkage = #llvm.linkage<internal>, passthrough = ["noinline"]
// CHECK-DAG: arith.constant 0 : index
// CHECK-DAG: arith.constant 8 : index
// CHECK-DAG: arith.constant 1 : index
// CHECK: scf.parallel
// CHECK: memref.load %[[IN]]
// CHECK: memref.store %{{.*}}, %[[OUT]]
// CHECK: return

// CHECK: func.func private @forward_kernel_0(%{{.*}}: f32, %{{.*}}: memref<8xf32>)
// CHECK: scf.for
// CHECK-NOT: func.func private
func.func @forward(%x: memref<8xf32>, %y: memref<8xf32>, %z: memref<8xf32>, %s: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %v = memref.load %x[%i] : memref<8xf32>
    %w = arith.mulf %v, %v : f32
    memref.store %w, %y[%i] : memref<8xf32>
    scf.reduce
  }
  %c0_again = arith.constant 0 : index
  scf.parallel (%i) = (%c0_again) to (%c8) step (%c1) {
    %v = memref.load %y[%i] : memref<8xf32>
    %w = arith.mulf %v, %v : f32
    memref.store %w, %z[%i] : memref<8xf32>
    scf.reduce
  }
  memref.store %s, %z[%c0] : memref<8xf32>
  scf.for %i = %c0 to %c8 step %c1 {
    memref.store %s, %z[%i] : memref<8xf32>
  }
  return
}
