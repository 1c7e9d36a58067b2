// The table-data key codec: round trips, order preservation against tuple
// order, and prefix-freedom, exhaustively over short strings and randomly
// over longer ones (with 0x00 and 0xFF over-represented).
#include "key_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <thread>
#include <tuple>

namespace kalam::tables::keys {
namespace {

using ::testing::HasSubstr;

std::string esc(std::string_view s) {
  std::string out;
  append_escaped(out, s);
  return out;
}

// Every string of length 0..max_len over a small alphabet that has the
// bytes the escape treats specially and their neighbours.
std::vector<std::string> all_short_strings(size_t max_len) {
  const std::string alphabet(
      "\x00\x01\x7f\xfe\xff"
      "a",
      6);
  std::vector<std::string> out = {""};
  std::vector<std::string> layer = {""};
  for (size_t len = 1; len <= max_len; ++len) {
    std::vector<std::string> next;
    for (const auto& s : layer) {
      for (char c : alphabet) next.push_back(s + c);
    }
    out.insert(out.end(), next.begin(), next.end());
    layer = std::move(next);
  }
  return out;
}

std::string random_bytes(std::mt19937_64& rng, size_t max_len) {
  static const char kBiased[] = {'\x00', '\x00', '\x01', '\xff',
                                 '\xff', '\xfe', 'a',    'b'};
  std::uniform_int_distribution<size_t> len(0, max_len);
  std::uniform_int_distribution<int> pick(0, 15);
  std::string s(len(rng), '\0');
  for (char& c : s) {
    const int p = pick(rng);
    c = p < 8 ? kBiased[p] : static_cast<char>(rng() & 0xFF);
  }
  return s;
}

TEST(KeyCodec, EscapeRoundTripsAndPreservesOrderOverAllShortStrings) {
  const auto strings = all_short_strings(4);
  ASSERT_EQ(strings.size(), 1u + 6 + 36 + 216 + 1296);
  std::vector<std::string> encoded;
  for (const auto& s : strings) {
    std::string e = esc(s);
    std::string_view in = e;
    std::string decoded;
    ASSERT_TRUE(consume_escaped(in, decoded)) << printable(s);
    EXPECT_TRUE(in.empty());
    EXPECT_EQ(decoded, s);
    encoded.push_back(std::move(e));
  }
  for (size_t i = 0; i < strings.size(); ++i) {
    for (size_t j = 0; j < strings.size(); ++j) {
      // std::string compares bytes as unsigned char.
      ASSERT_EQ(strings[i] < strings[j], encoded[i] < encoded[j])
          << printable(strings[i]) << " vs " << printable(strings[j]);
      if (i != j) {
        // Prefix-free: no encoding is a prefix of another one.
        ASSERT_FALSE(encoded[j].starts_with(encoded[i]))
            << printable(strings[i]) << " is a prefix of "
            << printable(strings[j]);
      }
    }
  }
}

TEST(KeyCodec, UserKeysSortInTupleOrderAndNeverCollide) {
  std::mt19937_64 rng(20240501);
  struct Entry {
    std::string user, row;
    std::string key;
  };
  std::vector<Entry> entries;
  for (int i = 0; i < 3000; ++i) {
    Entry e{random_bytes(rng, 6), random_bytes(rng, 6), ""};
    e.key = user_prefix(7, e.user) + string_row_key(e.row);
    entries.push_back(std::move(e));
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    for (size_t j = i + 1; j < entries.size(); ++j) {
      const auto& a = entries[i];
      const auto& b = entries[j];
      const auto ta = std::tie(a.user, a.row);
      const auto tb = std::tie(b.user, b.row);
      ASSERT_EQ(ta < tb, a.key < b.key);
      ASSERT_EQ(ta == tb, a.key == b.key);
    }
    // The key decodes back into exactly its pair.
    std::string_view rest = entries[i].key;
    uint64_t table = 0;
    std::string user, row;
    ASSERT_TRUE(consume_u64(rest, table));
    EXPECT_EQ(table, 7u);
    ASSERT_TRUE(consume_escaped(rest, user));
    EXPECT_EQ(user, entries[i].user);
    auto id = row_id_from_key(RowKeyKind::kString, rest);
    ASSERT_TRUE(id.ok()) << id.status();
    EXPECT_EQ(*id, entries[i].row);
  }
}

TEST(KeyCodec, AUsersRangeHoldsOnlyThatUsersKeys) {
  // User ids that are prefixes of each other, hold 0x00 / 0xFF, or end
  // where another one's escape sequence starts.
  const std::vector<std::string> users = {"a",
                                          "ab",
                                          std::string("a\x00", 2),
                                          std::string("a\x00\x01", 3),
                                          std::string("a\x00\xff", 3),
                                          std::string("\x00", 1),
                                          std::string("\x00\x00", 2),
                                          "\xff",
                                          "a\xff",
                                          "\xff\xff",
                                          "b"};
  const std::vector<std::string> rows = {"", std::string("\x00", 1), "\x01",
                                         "z", "\xff\xff\xff"};
  for (const auto& u : users) {
    const std::string lower = user_prefix(3, u);
    const std::string upper = *prefix_successor(lower);
    for (const auto& v : users) {
      for (const auto& r : rows) {
        for (const std::string& key :
             {user_prefix(3, v) + string_row_key(r),
              user_prefix(3, v) + int64_row_key(-1),
              user_prefix(3, v) + std::string(16, '\xff')}) {
          const bool in_range = key >= lower && key < upper;
          EXPECT_EQ(in_range, u == v) << "key of user " << printable(v)
                                      << " vs range of " << printable(u);
        }
      }
    }
  }
}

TEST(KeyCodec, Int64KeysSortNumericallyAndRoundTrip) {
  std::vector<int64_t> values = {
      INT64_MIN, INT64_MIN + 1, -256, -255, -1, 0, 1, 255, 256, INT64_MAX};
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) values.push_back(static_cast<int64_t>(rng()));
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  std::string previous;
  for (int64_t v : values) {
    const std::string key = int64_row_key(v);
    ASSERT_EQ(key.size(), 8u);
    if (!previous.empty()) {
      EXPECT_LT(previous, key) << v;
    }
    previous = key;
    auto id = row_id_from_key(RowKeyKind::kInt64, key);
    ASSERT_TRUE(id.ok()) << id.status();
    EXPECT_EQ(*id, std::to_string(v));
    auto back = row_key_from_id(RowKeyKind::kInt64, *id);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, key);
  }
  EXPECT_EQ(int64_row_key(INT64_MIN), std::string(8, '\0'));
}

TEST(KeyCodec, GeneratedKeysAreStrictlyIncreasingAndTheirIdsSortTheSame) {
  std::string previous = new_generated_row_key();
  std::string previous_id = *row_id_from_key(RowKeyKind::kGenerated, previous);
  for (int i = 0; i < 50000; ++i) {
    std::string key = new_generated_row_key();
    ASSERT_EQ(key.size(), kGeneratedRowIdSize);
    ASSERT_LT(previous, key);
    auto id = row_id_from_key(RowKeyKind::kGenerated, key);
    ASSERT_TRUE(id.ok()) << id.status();
    ASSERT_EQ(id->size(), 32u);
    ASSERT_LT(previous_id, *id);
    auto back = row_key_from_id(RowKeyKind::kGenerated, *id);
    ASSERT_TRUE(back.ok()) << back.status();
    ASSERT_EQ(*back, key);
    previous = std::move(key);
    previous_id = std::move(*id);
  }
  // The first 8 bytes are a plausible time in milliseconds (after 2020).
  std::string_view head = previous;
  uint64_t ms = 0;
  ASSERT_TRUE(consume_u64(head, ms));
  EXPECT_GT(ms, 1577836800000u);
}

TEST(KeyCodec, GeneratedKeysAreUniqueAndOrderedPerThreadUnderConcurrency) {
  constexpr int kThreads = 4, kPerThread = 20000;
  std::vector<std::vector<std::string>> made(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&made, t] {
      for (int i = 0; i < kPerThread; ++i) {
        made[t].push_back(new_generated_row_key());
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> all;
  for (const auto& keys : made) {
    EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
    all.insert(keys.begin(), keys.end());
  }
  EXPECT_EQ(all.size(), size_t{kThreads * kPerThread});
}

TEST(KeyCodec, TableRangesAreDisjointAndContiguous) {
  EXPECT_EQ(table_prefix(1), std::string("\0\0\0\0\0\0\0\x01", 8));
  EXPECT_EQ(table_end(1), table_prefix(2));
  EXPECT_EQ(table_end(0xFF), table_prefix(0x100));
  for (uint64_t id : {uint64_t{1}, uint64_t{255}, uint64_t{1} << 40}) {
    const std::string worst =
        user_prefix(id, "\xff\xff") + std::string(16, '\xff');
    EXPECT_LT(worst, table_end(id));
    EXPECT_GE(user_prefix(id, ""), table_prefix(id));
  }
}

TEST(KeyCodec, MalformedComponentsAreRejected) {
  for (const std::string& bad :
       {std::string(""), std::string("abc"), std::string("a\x00", 2),
        std::string("a\x00\x02", 3), std::string("\x00\x00", 2)}) {
    std::string_view in = bad;
    std::string out = "untouched";
    EXPECT_FALSE(consume_escaped(in, out)) << printable(bad);
    EXPECT_EQ(in, bad);
    EXPECT_EQ(out, "untouched");
  }
  std::string_view short_u64 = "1234567";
  uint64_t v = 0;
  EXPECT_FALSE(consume_u64(short_u64, v));

  EXPECT_EQ(row_id_from_key(RowKeyKind::kInt64, "1234567").status().code(),
            Code::kCorruption);
  EXPECT_EQ(row_id_from_key(RowKeyKind::kInt64, "123456789").status().code(),
            Code::kCorruption);
  EXPECT_EQ(row_id_from_key(RowKeyKind::kGenerated, "short").status().code(),
            Code::kCorruption);
  // A string key with anything after its terminator is malformed.
  EXPECT_EQ(
      row_id_from_key(RowKeyKind::kString, esc("a") + "x").status().code(),
      Code::kCorruption);
}

// The scans' copy-free decoders agree with the owning ones on every key,
// and reject exactly what they reject.
TEST(KeyCodec, ViewDecodersAgreeWithTheOwningOnes) {
  std::string buffer;
  for (const std::string& s : all_short_strings(3)) {
    const std::string encoded = esc(s) + "tail";
    std::string_view in = encoded;
    auto view = consume_escaped_view(in, buffer);
    ASSERT_TRUE(view.has_value()) << printable(s);
    EXPECT_EQ(*view, s);
    EXPECT_EQ(in, "tail");
    // Without an escaped 0x00, the id is a view of the key itself.
    if (s.find('\0') == std::string::npos) {
      EXPECT_EQ(view->data(), encoded.data()) << printable(s);
    }
    const std::string key = esc(s);  // the view may point into it
    auto id = row_id_view(RowKeyKind::kString, key, buffer);
    ASSERT_TRUE(id.has_value());
    EXPECT_EQ(*id, *row_id_from_key(RowKeyKind::kString, key));
  }
  for (int64_t v :
       std::vector<int64_t>{INT64_MIN, -42, -1, 0, 1, 99, INT64_MAX}) {
    const std::string key = int64_row_key(v);
    auto id = row_id_view(RowKeyKind::kInt64, key, buffer);
    ASSERT_TRUE(id.has_value());
    EXPECT_EQ(*id, std::to_string(v));
  }
  for (int i = 0; i < 100; ++i) {
    const std::string key = new_generated_row_key();
    auto id = row_id_view(RowKeyKind::kGenerated, key, buffer);
    ASSERT_TRUE(id.has_value());
    EXPECT_EQ(*id, *row_id_from_key(RowKeyKind::kGenerated, key));
  }
  for (const std::string& bad :
       {std::string(""), std::string("abc"), std::string("a\x00", 2),
        std::string("a\x00\x02", 3), std::string("\x00\x00", 2)}) {
    std::string_view in = bad;
    EXPECT_FALSE(consume_escaped_view(in, buffer).has_value())
        << printable(bad);
    EXPECT_EQ(in, bad);
    EXPECT_FALSE(row_id_view(RowKeyKind::kString, bad, buffer).has_value());
  }
  EXPECT_FALSE(row_id_view(RowKeyKind::kString, esc("a") + "x", buffer));
  EXPECT_FALSE(row_id_view(RowKeyKind::kInt64, "1234567", buffer));
  EXPECT_FALSE(row_id_view(RowKeyKind::kInt64, "123456789", buffer));
  EXPECT_FALSE(row_id_view(RowKeyKind::kGenerated, "short", buffer));
}

TEST(KeyCodec, RowIdsThatDoNotParseAreNamedInTheError) {
  for (const char* bad : {"", "abc", "1.5", "+1", " 1", "1 ",
                          "9223372036854775808", "-9223372036854775809"}) {
    auto key = row_key_from_id(RowKeyKind::kInt64, bad);
    ASSERT_EQ(key.status().code(), Code::kInvalidArgument) << bad;
    EXPECT_THAT(key.status().message(), HasSubstr("is not an int64"));
    EXPECT_THAT(key.status().message(), HasSubstr(std::string("'") + bad));
  }
  EXPECT_TRUE(row_key_from_id(RowKeyKind::kInt64, "-9223372036854775808").ok());
  for (const char* bad : {"", "00", "0123456789abcdef0123456789abcdeg",
                          "0123456789abcdef0123456789abcdef00"}) {
    auto key = row_key_from_id(RowKeyKind::kGenerated, bad);
    ASSERT_EQ(key.status().code(), Code::kInvalidArgument) << bad;
    EXPECT_THAT(key.status().message(), HasSubstr("32 hex digits"));
  }
  // Upper-case hex is accepted and names the same key.
  EXPECT_EQ(*row_key_from_id(RowKeyKind::kGenerated,
                             "0123456789ABCDEF0123456789ABCDEF"),
            *row_key_from_id(RowKeyKind::kGenerated,
                             "0123456789abcdef0123456789abcdef"));
  // Any string is a string id, the empty one included.
  EXPECT_EQ(*row_key_from_id(RowKeyKind::kString, ""), esc(""));
}

TEST(KeyCodec, PrefixSuccessor) {
  EXPECT_EQ(prefix_successor(""), std::nullopt);
  EXPECT_EQ(prefix_successor("\xff\xff"), std::nullopt);
  EXPECT_EQ(prefix_successor("a\xff"), "b");
  EXPECT_EQ(prefix_successor(std::string("a\x00\x01", 3)),
            std::string("a\x00\x02", 3));
}

TEST(KeyCodec, PrintableEscapesWhatIsNotPrintable) {
  EXPECT_EQ(printable(std::string("a\x00\xff\\b", 5)), "a\\x00\\xff\\x5cb");
}

}  // namespace
}  // namespace kalam::tables::keys
