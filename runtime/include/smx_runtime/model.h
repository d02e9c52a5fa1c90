/*===- smx_runtime/model.h - The model executable driver -----------*- C -*-===*
 *
 * A compiled model is linked as `<model object> + libsmx_runtime_main.a +
 * libsmx_runtime`: the static library holds only `main`, which hands the
 * object's two exported symbols (docs/abi.md) to smxrt_model_main. The
 * commands it runs are described in docs/runtime.md, "The model executable".
 *
 *===----------------------------------------------------------------------===*/

#ifndef SMX_RUNTIME_MODEL_H
#define SMX_RUNTIME_MODEL_H

#include "smx_runtime/api.h"

SMXRT_EXTERN_C_BEGIN

/* The symbols a compiled model object exports (docs/abi.md). Declared here
 * so that the object's and the runtime's views of them cannot drift; the
 * runtime itself does not define them. */
const char *smx_model_manifest(void);
void smx_model_forward(void **arguments, void **results);

typedef const char *(*smxrt_model_manifest_fn_t)(void);
typedef void (*smxrt_model_forward_fn_t)(void **arguments, void **results);

/* Runs the model executable's command line (`info`, `predict`, `eval`,
 * `--help`) for the model described by `manifest` and computed by `forward`.
 * Returns the process exit status: 0 on success, 1 on any error, which is
 * printed once to stderr as "<program>: error: <message>". Never throws and
 * never aborts on bad input. */
SMXRT_API int smxrt_model_main(int argc, char **argv,
                               smxrt_model_manifest_fn_t manifest,
                               smxrt_model_forward_fn_t forward);

SMXRT_EXTERN_C_END

#endif /* SMX_RUNTIME_MODEL_H */
