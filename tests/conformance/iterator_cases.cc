// Iterators: directions, seeks, bounds, batches, view lifetimes.
#include "conformance.h"

namespace kalam::conformance {
namespace {

class Keys {
 public:
  static const std::vector<std::string>& all() {
    static const std::vector<std::string> keys = {"a1", "a2", "a3", "b1",
                                                  "b2", "c1", "c2"};
    return keys;
  }
};

TEST_P(Conformance, Iterator_ForwardVisitsEverythingInOrder) {
  for (const auto& k : Keys::all())
    ASSERT_EQ(code_name(put(nullptr, k, "v" + k)), code_name(KALAM_OK));
  KV expected;
  for (const auto& k : Keys::all()) expected.emplace_back(k, "v" + k);
  EXPECT_EQ(scan(nullptr), expected);
}

TEST_P(Conformance, Iterator_EmptyFamilyAndUnpositionedIterator) {
  Iter it = iter(nullptr);
  EXPECT_FALSE(it.valid()) << "a new iterator is unpositioned";
  const void* k = nullptr;
  size_t kl = 0;
  EXPECT_EQ(code_name(vt().iter_entry(it.get(), &k, &kl, nullptr, nullptr)),
            code_name(KALAM_NOT_FOUND));
  EXPECT_EQ(code_name(it.next()), code_name(KALAM_NOT_FOUND));
  EXPECT_EQ(code_name(it.first()), code_name(KALAM_NOT_FOUND));
  EXPECT_FALSE(it.valid());
  EXPECT_EQ(code_name(it.seek("x")), code_name(KALAM_NOT_FOUND));
  RawStatus status;
  EXPECT_EQ(code_name(vt().iter_status(it.get(), &status)),
            code_name(KALAM_OK));
}

TEST_P(Conformance, Iterator_SeekFindsFirstKeyAtOrAfterTarget) {
  for (const auto& k : Keys::all())
    ASSERT_EQ(code_name(put(nullptr, k, k)), code_name(KALAM_OK));
  Iter it = iter(nullptr);
  ASSERT_EQ(code_name(it.seek("b1")), code_name(KALAM_OK));  // present
  EXPECT_EQ(it.key(), "b1");
  ASSERT_EQ(code_name(it.seek("b10")), code_name(KALAM_OK));  // absent
  EXPECT_EQ(it.key(), "b2");
  ASSERT_EQ(code_name(it.seek("")), code_name(KALAM_OK));  // before everything
  EXPECT_EQ(it.key(), "a1");
  EXPECT_EQ(code_name(it.seek("c3")),
            code_name(KALAM_NOT_FOUND));  // after everything
  EXPECT_FALSE(it.valid());
  ASSERT_EQ(code_name(it.seek("a3")),
            code_name(KALAM_OK));  // seek again after running out
  ASSERT_EQ(code_name(it.next()), code_name(KALAM_OK));
  EXPECT_EQ(it.key(), "b1");
}

TEST_P(Conformance, Iterator_BoundsAreHalfOpenAndClampSeeks) {
  for (const auto& k : Keys::all())
    ASSERT_EQ(code_name(put(nullptr, k, k)), code_name(KALAM_OK));
  EXPECT_EQ(scan(nullptr, {.lower = "a2", .upper = "b2"}),
            (KV{{"a2", "a2"}, {"a3", "a3"}, {"b1", "b1"}}));
  EXPECT_EQ(scan(nullptr, {.lower = "a25"}).size(), 5u);
  EXPECT_EQ(scan(nullptr, {.upper = "a3"}).size(), 2u);
  EXPECT_TRUE(scan(nullptr, {.lower = "b", .upper = "b"}).empty());
  EXPECT_TRUE(scan(nullptr, {.lower = "c", .upper = "b"}).empty());
  EXPECT_TRUE(scan(nullptr, {.lower = "d"}).empty());

  Iter it = iter(nullptr, {.lower = "a2", .upper = "c1"});
  ASSERT_EQ(code_name(it.seek("a")),
            code_name(KALAM_OK));  // below the lower bound: clamped
  EXPECT_EQ(it.key(), "a2");
  EXPECT_EQ(code_name(it.seek("c1")),
            code_name(KALAM_NOT_FOUND));  // at the upper bound
  ASSERT_EQ(code_name(it.seek("b2")), code_name(KALAM_OK));
  EXPECT_EQ(code_name(it.next()), code_name(KALAM_NOT_FOUND))
      << "stepped past the upper bound";
}

TEST_P(Conformance, Iterator_PrefixWithNarrowedBounds) {
  for (const auto& k : Keys::all())
    ASSERT_EQ(code_name(put(nullptr, k, k)), code_name(KALAM_OK));
  ASSERT_EQ(code_name(put(nullptr, "b", "b")), code_name(KALAM_OK));
  // What the host passes for prefix "b": the prefix plus bounds [b, c).
  EXPECT_EQ(scan(nullptr, {.lower = "b", .upper = "c", .prefix = "b"}),
            (KV{{"b", "b"}, {"b1", "b1"}, {"b2", "b2"}}));
}

TEST_P(Conformance, Iterator_ReverseVisitsEverythingBackwards) {
  KALAM_REQUIRE(KALAM_CAP_REVERSE_ITERATION);
  for (const auto& k : Keys::all())
    ASSERT_EQ(code_name(put(nullptr, k, k)), code_name(KALAM_OK));
  KV expected;
  for (auto it = Keys::all().rbegin(); it != Keys::all().rend(); ++it) {
    expected.emplace_back(*it, *it);
  }
  EXPECT_EQ(scan(nullptr, {.reverse = true}), expected);
  EXPECT_EQ(scan(nullptr, {.lower = "a2", .upper = "b2", .reverse = true}),
            (KV{{"b1", "b1"}, {"a3", "a3"}, {"a2", "a2"}}));
}

TEST_P(Conformance, Iterator_SeekForPrevFindsLastKeyAtOrBeforeTarget) {
  KALAM_REQUIRE(KALAM_CAP_REVERSE_ITERATION);
  for (const auto& k : Keys::all())
    ASSERT_EQ(code_name(put(nullptr, k, k)), code_name(KALAM_OK));
  Iter it = iter(nullptr);
  ASSERT_EQ(code_name(it.seek_for_prev("b1")), code_name(KALAM_OK));  // present
  EXPECT_EQ(it.key(), "b1");
  ASSERT_EQ(code_name(it.seek_for_prev("b10")), code_name(KALAM_OK));  // absent
  EXPECT_EQ(it.key(), "b1");
  ASSERT_EQ(code_name(it.seek_for_prev("zzz")),
            code_name(KALAM_OK));  // after everything
  EXPECT_EQ(it.key(), "c2");
  EXPECT_EQ(code_name(it.seek_for_prev("a")),
            code_name(KALAM_NOT_FOUND));  // before everything

  Iter bounded = iter(nullptr, {.lower = "a2", .upper = "b2"});
  ASSERT_EQ(code_name(bounded.seek_for_prev("c")),
            code_name(KALAM_OK));  // above upper: clamped
  EXPECT_EQ(bounded.key(), "b1");
  EXPECT_EQ(code_name(bounded.seek_for_prev("a1")),
            code_name(KALAM_NOT_FOUND));  // below lower
  ASSERT_EQ(code_name(bounded.last()), code_name(KALAM_OK));
  EXPECT_EQ(bounded.key(), "b1");
}

TEST_P(Conformance, Iterator_DirectionChangesLandOnNeighbours) {
  KALAM_REQUIRE(KALAM_CAP_REVERSE_ITERATION);
  for (const auto& k : Keys::all())
    ASSERT_EQ(code_name(put(nullptr, k, k)), code_name(KALAM_OK));
  Iter it = iter(nullptr);
  ASSERT_EQ(code_name(it.seek("b1")), code_name(KALAM_OK));
  ASSERT_EQ(code_name(it.prev()), code_name(KALAM_OK));
  EXPECT_EQ(it.key(), "a3");
  ASSERT_EQ(code_name(it.next()), code_name(KALAM_OK));
  EXPECT_EQ(it.key(), "b1");
  ASSERT_EQ(code_name(it.next()), code_name(KALAM_OK));
  EXPECT_EQ(it.key(), "b2");
  ASSERT_EQ(code_name(it.prev()), code_name(KALAM_OK));
  EXPECT_EQ(it.key(), "b1");
  ASSERT_EQ(code_name(it.first()), code_name(KALAM_OK));
  EXPECT_EQ(code_name(it.prev()), code_name(KALAM_NOT_FOUND))
      << "nothing before the first key";
  ASSERT_EQ(code_name(it.last()), code_name(KALAM_OK));
  EXPECT_EQ(it.key(), "c2");
  EXPECT_EQ(code_name(it.next()), code_name(KALAM_NOT_FOUND));
  ASSERT_EQ(code_name(it.seek_for_prev("a3")), code_name(KALAM_OK));
  ASSERT_EQ(code_name(it.next()), code_name(KALAM_OK));
  EXPECT_EQ(it.key(), "b1");
}

TEST_P(Conformance, Iterator_BackwardMovesWithoutTheCapabilityAreRefused) {
  if (has(KALAM_CAP_REVERSE_ITERATION)) {
    GTEST_SKIP() << "declares reverse_iteration (tested by other cases)";
  }
  ASSERT_EQ(code_name(put(nullptr, "a", "1")), code_name(KALAM_OK));
  Iter it = iter(nullptr);
  EXPECT_EQ(code_name(it.last()), code_name(KALAM_NOT_SUPPORTED));
  ASSERT_EQ(code_name(it.first()), code_name(KALAM_OK));
  EXPECT_EQ(code_name(it.prev()), code_name(KALAM_NOT_SUPPORTED));
}

TEST_P(Conformance, IteratorBatch_MatchesSingleSteps) {
  KV expected;
  for (int i = 0; i < 777; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "k%05d", i);
    expected.emplace_back(key, std::string(i % 50, 'v'));
  }
  std::vector<Op> ops;
  for (const auto& [k, v] : expected) ops.push_back(Put(nullptr, k, v));
  ASSERT_EQ(code_name(write(ops)), code_name(KALAM_OK));
  for (size_t batch : {1u, 7u, 64u, 1000u}) {
    EXPECT_EQ(scan_batched(nullptr, {}, batch), expected) << batch;
    EXPECT_EQ(
        scan_batched(nullptr, {.lower = "k00100", .upper = "k00200"}, batch),
        KV(expected.begin() + 100, expected.begin() + 200))
        << batch;
  }
  if (has(KALAM_CAP_REVERSE_ITERATION)) {
    KV reversed(expected.rbegin(), expected.rend());
    EXPECT_EQ(scan_batched(nullptr, {.reverse = true}, 64), reversed);
  }
}

TEST_P(Conformance, IteratorBatch_VisitorStopLeavesTheEntryCurrent) {
  for (const auto& k : Keys::all())
    ASSERT_EQ(code_name(put(nullptr, k, k)), code_name(KALAM_OK));
  Iter it = iter(nullptr);
  ASSERT_EQ(code_name(it.seek("a2")), code_name(KALAM_OK));
  int calls = 0;
  size_t consumed = 99;
  const int rc = vt().iter_next_batch(
      it.get(), 0, 100,
      [](void* ctx, const void*, size_t, const void*, size_t) {
        return ++*static_cast<int*>(ctx) == 3 ? 1 : 0;
      },
      &calls, &consumed, &it.status);
  EXPECT_EQ(code_name(rc), code_name(KALAM_OK));
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(consumed, 2u) << "the refused entry is not consumed";
  EXPECT_EQ(it.key(), "b1") << "the refused entry stays current";

  // max_entries caps a batch; the iterator ends on the next entry.
  consumed = 0;
  calls = -100;
  EXPECT_EQ(
      code_name(vt().iter_next_batch(
          it.get(), 0, 2,
          [](void*, const void*, size_t, const void*, size_t) { return 0; },
          nullptr, &consumed, &it.status)),
      code_name(KALAM_OK));
  EXPECT_EQ(consumed, 2u);
  EXPECT_EQ(it.key(), "c1");

  // Running out returns NOT_FOUND with what was visited counted.
  EXPECT_EQ(
      code_name(vt().iter_next_batch(
          it.get(), 0, 100,
          [](void*, const void*, size_t, const void*, size_t) { return 0; },
          nullptr, &consumed, &it.status)),
      code_name(KALAM_NOT_FOUND));
  EXPECT_EQ(consumed, 2u);
  EXPECT_FALSE(it.valid());
}

TEST_P(Conformance, Iterator_ViewsStayValidUntilTheNextMove) {
  ASSERT_EQ(code_name(write({Put(nullptr, "a", "first value"),
                             Put(nullptr, "b", "second value")})),
            code_name(KALAM_OK));
  Iter it = iter(nullptr);
  ASSERT_EQ(code_name(it.first()), code_name(KALAM_OK));
  const void *k = nullptr, *v = nullptr;
  size_t kl = 0, vl = 0;
  ASSERT_EQ(code_name(vt().iter_entry(it.get(), &k, &kl, &v, &vl)),
            code_name(KALAM_OK));
  // Writes by others (not moves of this iterator) must not invalidate them.
  ASSERT_EQ(code_name(write({Put(nullptr, "a", std::string(4096, 'x')),
                             Del(nullptr, "a"), Put(nullptr, "aa", "new")})),
            code_name(KALAM_OK));
  EXPECT_EQ(std::string(static_cast<const char*>(k), kl), "a");
  EXPECT_EQ(std::string(static_cast<const char*>(v), vl), "first value");
}

}  // namespace
}  // namespace kalam::conformance
