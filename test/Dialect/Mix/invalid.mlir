// Every verifier message of the mix dialect.
// RUN: smx-opt %s -split-input-file -verify-diagnostics

func.func @linear_input_rank(%x: tensor<8x64xf32>, %w: tensor<64x64xf32>) {
  // expected-error @+1 {{'mix.linear' op (C1): expected input of rank 3, got 'tensor<8x64xf32>'}}
  %0 = mix.linear %x, %w, %w : tensor<8x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>
  return
}

// -----

func.func @linear_seq_weight_shape(%x: tensor<8x16x64xf32>, %w_seq: tensor<16x32xf32>, %w_hid: tensor<64x64xf32>) {
  // expected-error @+1 {{'mix.linear' op (C2): expected seq_weight of shape [16, 16], got 'tensor<16x32xf32>'}}
  %0 = mix.linear %x, %w_seq, %w_hid : tensor<8x16x64xf32>, tensor<16x32xf32>, tensor<64x64xf32>
  return
}

// -----

func.func @linear_seq_weight_rank(%x: tensor<8x?x64xf32>, %w_seq: tensor<?xf32>, %w_hid: tensor<64x64xf32>) {
  // expected-error @+1 {{'mix.linear' op (C2): expected seq_weight of shape [?, ?], got 'tensor<?xf32>'}}
  %0 = mix.linear %x, %w_seq, %w_hid : tensor<8x?x64xf32>, tensor<?xf32>, tensor<64x64xf32>
  return
}

// -----

func.func @linear_hidden_weight_shape(%x: tensor<8x16x64xf32>, %w_seq: tensor<16x16xf32>, %w_hid: tensor<64x32xf32>) {
  // expected-error @+1 {{'mix.linear' op (C3): expected hidden_weight of shape [64, 64], got 'tensor<64x32xf32>'}}
  %0 = mix.linear %x, %w_seq, %w_hid : tensor<8x16x64xf32>, tensor<16x16xf32>, tensor<64x32xf32>
  return
}

// -----

func.func @linear_seq_weight_element_type(%x: tensor<8x16x64xf32>, %w_seq: tensor<16x16xbf16>, %w_hid: tensor<64x64xf32>) {
  // expected-error @+1 {{'mix.linear' op (C4): seq_weight has element type 'bf16', expected 'f32'}}
  %0 = mix.linear %x, %w_seq, %w_hid : tensor<8x16x64xf32>, tensor<16x16xbf16>, tensor<64x64xf32>
  return
}

// -----

func.func @linear_hidden_weight_element_type(%x: tensor<8x16x64xbf16>, %w_seq: tensor<16x16xbf16>, %w_hid: tensor<64x64xf16>) {
  // expected-error @+1 {{'mix.linear' op (C4): hidden_weight has element type 'f16', expected 'bf16'}}
  %0 = mix.linear %x, %w_seq, %w_hid : tensor<8x16x64xbf16>, tensor<16x16xbf16>, tensor<64x64xf16>
  return
}

// -----

func.func @linear_result_type(%x: tensor<8x16x64xf32>, %w_seq: tensor<16x16xf32>, %w_hid: tensor<64x64xf32>) {
  // expected-error @+1 {{'mix.linear' op failed to verify that all of {input, result} have same type}}
  %0 = "mix.linear"(%x, %w_seq, %w_hid) : (tensor<8x16x64xf32>, tensor<16x16xf32>, tensor<64x64xf32>) -> tensor<8x16x64xbf16>
  return
}

// -----

func.func @linear_integer_input(%x: tensor<8x16x64xi32>, %w_seq: tensor<16x16xi32>, %w_hid: tensor<64x64xi32>) {
  // expected-error @+1 {{'mix.linear' op operand #0 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float or 64-bit float values, but got 'tensor<8x16x64xi32>'}}
  %0 = mix.linear %x, %w_seq, %w_hid : tensor<8x16x64xi32>, tensor<16x16xi32>, tensor<64x64xi32>
  return
}

// -----

func.func @fourier_input_rank(%x: tensor<16x64xf32>) {
  // expected-error @+1 {{'mix.fourier' op (C1): expected input of rank 3, got 'tensor<16x64xf32>'}}
  %0 = mix.fourier %x : tensor<16x64xf32>
  return
}

// -----

func.func @fourier_result_type(%x: tensor<8x16x64xf32>) {
  // expected-error @+1 {{'mix.fourier' op requires the same type for all operands and results}}
  %0 = "mix.fourier"(%x) : (tensor<8x16x64xf32>) -> tensor<8x16x32xf32>
  return
}

// -----

func.func @hartley_input_rank(%x: tensor<2x8x16x64xf32>) {
  // expected-error @+1 {{'mix.hartley' op (C1): expected input of rank 3, got 'tensor<2x8x16x64xf32>'}}
  %0 = mix.hartley %x : tensor<2x8x16x64xf32>
  return
}

// -----

func.func @circulant_input_rank(%x: tensor<16x64xf32>, %s: tensor<16xf32>, %h: tensor<64xf32>) {
  // expected-error @+1 {{'mix.circulant' op (C1): expected input of rank 3, got 'tensor<16x64xf32>'}}
  %0 = mix.circulant %x, %s, %h : tensor<16x64xf32>, tensor<16xf32>, tensor<64xf32>
  return
}

// -----

func.func @circulant_seq_params_shape(%x: tensor<8x16x64xf32>, %s: tensor<31xf32>, %h: tensor<64xf32>) {
  // expected-error @+1 {{'mix.circulant' op (C2): expected seq_params of shape [16], got 'tensor<31xf32>'}}
  %0 = mix.circulant %x, %s, %h : tensor<8x16x64xf32>, tensor<31xf32>, tensor<64xf32>
  return
}

// -----

func.func @circulant_hidden_params_shape(%x: tensor<8x16x64xf32>, %s: tensor<16xf32>, %h: tensor<64x1xf32>) {
  // expected-error @+1 {{'mix.circulant' op (C3): expected hidden_params of shape [64], got 'tensor<64x1xf32>'}}
  %0 = mix.circulant %x, %s, %h : tensor<8x16x64xf32>, tensor<16xf32>, tensor<64x1xf32>
  return
}

// -----

func.func @circulant_seq_params_element_type(%x: tensor<8x16x64xf32>, %s: tensor<16xf64>, %h: tensor<64xf32>) {
  // expected-error @+1 {{'mix.circulant' op (C4): seq_params has element type 'f64', expected 'f32'}}
  %0 = mix.circulant %x, %s, %h : tensor<8x16x64xf32>, tensor<16xf64>, tensor<64xf32>
  return
}

// -----

func.func @circulant_hidden_params_element_type(%x: tensor<8x16x64xf32>, %s: tensor<16xf32>, %h: tensor<64xbf16>) {
  // expected-error @+1 {{'mix.circulant' op (C4): hidden_params has element type 'bf16', expected 'f32'}}
  %0 = mix.circulant %x, %s, %h : tensor<8x16x64xf32>, tensor<16xf32>, tensor<64xbf16>
  return
}

// -----

func.func @toeplitz_input_rank(%x: tensor<16x64xf32>, %s: tensor<31xf32>, %h: tensor<127xf32>) {
  // expected-error @+1 {{'mix.toeplitz' op (C1): expected input of rank 3, got 'tensor<16x64xf32>'}}
  %0 = mix.toeplitz %x, %s, %h : tensor<16x64xf32>, tensor<31xf32>, tensor<127xf32>
  return
}

// -----

func.func @toeplitz_seq_params_shape(%x: tensor<8x16x64xf32>, %s: tensor<16xf32>, %h: tensor<127xf32>) {
  // expected-error @+1 {{'mix.toeplitz' op (C2): expected seq_params of shape [31], got 'tensor<16xf32>'}}
  %0 = mix.toeplitz %x, %s, %h : tensor<8x16x64xf32>, tensor<16xf32>, tensor<127xf32>
  return
}

// -----

func.func @toeplitz_hidden_params_shape(%x: tensor<8x?x64xf32>, %s: tensor<?xf32>, %h: tensor<128xf32>) {
  // expected-error @+1 {{'mix.toeplitz' op (C3): expected hidden_params of shape [127], got 'tensor<128xf32>'}}
  %0 = mix.toeplitz %x, %s, %h : tensor<8x?x64xf32>, tensor<?xf32>, tensor<128xf32>
  return
}

// -----

func.func @toeplitz_seq_params_element_type(%x: tensor<8x16x64xbf16>, %s: tensor<31xf32>, %h: tensor<127xbf16>) {
  // expected-error @+1 {{'mix.toeplitz' op (C4): seq_params has element type 'f32', expected 'bf16'}}
  %0 = mix.toeplitz %x, %s, %h : tensor<8x16x64xbf16>, tensor<31xf32>, tensor<127xbf16>
  return
}

// -----

func.func @toeplitz_hidden_params_element_type(%x: tensor<8x16x64xbf16>, %s: tensor<31xbf16>, %h: tensor<127xf16>) {
  // expected-error @+1 {{'mix.toeplitz' op (C4): hidden_params has element type 'f16', expected 'bf16'}}
  %0 = mix.toeplitz %x, %s, %h : tensor<8x16x64xbf16>, tensor<31xbf16>, tensor<127xf16>
  return
}

// -----

func.func @structured_result_type(%x: tensor<8x16x64xf32>, %s: tensor<16xf32>, %h: tensor<64xf32>) {
  // expected-error @+1 {{'mix.circulant' op failed to verify that all of {input, result} have same type}}
  %0 = "mix.circulant"(%x, %s, %h) : (tensor<8x16x64xf32>, tensor<16xf32>, tensor<64xf32>) -> tensor<8x64x16xf32>
  return
}

// -----

func.func @self_attention_rank(%x: tensor<16x64xf32>, %mask: tensor<16xi1>) {
  // expected-error @+1 {{'mix.self_attention' op (C1): expected query, key and value of rank 3, got 'tensor<16x64xf32>'}}
  %0 = mix.self_attention %x, %x, %x, %mask heads = 4 : tensor<16x64xf32>, tensor<16xi1>
  return
}

// -----

func.func @self_attention_same_types(%q: tensor<8x16x64xf32>, %k: tensor<8x32x64xf32>, %mask: tensor<8x16xi1>) {
  // expected-error @+1 {{'mix.self_attention' op failed to verify that all of {query, key, value, result} have same type}}
  %0 = "mix.self_attention"(%q, %k, %q, %mask) <{num_heads = 4 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0>}> : (tensor<8x16x64xf32>, tensor<8x32x64xf32>, tensor<8x16x64xf32>, tensor<8x16xi1>) -> tensor<8x16x64xf32>
  return
}

// -----

func.func @self_attention_heads_positive(%x: tensor<8x16x64xf32>, %mask: tensor<8x16xi1>) {
  // expected-error @+1 {{'mix.self_attention' op (C2): num_heads must be positive, got 0}}
  %0 = mix.self_attention %x, %x, %x, %mask heads = 0 : tensor<8x16x64xf32>, tensor<8x16xi1>
  return
}

// -----

func.func @self_attention_heads_divide_hidden(%x: tensor<8x16x64xf32>, %mask: tensor<8x16xi1>) {
  // expected-error @+1 {{'mix.self_attention' op (C2): hidden size 64 is not divisible by num_heads = 12}}
  %0 = mix.self_attention %x, %x, %x, %mask heads = 12 : tensor<8x16x64xf32>, tensor<8x16xi1>
  return
}

// -----

func.func @self_attention_mask_shape(%x: tensor<8x16x64xf32>, %mask: tensor<8x32xi1>) {
  // expected-error @+1 {{'mix.self_attention' op (C3): expected padding_mask of shape [8, 16], got 'tensor<8x32xi1>'}}
  %0 = mix.self_attention %x, %x, %x, %mask heads = 4 : tensor<8x16x64xf32>, tensor<8x32xi1>
  return
}

// -----

func.func @self_attention_mask_rank(%x: tensor<?x?x64xf32>, %mask: tensor<?xi1>) {
  // expected-error @+1 {{'mix.self_attention' op (C3): expected padding_mask of shape [?, ?], got 'tensor<?xi1>'}}
  %0 = mix.self_attention %x, %x, %x, %mask heads = 4 : tensor<?x?x64xf32>, tensor<?xi1>
  return
}

// -----

func.func @self_attention_dropout_rate(%x: tensor<8x16x64xf32>, %mask: tensor<8x16xi1>, %step: i64) {
  // expected-error @+1 {{'mix.self_attention' op (C4): dropout_rate must be in [0, 1), got 1}}
  %0 = mix.self_attention %x, %x, %x, %mask heads = 4 dropout(1.0, seed = 3, step = %step) : tensor<8x16x64xf32>, tensor<8x16xi1>
  return
}

// -----

func.func @self_attention_negative_dropout_rate(%x: tensor<8x16x64xf32>, %mask: tensor<8x16xi1>, %step: i64) {
  // expected-error @+1 {{'mix.self_attention' op (C4): dropout_rate must be in [0, 1), got -1.000000e-01}}
  %0 = mix.self_attention %x, %x, %x, %mask heads = 4 dropout(-0.1, seed = 3, step = %step) : tensor<8x16x64xf32>, tensor<8x16xi1>
  return
}

// -----

func.func @self_attention_dropout_needs_step(%x: tensor<8x16x64xf32>, %mask: tensor<8x16xi1>) {
  // expected-error @+1 {{'mix.self_attention' op (C4): dropout_rate 1.000000e-01 needs a step operand to key its random stream}}
  %0 = mix.self_attention %x, %x, %x, %mask heads = 4 dropout(0.1, seed = 3) : tensor<8x16x64xf32>, tensor<8x16xi1>
  return
}

// -----

func.func @self_attention_dropout_syntax(%x: tensor<8x16x64xf32>, %mask: tensor<8x16xi1>, %step: i64) {
  // expected-error @+1 {{expected 'seed'}}
  %0 = mix.self_attention %x, %x, %x, %mask heads = 4 dropout(0.1, step = %step) : tensor<8x16x64xf32>, tensor<8x16xi1>
  return
}
