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
  EXPECT_EQ(code_name(vt().cf_open(db_, "default", 0, &def, &status)),
            code_name(KALAM_OK));
  EXPECT_EQ(def, nullptr) << "\"default\" is the NULL handle";
}

TEST_P(Conformance, ColumnFamily_OpenMissingIsNotFound) {
  kalam_cf* handle = reinterpret_cast<kalam_cf*>(1);
  RawStatus status;
  EXPECT_EQ(code_name(vt().cf_open(db_, "missing", 0, &handle, &status)),
            code_name(KALAM_NOT_FOUND));
  EXPECT_EQ(handle, reinterpret_cast<kalam_cf*>(1))
      << "out-parameter written on failure";
}

TEST_P(Conformance, ColumnFamily_EqualKeysAreIsolated) {
  kalam_cf* a = cf("a");
  kalam_cf* b = cf("b");
  ASSERT_EQ(code_name(write({Put(a, "k", "in a"), Put(b, "k", "in b"),
                             Put(nullptr, "k", "in default")})),
            code_name(KALAM_OK));
  EXPECT_EQ(value_of(a, "k"), "in a");
  EXPECT_EQ(value_of(b, "k"), "in b");
  EXPECT_EQ(value_of(nullptr, "k"), "in default");
  ASSERT_EQ(code_name(del(a, "k")), code_name(KALAM_OK));
  EXPECT_EQ(value_of(a, "k"), std::nullopt);
  EXPECT_EQ(value_of(b, "k"), "in b");
  EXPECT_EQ(scan(b), (KV{{"k", "in b"}}));
}

TEST_P(Conformance, ColumnFamily_DroppedHandleGivesDropped) {
  kalam_cf* doomed = cf("doomed");
  kalam_cf* kept = cf("kept");
  ASSERT_EQ(code_name(write({Put(doomed, "k", "v"), Put(kept, "k", "v")})),
            code_name(KALAM_OK));
  RawStatus status;
  ASSERT_EQ(code_name(vt().cf_drop(db_, doomed, &status)), code_name(KALAM_OK))
      << status.text();

  std::string value;
  EXPECT_EQ(code_name(get(doomed, "k", &value)), code_name(KALAM_DROPPED));
  EXPECT_EQ(code_name(put(doomed, "k", "v")), code_name(KALAM_DROPPED));
  kalam_iter* it = nullptr;
  kalam_iter_options options{};
  options.struct_size = sizeof options;
  EXPECT_EQ(code_name(vt().iter_create(db_, &options, doomed, &it, &status)),
            code_name(KALAM_DROPPED));
  EXPECT_EQ(it, nullptr);
  EXPECT_EQ(code_name(vt().cf_drop(db_, doomed, &status)),
            code_name(KALAM_DROPPED));
  EXPECT_EQ(list_families(), (std::vector<std::string>{"default", "kept"}));
  EXPECT_EQ(value_of(kept, "k"), "v");

  // A batch touching the dropped family applies nothing.
  EXPECT_EQ(code_name(write({Put(kept, "k2", "v"), Put(doomed, "x", "y")})),
            code_name(KALAM_DROPPED));
  EXPECT_EQ(value_of(kept, "k2"), std::nullopt);

  // Re-creating the name gives a new, empty family.
  kalam_cf* again = cf("doomed");
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(value_of(again, "k"), std::nullopt);
  EXPECT_EQ(code_name(put(again, "k", "new")), code_name(KALAM_OK));
  EXPECT_EQ(value_of(again, "k"), "new");
}

TEST_P(Conformance, ColumnFamily_DefaultCannotBeDropped) {
  RawStatus status;
  EXPECT_EQ(code_name(vt().cf_drop(db_, nullptr, &status)),
            code_name(KALAM_INVALID_ARGUMENT));
}

TEST_P(Conformance, ColumnFamily_IteratorOnDroppedFamilyNeverCrashes) {
  kalam_cf* doomed = cf("doomed");
  ASSERT_EQ(code_name(write({Put(doomed, "a", "1"), Put(doomed, "b", "2")})),
            code_name(KALAM_OK));
  Iter it = iter(doomed);
  ASSERT_EQ(code_name(it.first()), code_name(KALAM_OK));
  RawStatus status;
  ASSERT_EQ(code_name(vt().cf_drop(db_, doomed, &status)), code_name(KALAM_OK))
      << status.text();
  // Either the iterator keeps its view or it reports DROPPED.
  const int rc = it.next();
  if (rc == KALAM_OK) {
    EXPECT_EQ(it.key(), "b");
  } else {
    EXPECT_EQ(code_name(rc), code_name(KALAM_DROPPED)) << it.status.text();
  }
}

TEST_P(Conformance, ColumnFamily_FamiliesSurviveReopen) {
  KALAM_REQUIRE(KALAM_CAP_PERSISTENT);
  ASSERT_EQ(code_name(put(cf("one"), "k", "1")), code_name(KALAM_OK));
  ASSERT_EQ(code_name(put(cf("two"), "k", "2")), code_name(KALAM_OK));
  RawStatus status;
  ASSERT_EQ(code_name(vt().cf_drop(db_, cf("two"), &status)),
            code_name(KALAM_OK));
  reopen();
  EXPECT_EQ(list_families(), (std::vector<std::string>{"default", "one"}));
  EXPECT_EQ(value_of(cf("one"), "k"), "1");
}

}  // namespace
}  // namespace kalam::conformance
