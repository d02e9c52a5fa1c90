/*===- smx_runtime/model_abi.h - The compiler-runtime contract ----*- C -*-===*
 *
 * Everything the compiler and the runtime must agree on, written once: the
 * ABI version, the symbols a compiled model exports and the runtime
 * functions it calls, the manifest's keys and spellings, and the routing
 * policy codes. smxc includes this header to emit them and the runtime to
 * read them, so a change here reaches both sides, and a change on one side
 * alone (a string spelled by hand) is a bug the tests catch. docs/abi.md
 * describes the same contract in prose.
 *
 * Plain C with no dependencies, so that the compiler (C++, MLIR) and the
 * runtime (C/C++, no MLIR) can both include it.
 *
 *===----------------------------------------------------------------------===*/

#ifndef SMX_RUNTIME_MODEL_ABI_H
#define SMX_RUNTIME_MODEL_ABI_H

/* Bumped on any incompatible change to what follows or to docs/abi.md. The
 * manifest carries it as "abi_version"; the runtime refuses other values. */
#define SMXRT_ABI_VERSION 2

/* Spells a symbol macro's identifier as a string: the compiler emits the
 * string, the runtime declares the identifier, and both come from one macro.
 */
#define SMXRT_SYMBOL_STRING_(identifier) #identifier
#define SMXRT_SYMBOL_STRING(identifier) SMXRT_SYMBOL_STRING_(identifier)

/*===----------------------------------------------------------------------===*
 * Symbols a compiled model object exports
 *===----------------------------------------------------------------------===*/

/* const char *SMXRT_MODEL_MANIFEST(void): the manifest (JSON, below). */
#define SMXRT_MODEL_MANIFEST smx_model_manifest
/* void SMXRT_MODEL_FORWARD(void **arguments, void **results,
 *                          void *workspace): workspace holds at least the
 * entry point's memory_plan.arena_bytes (may be NULL when there are none),
 * 64-byte aligned. */
#define SMXRT_MODEL_FORWARD smx_model_forward
/* void SMXRT_MODEL_TRAIN_STEP(void **arguments, void **results,
 *                             void *workspace); training objects only. */
#define SMXRT_MODEL_TRAIN_STEP smx_model_train_step

/*===----------------------------------------------------------------------===*
 * Runtime functions compiled code calls (memref_abi.h declares them)
 *===----------------------------------------------------------------------===*/

#define SMXRT_CPU_SGEMM_MEMREF smxrt_cpu_sgemm_memref
#define SMXRT_CPU_ROUTE_MEMREF smxrt_cpu_route_memref
/* capped_experts_choose with the `lp` method (moe routing policies whose
 * getSolver() is set). */
#define SMXRT_CPU_ROUTE_CAPPED_LP_MEMREF smxrt_cpu_route_capped_lp_memref
/* The GEMM of models compiled with --precision=bf16 for the CPU. */
#define SMXRT_CPU_SGEMM_BF16_MEMREF smxrt_cpu_sgemm_bf16_memref
/* Objects compiled with `smxc --target=cuda`: the GEMM on the GPU, with
 * SMXRT_CPU_SGEMM_MEMREF's arguments (cuda.h of the runtime), and the
 * `mgpu*` functions MLIR's GPU lowering calls to load and launch kernels. */
#define SMXRT_CUDA_SGEMM_MEMREF smxrt_cuda_sgemm_memref
/* Only in objects compiled with `smxc --profile` (profile.h). */
#define SMXRT_PROFILE_BEGIN smxrt_profile_begin
#define SMXRT_PROFILE_END smxrt_profile_end

/*===----------------------------------------------------------------------===*
 * The manifest: keys, entry points, roles, spellings
 *===----------------------------------------------------------------------===*/

/* Top-level keys. */
#define SMXRT_MANIFEST_ABI_VERSION "abi_version"
#define SMXRT_MANIFEST_MODEL "model"
#define SMXRT_MANIFEST_BATCH "batch"
#define SMXRT_MANIFEST_SEQUENCE "sequence"
#define SMXRT_MANIFEST_TASK "task"
#define SMXRT_MANIFEST_ENTRY_POINTS "entry_points"
#define SMXRT_MANIFEST_MOE_LAYERS "moe_layers"
/* A model compiled for a grid (smxc --grid): {"dp": D, "ep": E}, the grid's
 * two axes (smx_runtime/grid.h); "batch" is then one process's batch.
 * Absent for a model of one process. */
#define SMXRT_MANIFEST_GRID "grid"
/* "bf16" for a model whose GEMMs take bfloat16 operands (smxc
 * --precision=bf16); absent for f32. */
#define SMXRT_MANIFEST_PRECISION "precision"
/* "cuda" for a model compiled with `smxc --target=cuda`, whose kernels run
 * on a GPU of "gpu_arch" (e.g. "sm_90"); absent for the CPU. */
#define SMXRT_MANIFEST_TARGET "target"
#define SMXRT_MANIFEST_GPU_ARCH "gpu_arch"
#define SMXRT_TARGET_CUDA "cuda"
#define SMXRT_GRID_DP "dp"
#define SMXRT_GRID_EP "ep"
/* Objects compiled with `smxc --profile`: one entry per profile site (the
 * argument of SMXRT_PROFILE_BEGIN/END), with the members below. */
#define SMXRT_MANIFEST_PROFILE "profile"
#define SMXRT_PROFILE_AT "at"       /* the model path it computes, or "" */
#define SMXRT_PROFILE_KIND "kind"   /* one of the kinds below */
#define SMXRT_PROFILE_BYTES "bytes" /* bytes of the buffers it touches */
#define SMXRT_PROFILE_FLOPS "flops" /* floating-point operations, or 0 */
#define SMXRT_PROFILE_CALLEE "callee" /* the function called, or "copy" */
#define SMXRT_PROFILE_ENTRY "entry"   /* the entry point it is in */
#define SMXRT_PROFILE_KIND_GEMM "gemm"
#define SMXRT_PROFILE_KIND_ROUTE "route"
#define SMXRT_PROFILE_KIND_ELEMENTWISE "elementwise"
#define SMXRT_PROFILE_KIND_REDUCTION "reduction"
#define SMXRT_PROFILE_KIND_COPY "copy"

/* entry_points members: one per exported function. */
#define SMXRT_ENTRY_FORWARD "forward"
#define SMXRT_ENTRY_TRAIN_STEP "train_step"

/* Members of an entry point. */
#define SMXRT_ENTRY_ARGUMENTS "arguments"
#define SMXRT_ENTRY_RESULTS "results"

/* Optional member of an entry point: its static memory plan (the compiler's
 * smx-plan-memory), an object of the three keys after it. */
#define SMXRT_ENTRY_MEMORY_PLAN "memory_plan"
/* Bytes of the one arena that holds every intermediate buffer. */
#define SMXRT_MEMORY_ARENA_BYTES "arena_bytes"
/* The most bytes the intermediate buffers hold at one point. */
#define SMXRT_MEMORY_PEAK_LIVE_BYTES "peak_live_bytes"
/* The model path (e.g. "layers.3.mixing") of the operation at that point. */
#define SMXRT_MEMORY_PEAK_AT "peak_at"

/* Members of an argument or result. */
#define SMXRT_TENSOR_NAME "name"
#define SMXRT_TENSOR_ROLE "role"
#define SMXRT_TENSOR_DTYPE "dtype"
#define SMXRT_TENSOR_SHAPE "shape"
#define SMXRT_TENSOR_INIT "init"
/* On a parameter of a model compiled for a grid that splits it (expert
 * weights over ep): the grid axes its first dimension is split over, and
 * its global shape (what checkpoints hold); `shape` is one process's slice,
 * the one at the process's linear index over those axes. */
#define SMXRT_TENSOR_SHARD_AXES "shard_axes"
#define SMXRT_TENSOR_GLOBAL_SHAPE "global_shape"
#define SMXRT_TENSOR_BATCH_MAJOR "batch_major"
#define SMXRT_TENSOR_LOSS_WEIGHT "loss_weight"
#define SMXRT_TENSOR_METRIC "metric"
/* On a train step result (a parameter or moment): the train step writes it
 * into the argument buffer of the same name and role and never accesses
 * the result's own pointer, so the application needs one copy of it. */
#define SMXRT_TENSOR_IN_PLACE "in_place"

/* Roles of arguments (input, parameter, moments) and results (output,
 * parameter, moments: the train step's updated state). */
#define SMXRT_ROLE_INPUT "input"
#define SMXRT_ROLE_OUTPUT "output"
#define SMXRT_ROLE_PARAMETER "parameter"
#define SMXRT_ROLE_FIRST_MOMENT "first_moment"
#define SMXRT_ROLE_SECOND_MOMENT "second_moment"

/* How a parameter starts without given weights. */
#define SMXRT_INIT_NORMAL "normal"
#define SMXRT_INIT_ZEROS "zeros"
#define SMXRT_INIT_ONES "ones"
/* The standard deviation of SMXRT_INIT_NORMAL (BERT's initializer range). */
#define SMXRT_INIT_NORMAL_STDDEV 0.02

/* Element types, in safetensors spelling. */
#define SMXRT_DTYPE_NAME_F32 "F32"
#define SMXRT_DTYPE_NAME_I32 "I32"
#define SMXRT_DTYPE_NAME_I64 "I64"

/* Training objectives ("task"). */
#define SMXRT_TASK_PRETRAIN "pretrain"
#define SMXRT_TASK_FINETUNE "finetune"

/* Inputs the runtime supplies by name. */
#define SMXRT_INPUT_IDS "input_ids"
#define SMXRT_INPUT_TYPE_IDS "type_ids"
#define SMXRT_INPUT_STEP "step"
#define SMXRT_INPUT_PEAK_LEARNING_RATE "peak_learning_rate"
#define SMXRT_INPUT_WARMUP_STEPS "warmup_steps"
#define SMXRT_INPUT_TOTAL_STEPS "total_steps"

/* Outputs of every train step, in this order before its loss terms. */
#define SMXRT_OUTPUT_LOSS "loss"
#define SMXRT_OUTPUT_GRAD_NORM "grad_norm"
#define SMXRT_OUTPUT_LEARNING_RATE "learning_rate"

/* Members of a moe_layers entry. */
#define SMXRT_MOE_LAYER "layer"
#define SMXRT_MOE_EXPERTS "experts"
#define SMXRT_MOE_POLICY "policy"
#define SMXRT_MOE_CAPACITY_FACTOR "capacity_factor"
#define SMXRT_MOE_GROUPS "groups"
#define SMXRT_MOE_TOKENS_PER_GROUP "tokens_per_group"
#define SMXRT_MOE_CAPACITY "capacity"

/*===----------------------------------------------------------------------===*
 * Routing policies
 *===----------------------------------------------------------------------===*/

/* The `policy` argument of smxrt_cpu_route. Each moe routing-policy
 * attribute returns its code from getAbiCode(); the values never change,
 * new policies append. SMXRT_ROUTING_POLICY_COUNT is one past the last. */
typedef enum smxrt_routing_policy_e {
  SMXRT_ROUTING_EXPERTS_CHOOSE = 0,
  SMXRT_ROUTING_TOKENS_CHOOSE = 1,
  SMXRT_ROUTING_CAPPED_EXPERTS_CHOOSE = 2,
  SMXRT_ROUTING_HASH = 3,
  SMXRT_ROUTING_POLICY_COUNT = 4,
} smxrt_routing_policy_t;

#endif /* SMX_RUNTIME_MODEL_ABI_H */
