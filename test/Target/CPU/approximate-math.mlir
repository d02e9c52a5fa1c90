// RUN: smx-opt %s --split-input-file --smx-approximate-math | FileCheck %s

// GELU's tanh and softmax's exp become arith polynomials: no libm call is
// left for the loop vectorizer to unroll around.
// CHECK-LABEL: func.func @gelu_and_softmax_math
// CHECK-NOT: math.tanh
// CHECK-NOT: math.exp
// CHECK: arith.mulf
// CHECK: return
func.func @gelu_and_softmax_math(%x: f32, %v: vector<8xf32>) -> (f32, vector<8xf32>) {
  %t = math.tanh %x : f32
  %e = math.exp %v : vector<8xf32>
  return %t, %e : f32, vector<8xf32>
}

// -----

// Element types without a polynomial stay as they are, for
// convert-math-to-libm.
// CHECK-LABEL: func.func @f64_left_alone
// CHECK: math.tanh %{{.*}} : f64
func.func @f64_left_alone(%x: f64) -> f64 {
  %t = math.tanh %x : f64
  return %t : f64
}
