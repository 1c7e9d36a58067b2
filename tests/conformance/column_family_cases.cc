// Column families: create, list, isolate, drop.
#include "conformance.h"

namespace kalam::conformance {
namespace {

TEST_P(Conformance, ColumnFamily_CreateListAndReopenSameHandle) {
  EXPECT_EQ(list_families(), std::vector<std::string>{"default"});
  kalam_cf* a = cf("alpha");
  kalam_cf* b = cf("beta");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a, b);
  EXPECT_EQ(cf("alpha"), a) << "the same name must give the same handle";
  EXPECT_EQ(list_families(),
            (std::vector<std::string>{"alpha", "beta", "default"}));

  kalam_cf* def = reinterpret_cast<kalam_cf*>(1);
  RawStatus status;
  EXPECT_EQ(vt().cf_open(db_, "default", 0, &def, &status), KALAM_OK);
  EXPECT_EQ(def, nullptr) << "\"default\" is the NULL handle";
}

TEST_P(Conformance, ColumnFamily_OpenMissingIsNotFound) {
  kalam_cf* handle = reinterpret_cast<kalam_cf*>(1);
  RawStatus status;
  EXPECT_EQ(vt().cf_open(db_, "missing", 0, &handle, &status), KALAM_NOT_FOUND);
  EXPECT_EQ(handle, reinterpret_cast<kalam_cf*>(1))
      << "out-parameter written on failure";
}

TEST_P(Conformance, ColumnFamily_EqualKeysAreIsolated) {
  kalam_cf* a = cf("a");
  kalam_cf* b = cf("b");
  ASSERT_EQ(write({Put(a, "k", "in a"), Put(b, "k", "in b"),
                   Put(nullptr, "k", "in default")}),
            KALAM_OK);
  EXPECT_EQ(value_of(a, "k"), "in a");
  EXPECT_EQ(value_of(b, "k"), "in b");
  EXPECT_EQ(value_of(nullptr, "k"), "in default");
  ASSERT_EQ(del(a, "k"), KALAM_OK);
  EXPECT_EQ(value_of(a, "k"), std::nullopt);
  EXPECT_EQ(value_of(b, "k"), "in b");
  EXPECT_EQ(scan(b), (KV{{"k", "in b"}}));
}

TEST_P(Conformance, ColumnFamily_DroppedHandleGivesDropped) {
  kalam_cf* doomed = cf("doomed");
  kalam_cf* kept = cf("kept");
  ASSERT_EQ(write({Put(doomed, "k", "v"), Put(kept, "k", "v")}), KALAM_OK);
  RawStatus status;
  ASSERT_EQ(vt().cf_drop(db_, doomed, &status), KALAM_OK) << status.text();

  std::string value;
  EXPECT_EQ(kalam_code_name(get(doomed, "k", &value)),
            kalam_code_name(KALAM_DROPPED));
  EXPECT_EQ(kalam_code_name(put(doomed, "k", "v")),
            kalam_code_name(KALAM_DROPPED));
  kalam_iter* it = nullptr;
  kalam_iter_options options{};
  options.struct_size = sizeof options;
  EXPECT_EQ(
      kalam_code_name(vt().iter_create(db_, &options, doomed, &it, &status)),
      kalam_code_name(KALAM_DROPPED));
  EXPECT_EQ(it, nullptr);
  EXPECT_EQ(kalam_code_name(vt().cf_drop(db_, doomed, &status)),
            kalam_code_name(KALAM_DROPPED));
  EXPECT_EQ(list_families(), (std::vector<std::string>{"default", "kept"}));
  EXPECT_EQ(value_of(kept, "k"), "v");

  // A batch touching the dropped family applies nothing.
  EXPECT_EQ(
      kalam_code_name(write({Put(kept, "k2", "v"), Put(doomed, "x", "y")})),
      kalam_code_name(KALAM_DROPPED));
  EXPECT_EQ(value_of(kept, "k2"), std::nullopt);

  // Re-creating the name gives a new, empty family.
  kalam_cf* again = cf("doomed");
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(value_of(again, "k"), std::nullopt);
  EXPECT_EQ(put(again, "k", "new"), KALAM_OK);
  EXPECT_EQ(value_of(again, "k"), "new");
}

TEST_P(Conformance, ColumnFamily_DefaultCannotBeDropped) {
  RawStatus status;
  EXPECT_EQ(kalam_code_name(vt().cf_drop(db_, nullptr, &status)),
            kalam_code_name(KALAM_INVALID_ARGUMENT));
}

TEST_P(Conformance, ColumnFamily_IteratorOnDroppedFamilyNeverCrashes) {
  kalam_cf* doomed = cf("doomed");
  ASSERT_EQ(write({Put(doomed, "a", "1"), Put(doomed, "b", "2")}), KALAM_OK);
  Iter it = iter(doomed);
  ASSERT_EQ(it.first(), KALAM_OK);
  RawStatus status;
  ASSERT_EQ(vt().cf_drop(db_, doomed, &status), KALAM_OK) << status.text();
  // Either the iterator keeps its view or it reports DROPPED.
  const int rc = it.next();
  if (rc == KALAM_OK) {
    EXPECT_EQ(it.key(), "b");
  } else {
    EXPECT_EQ(kalam_code_name(rc), kalam_code_name(KALAM_DROPPED))
        << it.status.text();
  }
}

TEST_P(Conformance, ColumnFamily_FamiliesSurviveReopen) {
  KALAM_REQUIRE(KALAM_CAP_PERSISTENT);
  ASSERT_EQ(put(cf("one"), "k", "1"), KALAM_OK);
  ASSERT_EQ(put(cf("two"), "k", "2"), KALAM_OK);
  RawStatus status;
  ASSERT_EQ(vt().cf_drop(db_, cf("two"), &status), KALAM_OK);
  reopen();
  EXPECT_EQ(list_families(), (std::vector<std::string>{"default", "one"}));
  EXPECT_EQ(value_of(cf("one"), "k"), "1");
}

}  // namespace
}  // namespace kalam::conformance
