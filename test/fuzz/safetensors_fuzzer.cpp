//===- safetensors_fuzzer.cpp - The safetensors reader on any bytes -------===//
//
// Opens the input as a safetensors file and, when its header is accepted,
// reads every tensor and metadata entry: whatever the bytes, the reader
// returns a status and never reads outside the file or its buffers.
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "smx_runtime/safetensors.h"
#include "smx_runtime/tensor.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  smx_fuzz::InputFile input(data, size, ".safetensors");
  smxrt_safetensors_t *file = nullptr;
  smxrt_status_t status =
      smxrt_safetensors_open(input.getPath().c_str(), &file);
  if (status) {
    smx_fuzz::consume(status);
    return 0;
  }
  for (size_t index = 0; index < smxrt_safetensors_tensor_count(file);
       ++index) {
    const char *name = smxrt_safetensors_tensor_name(file, index);
    smxrt_tensor_t *tensor = nullptr;
    smx_fuzz::consume(smxrt_safetensors_read_tensor(file, name, &tensor));
    smxrt_tensor_free(tensor);
  }
  for (size_t index = 0; index < smxrt_safetensors_metadata_count(file);
       ++index)
    (void)smxrt_safetensors_metadata_value(
        file, smxrt_safetensors_metadata_key(file, index));
  smxrt_safetensors_close(file);
  return 0;
}
