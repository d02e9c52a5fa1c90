//===- StatusHelpersTest.cpp - The internal C++ status helpers -----------===//

#include "status_internal.h"

#include "gtest/gtest.h"

#include <stdexcept>

using namespace smxrt;

namespace {

std::string takeMessage(smxrt_status_t status) {
  std::string message = smxrt_status_message(status);
  smxrt_status_free(status);
  return message;
}

TEST(StatusHelpers, MakeStatus) {
  EXPECT_EQ(makeStatus(SMXRT_STATUS_OK, "ignored"), nullptr);
  smxrt_status_t status =
      makeStatus(SMXRT_STATUS_NOT_FOUND, std::string("no tensor 'w'"));
  EXPECT_EQ(smxrt_status_code(status), SMXRT_STATUS_NOT_FOUND);
  EXPECT_EQ(takeMessage(status), "no tensor 'w'");
}

TEST(StatusHelpers, MakeStatusfFormats) {
  smxrt_status_t status = makeStatusf(SMXRT_STATUS_OUT_OF_RANGE,
                                      "%s: index %d of %zu", "x", 7, size_t(3));
  EXPECT_EQ(smxrt_status_code(status), SMXRT_STATUS_OUT_OF_RANGE);
  EXPECT_EQ(takeMessage(status), "x: index 7 of 3");
  std::string longText(1000, 'y');
  EXPECT_EQ(
      takeMessage(makeStatusf(SMXRT_STATUS_INTERNAL, "%s!", longText.c_str())),
      longText + "!");
  EXPECT_EQ(formatString("%05.1f|%-3s|", 2.5, "a"), "002.5|a  |");
}

TEST(StatusHelpers, AnnotateAddsContext) {
  EXPECT_EQ(annotateStatus(nullptr, "prefix: "), nullptr);
  smxrt_status_t status = annotateStatus(
      makeStatus(SMXRT_STATUS_INVALID_ARGUMENT, "negative dimension"),
      "file: tensor 'a': ", SMXRT_STATUS_DATA_LOSS);
  EXPECT_EQ(smxrt_status_code(status), SMXRT_STATUS_DATA_LOSS);
  EXPECT_EQ(takeMessage(status), "file: tensor 'a': negative dimension");
  status = annotateStatus(makeStatus(SMXRT_STATUS_IO_ERROR, "x"), "y: ");
  EXPECT_EQ(smxrt_status_code(status), SMXRT_STATUS_IO_ERROR);
  EXPECT_EQ(takeMessage(status), "y: x");
}

smxrt_status_t failsThenContinues(bool fail, int &reached) {
  SMXRT_RETURN_IF_ERROR(fail ? makeStatus(SMXRT_STATUS_INTERNAL, "early")
                             : nullptr);
  ++reached;
  return nullptr;
}

TEST(StatusHelpers, ReturnIfError) {
  int reached = 0;
  EXPECT_EQ(failsThenContinues(false, reached), nullptr);
  EXPECT_EQ(reached, 1);
  EXPECT_EQ(takeMessage(failsThenContinues(true, reached)), "early");
  EXPECT_EQ(reached, 1);
}

#if defined(__cpp_exceptions)
TEST(StatusHelpers, ExceptionsBecomeStatuses) {
  smxrt_status_t status =
      catchExceptions([]() -> smxrt_status_t { throw std::bad_alloc(); });
  EXPECT_EQ(smxrt_status_code(status), SMXRT_STATUS_RESOURCE_EXHAUSTED);
  EXPECT_EQ(takeMessage(status), "out of memory");
  status = catchExceptions(
      []() -> smxrt_status_t { throw std::runtime_error("boom"); });
  EXPECT_EQ(smxrt_status_code(status), SMXRT_STATUS_INTERNAL);
  EXPECT_EQ(takeMessage(status), "unexpected exception: boom");
  EXPECT_EQ(catchExceptions([]() -> smxrt_status_t { return nullptr; }),
            nullptr);
}
#endif

} // namespace
