//===- StatusTest.cpp - The status C ABI ---------------------------------===//

#include "TestSupport.h"

using namespace smxrt_test;

namespace {

TEST(Status, NullIsOk) {
  EXPECT_EQ(smxrt_status_code(nullptr), SMXRT_STATUS_OK);
  EXPECT_STREQ(smxrt_status_message(nullptr), "");
  smxrt_status_free(nullptr);
}

TEST(Status, MakeCopiesTheMessage) {
  std::string message = "weights.safetensors: broken";
  StatusPtr status(smxrt_status_make(SMXRT_STATUS_DATA_LOSS, message.c_str()));
  message.clear();
  EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_DATA_LOSS);
  EXPECT_STREQ(smxrt_status_message(status.get()),
               "weights.safetensors: broken");
  EXPECT_EQ(smxrt_status_make(SMXRT_STATUS_OK, "ignored"), nullptr);
  StatusPtr withoutMessage(smxrt_status_make(SMXRT_STATUS_INTERNAL, nullptr));
  EXPECT_STREQ(smxrt_status_message(withoutMessage.get()), "");
}

TEST(Status, CodeNames) {
  EXPECT_STREQ(smxrt_status_code_name(SMXRT_STATUS_OK), "OK");
  EXPECT_STREQ(smxrt_status_code_name(SMXRT_STATUS_INVALID_ARGUMENT),
               "INVALID_ARGUMENT");
  EXPECT_STREQ(smxrt_status_code_name(SMXRT_STATUS_NOT_FOUND), "NOT_FOUND");
  EXPECT_STREQ(smxrt_status_code_name(SMXRT_STATUS_IO_ERROR), "IO_ERROR");
  EXPECT_STREQ(smxrt_status_code_name(SMXRT_STATUS_DATA_LOSS), "DATA_LOSS");
  EXPECT_STREQ(smxrt_status_code_name(SMXRT_STATUS_OUT_OF_RANGE),
               "OUT_OF_RANGE");
  EXPECT_STREQ(smxrt_status_code_name(SMXRT_STATUS_UNIMPLEMENTED),
               "UNIMPLEMENTED");
  EXPECT_STREQ(smxrt_status_code_name(SMXRT_STATUS_INTERNAL), "INTERNAL");
  EXPECT_STREQ(smxrt_status_code_name(SMXRT_STATUS_RESOURCE_EXHAUSTED),
               "RESOURCE_EXHAUSTED");
  EXPECT_STREQ(smxrt_status_code_name(SMXRT_STATUS_DEADLINE_EXCEEDED),
               "DEADLINE_EXCEEDED");
  EXPECT_STREQ(smxrt_status_code_name(static_cast<smxrt_status_code_t>(99)),
               "UNKNOWN");
}

TEST(Status, AbiVersionMatchesHeader) {
  EXPECT_EQ(smxrt_abi_version(), SMXRT_ABI_VERSION);
}

} // namespace
