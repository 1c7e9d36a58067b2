// write(): ordering, atomicity, invalid ops, delete-range, the op stride.
#include "conformance.h"

namespace kalam::conformance {
namespace {

TEST_P(Conformance, Batch_LaterOpOnTheSameKeyWins) {
  ASSERT_EQ(code_name(write({Put(nullptr, "k", "1"), Put(nullptr, "k", "2"),
                             Put(nullptr, "d", "x"), Del(nullptr, "d"),
                             Del(nullptr, "p"), Put(nullptr, "p", "back")})),
            code_name(KALAM_OK));
  EXPECT_EQ(value_of(nullptr, "k"), "2");
  EXPECT_EQ(value_of(nullptr, "d"), std::nullopt);
  EXPECT_EQ(value_of(nullptr, "p"), "back");
}

TEST_P(Conformance, Batch_EmptyBatchIsANoOp) {
  EXPECT_EQ(code_name(write({})), code_name(KALAM_OK));
  // With no ops the array may be NULL (a pointer with count 0).
  kalam_write_options options{};
  options.struct_size = sizeof options;
  options.op_stride = sizeof(kalam_write_op);
  RawStatus status;
  EXPECT_EQ(code_name(vt().write(db_, &options, nullptr, 0, &status)),
            code_name(KALAM_OK))
      << status.text();
  EXPECT_TRUE(scan(nullptr).empty());
}

TEST_P(Conformance, Batch_AppliesAcrossFamilies) {
  kalam_cf* a = cf("a");
  kalam_cf* b = cf("b");
  ASSERT_EQ(code_name(write(
                {Put(a, "x", "1"), Put(b, "y", "2"), Put(nullptr, "z", "3")},
                /*sync=*/true)),
            code_name(KALAM_OK));
  EXPECT_EQ(value_of(a, "x"), "1");
  EXPECT_EQ(value_of(b, "y"), "2");
  EXPECT_EQ(value_of(nullptr, "z"), "3");
}

TEST_P(Conformance, Batch_InvalidOpAppliesNothing) {
  kalam_cf* a = cf("a");
  ASSERT_EQ(code_name(put(nullptr, "existing", "old")), code_name(KALAM_OK));
  Op bad{99, nullptr, "bad", "op"};
  RawStatus status;
  EXPECT_EQ(
      code_name(write({Put(a, "new", "1"), Put(nullptr, "existing", "new"),
                       Del(nullptr, "existing"), bad},
                      false, sizeof(kalam_write_op), &status)),
      code_name(KALAM_INVALID_ARGUMENT));
  EXPECT_NE(std::string(status.message), "") << "say which op was invalid";
  EXPECT_EQ(value_of(a, "new"), std::nullopt);
  EXPECT_EQ(value_of(nullptr, "existing"), "old");
}

TEST_P(Conformance, Batch_StrideLargerThanTheOpStructIsHonoured) {
  // A host built against a later minor passes bigger ops; the plugin must
  // step by op_stride, not by its own sizeof(kalam_write_op).
  ASSERT_EQ(code_name(write({Put(nullptr, "a", "1"), Put(nullptr, "b", "2"),
                             Put(nullptr, "c", "3")},
                            false, sizeof(kalam_write_op) + 24)),
            code_name(KALAM_OK));
  EXPECT_EQ(scan(nullptr), (KV{{"a", "1"}, {"b", "2"}, {"c", "3"}}));
}

TEST_P(Conformance, Batch_StrideSmallerThanTheOpStructIsRefused) {
  RawStatus status;
  EXPECT_EQ(code_name(write({Put(nullptr, "a", "1")}, false,
                            sizeof(kalam_write_op) - 8, &status)),
            code_name(KALAM_INVALID_ARGUMENT));
  EXPECT_EQ(value_of(nullptr, "a"), std::nullopt);
}

TEST_P(Conformance, DeleteRange_RemovesTheHalfOpenRangeOnly) {
  KALAM_REQUIRE(KALAM_CAP_DELETE_RANGE);
  kalam_cf* other = cf("other");
  for (const char* k : {"a", "b", "ba", "c", "d"}) {
    ASSERT_EQ(code_name(write({Put(nullptr, k, k), Put(other, k, k)})),
              code_name(KALAM_OK));
  }
  ASSERT_EQ(code_name(write({DelRange(nullptr, "b", "c")})),
            code_name(KALAM_OK));
  EXPECT_EQ(scan(nullptr), (KV{{"a", "a"}, {"c", "c"}, {"d", "d"}}));
  EXPECT_EQ(scan(other).size(), 5u) << "other families are untouched";

  // Empty and reversed ranges remove nothing.
  ASSERT_EQ(code_name(write(
                {DelRange(nullptr, "c", "c"), DelRange(nullptr, "d", "a")})),
            code_name(KALAM_OK));
  EXPECT_EQ(scan(nullptr).size(), 3u);

  // Later ops in the same batch see the range applied in order.
  ASSERT_EQ(
      code_name(write({DelRange(other, "", "z"), Put(other, "b", "again")})),
      code_name(KALAM_OK));
  EXPECT_EQ(scan(other), (KV{{"b", "again"}}));
}

TEST_P(Conformance, DeleteRange_WithoutTheCapabilityIsRefusedWhole) {
  if (has(KALAM_CAP_DELETE_RANGE)) {
    GTEST_SKIP() << "declares delete_range (tested by DeleteRange_*)";
  }
  ASSERT_EQ(code_name(put(nullptr, "b", "1")), code_name(KALAM_OK));
  EXPECT_EQ(
      code_name(write({Put(nullptr, "a", "1"), DelRange(nullptr, "a", "c")})),
      code_name(KALAM_NOT_SUPPORTED));
  EXPECT_EQ(value_of(nullptr, "a"), std::nullopt);
  EXPECT_EQ(value_of(nullptr, "b"), "1");
}

}  // namespace
}  // namespace kalam::conformance
