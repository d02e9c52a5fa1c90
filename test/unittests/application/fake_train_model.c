/*===- fake_train_model.c - A stand-in for a training object -------*- C -*-===*
 *
 * Exports what `smxc --task=pretrain|finetune` objects export (docs/abi.md):
 * a manifest with `task` and entry_points.train_step, a forward function in
 * its evaluation form (loss terms, and classifier logits when fine-tuning),
 * and smx_model_train_step. The model is tiny but has real gradients, so
 * that its loss falls under AdamW:
 *
 *   x_b = mean of embeddings.word over the non-pad ids of row b      [D]
 *   u_b = x_b + x_b . layers.0.mixing.query.weight                    [D]
 *   r_b = u_b . layers.1.moe.router.weight, p_b = softmax(r_b)         [E]
 *   rows go, in order, to their top expert e while it has CAPACITY free
 *   slots: z_b = u_b + p_b[e] * layers.1.moe.experts.input.weight[e], or u_b
 *   when dropped
 *   pretrain: mlm logits z_b . embeddings.word^T + heads.mlm.output_bias at
 *     every weighted slot, sentence order logits z_b . W + b
 *   finetune: classifier logits z_b . W + b (cross-entropy, labels of -100
 *     ignored) or, with FAKE_REGRESSION, one output (mean squared error)
 *   moe.1.router_z_loss = mean_b logsumexp(r_b)^2, weight 0.01
 *
 * Build variants: FAKE_TASK_FINETUNE (else pre-training), FAKE_REGRESSION,
 * FAKE_NO_LOGITS (the forward function returns no classifier_logits). The
 * environment variable FAKE_NAN_AT_STEP=k makes the loss of step index k
 * NaN, to test how training stops.
 *
 *===----------------------------------------------------------------------===*/

#include "smx_application/model_main.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 4
#define SEQUENCE 16
#define SLOTS 4
#define VOCAB 160
#define WIDTH 8
#define EXPERTS 4
#define CAPACITY 2
#ifdef FAKE_REGRESSION
#define CLASSES 1
#else
#define CLASSES 3
#endif
#define Z_LOSS_WEIGHT 0.01f

#ifdef FAKE_TASK_FINETUNE
#define TASK "finetune"
#else
#define TASK "pretrain"
#endif

/*===--- Parameters ------------------------------------------------------===*/

struct parameter {
  const char *name;
  const char *init;
  int rank;
  int shape[2];
};

static const struct parameter parameters[] = {
    {"embeddings.word", "normal", 2, {VOCAB, WIDTH}},
    {"layers.0.mixing.query.weight", "normal", 2, {WIDTH, WIDTH}},
    {"layers.1.moe.router.weight", "normal", 2, {WIDTH, EXPERTS}},
    {"layers.1.moe.experts.input.weight", "normal", 2, {EXPERTS, WIDTH}},
#ifdef FAKE_TASK_FINETUNE
    {"heads.classifier.weight", "normal", 2, {WIDTH, CLASSES}},
    {"heads.classifier.bias", "zeros", 1, {CLASSES}},
#else
    {"heads.mlm.output_bias", "zeros", 1, {VOCAB}},
    {"heads.sentence_order.weight", "normal", 2, {WIDTH, 2}},
    {"heads.sentence_order.bias", "zeros", 1, {2}},
#endif
};
#define PARAMETERS ((int)(sizeof(parameters) / sizeof(parameters[0])))

static int element_count(const struct parameter *p) {
  return p->rank == 1 ? p->shape[0] : p->shape[0] * p->shape[1];
}

/* Bytes of all gradients, laid out one after another in the arena. */
static int gradient_bytes(void) {
  int total = 0;
  for (int i = 0; i < PARAMETERS; ++i)
    total += element_count(&parameters[i]) * (int)sizeof(float);
  return total;
}

/*===--- The manifest ----------------------------------------------------===*/

static char manifest[16384];
static size_t manifest_length;

static void emit(const char *format, ...) {
  va_list arguments;
  va_start(arguments, format);
  manifest_length +=
      (size_t)vsnprintf(manifest + manifest_length,
                        sizeof(manifest) - manifest_length, format, arguments);
  va_end(arguments);
}

static void emit_shape(const struct parameter *p) {
  if (p->rank == 1)
    emit("[%d]", p->shape[0]);
  else
    emit("[%d, %d]", p->shape[0], p->shape[1]);
}

static void emit_batch_inputs(void) {
  emit("{\"name\": \"input_ids\", \"role\": \"input\", \"dtype\": \"I32\", "
       "\"shape\": [%d, %d]},\n",
       BATCH, SEQUENCE);
  emit("{\"name\": \"type_ids\", \"role\": \"input\", \"dtype\": \"I32\", "
       "\"shape\": [%d, %d]},\n",
       BATCH, SEQUENCE);
#ifdef FAKE_TASK_FINETUNE
  emit("{\"name\": \"labels\", \"role\": \"input\", \"dtype\": \"%s\", "
       "\"shape\": [%d]},\n",
#ifdef FAKE_REGRESSION
       "F32",
#else
       "I32",
#endif
       BATCH);
#else
  emit("{\"name\": \"mlm_positions\", \"role\": \"input\", \"dtype\": "
       "\"I32\", \"shape\": [%d, %d]},\n",
       BATCH, SLOTS);
  emit("{\"name\": \"mlm_labels\", \"role\": \"input\", \"dtype\": \"I32\", "
       "\"shape\": [%d, %d]},\n",
       BATCH, SLOTS);
  emit("{\"name\": \"mlm_weights\", \"role\": \"input\", \"dtype\": \"F32\", "
       "\"shape\": [%d, %d]},\n",
       BATCH, SLOTS);
  emit("{\"name\": \"order_labels\", \"role\": \"input\", \"dtype\": "
       "\"I32\", \"shape\": [%d]},\n",
       BATCH);
#endif
  emit("{\"name\": \"step\", \"role\": \"input\", \"dtype\": \"I64\", "
       "\"shape\": []}");
}

static void emit_parameters(const char *role, int with_init) {
  for (int i = 0; i < PARAMETERS; ++i) {
    emit(",\n{\"name\": \"%s\", \"role\": \"%s\", \"dtype\": \"F32\", "
         "\"shape\": ",
         parameters[i].name, role);
    emit_shape(&parameters[i]);
    if (with_init)
      emit(", \"init\": \"%s\"", parameters[i].init);
    emit("}");
  }
}

/* The loss terms and metrics; `forward` adds what only it returns. */
static void emit_reported(int forward, const char *role) {
  const char *sep = forward ? "" : ",\n";
#ifdef FAKE_TASK_FINETUNE
  /* The forward results carry no loss_weight here: the runtime takes the
     train step's. */
  if (forward)
    emit("{\"name\": \"classifier_loss\", \"dtype\": \"F32\", \"shape\": []}");
  else
    emit("%s{\"name\": \"classifier_loss\", \"role\": \"%s\", \"dtype\": "
         "\"F32\", \"shape\": [], \"loss_weight\": 1.0}",
         sep, role);
#ifndef FAKE_NO_LOGITS
  if (forward)
    emit(",\n{\"name\": \"classifier_logits\", \"dtype\": \"F32\", \"shape\": "
         "[%d, %d], \"batch_major\": true}",
         BATCH, CLASSES);
#endif
#else
  emit("%s{\"name\": \"mlm_loss\", %s%s%s\"dtype\": \"F32\", \"shape\": [], "
       "\"loss_weight\": 1.0}",
       sep, forward ? "" : "\"role\": \"", forward ? "" : role,
       forward ? "" : "\", ");
  emit(",\n{\"name\": \"sentence_order_loss\", %s%s%s\"dtype\": \"F32\", "
       "\"shape\": [], \"loss_weight\": 1.0}",
       forward ? "" : "\"role\": \"", forward ? "" : role,
       forward ? "" : "\", ");
#endif
  emit(",\n{\"name\": \"moe.1.router_z_loss\", %s%s%s\"dtype\": \"F32\", "
       "\"shape\": [], \"loss_weight\": %g}",
       forward ? "" : "\"role\": \"", forward ? "" : role,
       forward ? "" : "\", ", (double)Z_LOSS_WEIGHT);
  emit(",\n{\"name\": \"moe.1.tokens_per_expert\", %s%s%s\"dtype\": \"I32\", "
       "\"shape\": [%d], \"metric\": true}",
       forward ? "" : "\"role\": \"", forward ? "" : role,
       forward ? "" : "\", ", EXPERTS);
  emit(",\n{\"name\": \"moe.1.dropped_fraction\", %s%s%s\"dtype\": \"F32\", "
       "\"shape\": [], \"metric\": true}",
       forward ? "" : "\"role\": \"", forward ? "" : role,
       forward ? "" : "\", ");
}

const char *smx_model_manifest(void) {
  if (manifest_length)
    return manifest;
  emit("{\"abi_version\": 2, \"model\": \"fake_" TASK "\", \"task\": "
       "\"" TASK "\",\n\"batch\": %d, \"sequence\": %d,\n"
       "\"entry_points\": {\n\"forward\": {\"arguments\": [\n",
       BATCH, SEQUENCE);
  emit_batch_inputs();
  emit_parameters("parameter", 1);
  emit("],\n\"results\": [\n");
  emit_reported(1, "");
  emit("]},\n\"train_step\": {\"arguments\": [\n");
  emit_batch_inputs();
  emit(",\n{\"name\": \"peak_learning_rate\", \"role\": \"input\", "
       "\"dtype\": \"F32\", \"shape\": []},\n"
       "{\"name\": \"warmup_steps\", \"role\": \"input\", \"dtype\": \"I64\", "
       "\"shape\": []},\n"
       "{\"name\": \"total_steps\", \"role\": \"input\", \"dtype\": \"I64\", "
       "\"shape\": []}");
  emit_parameters("parameter", 1);
  emit_parameters("first_moment", 0);
  emit_parameters("second_moment", 0);
  emit("],\n\"results\": [\n");
  /* Parameters and moments, then the outputs. */
  {
    int first = 1;
    const char *roles[] = {"parameter", "first_moment", "second_moment"};
    for (int r = 0; r < 3; ++r)
      for (int i = 0; i < PARAMETERS; ++i) {
        emit("%s{\"name\": \"%s\", \"role\": \"%s\", \"dtype\": \"F32\", "
             "\"shape\": ",
             first ? "" : ",\n", parameters[i].name, roles[r]);
        emit_shape(&parameters[i]);
#ifdef FAKE_IN_PLACE
        emit(", \"in_place\": true");
#endif
        emit("}");
        first = 0;
      }
  }
  emit(",\n{\"name\": \"loss\", \"role\": \"output\", \"dtype\": \"F32\", "
       "\"shape\": []},\n"
       "{\"name\": \"grad_norm\", \"role\": \"output\", \"dtype\": \"F32\", "
       "\"shape\": []},\n"
       "{\"name\": \"learning_rate\", \"role\": \"output\", \"dtype\": "
       "\"F32\", \"shape\": []}");
  emit_reported(0, "output");
  /* The gradients live in the train step's arena, which the driver must
     allocate and pass (docs/abi.md). */
  /* FAKE_ARENA_BYTES: an arena too large for the machine. */
  const char *arena = getenv("FAKE_ARENA_BYTES");
  long long arena_bytes =
      arena && *arena ? atoll(arena) : (long long)gradient_bytes();
  emit("],\n\"memory_plan\": {\"arena_bytes\": %lld, "
       "\"peak_live_bytes\": %d}",
       arena_bytes, gradient_bytes());
  emit("}},\n\"moe_layers\": [{\"layer\": 1, \"experts\": %d, \"policy\": "
       "\"tokens_choose\", \"capacity_factor\": 2.0, \"groups\": 1, "
       "\"tokens_per_group\": %d, \"capacity\": %d}]}\n",
       EXPERTS, BATCH, CAPACITY);
  return manifest;
}

/*===--- The model -------------------------------------------------------===*/

struct batch {
  const int32_t *input_ids;
  const int32_t *labels; /* finetune classification */
  const float *targets;  /* finetune regression */
  const int32_t *mlm_positions, *mlm_labels, *order_labels;
  const float *mlm_weights;
};

struct outputs {
  float head_loss, order_loss, z_loss, total;
  int32_t tokens_per_expert[EXPERTS];
  float dropped_fraction;
  float logits[BATCH * CLASSES];
};

/* The loss of one softmax cross-entropy row; writes the softmax to `probs`
   and returns -log p[label]. */
#if !defined(FAKE_REGRESSION)
static float cross_entropy(const float *logits, int n, int label,
                           float *probs) {
  float top = logits[0];
  for (int i = 1; i < n; ++i)
    top = logits[i] > top ? logits[i] : top;
  double sum = 0;
  for (int i = 0; i < n; ++i)
    sum += exp((double)(logits[i] - top));
  for (int i = 0; i < n; ++i)
    probs[i] = (float)(exp((double)(logits[i] - top)) / sum);
  return (float)(log(sum) + top - logits[label]);
}
#endif

/* What the forward pass keeps for the backward pass, per row. */
struct activations {
  float x[BATCH][WIDTH], u[BATCH][WIDTH], z[BATCH][WIDTH];
  float p[BATCH][EXPERTS], lse[BATCH];
  int count[BATCH], chosen[BATCH];
  /* The gradient of the total loss with respect to z. */
  float dz[BATCH][WIDTH];
};

/* Embedding mean, mixing, router, top-1 expert with capacity: z, the
   router's z-loss and the routing statistics. */
static void forward_body(const struct batch *in, float *const *params,
                         struct activations *a, struct outputs *out) {
  const float *emb = params[0], *query = params[1], *router = params[2],
              *experts = params[3];
  int used[EXPERTS] = {0};
  int dropped = 0;
  for (int b = 0; b < BATCH; ++b) {
    a->count[b] = 0;
    memset(a->x[b], 0, sizeof(a->x[b]));
    for (int j = 0; j < SEQUENCE; ++j) {
      int id = in->input_ids[b * SEQUENCE + j];
      if (id == 0)
        continue;
      ++a->count[b];
      for (int d = 0; d < WIDTH; ++d)
        a->x[b][d] += emb[id * WIDTH + d];
    }
    for (int d = 0; d < WIDTH; ++d)
      a->x[b][d] /= a->count[b] > 0 ? (float)a->count[b] : 1.0f;
    for (int j = 0; j < WIDTH; ++j) {
      a->u[b][j] = a->x[b][j];
      for (int i = 0; i < WIDTH; ++i)
        a->u[b][j] += a->x[b][i] * query[i * WIDTH + j];
    }
    float r[EXPERTS], top = -INFINITY;
    for (int e = 0; e < EXPERTS; ++e) {
      r[e] = 0;
      for (int d = 0; d < WIDTH; ++d)
        r[e] += a->u[b][d] * router[d * EXPERTS + e];
      top = r[e] > top ? r[e] : top;
    }
    double sum = 0;
    for (int e = 0; e < EXPERTS; ++e)
      sum += exp((double)(r[e] - top));
    a->lse[b] = (float)(log(sum) + top);
    a->chosen[b] = 0;
    for (int e = 0; e < EXPERTS; ++e) {
      a->p[b][e] = (float)(exp((double)(r[e] - top)) / sum);
      if (a->p[b][e] > a->p[b][a->chosen[b]])
        a->chosen[b] = e;
    }
    if (used[a->chosen[b]] < CAPACITY) {
      ++used[a->chosen[b]];
    } else {
      a->chosen[b] = -1;
      ++dropped;
    }
    for (int d = 0; d < WIDTH; ++d)
      a->z[b][d] = a->u[b][d] + (a->chosen[b] >= 0
                                     ? a->p[b][a->chosen[b]] *
                                           experts[a->chosen[b] * WIDTH + d]
                                     : 0.0f);
    out->z_loss += a->lse[b] * a->lse[b] / BATCH;
  }
  for (int e = 0; e < EXPERTS; ++e)
    out->tokens_per_expert[e] = used[e];
  out->dropped_fraction = (float)dropped / BATCH;
}

/* The task's heads on z: their losses, and with `grads` their parameters'
   gradients and dz. */
static void heads(const struct batch *in, float *const *params,
                  float *const *grads, struct activations *a,
                  struct outputs *out) {
  const float *emb = params[0];
  (void)emb;
#ifdef FAKE_TASK_FINETUNE
  const float *weight = params[4], *bias = params[5];
  int valid = 0;
  for (int b = 0; b < BATCH; ++b)
    valid += in->labels ? in->labels[b] != -100 : 1;
  for (int b = 0; b < BATCH; ++b) {
    float *logits = out->logits + b * CLASSES;
    for (int c = 0; c < CLASSES; ++c) {
      logits[c] = bias[c];
      for (int d = 0; d < WIDTH; ++d)
        logits[c] += a->z[b][d] * weight[d * CLASSES + c];
    }
    float g[CLASSES];
#ifdef FAKE_REGRESSION
    float error = logits[0] - in->targets[b];
    out->head_loss += error * error / BATCH;
    g[0] = 2.0f * error / BATCH;
#else
    if (in->labels[b] == -100)
      continue;
    float probs[CLASSES];
    out->head_loss +=
        cross_entropy(logits, CLASSES, in->labels[b], probs) / valid;
    for (int c = 0; c < CLASSES; ++c)
      g[c] = (probs[c] - (c == in->labels[b])) / valid;
#endif
    if (!grads)
      continue;
    for (int c = 0; c < CLASSES; ++c) {
      grads[5][c] += g[c];
      for (int d = 0; d < WIDTH; ++d) {
        grads[4][d * CLASSES + c] += g[c] * a->z[b][d];
        a->dz[b][d] += g[c] * weight[d * CLASSES + c];
      }
    }
  }
  out->total = out->head_loss + Z_LOSS_WEIGHT * out->z_loss;
#else
  const float *output_bias = params[4], *order_weight = params[5],
              *order_bias = params[6];
  float total_weight = 0;
  for (int i = 0; i < BATCH * SLOTS; ++i)
    total_weight += in->mlm_weights[i];
  for (int b = 0; b < BATCH; ++b) {
    for (int k = 0; k < SLOTS; ++k) {
      float w = in->mlm_weights[b * SLOTS + k];
      if (w == 0)
        continue;
      float logits[VOCAB], probs[VOCAB];
      for (int v = 0; v < VOCAB; ++v) {
        logits[v] = output_bias[v];
        for (int d = 0; d < WIDTH; ++d)
          logits[v] += a->z[b][d] * emb[v * WIDTH + d];
      }
      int label = in->mlm_labels[b * SLOTS + k];
      out->head_loss +=
          w * cross_entropy(logits, VOCAB, label, probs) / total_weight;
      if (!grads)
        continue;
      for (int v = 0; v < VOCAB; ++v) {
        float g = w * (probs[v] - (v == label)) / total_weight;
        grads[4][v] += g;
        for (int d = 0; d < WIDTH; ++d) {
          grads[0][v * WIDTH + d] += g * a->z[b][d];
          a->dz[b][d] += g * emb[v * WIDTH + d];
        }
      }
    }
    float logits[2], probs[2];
    for (int o = 0; o < 2; ++o) {
      logits[o] = order_bias[o];
      for (int d = 0; d < WIDTH; ++d)
        logits[o] += a->z[b][d] * order_weight[d * 2 + o];
    }
    int label = in->order_labels[b];
    out->order_loss += cross_entropy(logits, 2, label, probs) / BATCH;
    if (!grads)
      continue;
    for (int o = 0; o < 2; ++o) {
      float g = (probs[o] - (o == label)) / BATCH;
      grads[6][o] += g;
      for (int d = 0; d < WIDTH; ++d) {
        grads[5][d * 2 + o] += g * a->z[b][d];
        a->dz[b][d] += g * order_weight[d * 2 + o];
      }
    }
  }
  out->total = out->head_loss + out->order_loss + Z_LOSS_WEIGHT * out->z_loss;
#endif
}

/* Back through the expert, the router (and its z-loss), the mixing and the
   embedding mean. */
static void backward_body(const struct batch *in, float *const *params,
                          float *const *grads, const struct activations *a) {
  const float *query = params[1], *router = params[2], *experts = params[3];
  for (int b = 0; b < BATCH; ++b) {
    float dr[EXPERTS] = {0};
    if (a->chosen[b] >= 0) {
      int e = a->chosen[b];
      float dp = 0;
      for (int d = 0; d < WIDTH; ++d) {
        grads[3][e * WIDTH + d] += a->p[b][e] * a->dz[b][d];
        dp += a->dz[b][d] * experts[e * WIDTH + d];
      }
      for (int k = 0; k < EXPERTS; ++k)
        dr[k] += a->p[b][k] * ((k == e) - a->p[b][e]) * dp;
    }
    for (int k = 0; k < EXPERTS; ++k)
      dr[k] += Z_LOSS_WEIGHT * 2.0f * a->lse[b] * a->p[b][k] / BATCH;
    float du[WIDTH];
    for (int d = 0; d < WIDTH; ++d) {
      du[d] = a->dz[b][d];
      for (int k = 0; k < EXPERTS; ++k) {
        grads[2][d * EXPERTS + k] += a->u[b][d] * dr[k];
        du[d] += router[d * EXPERTS + k] * dr[k];
      }
    }
    float dx[WIDTH];
    for (int i = 0; i < WIDTH; ++i) {
      dx[i] = du[i];
      for (int j = 0; j < WIDTH; ++j) {
        grads[1][i * WIDTH + j] += a->x[b][i] * du[j];
        dx[i] += query[i * WIDTH + j] * du[j];
      }
    }
    if (a->count[b] == 0)
      continue;
    for (int j = 0; j < SEQUENCE; ++j) {
      int id = in->input_ids[b * SEQUENCE + j];
      if (id == 0)
        continue;
      for (int d = 0; d < WIDTH; ++d)
        grads[0][id * WIDTH + d] += dx[d] / a->count[b];
    }
  }
}

/* Runs the model on a batch; with `grads` (one array per parameter, zeroed)
   it also adds the gradients of the total loss. */
static void compute(const struct batch *in, float *const *params,
                    float *const *grads, struct outputs *out) {
  struct activations activations;
  memset(&activations, 0, sizeof(activations));
  memset(out, 0, sizeof(*out));
  forward_body(in, params, &activations, out);
  heads(in, params, grads, &activations, out);
  if (grads)
    backward_body(in, params, grads, &activations);
}

/* Argument order of both entry points: the batch inputs, step, (train step:
   the schedule scalars), the parameters (and moments). */
#ifdef FAKE_TASK_FINETUNE
#define BATCH_INPUTS 3
#else
#define BATCH_INPUTS 6
#endif

static void read_batch(void **arguments, struct batch *in) {
  memset(in, 0, sizeof(*in));
  in->input_ids = arguments[0];
#ifdef FAKE_TASK_FINETUNE
#ifdef FAKE_REGRESSION
  in->targets = arguments[2];
#else
  in->labels = arguments[2];
#endif
#else
  in->mlm_positions = arguments[2];
  in->mlm_labels = arguments[3];
  in->mlm_weights = arguments[4];
  in->order_labels = arguments[5];
#endif
}

static void write_reported(const struct outputs *out, void **results,
                           int forward) {
  int r = 0;
  *(float *)results[r++] = out->head_loss;
#ifdef FAKE_TASK_FINETUNE
#ifndef FAKE_NO_LOGITS
  if (forward)
    memcpy(results[r++], out->logits, sizeof(out->logits));
#endif
#else
  *(float *)results[r++] = out->order_loss;
#endif
  (void)forward;
  *(float *)results[r++] = out->z_loss;
  memcpy(results[r++], out->tokens_per_expert, sizeof(out->tokens_per_expert));
  *(float *)results[r++] = out->dropped_fraction;
}

void smx_model_forward(void **arguments, void **results, void *workspace) {
  (void)workspace; /* the forward entry has no memory plan */
  struct batch in;
  read_batch(arguments, &in);
  float *params[PARAMETERS];
  for (int i = 0; i < PARAMETERS; ++i)
    params[i] = arguments[BATCH_INPUTS + 1 + i];
  struct outputs out;
  compute(&in, params, NULL, &out);
  write_reported(&out, results, 1);
}

void smx_model_train_step(void **arguments, void **results, void *workspace) {
  if (!workspace || (uintptr_t)workspace % 64 != 0)
    abort(); /* the manifest promises an arena of gradient_bytes() */
  struct batch in;
  read_batch(arguments, &in);
  int64_t step = *(const int64_t *)arguments[BATCH_INPUTS];
  float peak = *(const float *)arguments[BATCH_INPUTS + 1];
  int64_t warmup = *(const int64_t *)arguments[BATCH_INPUTS + 2];
  int64_t total = *(const int64_t *)arguments[BATCH_INPUTS + 3];
  const int first = BATCH_INPUTS + 4;
  float *params[PARAMETERS], *grads[PARAMETERS];
  for (int i = 0; i < PARAMETERS; ++i) {
    params[i] = arguments[first + i];
    grads[i] = i == 0 ? (float *)workspace
                      : grads[i - 1] + element_count(&parameters[i - 1]);
    memset(grads[i], 0, (size_t)element_count(&parameters[i]) * sizeof(float));
  }
  struct outputs out;
  compute(&in, params, grads, &out);

  double norm = 0;
  for (int i = 0; i < PARAMETERS; ++i)
    for (int k = 0; k < element_count(&parameters[i]); ++k)
      norm += (double)grads[i][k] * grads[i][k];
  float lr = step < warmup ? peak * (float)(step + 1) / (float)warmup
             : step < total
                 ? peak * (float)(total - step) / (float)(total - warmup)
                 : 0.0f;
  const float beta1 = 0.9f, beta2 = 0.999f, epsilon = 1e-6f, decay = 0.01f;
  float correction1 = 1.0f - powf(beta1, (float)(step + 1));
  float correction2 = 1.0f - powf(beta2, (float)(step + 1));
  for (int i = 0; i < PARAMETERS; ++i) {
    float *m = arguments[first + PARAMETERS + i];
    float *v = arguments[first + 2 * PARAMETERS + i];
#ifdef FAKE_IN_PLACE
    /* The manifest marks the state in place: write over the arguments and
       never touch the result pointers, as smx-update-state-in-place makes
       compiled train steps do. Each element is read before it is written. */
    float *new_p = params[i], *new_m = m, *new_v = v;
#else
    float *new_p = results[i];
    float *new_m = results[PARAMETERS + i];
    float *new_v = results[2 * PARAMETERS + i];
#endif
    int decays = strcmp(parameters[i].init, "normal") == 0;
    for (int k = 0; k < element_count(&parameters[i]); ++k) {
      float g = grads[i][k];
      new_m[k] = beta1 * m[k] + (1 - beta1) * g;
      new_v[k] = beta2 * v[k] + (1 - beta2) * g * g;
      float update =
          (new_m[k] / correction1) / (sqrtf(new_v[k] / correction2) + epsilon);
      new_p[k] =
          params[i][k] - lr * (update + (decays ? decay * params[i][k] : 0.0f));
    }
  }
  const char *nan_at = getenv("FAKE_NAN_AT_STEP");
  if (nan_at && *nan_at && atoll(nan_at) == step)
    out.total = NAN;
  int r = 3 * PARAMETERS;
  *(float *)results[r++] = out.total;
  *(float *)results[r++] = (float)sqrt(norm);
  *(float *)results[r++] = lr;
  write_reported(&out, results + r, 0);
}
