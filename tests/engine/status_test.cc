#include <gtest/gtest.h>
#include <kalam/backend_api.h>
#include <kalam/status.h>

namespace kalam {
namespace {

TEST(Status, OkIsDefaultAndPrintsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.to_string(), "OK");
  EXPECT_TRUE(s.message().empty());
}

TEST(Status, ErrorCarriesCodeAndMessage) {
  Status s = Status::IoError("disk on fire");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kIoError);
  EXPECT_EQ(s.to_string(), "IO_ERROR: disk on fire");
  EXPECT_EQ(s.with_context("put").to_string(), "IO_ERROR: put: disk on fire");
}

TEST(Status, CodesMatchTheAbi) {
  EXPECT_EQ(static_cast<int>(Code::kNotFound), KALAM_NOT_FOUND);
  EXPECT_EQ(static_cast<int>(Code::kNoSpace), KALAM_NO_SPACE);
  EXPECT_EQ(static_cast<int>(Code::kDropped), KALAM_DROPPED);
  EXPECT_EQ(static_cast<int>(Code::kConflict), KALAM_CONFLICT);
  EXPECT_EQ(static_cast<int>(Code::kOutcomeUnknown), KALAM_OUTCOME_UNKNOWN);
  EXPECT_EQ(static_cast<int>(Code::kTooLarge), KALAM_TOO_LARGE);
  for (int c = KALAM_OK; c <= KALAM_TOO_LARGE; ++c) {
    EXPECT_EQ(code_name(static_cast<Code>(c)), kalam_code_name(c)) << c;
  }
}

TEST(Status, ConflictAndOutcomeUnknownAreNamed) {
  EXPECT_TRUE(Status::Conflict("x").is_conflict());
  EXPECT_FALSE(Status::Busy("x").is_conflict());
  EXPECT_TRUE(Status(Code::kOutcomeUnknown, "x").is_outcome_unknown());
  EXPECT_EQ(Status::TooLarge("x").to_string(), "TOO_LARGE: x");
}

StatusOr<int> half(int x) {
  if (x % 2 != 0) return Status::InvalidArgument("odd");
  return x / 2;
}

Status quarter(int x, int* out) {
  KALAM_ASSIGN_OR_RETURN(int h, half(x));
  KALAM_ASSIGN_OR_RETURN(*out, half(h));
  return Status::OK();
}

TEST(StatusOr, HoldsValueOrError) {
  EXPECT_EQ(*half(8), 4);
  EXPECT_EQ(half(3).status().code(), Code::kInvalidArgument);
  int q = 0;
  EXPECT_TRUE(quarter(8, &q).ok());
  EXPECT_EQ(q, 2);
  EXPECT_EQ(quarter(6, &q).message(), "odd");
}

TEST(StatusOr, BuiltFromOkIsAnError) {
  StatusOr<int> bad{Status::OK()};
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInternal);
}

TEST(StatusOrDeathTest, ValueOfErrorAborts) {
  EXPECT_DEATH((void)half(3).value(), "odd");
}

}  // namespace
}  // namespace kalam
