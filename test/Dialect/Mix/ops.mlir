// Round trip of every mix op: custom form -> custom form, and generic form ->
// custom form, print the same.
// RUN: smx-opt %s | smx-opt | FileCheck %s
// RUN: smx-opt %s --mlir-print-op-generic | smx-opt | FileCheck %s

// CHECK-LABEL: func @linear
func.func @linear(%x: tensor<8x512x768xf32>, %w_seq: tensor<512x512xf32>, %w_hid: tensor<768x768xf32>,
                  %y: tensor<?x?x?xbf16>, %v_seq: tensor<?x?xbf16>, %v_hid: tensor<?x64xbf16>)
    -> (tensor<8x512x768xf32>, tensor<?x?x?xbf16>) {
  // CHECK: mix.linear %{{.*}}, %{{.*}}, %{{.*}} : tensor<8x512x768xf32>, tensor<512x512xf32>, tensor<768x768xf32>
  %0 = mix.linear %x, %w_seq, %w_hid : tensor<8x512x768xf32>, tensor<512x512xf32>, tensor<768x768xf32>
  // CHECK: mix.linear %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x?x?xbf16>, tensor<?x?xbf16>, tensor<?x64xbf16>
  %1 = mix.linear %y, %v_seq, %v_hid : tensor<?x?x?xbf16>, tensor<?x?xbf16>, tensor<?x64xbf16>
  return %0, %1 : tensor<8x512x768xf32>, tensor<?x?x?xbf16>
}

// CHECK-LABEL: func @transforms
func.func @transforms(%x: tensor<8x512x768xf32>, %y: tensor<?x128x?xbf16>)
    -> (tensor<8x512x768xf32>, tensor<?x128x?xbf16>) {
  // CHECK: mix.fourier %{{.*}} : tensor<8x512x768xf32>
  %0 = mix.fourier %x : tensor<8x512x768xf32>
  // CHECK: mix.fourier %{{.*}} : tensor<?x128x?xbf16>
  %1 = mix.fourier %y : tensor<?x128x?xbf16>
  // CHECK: mix.hartley %{{.*}} : tensor<8x512x768xf32>
  %2 = mix.hartley %0 : tensor<8x512x768xf32>
  // CHECK: mix.hartley %{{.*}} : tensor<?x128x?xbf16>
  %3 = mix.hartley %1 : tensor<?x128x?xbf16>
  return %2, %3 : tensor<8x512x768xf32>, tensor<?x128x?xbf16>
}

// CHECK-LABEL: func @circulant
func.func @circulant(%x: tensor<8x512x768xf32>, %s: tensor<512xf32>, %h: tensor<768xf32>,
                     %y: tensor<?x?x?xbf16>, %ds: tensor<?xbf16>, %dh: tensor<32xbf16>)
    -> (tensor<8x512x768xf32>, tensor<?x?x?xbf16>) {
  // CHECK: mix.circulant %{{.*}}, %{{.*}}, %{{.*}} : tensor<8x512x768xf32>, tensor<512xf32>, tensor<768xf32>
  %0 = mix.circulant %x, %s, %h : tensor<8x512x768xf32>, tensor<512xf32>, tensor<768xf32>
  // CHECK: mix.circulant %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x?x?xbf16>, tensor<?xbf16>, tensor<32xbf16>
  %1 = mix.circulant %y, %ds, %dh : tensor<?x?x?xbf16>, tensor<?xbf16>, tensor<32xbf16>
  return %0, %1 : tensor<8x512x768xf32>, tensor<?x?x?xbf16>
}

// CHECK-LABEL: func @toeplitz
func.func @toeplitz(%x: tensor<8x512x768xf32>, %s: tensor<1023xf32>, %h: tensor<1535xf32>,
                    %y: tensor<?x?x?xbf16>, %ds: tensor<?xbf16>, %dh: tensor<63xbf16>)
    -> (tensor<8x512x768xf32>, tensor<?x?x?xbf16>) {
  // CHECK: mix.toeplitz %{{.*}}, %{{.*}}, %{{.*}} : tensor<8x512x768xf32>, tensor<1023xf32>, tensor<1535xf32>
  %0 = mix.toeplitz %x, %s, %h : tensor<8x512x768xf32>, tensor<1023xf32>, tensor<1535xf32>
  // CHECK: mix.toeplitz %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x?x?xbf16>, tensor<?xbf16>, tensor<63xbf16>
  %1 = mix.toeplitz %y, %ds, %dh : tensor<?x?x?xbf16>, tensor<?xbf16>, tensor<63xbf16>
  return %0, %1 : tensor<8x512x768xf32>, tensor<?x?x?xbf16>
}

// CHECK-LABEL: func @self_attention
func.func @self_attention(%q: tensor<8x512x768xf32>, %k: tensor<8x512x768xf32>, %v: tensor<8x512x768xf32>,
                          %mask: tensor<8x512xi1>, %step: i64,
                          %dq: tensor<?x?x?xbf16>, %dmask: tensor<?x?xi1>)
    -> (tensor<8x512x768xf32>, tensor<8x512x768xf32>, tensor<8x512x768xf32>, tensor<?x?x?xbf16>) {
  // CHECK: mix.self_attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} heads = 12 : tensor<8x512x768xf32>, tensor<8x512xi1>
  %0 = mix.self_attention %q, %k, %v, %mask heads = 12 : tensor<8x512x768xf32>, tensor<8x512xi1>
  // CHECK: mix.self_attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} heads = 12 dropout(1.000000e-01, seed = 3, step = %{{.*}}) : tensor<8x512x768xf32>, tensor<8x512xi1>
  %1 = mix.self_attention %q, %k, %v, %mask heads = 12 dropout(0.1, seed = 3, step = %step) : tensor<8x512x768xf32>, tensor<8x512xi1>
  // A zero rate needs no step; the seed alone keeps the clause.
  // CHECK: mix.self_attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} heads = 1 dropout(0.000000e+00, seed = 9) : tensor<8x512x768xf32>, tensor<8x512xi1>
  %2 = mix.self_attention %q, %k, %v, %mask heads = 1 dropout(0.0, seed = 9) : tensor<8x512x768xf32>, tensor<8x512xi1>
  // CHECK: mix.self_attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} heads = 16 dropout(5.000000e-01, seed = 0, step = %{{.*}}) : tensor<?x?x?xbf16>, tensor<?x?xi1>
  %3 = mix.self_attention %dq, %dq, %dq, %dmask heads = 16 dropout(0.5, seed = 0, step = %step) : tensor<?x?x?xbf16>, tensor<?x?xi1>
  // A clause that sets nothing prints as no clause.
  // CHECK: mix.self_attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} heads = 2 : tensor<8x512x768xf32>, tensor<8x512xi1>
  %4 = mix.self_attention %q, %k, %v, %mask heads = 2 dropout(0.0, seed = 0) : tensor<8x512x768xf32>, tensor<8x512xi1>
  return %0, %1, %2, %3 : tensor<8x512x768xf32>, tensor<8x512x768xf32>, tensor<8x512x768xf32>, tensor<?x?x?xbf16>
}
