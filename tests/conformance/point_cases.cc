// Point reads and writes: values, binary keys, sizes, the three read paths.
#include <map>
#include <optional>
#include <random>

#include "conformance.h"

namespace kalam::conformance {
namespace {

TEST_P(Conformance, Point_PutGetOverwriteDelete) {
  EXPECT_EQ(value_of(nullptr, "k"), std::nullopt);
  ASSERT_EQ(code_name(put(nullptr, "k", "one")), code_name(KALAM_OK));
  EXPECT_EQ(value_of(nullptr, "k"), "one");
  ASSERT_EQ(code_name(put(nullptr, "k", "two")), code_name(KALAM_OK));
  EXPECT_EQ(value_of(nullptr, "k"), "two");
  ASSERT_EQ(code_name(del(nullptr, "k")), code_name(KALAM_OK));
  EXPECT_EQ(value_of(nullptr, "k"), std::nullopt);
  EXPECT_EQ(code_name(del(nullptr, "never-there")), code_name(KALAM_OK));
}

// Reads interleaved with writes on one thread: each read sees the write
// before it (a plugin that keeps state between reads, such as a read
// transaction or a statement, must not serve an older view), in the
// default family and in a family created after the thread's first reads.
TEST_P(Conformance, Point_ReadsOnOneThreadSeeEveryEarlierWrite) {
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(value_of(nullptr, "k"),
              i == 0 ? std::nullopt : std::optional(std::to_string(i - 1)));
    ASSERT_EQ(code_name(put(nullptr, "k", std::to_string(i))),
              code_name(KALAM_OK));
    EXPECT_EQ(value_of(nullptr, "k"), std::to_string(i)) << "round " << i;
    ASSERT_EQ(code_name(del(nullptr, "gone")), code_name(KALAM_OK));
    EXPECT_EQ(value_of(nullptr, "gone"), std::nullopt);
    ASSERT_EQ(code_name(put(nullptr, "gone", "back")), code_name(KALAM_OK));
    EXPECT_EQ(value_of(nullptr, "gone"), "back") << "round " << i;
  }
  kalam_cf* later = cf("later");
  EXPECT_EQ(value_of(later, "k"), std::nullopt);
  ASSERT_EQ(code_name(put(later, "k", "in later")), code_name(KALAM_OK));
  EXPECT_EQ(value_of(later, "k"), "in later");
  EXPECT_EQ(value_of(nullptr, "k"), "49");
}

TEST_P(Conformance, Point_EmptyValueIsNotAMissingKey) {
  ASSERT_EQ(code_name(put(nullptr, "empty", "")), code_name(KALAM_OK));
  EXPECT_EQ(value_of(nullptr, "empty"), "");
  EXPECT_EQ(value_of(nullptr, "missing"), std::nullopt);
  EXPECT_EQ(scan(nullptr), (KV{{"empty", ""}}));
}

TEST_P(Conformance, Point_EmptyKeyIsRefused) {
  RawStatus status;
  EXPECT_EQ(code_name(write({Put(nullptr, "a", "1"), Put(nullptr, "", "x")},
                            false, sizeof(kalam_write_op), &status)),
            code_name(KALAM_INVALID_ARGUMENT));
  EXPECT_EQ(value_of(nullptr, "a"), std::nullopt) << "nothing is applied";
  EXPECT_EQ(value_of(nullptr, ""), std::nullopt);
}

TEST_P(Conformance, Point_BinaryKeysAndValuesRoundTrip) {
  const std::vector<std::string> keys = {
      std::string("\x00", 1), std::string("a\x00b", 3),
      std::string("\xff\x00\xff", 3), "\xff", std::string(3, '\0')};
  for (const auto& key : keys) {
    ASSERT_EQ(code_name(put(nullptr, key, key + std::string("\x00\xff", 2))),
              code_name(KALAM_OK));
  }
  for (const auto& key : keys) {
    EXPECT_EQ(value_of(nullptr, key), key + std::string("\x00\xff", 2));
  }
  // Prefixes of stored keys are different keys.
  EXPECT_EQ(value_of(nullptr, "a"), std::nullopt);
  EXPECT_EQ(value_of(nullptr, std::string(2, '\0')), std::nullopt);
}

TEST_P(Conformance, Point_KeysAreOrderedBytewise) {
  std::mt19937 rng(7);
  std::map<std::string, std::string> model;
  for (int i = 0; i < 500; ++i) {
    std::string key(1 + rng() % 12, '\0');
    for (auto& c : key) {
      // Favour the edges of the byte range.
      const unsigned pick = rng() % 4;
      c = static_cast<char>(pick == 0 ? 0x00 : pick == 1 ? 0xFF : rng() % 256);
    }
    model[key] = std::to_string(i);
    ASSERT_EQ(code_name(put(nullptr, key, model[key])), code_name(KALAM_OK));
  }
  EXPECT_EQ(scan(nullptr), KV(model.begin(), model.end()));
}

TEST_P(Conformance, Point_LargeValuesRoundTrip) {
  const uint64_t limit = plugin().max_value_size();
  const size_t size = (limit != 0 && limit < (8u << 20)) ? limit : (8u << 20);
  std::string big(size, '\0');
  std::mt19937 rng(1);
  for (auto& c : big) c = static_cast<char>(rng());
  ASSERT_EQ(code_name(put(nullptr, "big", big)), code_name(KALAM_OK));
  EXPECT_EQ(value_of(nullptr, "big"), big);
  EXPECT_EQ(scan(nullptr), (KV{{"big", big}}));
}

TEST_P(Conformance, Point_MaxKeySizeIsExactlyTheLimit) {
  const uint64_t limit = plugin().max_key_size();
  if (limit == 0 || limit > (16u << 20)) {
    GTEST_SKIP() << "no practical max_key_size declared";
  }
  const std::string at_limit(limit, 'k');
  const std::string over(limit + 1, 'k');
  ASSERT_EQ(code_name(put(nullptr, at_limit, "ok")), code_name(KALAM_OK));
  EXPECT_EQ(value_of(nullptr, at_limit), "ok");
  RawStatus status;
  EXPECT_EQ(
      code_name(write({Put(nullptr, "first", "1"), Put(nullptr, over, "no")},
                      false, sizeof(kalam_write_op), &status)),
      code_name(KALAM_INVALID_ARGUMENT));
  EXPECT_EQ(value_of(nullptr, "first"), std::nullopt) << "nothing is applied";
}

TEST_P(Conformance, Point_MaxValueSizeIsExactlyTheLimit) {
  const uint64_t limit = plugin().max_value_size();
  if (limit == 0 || limit > (64u << 20)) {
    GTEST_SKIP() << "no practical max_value_size declared";
  }
  ASSERT_EQ(code_name(put(nullptr, "at", std::string(limit, 'v'))),
            code_name(KALAM_OK));
  EXPECT_EQ(code_name(put(nullptr, "over", std::string(limit + 1, 'v'))),
            code_name(KALAM_INVALID_ARGUMENT));
  EXPECT_EQ(value_of(nullptr, "over"), std::nullopt);
}

TEST_P(Conformance, Read_VisitorCopyAndMultiGetAgree) {
  kalam_cf* other = cf("other");
  std::string big(200000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i % 251);
  ASSERT_EQ(code_name(write(
                {Put(nullptr, "big", big), Put(nullptr, "small", "xy"),
                 Put(nullptr, "empty", ""), Put(other, "small", "other")})),
            code_name(KALAM_OK));
  kalam_read_options ro{};
  ro.struct_size = sizeof ro;
  RawStatus status;

  for (const std::string key : {"big", "small", "empty"}) {
    std::string visited;
    int calls = 0;
    struct Ctx {
      std::string* out;
      int* calls;
    } ctx{&visited, &calls};
    ASSERT_EQ(code_name(vt().get(
                  db_, &ro, nullptr, key.data(), key.size(),
                  [](void* c, const void* d, size_t n) {
                    auto* x = static_cast<Ctx*>(c);
                    x->out->assign(static_cast<const char*>(d), n);
                    ++*x->calls;
                  },
                  &ctx, &status)),
              code_name(KALAM_OK));
    EXPECT_EQ(calls, 1) << "the visitor is called exactly once";

    std::vector<char> buffer(big.size() + 1, 'Z');
    size_t length = 12345;
    ASSERT_EQ(code_name(vt().get_into(db_, &ro, nullptr, key.data(), key.size(),
                                      buffer.data(), buffer.size(), &length,
                                      &status)),
              code_name(KALAM_OK))
        << status.text();
    EXPECT_EQ(std::string(buffer.data(), length), visited);
  }

  // Exactly-sized buffer is enough; one byte less is BUFFER_TOO_SMALL with
  // the needed length and the buffer untouched.
  std::vector<char> exact(2);
  size_t length = 0;
  EXPECT_EQ(code_name(vt().get_into(db_, &ro, nullptr, "small", 5, exact.data(),
                                    2, &length, &status)),
            code_name(KALAM_OK));
  std::vector<char> tiny(1, 'Z');
  length = 0;
  EXPECT_EQ(code_name(vt().get_into(db_, &ro, nullptr, "small", 5, tiny.data(),
                                    1, &length, &status)),
            code_name(KALAM_BUFFER_TOO_SMALL));
  EXPECT_EQ(length, 2u);
  EXPECT_EQ(tiny[0], 'Z');
  length = 99;
  EXPECT_EQ(code_name(vt().get_into(db_, &ro, nullptr, "absent", 6, tiny.data(),
                                    1, &length, &status)),
            code_name(KALAM_NOT_FOUND));
  EXPECT_EQ(length, 99u) << "out-parameter written on NOT_FOUND";

  // multi_get: once per index, in order, across families.
  const std::vector<std::string> keys = {"small", "absent", "big", "small",
                                         "empty"};
  std::vector<kalam_cf*> cfs = {nullptr, nullptr, nullptr, other, nullptr};
  std::vector<const void*> ptrs;
  std::vector<size_t> lens;
  for (const auto& k : keys) {
    ptrs.push_back(k.data());
    lens.push_back(k.size());
  }
  struct Seen {
    size_t index;
    int code;
    std::string value;
  };
  std::vector<Seen> seen;
  ASSERT_EQ(
      code_name(vt().multi_get(
          db_, &ro, keys.size(), cfs.data(), ptrs.data(), lens.data(),
          [](void* c, size_t i, int code, const void* d, size_t n) {
            static_cast<std::vector<Seen>*>(c)->push_back(
                {i, code,
                 code == KALAM_OK ? std::string(static_cast<const char*>(d), n)
                                  : std::string()});
          },
          &seen, &status)),
      code_name(KALAM_OK))
      << status.text();
  ASSERT_EQ(seen.size(), keys.size());
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i].index, i);
  EXPECT_EQ(seen[0].value, "xy");
  EXPECT_EQ(code_name(seen[1].code), code_name(KALAM_NOT_FOUND));
  EXPECT_EQ(seen[2].value, big);
  EXPECT_EQ(seen[3].value, "other");
  EXPECT_EQ(code_name(seen[4].code), code_name(KALAM_OK));
  EXPECT_EQ(seen[4].value, "");
}

}  // namespace
}  // namespace kalam::conformance
