/*===- main.c - The entry point of a compiled model ----------------*- C -*-===*
 *
 * The whole of libsmx_model_main.a: hands a model object's exported symbols
 * (docs/abi.md) to the model application's smxrt_model_main. A model
 * executable is `<model object> + libsmx_model_main.a + libsmx_application +
 * libsmx_runtime` (docs/runtime.md). Kept apart from the libraries so that
 * they have no undefined model symbols.
 *
 *===----------------------------------------------------------------------===*/

#include "smx_application/model_main.h"

#include <stddef.h>

/* Exported only by objects compiled for training: weak, so that an inference
 * object links too and the address is NULL. */
extern void SMXRT_MODEL_TRAIN_STEP(void **arguments, void **results,
                                   void *workspace)
    __attribute__((weak));

int main(int argc, char **argv) {
  smxrt_model_train_step_fn_t train_step =
      SMXRT_MODEL_TRAIN_STEP ? SMXRT_MODEL_TRAIN_STEP : NULL;
  return smxrt_model_main(argc, argv, SMXRT_MODEL_MANIFEST, SMXRT_MODEL_FORWARD,
                          train_step);
}
