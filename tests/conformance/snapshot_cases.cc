// Snapshots and the implicit snapshot of an iterator.
#include "conformance.h"

namespace kalam::conformance {
namespace {

TEST_P(Conformance, Snapshot_ReadsDoNotSeeLaterWritesOrDeletes) {
  KALAM_REQUIRE(KALAM_CAP_SNAPSHOTS);
  kalam_cf* other = cf("other");
  ASSERT_EQ(
      code_name(write({Put(nullptr, "k", "old"), Put(nullptr, "gone", "here"),
                       Put(other, "o", "old")})),
      code_name(KALAM_OK));
  auto snap = snapshot();
  ASSERT_EQ(
      code_name(write({Put(nullptr, "k", "new"), Del(nullptr, "gone"),
                       Put(nullptr, "later", "x"), Put(other, "o", "new")})),
      code_name(KALAM_OK));
  if (has(KALAM_CAP_DELETE_RANGE)) {
    ASSERT_EQ(code_name(write({DelRange(other, "", "zzz")})),
              code_name(KALAM_OK));
  }
  EXPECT_EQ(value_of(nullptr, "k", snap->get()), "old");
  EXPECT_EQ(value_of(nullptr, "gone", snap->get()), "here");
  EXPECT_EQ(value_of(nullptr, "later", snap->get()), std::nullopt);
  EXPECT_EQ(value_of(other, "o", snap->get()), "old");
  EXPECT_EQ(scan(nullptr, {.snapshot = snap->get()}),
            (KV{{"gone", "here"}, {"k", "old"}}));
  EXPECT_EQ(value_of(nullptr, "k"), "new");

  // multi_get at the snapshot.
  kalam_read_options ro{};
  ro.struct_size = sizeof ro;
  ro.snapshot = snap->get();
  const void* keys[] = {"k", "later"};
  const size_t lens[] = {1, 5};
  std::vector<std::pair<int, std::string>> got;
  RawStatus status;
  ASSERT_EQ(code_name(vt().multi_get(
                db_, &ro, 2, nullptr, keys, lens,
                [](void* c, size_t, int code, const void* d, size_t n) {
                  static_cast<std::vector<std::pair<int, std::string>>*>(c)
                      ->emplace_back(
                          code,
                          code == KALAM_OK
                              ? std::string(static_cast<const char*>(d), n)
                              : "");
                },
                &got, &status)),
            code_name(KALAM_OK));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], std::make_pair(int{KALAM_OK}, std::string("old")));
  EXPECT_EQ(code_name(got[1].first), code_name(KALAM_NOT_FOUND));
}

TEST_P(Conformance, Snapshot_IteratorAtSnapshotIgnoresLaterWrites) {
  KALAM_REQUIRE(KALAM_CAP_SNAPSHOTS);
  ASSERT_EQ(code_name(write({Put(nullptr, "a", "1"), Put(nullptr, "c", "3")})),
            code_name(KALAM_OK));
  auto snap = snapshot();
  ASSERT_EQ(code_name(write({Put(nullptr, "b", "2"), Del(nullptr, "c")})),
            code_name(KALAM_OK));
  Iter it = iter(nullptr, {.snapshot = snap->get()});
  ASSERT_EQ(code_name(it.first()), code_name(KALAM_OK));
  ASSERT_EQ(code_name(write({Put(nullptr, "ab", "x")})), code_name(KALAM_OK));
  EXPECT_EQ(it.key(), "a");
  ASSERT_EQ(code_name(it.next()), code_name(KALAM_OK));
  EXPECT_EQ(it.key(), "c");
  EXPECT_EQ(code_name(it.next()), code_name(KALAM_NOT_FOUND));
}

// The implicit snapshot of an iterator without one is taken when the
// iterator is created, not at its first move, and holds across every later
// move: a step, a seek or a turn around that starts a new query inside the
// plugin still reads the same view.
TEST_P(Conformance, Snapshot_IteratorWithoutOneSeesTheDataAsOfItsCreation) {
  KALAM_REQUIRE(KALAM_CAP_SNAPSHOTS);
  ASSERT_EQ(code_name(write({Put(nullptr, "a", "1"), Put(nullptr, "b", "2"),
                             Put(nullptr, "c", "3")})),
            code_name(KALAM_OK));
  Iter it = iter(nullptr);
  // Written after the creation, before any move.
  ASSERT_EQ(code_name(write({Put(nullptr, "aa", "new"), Del(nullptr, "b")})),
            code_name(KALAM_OK));
  ASSERT_EQ(code_name(it.seek("b")), code_name(KALAM_OK));
  EXPECT_EQ(it.entry(), std::make_pair(std::string("b"), std::string("2")));
  // Written between moves that each start over, and during a walk.
  ASSERT_EQ(code_name(write({Del(nullptr, "a"), Put(nullptr, "d", "4")})),
            code_name(KALAM_OK));
  ASSERT_EQ(code_name(it.first()), code_name(KALAM_OK));
  ASSERT_EQ(
      code_name(write({Put(nullptr, "c", "changed"), Put(nullptr, "e", "5")})),
      code_name(KALAM_OK));
  KV seen{it.entry()};
  while (it.next() == KALAM_OK) seen.push_back(it.entry());
  EXPECT_EQ(seen, (KV{{"a", "1"}, {"b", "2"}, {"c", "3"}}));
  ASSERT_EQ(code_name(it.seek("c")), code_name(KALAM_OK));
  EXPECT_EQ(it.value(), "3");
  if (has(KALAM_CAP_REVERSE_ITERATION)) {
    ASSERT_EQ(code_name(it.prev()), code_name(KALAM_OK));  // turns around
    EXPECT_EQ(it.entry(), std::make_pair(std::string("b"), std::string("2")));
    ASSERT_EQ(code_name(it.last()), code_name(KALAM_OK));
    EXPECT_EQ(it.entry(), std::make_pair(std::string("c"), std::string("3")));
  }
  // A new iterator sees the writes.
  EXPECT_EQ(scan(nullptr),
            (KV{{"aa", "new"}, {"c", "changed"}, {"d", "4"}, {"e", "5"}}));
}

TEST_P(Conformance, Snapshot_ReleasedSnapshotsDoNotDisturbReads) {
  KALAM_REQUIRE(KALAM_CAP_SNAPSHOTS);
  for (int round = 0; round < 20; ++round) {
    auto snap = snapshot();
    ASSERT_EQ(code_name(put(nullptr, "k", std::to_string(round))),
              code_name(KALAM_OK));
    if (round > 0) {
      EXPECT_EQ(value_of(nullptr, "k", snap->get()), std::to_string(round - 1));
    }
  }
  EXPECT_EQ(value_of(nullptr, "k"), "19");
  EXPECT_EQ(scan(nullptr), (KV{{"k", "19"}}));
}

TEST_P(Conformance, Snapshot_WithoutTheCapabilityIsRefused) {
  if (has(KALAM_CAP_SNAPSHOTS)) {
    GTEST_SKIP() << "declares snapshots (tested by Snapshot_*)";
  }
  kalam_snapshot* s = reinterpret_cast<kalam_snapshot*>(1);
  RawStatus status;
  EXPECT_EQ(code_name(vt().snapshot_create(db_, &s, &status)),
            code_name(KALAM_NOT_SUPPORTED));
  EXPECT_EQ(s, reinterpret_cast<kalam_snapshot*>(1));
}

}  // namespace
}  // namespace kalam::conformance
