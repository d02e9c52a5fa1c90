// RUN: smx-opt %s --split-input-file --smx-update-state-in-place | FileCheck %s

#map = affine_map<(d0) -> (d0)>

// The update reads the parameter, its gradient and its moment elementwise
// after every other read of them: both next values are written over the
// arguments, the out-parameters are never accessed and are marked in place.
// CHECK-LABEL: func.func @adam_update
// CHECK-SAME: %[[P:[a-z0-9]+]]: memref<8xf32> {smx.parameter = "w"}
// CHECK-SAME: %[[M:[a-z0-9]+]]: memref<8xf32> {smx.first_moment = "w"}
// CHECK-SAME: %{{.*}}: memref<8xf32> {smx.in_place, smx.parameter = "w"}
// CHECK-SAME: %{{.*}}: memref<8xf32> {smx.first_moment = "w", smx.in_place}
// CHECK: linalg.generic
// CHECK: linalg.generic
// CHECK-SAME: ins(%[[P]], %{{[a-z0-9_]+}}, %[[M]] :
// CHECK-SAME: outs(%[[P]], %[[M]] :
// CHECK-NOT: memref.copy
func.func @adam_update(%p: memref<8xf32> {smx.parameter = "w"},
                       %m: memref<8xf32> {smx.first_moment = "w"},
                       %p_next: memref<8xf32> {smx.parameter = "w"},
                       %m_next: memref<8xf32> {smx.first_moment = "w"})
    attributes {smx.entry_arguments = 2 : i64} {
  %grad = memref.alloc() : memref<8xf32>
  linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]}
      ins(%p : memref<8xf32>) outs(%grad : memref<8xf32>) {
  ^bb0(%x: f32, %out: f32):
    %y = arith.mulf %x, %x : f32
    linalg.yield %y : f32
  }
  %new_p = memref.alloc() : memref<8xf32>
  %new_m = memref.alloc() : memref<8xf32>
  linalg.generic {indexing_maps = [#map, #map, #map, #map, #map], iterator_types = ["parallel"]}
      ins(%p, %grad, %m : memref<8xf32>, memref<8xf32>, memref<8xf32>)
      outs(%new_p, %new_m : memref<8xf32>, memref<8xf32>) {
  ^bb0(%x: f32, %g: f32, %mx: f32, %o0: f32, %o1: f32):
    %mn = arith.addf %mx, %g : f32
    %xn = arith.subf %x, %mn : f32
    linalg.yield %xn, %mn : f32, f32
  }
  memref.copy %new_p, %p_next : memref<8xf32> to memref<8xf32>
  memref.copy %new_m, %m_next : memref<8xf32> to memref<8xf32>
  return
}

// -----

#map = affine_map<(d0) -> (d0)>
#reversed = affine_map<(d0) -> (7 - d0)>

// Not in place: the parameter is read after its next value is written, or
// read through another indexing map by the update itself.
// CHECK-LABEL: func.func @not_in_place
// CHECK-NOT: smx.in_place
// CHECK: return
func.func @not_in_place(%p: memref<8xf32> {smx.parameter = "a"},
                        %q: memref<8xf32> {smx.parameter = "b"},
                        %p_next: memref<8xf32> {smx.parameter = "a"},
                        %q_next: memref<8xf32> {smx.parameter = "b"},
                        %out: memref<8xf32>)
    attributes {smx.entry_arguments = 2 : i64} {
  linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]}
      ins(%p : memref<8xf32>) outs(%p_next : memref<8xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  memref.copy %p, %out : memref<8xf32> to memref<8xf32>
  linalg.generic {indexing_maps = [#reversed, #map], iterator_types = ["parallel"]}
      ins(%q : memref<8xf32>) outs(%q_next : memref<8xf32>) {
  ^bb0(%x: f32, %o: f32):
    linalg.yield %x : f32
  }
  return
}
