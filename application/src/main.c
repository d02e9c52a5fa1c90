/*===- main.c - The entry point of a compiled model ----------------*- C -*-===*
 *
 * The whole of libsmx_runtime_main.a: links a model object's exported
 * symbols (docs/abi.md) to the runtime's driver. Kept apart from the shared
 * library so that the library itself has no undefined model symbols.
 *
 *===----------------------------------------------------------------------===*/

#include "smx_application/model_main.h"

#include <stddef.h>

/* Exported only by objects compiled for training: weak, so that an inference
 * object links too and the address is NULL. */
extern void SMXRT_MODEL_TRAIN_STEP(void **arguments, void **results)
    __attribute__((weak));

int main(int argc, char **argv) {
  smxrt_model_train_step_fn_t train_step =
      SMXRT_MODEL_TRAIN_STEP ? SMXRT_MODEL_TRAIN_STEP : NULL;
  return smxrt_model_main(argc, argv, SMXRT_MODEL_MANIFEST,
                          SMXRT_MODEL_FORWARD, train_step);
}
