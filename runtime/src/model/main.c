/*===- main.c - The entry point of a compiled model ----------------*- C -*-===*
 *
 * The whole of libsmx_runtime_main.a: links a model object's exported
 * symbols (docs/abi.md) to the runtime's driver. Kept apart from the shared
 * library so that the library itself has no undefined model symbols.
 *
 *===----------------------------------------------------------------------===*/

#include "smx_runtime/model.h"

int main(int argc, char **argv) {
  return smxrt_model_main(argc, argv, smx_model_manifest, smx_model_forward);
}
