// RUN: smx-opt %s --mix-materialize-structured-weights | FileCheck %s

// C(v)[r, c] = v[(r - c) mod n]; the hidden matrix is C(h) transposed, so its
// generator reads h[(c - r) mod n]: the same arithmetic with the indices
// swapped.
// CHECK-LABEL: func @circulant_static
// CHECK-SAME: (%[[X:.*]]: tensor<8x16x64xf32>, %[[S:.*]]: tensor<16xf32>, %[[H:.*]]: tensor<64xf32>)
// CHECK-DAG: %[[C16:.*]] = arith.constant 16 : index
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK: %[[SEQ:.*]] = tensor.generate {
// CHECK-NEXT: ^bb0(%[[R:.*]]: index, %[[C:.*]]: index):
// CHECK-NEXT: %[[DIFF:.*]] = arith.subi %[[R]], %[[C]] : index
// CHECK-NEXT: %[[SHIFTED:.*]] = arith.addi %[[DIFF]], %[[C16]] : index
// CHECK-NEXT: %[[INDEX:.*]] = arith.remui %[[SHIFTED]], %[[C16]] : index
// CHECK-NEXT: %[[ELEMENT:.*]] = tensor.extract %[[S]][%[[INDEX]]] : tensor<16xf32>
// CHECK-NEXT: tensor.yield %[[ELEMENT]] : f32
// CHECK-NEXT: } : tensor<16x16xf32>
// CHECK: %[[HID:.*]] = tensor.generate {
// CHECK-NEXT: ^bb0(%[[R:.*]]: index, %[[C:.*]]: index):
// CHECK-NEXT: %[[DIFF:.*]] = arith.subi %[[C]], %[[R]] : index
// CHECK-NEXT: %[[SHIFTED:.*]] = arith.addi %[[DIFF]], %[[C64]] : index
// CHECK-NEXT: %[[INDEX:.*]] = arith.remui %[[SHIFTED]], %[[C64]] : index
// CHECK-NEXT: %[[ELEMENT:.*]] = tensor.extract %[[H]][%[[INDEX]]] : tensor<64xf32>
// CHECK-NEXT: tensor.yield %[[ELEMENT]] : f32
// CHECK-NEXT: } : tensor<64x64xf32>
// CHECK: %[[Y:.*]] = mix.linear %[[X]], %[[SEQ]], %[[HID]] : tensor<8x16x64xf32>, tensor<16x16xf32>, tensor<64x64xf32>
// CHECK-NOT: mix.circulant
// CHECK: return %[[Y]]
func.func @circulant_static(%x: tensor<8x16x64xf32>, %s: tensor<16xf32>, %h: tensor<64xf32>) -> tensor<8x16x64xf32> {
  %0 = mix.circulant %x, %s, %h : tensor<8x16x64xf32>, tensor<16xf32>, tensor<64xf32>
  return %0 : tensor<8x16x64xf32>
}

// Dynamic sizes: the matrices take their size from the input.
// CHECK-LABEL: func @circulant_dynamic
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x?xbf16>, %[[S:.*]]: tensor<?xbf16>, %[[H:.*]]: tensor<?xbf16>)
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK: %[[L:.*]] = tensor.dim %[[X]], %[[C1]] : tensor<?x?x?xbf16>
// CHECK: %[[SEQ:.*]] = tensor.generate %[[L]], %[[L]] {
// CHECK-NEXT: ^bb0(%[[R:.*]]: index, %[[C:.*]]: index):
// CHECK-NEXT: %[[DIFF:.*]] = arith.subi %[[R]], %[[C]] : index
// CHECK-NEXT: %[[SHIFTED:.*]] = arith.addi %[[DIFF]], %[[L]] : index
// CHECK-NEXT: %[[INDEX:.*]] = arith.remui %[[SHIFTED]], %[[L]] : index
// CHECK-NEXT: %[[ELEMENT:.*]] = tensor.extract %[[S]][%[[INDEX]]] : tensor<?xbf16>
// CHECK-NEXT: tensor.yield %[[ELEMENT]] : bf16
// CHECK-NEXT: } : tensor<?x?xbf16>
// CHECK: %[[D:.*]] = tensor.dim %[[X]], %[[C2]] : tensor<?x?x?xbf16>
// CHECK: %[[HID:.*]] = tensor.generate %[[D]], %[[D]] {
// CHECK-NEXT: ^bb0(%[[R:.*]]: index, %[[C:.*]]: index):
// CHECK-NEXT: %[[DIFF:.*]] = arith.subi %[[C]], %[[R]] : index
// CHECK-NEXT: %[[SHIFTED:.*]] = arith.addi %[[DIFF]], %[[D]] : index
// CHECK-NEXT: %[[INDEX:.*]] = arith.remui %[[SHIFTED]], %[[D]] : index
// CHECK-NEXT: %[[ELEMENT:.*]] = tensor.extract %[[H]][%[[INDEX]]] : tensor<?xbf16>
// CHECK-NEXT: tensor.yield %[[ELEMENT]] : bf16
// CHECK-NEXT: } : tensor<?x?xbf16>
// CHECK: mix.linear %[[X]], %[[SEQ]], %[[HID]] : tensor<?x?x?xbf16>, tensor<?x?xbf16>, tensor<?x?xbf16>
// CHECK-NOT: mix.circulant
func.func @circulant_dynamic(%x: tensor<?x?x?xbf16>, %s: tensor<?xbf16>, %h: tensor<?xbf16>) -> tensor<?x?x?xbf16> {
  %0 = mix.circulant %x, %s, %h : tensor<?x?x?xbf16>, tensor<?xbf16>, tensor<?xbf16>
  return %0 : tensor<?x?x?xbf16>
}

// T(t)[r, c] = t[n - 1 + c - r], computed as (n + c) - r - 1; the hidden
// matrix is T(h) transposed: t[n - 1 + r - c].
// CHECK-LABEL: func @toeplitz_static
// CHECK-SAME: (%[[X:.*]]: tensor<8x16x64xf32>, %[[S:.*]]: tensor<31xf32>, %[[H:.*]]: tensor<127xf32>)
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C16:.*]] = arith.constant 16 : index
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK: %[[SEQ:.*]] = tensor.generate {
// CHECK-NEXT: ^bb0(%[[R:.*]]: index, %[[C:.*]]: index):
// CHECK-NEXT: %[[SUM:.*]] = arith.addi %[[C]], %[[C16]] : index
// CHECK-NEXT: %[[DIFF:.*]] = arith.subi %[[SUM]], %[[R]] : index
// CHECK-NEXT: %[[INDEX:.*]] = arith.subi %[[DIFF]], %[[C1]] : index
// CHECK-NEXT: %[[ELEMENT:.*]] = tensor.extract %[[S]][%[[INDEX]]] : tensor<31xf32>
// CHECK-NEXT: tensor.yield %[[ELEMENT]] : f32
// CHECK-NEXT: } : tensor<16x16xf32>
// CHECK: %[[HID:.*]] = tensor.generate {
// CHECK-NEXT: ^bb0(%[[R:.*]]: index, %[[C:.*]]: index):
// CHECK-NEXT: %[[SUM:.*]] = arith.addi %[[R]], %[[C64]] : index
// CHECK-NEXT: %[[DIFF:.*]] = arith.subi %[[SUM]], %[[C]] : index
// CHECK-NEXT: %[[INDEX:.*]] = arith.subi %[[DIFF]], %[[C1]] : index
// CHECK-NEXT: %[[ELEMENT:.*]] = tensor.extract %[[H]][%[[INDEX]]] : tensor<127xf32>
// CHECK-NEXT: tensor.yield %[[ELEMENT]] : f32
// CHECK-NEXT: } : tensor<64x64xf32>
// CHECK: %[[Y:.*]] = mix.linear %[[X]], %[[SEQ]], %[[HID]] : tensor<8x16x64xf32>, tensor<16x16xf32>, tensor<64x64xf32>
// CHECK-NOT: mix.toeplitz
// CHECK: return %[[Y]]
func.func @toeplitz_static(%x: tensor<8x16x64xf32>, %s: tensor<31xf32>, %h: tensor<127xf32>) -> tensor<8x16x64xf32> {
  %0 = mix.toeplitz %x, %s, %h : tensor<8x16x64xf32>, tensor<31xf32>, tensor<127xf32>
  return %0 : tensor<8x16x64xf32>
}

// CHECK-LABEL: func @toeplitz_dynamic
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x?xbf16>, %[[S:.*]]: tensor<?xbf16>, %[[H:.*]]: tensor<?xbf16>)
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK: %[[L:.*]] = tensor.dim %[[X]], %[[C1]] : tensor<?x?x?xbf16>
// CHECK: %[[SEQ:.*]] = tensor.generate %[[L]], %[[L]] {
// CHECK-NEXT: ^bb0(%[[R:.*]]: index, %[[C:.*]]: index):
// CHECK-NEXT: %[[SUM:.*]] = arith.addi %[[L]], %[[C]] : index
// CHECK-NEXT: %[[DIFF:.*]] = arith.subi %[[SUM]], %[[R]] : index
// CHECK-NEXT: %[[INDEX:.*]] = arith.subi %[[DIFF]], %[[C1]] : index
// CHECK-NEXT: %[[ELEMENT:.*]] = tensor.extract %[[S]][%[[INDEX]]] : tensor<?xbf16>
// CHECK-NEXT: tensor.yield %[[ELEMENT]] : bf16
// CHECK-NEXT: } : tensor<?x?xbf16>
// CHECK: %[[D:.*]] = tensor.dim %[[X]], %[[C2]] : tensor<?x?x?xbf16>
// CHECK: %[[HID:.*]] = tensor.generate %[[D]], %[[D]] {
// CHECK-NEXT: ^bb0(%[[R:.*]]: index, %[[C:.*]]: index):
// CHECK-NEXT: %[[SUM:.*]] = arith.addi %[[D]], %[[R]] : index
// CHECK-NEXT: %[[DIFF:.*]] = arith.subi %[[SUM]], %[[C]] : index
// CHECK-NEXT: %[[INDEX:.*]] = arith.subi %[[DIFF]], %[[C1]] : index
// CHECK-NEXT: %[[ELEMENT:.*]] = tensor.extract %[[H]][%[[INDEX]]] : tensor<?xbf16>
// CHECK-NEXT: tensor.yield %[[ELEMENT]] : bf16
// CHECK-NEXT: } : tensor<?x?xbf16>
// CHECK: mix.linear %[[X]], %[[SEQ]], %[[HID]] : tensor<?x?x?xbf16>, tensor<?x?xbf16>, tensor<?x?xbf16>
// CHECK-NOT: mix.toeplitz
func.func @toeplitz_dynamic(%x: tensor<?x?x?xbf16>, %s: tensor<?xbf16>, %h: tensor<?xbf16>) -> tensor<?x?x?xbf16> {
  %0 = mix.toeplitz %x, %s, %h : tensor<?x?x?xbf16>, tensor<?xbf16>, tensor<?xbf16>
  return %0 : tensor<?x?x?xbf16>
}

// Other mixing ops are left alone.
// CHECK-LABEL: func @other_mixing
// CHECK: mix.fourier
// CHECK: mix.linear
// CHECK-NOT: tensor.generate
func.func @other_mixing(%x: tensor<8x16x64xf32>, %w_seq: tensor<16x16xf32>, %w_hid: tensor<64x64xf32>) -> tensor<8x16x64xf32> {
  %0 = mix.fourier %x : tensor<8x16x64xf32>
  %1 = mix.linear %0, %w_seq, %w_hid : tensor<8x16x64xf32>, tensor<16x16xf32>, tensor<64x64xf32>
  return %1 : tensor<8x16x64xf32>
}
