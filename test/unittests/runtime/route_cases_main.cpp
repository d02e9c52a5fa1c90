//===- route_cases_main.cpp - Runs the route kernels on stored cases -------===//
//
// For route_reference_test.py: reads cases from a safetensors file
// (`<case>.config` I64 [policy, k, batch_prioritized, groups,
// tokens_per_group, experts, capacity], `<case>.probs`, `<case>.token_ids`;
// for capped_experts_choose's `lp` method, `<case>.lp` F64 [iterations,
// entropy], which runs smxrt_cpu_route_capped_lp instead of smxrt_cpu_route)
// and writes `<case>.dispatch_indices` and `<case>.combine_weights`.
//
// Usage: smx-route-cases IN.safetensors OUT.safetensors
//
//===----------------------------------------------------------------------===//

#include "smx_runtime/smx_runtime.h"

#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace {

struct Fail {
  std::string message;
};

void check(smxrt_status_t status) {
  if (!status)
    return;
  Fail failure{smxrt_status_message(status)};
  smxrt_status_free(status);
  throw failure;
}

std::vector<char> readTensor(smxrt_safetensors_t *file,
                             const std::string &name) {
  size_t rank = 0;
  const int64_t *shape = nullptr;
  smxrt_dtype_t dtype = SMXRT_DTYPE_INVALID;
  check(
      smxrt_safetensors_tensor_info(file, name.c_str(), &dtype, &rank, &shape));
  size_t size = 0;
  check(smxrt_shape_byte_size(dtype, rank, shape, nullptr, &size));
  std::vector<char> bytes(size);
  check(smxrt_safetensors_read_data(file, name.c_str(), bytes.data(), size));
  return bytes;
}

struct CaseOutput {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<int32_t> indices;
  std::vector<float> weights;
};

int run(const char *inputPath, const char *outputPath) {
  smxrt_safetensors_t *file = nullptr;
  check(smxrt_safetensors_open(inputPath, &file));
  std::unique_ptr<smxrt_safetensors_t, void (*)(smxrt_safetensors_t *)> owned(
      file, smxrt_safetensors_close);
  std::vector<CaseOutput> outputs;
  std::set<std::string> names;
  for (size_t index = 0; index < smxrt_safetensors_tensor_count(file); ++index)
    names.insert(smxrt_safetensors_tensor_name(file, index));
  const std::string configSuffix = ".config";
  for (size_t index = 0; index < smxrt_safetensors_tensor_count(file);
       ++index) {
    std::string name = smxrt_safetensors_tensor_name(file, index);
    if (name.size() <= configSuffix.size() ||
        name.compare(name.size() - configSuffix.size(), configSuffix.size(),
                     configSuffix) != 0)
      continue;
    std::string caseName = name.substr(0, name.size() - configSuffix.size());
    std::vector<char> configBytes = readTensor(file, name);
    const auto *config = reinterpret_cast<const int64_t *>(configBytes.data());
    std::vector<char> probs = readTensor(file, caseName + ".probs");
    std::vector<char> tokenIds = readTensor(file, caseName + ".token_ids");
    int64_t groups = config[3], experts = config[5], capacity = config[6];
    CaseOutput output{caseName, {groups, experts, capacity}, {}, {}};
    output.indices.resize(groups * experts * capacity);
    output.weights.resize(groups * experts * capacity);
    const auto *probValues = reinterpret_cast<const float *>(probs.data());
    if (names.count(caseName + ".lp")) {
      std::vector<char> lpBytes = readTensor(file, caseName + ".lp");
      const auto *lp = reinterpret_cast<const double *>(lpBytes.data());
      smxrt_cpu_route_capped_lp(config[1], static_cast<int64_t>(lp[0]), lp[1],
                                groups, config[4], experts, capacity,
                                probValues, output.indices.data(),
                                output.weights.data());
    } else {
      smxrt_cpu_route(static_cast<int32_t>(config[0]), config[1],
                      static_cast<int32_t>(config[2]), groups, config[4],
                      experts, capacity, probValues,
                      reinterpret_cast<const int32_t *>(tokenIds.data()),
                      output.indices.data(), output.weights.data());
    }
    outputs.push_back(std::move(output));
  }

  smxrt_safetensors_writer_t *writer = nullptr;
  check(smxrt_safetensors_writer_create(&writer));
  std::unique_ptr<smxrt_safetensors_writer_t,
                  void (*)(smxrt_safetensors_writer_t *)>
      ownedWriter(writer, smxrt_safetensors_writer_free);
  for (CaseOutput &output : outputs) {
    check(smxrt_safetensors_writer_add_data(
        writer, (output.name + ".dispatch_indices").c_str(), SMXRT_DTYPE_I32, 3,
        output.shape.data(), output.indices.data(),
        output.indices.size() * sizeof(int32_t)));
    check(smxrt_safetensors_writer_add_data(
        writer, (output.name + ".combine_weights").c_str(), SMXRT_DTYPE_F32, 3,
        output.shape.data(), output.weights.data(),
        output.weights.size() * sizeof(float)));
  }
  check(smxrt_safetensors_writer_write(writer, outputPath));
  std::printf("routed %zu cases\n", outputs.size());
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s IN.safetensors OUT.safetensors\n", argv[0]);
    return 2;
  }
  try {
    return run(argv[1], argv[2]);
  } catch (const Fail &failure) {
    std::fprintf(stderr, "%s: error: %s\n", argv[0], failure.message.c_str());
    return 1;
  }
}
