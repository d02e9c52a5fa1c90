//===- TrainManifestTest.cpp - task and entry_points.train_step -----------===//
//
// The manifest reader's checks of a training object (docs/abi.md): roles,
// the parameter and moment runs, the required outputs and their types, and
// the agreement with the forward function. The driver tests run the whole
// commands on fake_train_model.c; these cases cover malformed manifests.
//
//===----------------------------------------------------------------------===//

#include "model/manifest.h"

#include "gtest/gtest.h"

#include <string>

using namespace smxrt;

namespace {

/// A small training manifest; `edit` rewrites pieces of it.
std::string trainingManifest(const std::string &find = "",
                             const std::string &replace = "") {
  std::string text = R"({"abi_version": 2, "model": "m", "task": "finetune",
 "batch": 2, "sequence": 4,
 "entry_points": {
  "forward": {
   "arguments": [
    {"name": "input_ids", "role": "input", "dtype": "I32", "shape": [2, 4]},
    {"name": "labels", "role": "input", "dtype": "I32", "shape": [2]},
    {"name": "step", "role": "input", "dtype": "I64", "shape": []},
    {"name": "w", "role": "parameter", "dtype": "F32", "shape": [3, 2], "init": "normal"},
    {"name": "b", "role": "parameter", "dtype": "F32", "shape": [2], "init": "zeros"}],
   "results": [
    {"name": "classifier_loss", "dtype": "F32", "shape": [], "loss_weight": 1.0},
    {"name": "classifier_logits", "dtype": "F32", "shape": [2, 2], "batch_major": true}]},
  "train_step": {
   "arguments": [
    {"name": "input_ids", "role": "input", "dtype": "I32", "shape": [2, 4]},
    {"name": "labels", "role": "input", "dtype": "I32", "shape": [2]},
    {"name": "step", "role": "input", "dtype": "I64", "shape": []},
    {"name": "peak_learning_rate", "role": "input", "dtype": "F32", "shape": []},
    {"name": "warmup_steps", "role": "input", "dtype": "I64", "shape": []},
    {"name": "total_steps", "role": "input", "dtype": "I64", "shape": []},
    {"name": "w", "role": "parameter", "dtype": "F32", "shape": [3, 2], "init": "normal"},
    {"name": "b", "role": "parameter", "dtype": "F32", "shape": [2], "init": "zeros"},
    {"name": "w", "role": "first_moment", "dtype": "F32", "shape": [3, 2]},
    {"name": "b", "role": "first_moment", "dtype": "F32", "shape": [2]},
    {"name": "w", "role": "second_moment", "dtype": "F32", "shape": [3, 2]},
    {"name": "b", "role": "second_moment", "dtype": "F32", "shape": [2]}],
   "results": [
    {"name": "w", "role": "parameter", "dtype": "F32", "shape": [3, 2]},
    {"name": "b", "role": "parameter", "dtype": "F32", "shape": [2]},
    {"name": "w", "role": "first_moment", "dtype": "F32", "shape": [3, 2]},
    {"name": "b", "role": "first_moment", "dtype": "F32", "shape": [2]},
    {"name": "w", "role": "second_moment", "dtype": "F32", "shape": [3, 2]},
    {"name": "b", "role": "second_moment", "dtype": "F32", "shape": [2]},
    {"name": "loss", "role": "output", "dtype": "F32", "shape": []},
    {"name": "grad_norm", "role": "output", "dtype": "F32", "shape": []},
    {"name": "learning_rate", "role": "output", "dtype": "F32", "shape": []},
    {"name": "classifier_loss", "role": "output", "dtype": "F32", "shape": [], "loss_weight": 1.0},
    {"name": "moe.1.tokens_per_expert", "role": "output", "dtype": "I32", "shape": [4], "metric": true}]}}})";
  if (!find.empty()) {
    size_t at = text.find(find);
    EXPECT_NE(at, std::string::npos) << find;
    if (at != std::string::npos)
      text.replace(at, find.size(), replace);
  }
  return text;
}

std::string parseError(const std::string &text) {
  ModelManifest manifest;
  smxrt_status_t status = parseModelManifest(text, manifest);
  std::string message = status ? smxrt_status_message(status) : "";
  smxrt_status_free(status);
  return message;
}

TEST(TrainManifest, ReadsTheTrainStep) {
  ModelManifest manifest;
  std::string text = trainingManifest();
  smxrt_status_t status = parseModelManifest(text, manifest);
  ASSERT_EQ(status, nullptr) << smxrt_status_message(status);
  EXPECT_EQ(manifest.task, "finetune");
  EXPECT_EQ(manifest.text, text);
  ASSERT_TRUE(manifest.hasTrainStep);
  const TrainStepSpec &step = manifest.trainStep;
  EXPECT_EQ(step.inputs.size(), 6u);
  EXPECT_EQ(step.parameters, (std::vector<size_t>{6, 7}));
  EXPECT_EQ(step.firstMoments, (std::vector<size_t>{8, 9}));
  EXPECT_EQ(step.secondMoments, (std::vector<size_t>{10, 11}));
  EXPECT_EQ(step.parameterResults, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(step.secondMomentResults, (std::vector<size_t>{4, 5}));
  EXPECT_EQ(step.loss, 6u);
  EXPECT_EQ(step.gradNorm, 7u);
  EXPECT_EQ(step.learningRate, 8u);
  EXPECT_EQ(step.reported, (std::vector<size_t>{9, 10}));
  EXPECT_TRUE(step.results[9].isLossTerm);
  EXPECT_EQ(step.results[9].lossWeight, 1.0);
  EXPECT_TRUE(step.results[10].isMetric);
  EXPECT_TRUE(manifest.results[0].isLossTerm);
  EXPECT_EQ(step.arguments[7].init, ParameterInit::Zeros);
}

TEST(TrainManifest, TaskWithoutTrainStep) {
  std::string text = trainingManifest();
  text = text.substr(0, text.find(",\n  \"train_step\"")) + "}}";
  ModelManifest manifest;
  smxrt_status_t status = parseModelManifest(text, manifest);
  ASSERT_EQ(status, nullptr) << smxrt_status_message(status);
  EXPECT_EQ(manifest.task, "finetune");
  EXPECT_FALSE(manifest.hasTrainStep);
}

TEST(TrainManifest, Errors) {
  EXPECT_EQ(parseError(trainingManifest("\"task\": \"finetune\"",
                                        "\"task\": \"fit\"")),
            "invalid model manifest: task: unknown task 'fit' (expected "
            "'pretrain' or 'finetune')");
  EXPECT_EQ(parseError(trainingManifest("\"task\": \"finetune\",", "")),
            "invalid model manifest: entry_points.train_step: present, but "
            "the manifest has no 'task'");
  EXPECT_EQ(
      parseError(trainingManifest(
          R"({"name": "w", "role": "first_moment", "dtype": "F32", "shape": [3, 2]},
    {"name": "b", "role": "first_moment", "dtype": "F32", "shape": [2]},)",
          R"({"name": "b", "role": "first_moment", "dtype": "F32", "shape": [2]},
    {"name": "w", "role": "first_moment", "dtype": "F32", "shape": [3, 2]},)")),
      "invalid model manifest: entry_points.train_step.arguments[8]: "
      "first_moment 0 is 'b' F32 [2], but parameter 0 is 'w' F32 [3, 2]");
  EXPECT_EQ(parseError(trainingManifest(
                R"(,
    {"name": "b", "role": "second_moment", "dtype": "F32", "shape": [2]}],)",
                "],")),
            "invalid model manifest: entry_points.train_step.arguments: 1 "
            "second_moment entries for 2 parameters");
  EXPECT_EQ(
      parseError(trainingManifest(
          R"({"name": "grad_norm", "role": "output", "dtype": "F32", "shape": []},)",
          "")),
      "invalid model manifest: entry_points.train_step.results: no "
      "'grad_norm' output");
  EXPECT_EQ(
      parseError(trainingManifest(
          R"({"name": "loss", "role": "output", "dtype": "F32", "shape": []})",
          R"({"name": "loss", "role": "output", "dtype": "F32", "shape": [2]})")),
      "invalid model manifest: entry_points.train_step.results[6]: output "
      "'loss' is F32 [2], expected F32 []");
  EXPECT_EQ(
      parseError(trainingManifest(
          R"("shape": [], "loss_weight": 1.0},
    {"name": "moe)",
          R"("shape": [2], "loss_weight": 1.0},
    {"name": "moe)")),
      "invalid model manifest: entry_points.train_step.results[9]: loss term "
      "'classifier_loss' is F32 [2], expected F32 []");
  EXPECT_EQ(
      parseError(trainingManifest(
          R"({"name": "peak_learning_rate", "role": "input", "dtype": "F32", "shape": []},)",
          "")),
      "invalid model manifest: entry_points.train_step.arguments: no "
      "'peak_learning_rate' input");
  EXPECT_EQ(
      parseError(trainingManifest(
          R"({"name": "warmup_steps", "role": "input", "dtype": "I64", "shape": []})",
          R"({"name": "warmup_steps", "role": "input", "dtype": "I32", "shape": []})")),
      "invalid model manifest: entry_points.train_step.arguments[4]: input "
      "'warmup_steps' is I32 [], expected I64 []");
  EXPECT_EQ(
      parseError(trainingManifest(R"({"name": "loss", "role": "output")",
                                  R"({"name": "loss", "role": "result")")),
      "invalid model manifest: entry_points.train_step.results[6].role: "
      "unknown role 'result' (expected 'parameter', 'first_moment', "
      "'second_moment' or 'output')");
  EXPECT_EQ(
      parseError(trainingManifest(
          R"({"name": "b", "role": "parameter", "dtype": "F32", "shape": [2], "init": "zeros"}],
   "results": [
    {"name": "classifier_loss")",
          R"({"name": "b", "role": "parameter", "dtype": "F32", "shape": [2], "init": "zeros"},
    {"name": "extra", "role": "parameter", "dtype": "F32", "shape": [2], "init": "zeros"}],
   "results": [
    {"name": "classifier_loss")")),
      "invalid model manifest: entry_points.train_step.arguments: no "
      "parameter 'extra', which the forward function takes");
  EXPECT_EQ(
      parseError(trainingManifest(
          R"("classifier_loss", "dtype": "F32", "shape": [], "loss_weight": 1.0})",
          R"("classifier_loss", "dtype": "F32", "shape": [], "loss_weight": "1"})")),
      "invalid model manifest: entry_points.forward.results[0].loss_weight: "
      "expected a number, got a string");
}

} // namespace
