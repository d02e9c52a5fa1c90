/*===- fake_model.c - A hand-written stand-in for a compiled model -*- C -*-===*
 *
 * Exports what an smxc object exports (docs/abi.md), with a forward pass
 * simple enough for model_driver_test.py to recompute in NumPy, and calls
 * the runtime's kernels the way compiled code does. Compiled twice: as is,
 * and with FAKE_MODEL_ABI_VERSION=99 to check that the driver refuses it.
 *
 * Per chunk of BATCH rows of SEQUENCE ids (i = input_ids, t = type_ids):
 *   row_sum[b]            = sum_j i[b, j] + 10 * sum_j t[b, j]
 *   features[b, f]        = i[b, f mod SEQUENCE]               (f < FEATURES)
 *   classifier_logits[b]  = row_sum[b] * head.scale + head.bias
 *                           + features[b] . head.weight^T + step
 *   moe.1.tokens_per_expert[e], moe.1.dropped_fraction: hash routing of the
 *     chunk's ids over EXPERTS experts of CAPACITY slots (uniform probs).
 *
 *===----------------------------------------------------------------------===*/

#include "smx_application/model_main.h"
#include "smx_runtime/cpu_kernels.h"

#include <stdint.h>

#ifndef FAKE_MODEL_ABI_VERSION
#define FAKE_MODEL_ABI_VERSION 2
#endif

#define BATCH 4
#define SEQUENCE 3
#define CLASSES 2
#define FEATURES 5
#define EXPERTS 4 /* equal to BATCH on purpose: still a per-batch result */
#define CAPACITY 2
#define TOKENS (BATCH * SEQUENCE)

#define STRINGIFY2(x) #x
#define STRINGIFY(x) STRINGIFY2(x)

const char *smx_model_manifest(void) {
  return "{\"abi_version\": " STRINGIFY(
      FAKE_MODEL_ABI_VERSION) ",\n"
                              " \"model\": \"fake\", \"batch\": 4, "
                              "\"sequence\": 3,\n"
                              " \"entry_points\": {\"forward\": {\n"
                              "  \"arguments\": [\n"
                              "   {\"name\": \"input_ids\", \"role\": "
                              "\"input\", \"dtype\": \"I32\","
                              " \"shape\": [4, 3]},\n"
                              "   {\"name\": \"type_ids\", \"role\": "
                              "\"input\", \"dtype\": \"I32\","
                              " \"shape\": [4, 3]},\n"
                              "   {\"name\": \"step\", \"role\": \"input\", "
                              "\"dtype\": \"I64\","
                              " \"shape\": []},\n"
                              "   {\"name\": \"head.weight\", \"role\": "
                              "\"parameter\", \"dtype\":"
                              " \"F32\", \"shape\": [2, 5], \"init\": "
                              "\"normal\"},\n"
                              "   {\"name\": \"head.bias\", \"role\": "
                              "\"parameter\", \"dtype\":"
                              " \"F32\", \"shape\": [2], \"init\": "
                              "\"zeros\"},\n"
                              "   {\"name\": \"head.scale\", \"role\": "
                              "\"parameter\", \"dtype\":"
                              " \"F32\", \"shape\": [2], \"init\": \"ones\"}\n"
                              "  ],\n"
                              "  \"results\": [\n"
                              "   {\"name\": \"classifier_logits\", \"dtype\": "
                              "\"F32\","
                              " \"shape\": [4, 2]},\n"
                              "   {\"name\": \"moe.1.tokens_per_expert\", "
                              "\"dtype\": \"I32\","
                              " \"shape\": [4]},\n"
                              "   {\"name\": \"moe.1.dropped_fraction\", "
                              "\"dtype\": \"F32\","
                              " \"shape\": []}\n"
                              "  ]}},\n"
                              " \"moe_layers\": [{\"layer\": 1, \"experts\": "
                              "4, \"policy\": \"hash\","
                              " \"capacity_factor\": 0.5, \"groups\": 1, "
                              "\"tokens_per_group\": 12,"
                              " \"capacity\": 2}]}\n";
}

void smx_model_forward(void **arguments, void **results, void *workspace) {
  (void)workspace; /* no memory plan */
  const int32_t *input_ids = arguments[0];
  const int32_t *type_ids = arguments[1];
  int64_t step = *(const int64_t *)arguments[2];
  const float *weight = arguments[3];
  const float *bias = arguments[4];
  const float *scale = arguments[5];
  float *logits = results[0];
  int32_t *tokens_per_expert = results[1];
  float *dropped_fraction = results[2];

  float features[BATCH * FEATURES];
  for (int b = 0; b < BATCH; ++b) {
    float row_sum = 0;
    for (int j = 0; j < SEQUENCE; ++j)
      row_sum +=
          input_ids[b * SEQUENCE + j] + 10.0f * type_ids[b * SEQUENCE + j];
    for (int f = 0; f < FEATURES; ++f)
      features[b * FEATURES + f] =
          (float)input_ids[b * SEQUENCE + f % SEQUENCE];
    for (int c = 0; c < CLASSES; ++c)
      logits[b * CLASSES + c] = row_sum * scale[c] + bias[c] + (float)step;
  }
  /* logits += features [B, F] . weight^T ([C, F] stored). */
  smxrt_cpu_sgemm(1, 1, BATCH, CLASSES, FEATURES, 0, 1, 1, features, 0,
                  FEATURES, 0, 0, weight, 0, FEATURES, 0, 0, logits, 0, CLASSES,
                  0, 0);

  float probs[TOKENS * EXPERTS];
  for (int i = 0; i < TOKENS * EXPERTS; ++i)
    probs[i] = 1.0f / EXPERTS;
  int32_t indices[EXPERTS * CAPACITY];
  float weights[EXPERTS * CAPACITY];
  smxrt_cpu_route(SMXRT_ROUTING_HASH, 1, 0, 1, TOKENS, EXPERTS, CAPACITY, probs,
                  input_ids, indices, weights);
  int placed = 0;
  for (int e = 0; e < EXPERTS; ++e) {
    tokens_per_expert[e] = 0;
    for (int c = 0; c < CAPACITY; ++c)
      tokens_per_expert[e] += indices[e * CAPACITY + c] >= 0;
    placed += tokens_per_expert[e];
  }
  *dropped_fraction = (float)(TOKENS - placed) / TOKENS;
}
