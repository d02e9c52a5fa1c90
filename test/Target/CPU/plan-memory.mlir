// RUN: smx-opt %s --split-input-file --smx-plan-memory | FileCheck %s

// A chain a -> b -> c -> d: a is dead once b is computed, so c reuses a's
// bytes and d reuses b's. Four 4 KiB buffers fit in 8 KiB, and the peak is
// named by the model path of the operation where it is first reached (b's
// allocation, while a is still live).
// CHECK-LABEL: func.func @chain
// CHECK-SAME: smx.arena_bytes = 8192 : i64
// CHECK-SAME: smx.peak_at = "layers.1.ffn"
// CHECK-SAME: smx.peak_live_bytes = 8192 : i64
// CHECK: %[[ARENA:.*]] = memref.alloc() {alignment = 64 : i64} : memref<8192xi8>
// CHECK-DAG: %[[LOW:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[HIGH:.*]] = arith.constant 4096 : index
// CHECK: memref.view %[[ARENA]][%[[LOW]]][] : memref<8192xi8> to memref<1024xf32>
// CHECK: memref.view %[[ARENA]][%[[HIGH]]][] : memref<8192xi8> to memref<1024xf32>
// CHECK: memref.view %[[ARENA]][%[[LOW]]][] : memref<8192xi8> to memref<1024xf32>
// CHECK: memref.view %[[ARENA]][%[[HIGH]]][] : memref<8192xi8> to memref<1024xf32>
// CHECK-NOT: memref.alloc
func.func @chain(%input: memref<1024xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %a = memref.alloc() {alignment = 64 : i64} : memref<1024xf32> loc("layers.0.mixing")
  memref.copy %input, %a : memref<1024xf32> to memref<1024xf32>
  %b = memref.alloc() {alignment = 64 : i64} : memref<1024xf32> loc("layers.1.ffn")
  memref.copy %a, %b : memref<1024xf32> to memref<1024xf32>
  %c = memref.alloc() {alignment = 64 : i64} : memref<1024xf32>
  memref.copy %b, %c : memref<1024xf32> to memref<1024xf32>
  %d = memref.alloc() {alignment = 64 : i64} : memref<1024xf32>
  memref.copy %c, %d : memref<1024xf32> to memref<1024xf32>
  %v = memref.load %d[%c0] : memref<1024xf32>
  return %v : f32
}

// -----

// A buffer only copied into an out-parameter at the end is computed in the
// out-parameter: no buffer, no copy.
// CHECK-LABEL: func.func @result_in_place
// CHECK-SAME: (%[[INPUT:.*]]: memref<16xf32>, %[[OUT:.*]]: memref<16xf32>)
// CHECK-SAME: smx.arena_bytes = 0 : i64
// CHECK-NOT: memref.alloc
// CHECK: linalg.copy ins(%[[INPUT]] : memref<16xf32>) outs(%[[OUT]] : memref<16xf32>)
// CHECK-NEXT: return
func.func @result_in_place(%input: memref<16xf32>, %out: memref<16xf32>) {
  %a = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
  linalg.copy ins(%input : memref<16xf32>) outs(%a : memref<16xf32>)
  memref.copy %a, %out : memref<16xf32> to memref<16xf32>
  return
}

// -----

// Lifetimes follow aliases: %a is read through a reshape after %b is
// allocated, so the two overlap. A use inside a loop counts at the loop.
// The larger buffer is placed first; offsets are 64-byte aligned (b takes
// 16 bytes at 0, a starts at 64).
// CHECK-LABEL: func.func @aliases_and_regions
// CHECK-SAME: smx.arena_bytes = 128 : i64
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK: memref.view %{{.*}}[%[[C64]]][] : memref<128xi8> to memref<3xf32>
// CHECK: memref.view %{{.*}}[%[[C0]]][] : memref<128xi8> to memref<4xf32>
func.func @aliases_and_regions(%x: f32, %n: index) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %a = memref.alloc() : memref<3xf32>
  %b = memref.alloc() : memref<4xf32>
  %shaped = memref.expand_shape %a [[0, 1]] output_shape [1, 3] : memref<3xf32> into memref<1x3xf32>
  scf.for %i = %c0 to %n step %c1 {
    memref.store %x, %shaped[%c0, %c0] : memref<1x3xf32>
    memref.store %x, %b[%c0] : memref<4xf32>
  }
  %v = memref.load %b[%c0] : memref<4xf32>
  return %v : f32
}

// -----

// Returned buffers and dynamic shapes keep their own allocations.
// CHECK-LABEL: func.func @escapes
// CHECK-SAME: smx.arena_bytes = 0 : i64
// CHECK: memref.alloc() : memref<8xf32>
// CHECK: memref.alloc(%{{.*}}) : memref<?xf32>
func.func @escapes(%n: index) -> (memref<8xf32>, memref<?xf32>) {
  %a = memref.alloc() : memref<8xf32>
  %b = memref.alloc(%n) : memref<?xf32>
  return %a, %b : memref<8xf32>, memref<?xf32>
}

// -----

// An entry function takes its arena from the caller: a last argument
// marked smx.workspace (the application allocates it once, docs/abi.md),
// not an allocation.
// CHECK-LABEL: func.func @entry
// CHECK-SAME: (%{{.*}}: memref<16xf32>, %{{.*}}: memref<f32>, %[[ARENA:.*]]: memref<64xi8> {smx.workspace})
// CHECK-SAME: smx.arena_bytes = 64 : i64
// CHECK-NOT: memref.alloc
// CHECK: memref.view %[[ARENA]]
func.func @entry(%x: memref<16xf32>, %out: memref<f32>) attributes {smx.entry_arguments = 1 : i64} {
  %c0 = arith.constant 0 : index
  %a = memref.alloc() : memref<16xf32>
  memref.copy %x, %a : memref<16xf32> to memref<16xf32>
  %v = memref.load %a[%c0] : memref<16xf32>
  memref.store %v, %out[] : memref<f32>
  return
}
