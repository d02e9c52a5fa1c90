/*===- smx_application/model_main.h - The model executable ---------*- C -*-===*
 *
 * A compiled model is linked as `<model object> + libsmx_model_main.a +
 * libsmx_application + libsmx_runtime` (or the static archives of the last
 * two, with `smxc --static-runtime`): libsmx_model_main.a holds only `main`,
 * which hands the object's exported symbols (docs/abi.md) to
 * smxrt_model_main. The commands it runs are described in docs/runtime.md,
 * "The model executable".
 *
 *===----------------------------------------------------------------------===*/

#ifndef SMX_APPLICATION_MODEL_MAIN_H
#define SMX_APPLICATION_MODEL_MAIN_H

#include "smx_runtime/api.h"
#include "smx_runtime/model_abi.h"

SMXRT_EXTERN_C_BEGIN

/* The symbols a compiled model object exports (docs/abi.md). Declared here
 * so that the object's and the application's views of them cannot drift;
 * neither the application nor the runtime defines them. Only objects
 * compiled for training (`smxc --task=pretrain|finetune`) export
 * smx_model_train_step; libsmx_model_main.a declares it weak, so that
 * inference objects link without it. */
const char *SMXRT_MODEL_MANIFEST(void);
void SMXRT_MODEL_FORWARD(void **arguments, void **results, void *workspace);
void SMXRT_MODEL_TRAIN_STEP(void **arguments, void **results,
                            void *workspace);

typedef const char *(*smxrt_model_manifest_fn_t)(void);
/* `arguments[i]` and `results[i]` point to the buffers of the entry point's
 * i-th argument and result in the manifest (docs/abi.md). */
typedef void (*smxrt_model_forward_fn_t)(void **arguments, void **results,
                                         void *workspace);
/* One training step: reads the batch, the schedule scalars, the parameters
 * and both Adam moments, and writes the updated parameters and moments and
 * the step's outputs into result buffers that alias no argument. */
typedef void (*smxrt_model_train_step_fn_t)(void **arguments,
                                            void **results, void *workspace);

/* Runs the model executable's command line (`info`, `predict`, `eval`,
 * `train`, `finetune`, `--help`) for the model described by `manifest` and
 * computed by `forward`. `train_step` is the object's smx_model_train_step,
 * or NULL for an object compiled for inference: `train` and `finetune` then
 * fail with a message saying so. Returns the process exit status: 0 on
 * success, 1 on any error, which is printed once to stderr as
 * "<program>: error: <message>". Never throws and never aborts on bad
 * input. */
SMXRT_API int smxrt_model_main(int argc, char **argv,
                               smxrt_model_manifest_fn_t manifest,
                               smxrt_model_forward_fn_t forward,
                               smxrt_model_train_step_fn_t train_step);

SMXRT_EXTERN_C_END

#endif /* SMX_APPLICATION_MODEL_MAIN_H */
