// RUN: smx-opt %s --split-input-file --smx-prepare-parallel-loops | FileCheck %s
// RUN: smx-opt %s --split-input-file --smx-prepare-parallel-loops=min-parallel-work=1000000000 | FileCheck %s --check-prefix=SMALL

// An elementwise [B, L, d] nest: threads split B x L, the d loop becomes a
// plain scf.for for the vectorizer.
// CHECK-LABEL: func.func @elementwise
// CHECK:       scf.parallel (%[[B:.*]], %[[L:.*]]) = (%c0, %c0) to (%c8, %c512)
// CHECK-NEXT:    scf.for %[[D:.*]] = %c0 to %c512 step %c1
// CHECK-NEXT:      memref.load %{{.*}}[%[[B]], %[[L]], %[[D]]]
// CHECK-NOT:   scf.parallel
// SMALL-LABEL: func.func @elementwise
// SMALL-NOT:   scf.parallel
// SMALL-COUNT-3: scf.for
func.func @elementwise(%x: memref<8x512x512xf32>, %y: memref<8x512x512xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c512 = arith.constant 512 : index
  scf.parallel (%b, %l, %d) = (%c0, %c0, %c0) to (%c8, %c512, %c512) step (%c1, %c1, %c1) {
    %v = memref.load %x[%b, %l, %d] : memref<8x512x512xf32>
    %s = arith.mulf %v, %v : f32
    memref.store %s, %y[%b, %l, %d] : memref<8x512x512xf32>
    scf.reduce
  }
  return
}

// -----

// A row reduction: the parallel rows keep their dimensions (the body holds
// the reduction loop), and a parallel loop nested inside becomes sequential.
// CHECK-LABEL: func.func @rows_with_inner_loops
// CHECK:       scf.parallel (%{{.*}}, %{{.*}}) = (%c0, %c0) to (%c8, %c512)
// CHECK:         scf.for
// CHECK:         scf.for
// CHECK-NOT:     scf.parallel
// CHECK:         scf.reduce
func.func @rows_with_inner_loops(%x: memref<8x512x512xf32>, %sum: memref<8x512xf32>, %y: memref<8x512x512xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c512 = arith.constant 512 : index
  scf.parallel (%b, %l) = (%c0, %c0) to (%c8, %c512) step (%c1, %c1) {
    scf.for %d = %c0 to %c512 step %c1 {
      %v = memref.load %x[%b, %l, %d] : memref<8x512x512xf32>
      %a = memref.load %sum[%b, %l] : memref<8x512xf32>
      %s = arith.addf %a, %v : f32
      memref.store %s, %sum[%b, %l] : memref<8x512xf32>
    }
    scf.parallel (%d) = (%c0) to (%c512) step (%c1) {
      %a = memref.load %sum[%b, %l] : memref<8x512xf32>
      memref.store %a, %y[%b, %l, %d] : memref<8x512x512xf32>
      scf.reduce
    }
    scf.reduce
  }
  return
}

// -----

// Too little work to pay for a fork: the nest runs on one thread.
// CHECK-LABEL: func.func @tiny
// CHECK-NOT:   scf.parallel
// CHECK:       scf.for
func.func @tiny(%x: memref<8x2xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%c8, %c2) step (%c1, %c1) {
    memref.store %zero, %x[%i, %j] : memref<8x2xf32>
    scf.reduce
  }
  return
}

// -----

// A reduction the linalg lowering leaves in memory keeps its accumulator in
// a register: one load before the loop, one store after it, and the sum
// reassociable so that it vectorizes. The max reduction is carried too,
// without fast-math flags.
// CHECK-LABEL: func.func @memory_reductions
// CHECK: %[[INIT:.*]] = memref.load %[[SUM:.*]][%{{.*}}] : memref<64xf32>
// CHECK: %[[TOTAL:.*]] = scf.for %{{.*}} iter_args(%[[ACC:.*]] = %[[INIT]]) -> (f32) {
// CHECK-NOT: memref.store
// CHECK: arith.addf %{{.*}}, %[[ACC]] fastmath<reassoc> : f32
// CHECK: scf.yield
// CHECK: memref.store %[[TOTAL]], %[[SUM]]
// CHECK: scf.for %{{.*}} iter_args
// CHECK: arith.maximumf
// CHECK-NOT: fastmath
// CHECK: scf.yield
func.func @memory_reductions(%in: memref<64x512xf32>, %sum: memref<64xf32>, %max: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c512 = arith.constant 512 : index
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    scf.for %j = %c0 to %c512 step %c1 {
      %x = memref.load %in[%i, %j] : memref<64x512xf32>
      %acc = memref.load %sum[%i] : memref<64xf32>
      %next = arith.addf %x, %acc : f32
      memref.store %next, %sum[%i] : memref<64xf32>
    }
    scf.for %j = %c0 to %c512 step %c1 {
      %x = memref.load %in[%i, %j] : memref<64x512xf32>
      %acc = memref.load %max[%i] : memref<64xf32>
      %next = arith.maximumf %x, %acc : f32
      memref.store %next, %max[%i] : memref<64xf32>
    }
    scf.reduce
  }
  return
}

// -----

// Not a register reduction: the loop stores to the accumulator's buffer at
// the loop's own index (a map, not a reduction).
// CHECK-LABEL: func.func @not_a_reduction
// CHECK-NOT: iter_args
// CHECK: memref.store
func.func @not_a_reduction(%buffer: memref<512xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c512 = arith.constant 512 : index
  scf.for %j = %c0 to %c512 step %c1 {
    %x = memref.load %buffer[%j] : memref<512xf32>
    %y = arith.addf %x, %x : f32
    memref.store %y, %buffer[%j] : memref<512xf32>
  }
  return
}

// -----

// A row loop of smx-fuse-row-loops too small for threads: its rows' stack
// buffers become one buffer before the sequential nest, and the
// alloca_scope (which would split an scf.for body into blocks) goes.
// SMALL-LABEL: func.func @row_buffers_in_a_sequential_nest
// SMALL:         %[[ROW:.*]] = memref.alloca() : memref<16xf32>
// SMALL-NEXT:    scf.for
// SMALL-NEXT:      scf.for
// SMALL-NOT:       alloca_scope
// SMALL:             memref.store %{{.*}}, %[[ROW]]
// SMALL-NOT:     alloca_scope
// CHECK-LABEL: func.func @row_buffers_in_a_sequential_nest
// CHECK:         scf.parallel
// CHECK-NEXT:      memref.alloca_scope
// CHECK-NEXT:        memref.alloca() : memref<16xf32>
func.func @row_buffers_in_a_sequential_nest(%x: memref<64x64x16xf32>, %y: memref<64x64x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c64 = arith.constant 64 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c64, %c64) step (%c1, %c1) {
    memref.alloca_scope {
      %row = memref.alloca() : memref<16xf32>
      scf.for %k = %c0 to %c16 step %c1 {
        %v = memref.load %x[%i, %j, %k] : memref<64x64x16xf32>
        memref.store %v, %row[%k] : memref<16xf32>
      }
      scf.for %k = %c0 to %c16 step %c1 {
        %v = memref.load %row[%k] : memref<16xf32>
        %s = arith.mulf %v, %v : f32
        memref.store %s, %y[%i, %j, %k] : memref<64x64x16xf32>
      }
    }
    scf.reduce
  }
  return
}
