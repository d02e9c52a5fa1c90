// RUN: smx-opt %s --split-input-file --smx-fuse-row-loops | FileCheck %s
// RUN: smx-opt %s --split-input-file --smx-fuse-row-loops=contract-rows=false | FileCheck %s --check-prefix=KEEP
// RUN: smx-opt %s --split-input-file --smx-fuse-row-loops=min-rows=1000 | FileCheck %s --check-prefix=FEW

// A softmax as convert-linalg-to-parallel-loops leaves it: the fill of the
// maximum, the maximum, the exponentials, their sum and the quotient, each
// its own sweep over [B, L, K]. They become one loop over the rows (B, L);
// the K dimension of the elementwise sweeps becomes an inner loop. The
// maximum, the exponentials and the sum are touched by no one else, so each
// iteration keeps its row of them on the stack; the output keeps its buffer.
// CHECK-LABEL: func.func @softmax
// CHECK-NOT:     memref.alloc()
// CHECK:         scf.parallel (%[[B:.*]], %[[L:.*]]) = (%c0, %c0) to (%c8, %c64)
// CHECK-NEXT:      memref.alloca_scope
// CHECK-DAG:         %[[MAX:.*]] = memref.alloca() : memref<f32>
// CHECK-DAG:         %[[EXP:.*]] = memref.alloca() : memref<32xf32>
// CHECK-DAG:         %[[SUM:.*]] = memref.alloca() : memref<f32>
// CHECK:             memref.store %{{.*}}, %[[MAX]][]
// CHECK:             scf.for %[[K:.*]] =
// CHECK:               memref.load %arg0[%[[B]], %[[L]], %[[K]]]
// CHECK:               memref.store %{{.*}}, %[[MAX]][]
// CHECK:             scf.parallel (%[[K2:.*]]) = (%c0) to (%c32)
// CHECK:               memref.store %{{.*}}, %[[EXP]][%[[K2]]]
// CHECK:             scf.for
// CHECK:               memref.load %[[EXP]]
// CHECK:             scf.parallel
// CHECK:               memref.load %[[EXP]]
// CHECK:               memref.load %[[SUM]][]
// CHECK:               memref.store %{{.*}}, %arg1[%[[B]], %[[L]], %{{.*}}]
// CHECK-NOT:     scf.parallel
// CHECK:         return
// KEEP-LABEL: func.func @softmax
// KEEP-COUNT-3: memref.alloc()
// KEEP-NOT:     memref.alloca
// KEEP:         scf.parallel (%{{.*}}, %{{.*}}) = (%c0, %c0) to (%c8, %c64)
// KEEP-NOT:     memref.alloca
// FEW-LABEL: func.func @softmax
// FEW-COUNT-5: scf.parallel
// FEW-NOT:     alloca
func.func @softmax(%x: memref<8x64x32xf32>, %y: memref<8x64x32xf32>)
    attributes {smx.entry_arguments = 2 : i64} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c64 = arith.constant 64 : index
  %c32 = arith.constant 32 : index
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %max = memref.alloc() : memref<8x64xf32>
  scf.parallel (%b, %l) = (%c0, %c0) to (%c8, %c64) step (%c1, %c1) {
    memref.store %ninf, %max[%b, %l] : memref<8x64xf32>
    scf.reduce
  }
  scf.parallel (%b, %l) = (%c0, %c0) to (%c8, %c64) step (%c1, %c1) {
    scf.for %k = %c0 to %c32 step %c1 {
      %v = memref.load %x[%b, %l, %k] : memref<8x64x32xf32>
      %m = memref.load %max[%b, %l] : memref<8x64xf32>
      %n = arith.maximumf %v, %m : f32
      memref.store %n, %max[%b, %l] : memref<8x64xf32>
    }
    scf.reduce
  }
  %exp = memref.alloc() : memref<8x64x32xf32>
  scf.parallel (%b, %l, %k) = (%c0, %c0, %c0) to (%c8, %c64, %c32) step (%c1, %c1, %c1) {
    %v = memref.load %x[%b, %l, %k] : memref<8x64x32xf32>
    %m = memref.load %max[%b, %l] : memref<8x64xf32>
    %d = arith.subf %v, %m : f32
    %e = math.exp %d : f32
    memref.store %e, %exp[%b, %l, %k] : memref<8x64x32xf32>
    scf.reduce
  }
  %sum = memref.alloc() : memref<8x64xf32>
  scf.parallel (%b, %l) = (%c0, %c0) to (%c8, %c64) step (%c1, %c1) {
    memref.store %zero, %sum[%b, %l] : memref<8x64xf32>
    scf.for %k = %c0 to %c32 step %c1 {
      %e = memref.load %exp[%b, %l, %k] : memref<8x64x32xf32>
      %s = memref.load %sum[%b, %l] : memref<8x64xf32>
      %t = arith.addf %e, %s : f32
      memref.store %t, %sum[%b, %l] : memref<8x64xf32>
    }
    scf.reduce
  }
  scf.parallel (%b, %l, %k) = (%c0, %c0, %c0) to (%c8, %c64, %c32) step (%c1, %c1, %c1) {
    %e = memref.load %exp[%b, %l, %k] : memref<8x64x32xf32>
    %s = memref.load %sum[%b, %l] : memref<8x64xf32>
    %q = arith.divf %e, %s : f32
    memref.store %q, %y[%b, %l, %k] : memref<8x64x32xf32>
    scf.reduce
  }
  memref.dealloc %max : memref<8x64xf32>
  memref.dealloc %exp : memref<8x64x32xf32>
  memref.dealloc %sum : memref<8x64xf32>
  return
}

// -----

// A transpose reads the other loop's output across rows: not fused.
// CHECK-LABEL: func.func @transpose_reads_across_rows
// CHECK-COUNT-2: scf.parallel
func.func @transpose_reads_across_rows(%x: memref<64x64xf32>, %y: memref<64x64xf32>)
    attributes {smx.entry_arguments = 2 : i64} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %t = memref.alloc() : memref<64x64xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%c64, %c64) step (%c1, %c1) {
    %v = memref.load %x[%i, %j] : memref<64x64xf32>
    memref.store %v, %t[%i, %j] : memref<64x64xf32>
    scf.reduce
  }
  scf.parallel (%i, %j) = (%c0, %c0) to (%c64, %c64) step (%c1, %c1) {
    %v = memref.load %t[%j, %i] : memref<64x64xf32>
    memref.store %v, %y[%i, %j] : memref<64x64xf32>
    scf.reduce
  }
  return
}

// -----

// Two views of the arena: disjoint ones fuse, overlapping ones do not.
// CHECK-LABEL: func.func @arena_views
// CHECK:         scf.parallel
// CHECK:           memref.store %{{.*}}, %[[A:.*]][%{{.*}}, %{{.*}}]
// CHECK-NEXT:      memref.load %arg0
// CHECK-NEXT:      memref.store %{{.*}}, %[[B:.*]][%{{.*}}, %{{.*}}]
// CHECK-NEXT:      scf.reduce
// CHECK:         scf.parallel
// CHECK-NEXT:      memref.load %[[A]]
// CHECK-NEXT:      memref.load %[[B]]
// CHECK-NEXT:      arith.addf
// CHECK-NEXT:      memref.store %{{.*}}, %{{.*}}[%{{.*}}, %{{.*}}]
// CHECK-NEXT:      scf.reduce
// CHECK:         return
func.func @arena_views(%x: memref<64x64xf32>, %arena: memref<65536xi8>)
    attributes {smx.entry_arguments = 1 : i64} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c16384 = arith.constant 16384 : index
  %c8192 = arith.constant 8192 : index
  %a = memref.view %arena[%c0][] : memref<65536xi8> to memref<64x64xf32>
  %b = memref.view %arena[%c16384][] : memref<65536xi8> to memref<64x64xf32>
  // Overlaps %b's first half: a write through %c may clobber rows of %b
  // that another iteration still reads.
  %c = memref.view %arena[%c8192][] : memref<65536xi8> to memref<64x64xf32>
  // Fused with the next one: they write %a and %b, which are disjoint.
  scf.parallel (%i, %j) = (%c0, %c0) to (%c64, %c64) step (%c1, %c1) {
    %v = memref.load %x[%i, %j] : memref<64x64xf32>
    memref.store %v, %a[%i, %j] : memref<64x64xf32>
    scf.reduce
  }
  scf.parallel (%i, %j) = (%c0, %c0) to (%c64, %c64) step (%c1, %c1) {
    %v = memref.load %x[%i, %j] : memref<64x64xf32>
    memref.store %v, %b[%i, %j] : memref<64x64xf32>
    scf.reduce
  }
  // Not fused: %c overlaps %a and %b.
  scf.parallel (%i, %j) = (%c0, %c0) to (%c64, %c64) step (%c1, %c1) {
    %v = memref.load %a[%i, %j] : memref<64x64xf32>
    %w = memref.load %b[%i, %j] : memref<64x64xf32>
    %s = arith.addf %v, %w : f32
    memref.store %s, %c[%i, %j] : memref<64x64xf32>
    scf.reduce
  }
  return
}

// -----

// A call between the loops may touch anything: nothing moves across it.
// CHECK-LABEL: func.func @call_between
// CHECK:         scf.parallel
// CHECK:         call @opaque
// CHECK:         scf.parallel
func.func private @opaque(memref<64x64xf32>)
func.func @call_between(%x: memref<64x64xf32>, %y: memref<64x64xf32>)
    attributes {smx.entry_arguments = 2 : i64} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c64, %c64) step (%c1, %c1) {
    %v = memref.load %x[%i, %j] : memref<64x64xf32>
    memref.store %v, %y[%i, %j] : memref<64x64xf32>
    scf.reduce
  }
  func.call @opaque(%y) : (memref<64x64xf32>) -> ()
  scf.parallel (%i, %j) = (%c0, %c0) to (%c64, %c64) step (%c1, %c1) {
    %v = memref.load %y[%i, %j] : memref<64x64xf32>
    memref.store %v, %x[%i, %j] : memref<64x64xf32>
    scf.reduce
  }
  return
}

// -----

// Arguments of a function that is not an entry point may alias: two
// different ones, one written, keep their loops apart.
// CHECK-LABEL: func.func @helper_arguments
// CHECK-COUNT-2: scf.parallel
func.func @helper_arguments(%x: memref<64x64xf32>, %y: memref<64x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c64, %c64) step (%c1, %c1) {
    %v = memref.load %x[%i, %j] : memref<64x64xf32>
    memref.store %v, %y[%i, %j] : memref<64x64xf32>
    scf.reduce
  }
  scf.parallel (%i, %j) = (%c0, %c0) to (%c64, %c64) step (%c1, %c1) {
    %v = memref.load %y[%i, %j] : memref<64x64xf32>
    memref.store %v, %x[%i, %j] : memref<64x64xf32>
    scf.reduce
  }
  return
}
