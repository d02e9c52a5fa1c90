//===- text_data_fuzzer.cpp - The corpus and TSV task readers on any bytes ===//
//
// Reads the input as a corpus file (fortune or paragraph format) and as a
// fine-tuning task in TSV, with the label kind inferred and with both kinds
// forced: malformed text gives an error naming the file and line, never a
// crash.
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "data/corpus.h"
#include "data/task.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  smx_fuzz::InputFile input(data, size, ".txt");
  smxrt::data::Corpus corpus;
  smxrt_status_t status = smxrt::data::readCorpus(input.getPath(), corpus);
  if (!status) {
    smxrt::data::Task task;
    smxrt::data::taskFromCorpus(corpus, task);
  }
  smx_fuzz::consume(status);
  for (auto kind : {std::optional<smxrt::data::LabelKind>(),
                    std::optional<smxrt::data::LabelKind>(
                        smxrt::data::LabelKind::Classification),
                    std::optional<smxrt::data::LabelKind>(
                        smxrt::data::LabelKind::Regression)}) {
    smxrt::data::TsvOptions options;
    options.kind = kind;
    smxrt::data::Task task;
    smx_fuzz::consume(
        smxrt::data::readTsvTask(input.getPath(), std::nullopt, options, task));
  }
  return 0;
}
