// ABI 1.1 iter_read_batch(), the array batch: the same entries, positions,
// codes and sticky errors as iter_entry() + iter_next()/iter_prev() in a
// loop, and views that stay valid until the iterator's next move. A plugin
// whose function table has no iter_read_batch() (an ABI 1.0 table, or a NULL
// slot) skips these cases by name.
#include <cstdint>

#include "conformance.h"

namespace kalam::conformance {
namespace {

// Skips the rest of the case when the plugin has no iter_read_batch().
#define KALAM_REQUIRE_READ_BATCH()                               \
  do {                                                           \
    if (plugin().iter_read_batch() == nullptr) {                 \
      GTEST_SKIP() << "no iter_read_batch (an ABI 1.0 function " \
                      "table or a NULL slot)";                   \
    }                                                            \
  } while (0)

// What one iter_read_batch() call returned.
struct Batch {
  int rc = -1;
  size_t filled = 0;
  std::vector<kalam_entry> views;  // out[0..filled)
};

std::string bytes(const void* data, size_t len) {
  return len == 0 ? std::string()
                  : std::string(static_cast<const char*>(data), len);
}

// The entries the views point at, read now.
KV read_views(const std::vector<kalam_entry>& views) {
  KV out;
  for (const kalam_entry& e : views) {
    out.emplace_back(bytes(e.key, e.key_len), bytes(e.value, e.value_len));
  }
  return out;
}

// One call of up to `max` entries. The array is poisoned first, so a view
// the plugin did not write shows up as garbage, and has a guard element past
// `max` that must stay untouched.
Batch read(const RawDatabase& db, Iter& it, size_t max, uint32_t flags = 0) {
  std::vector<kalam_entry> out(max + 1);
  for (kalam_entry& e : out) {
    e.key = reinterpret_cast<const void*>(uintptr_t{0xdead});
    e.key_len = SIZE_MAX;
    e.value = nullptr;
    e.value_len = SIZE_MAX;
  }
  Batch b;
  b.filled = 12345;
  b.rc = db.plugin().iter_read_batch()(it.get(), flags, max, out.data(),
                                       &b.filled, &it.status);
  EXPECT_LE(b.filled, max) << "filled more than max_entries";
  EXPECT_EQ(out[max].key_len, SIZE_MAX) << "wrote past max_entries";
  if (b.rc == KALAM_OK && max > 0) {
    EXPECT_GE(b.filled, 1u) << "returned OK without filling an entry";
  }
  b.filled = std::min(b.filled, max);
  b.views.assign(out.begin(), out.begin() + static_cast<long>(b.filled));
  return b;
}

// Every entry from the iterator's position on, by read batches of up to
// `max` entries, checking after each call that every view of the batch is
// still right after iter_entry()/iter_valid()/iter_status() (which do not
// move) and that the iterator is on the entry after the batch.
KV read_all(const RawDatabase& db, Iter& it, size_t max, bool reverse,
            int* last_rc) {
  KV out;
  int rc = it.valid() ? KALAM_OK : KALAM_NOT_FOUND;
  for (int guard = 0; rc == KALAM_OK && guard < 100000; ++guard) {
    Batch b = read(db, it, max, reverse ? KALAM_BATCH_REVERSE : 0);
    rc = b.rc;
    const KV got = read_views(b.views);
    // Not moves: the views survive them.
    const bool valid = it.valid();
    const std::pair<std::string, std::string> landed = it.entry();
    RawStatus status;
    EXPECT_EQ(code_name(db.vt().iter_status(it.get(), &status)),
              code_name(KALAM_OK))
        << status.text();
    EXPECT_EQ(read_views(b.views), got) << "a view changed without a move";
    EXPECT_EQ(valid, rc == KALAM_OK) << code_name(rc);
    out.insert(out.end(), got.begin(), got.end());
    if (rc == KALAM_OK && !got.empty()) {
      // The landing entry comes after (before) the last one filled.
      if (reverse) {
        EXPECT_LT(landed.first, got.back().first);
      } else {
        EXPECT_GT(landed.first, got.back().first);
      }
    }
    if (max == 0) break;
  }
  *last_rc = rc;
  return out;
}

// 777 entries "k00000".."k00776" with values of 0..49 bytes (some empty).
KV fill_777(RawDatabase& db) {
  KV expected;
  for (int i = 0; i < 777; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "k%05d", i);
    expected.emplace_back(key,
                          std::string(i % 50, static_cast<char>('a' + i % 26)));
  }
  std::vector<Op> ops;
  for (const auto& [k, v] : expected) ops.push_back(Put(nullptr, k, v));
  EXPECT_EQ(code_name(db.write(ops)), code_name(KALAM_OK));
  return expected;
}

TEST_P(Conformance, IteratorReadBatch_MatchesSingleSteps) {
  KALAM_REQUIRE_READ_BATCH();
  const KV expected = fill_777(*this);
  for (size_t max : {size_t{1}, size_t{2}, size_t{7}, size_t{64}, size_t{256},
                     size_t{1000}, size_t{100000}}) {
    for (const IterSpec& spec :
         {IterSpec{}, IterSpec{.lower = "k00100", .upper = "k00200"},
          IterSpec{.lower = "k00776"}, IterSpec{.upper = "k00001"}}) {
      const KV single = scan(nullptr, spec);
      Iter it = iter(nullptr, spec);
      ASSERT_EQ(code_name(it.first()), code_name(KALAM_OK));
      int rc = KALAM_OK;
      EXPECT_EQ(read_all(*this, it, max, false, &rc), single) << max;
      EXPECT_EQ(code_name(rc), code_name(KALAM_NOT_FOUND)) << it.status.text();
      EXPECT_FALSE(it.valid());
    }
  }
  EXPECT_EQ(scan(nullptr, {}), expected);
}

TEST_P(Conformance, IteratorReadBatch_ReverseMatchesSingleSteps) {
  KALAM_REQUIRE_READ_BATCH();
  KALAM_REQUIRE(KALAM_CAP_REVERSE_ITERATION);
  fill_777(*this);
  for (size_t max : {size_t{1}, size_t{7}, size_t{256}, size_t{100000}}) {
    for (IterSpec spec :
         {IterSpec{}, IterSpec{.lower = "k00100", .upper = "k00200"}}) {
      spec.reverse = true;
      const KV single = scan(nullptr, spec);
      Iter it = iter(nullptr, spec);
      ASSERT_EQ(code_name(it.last()), code_name(KALAM_OK));
      int rc = KALAM_OK;
      EXPECT_EQ(read_all(*this, it, max, true, &rc), single) << max;
      EXPECT_EQ(code_name(rc), code_name(KALAM_NOT_FOUND)) << it.status.text();
    }
  }
}

TEST_P(Conformance, IteratorReadBatch_BackwardsWithoutTheCapabilityIsRefused) {
  KALAM_REQUIRE_READ_BATCH();
  if (has(KALAM_CAP_REVERSE_ITERATION)) GTEST_SKIP() << "has reverse";
  ASSERT_EQ(code_name(put(nullptr, "a", "1")), code_name(KALAM_OK));
  Iter it = iter(nullptr);
  ASSERT_EQ(code_name(it.first()), code_name(KALAM_OK));
  const Batch b = read(*this, it, 4, KALAM_BATCH_REVERSE);
  EXPECT_EQ(code_name(b.rc), code_name(KALAM_NOT_SUPPORTED));
  EXPECT_EQ(b.filled, 0u);
}

// Steps of every kind mixed on one iterator land where single steps on
// another land: read batches both ways, next, prev, iter_next_batch.
TEST_P(Conformance, IteratorReadBatch_MixesWithEveryOtherMove) {
  KALAM_REQUIRE_READ_BATCH();
  const KV all = fill_777(*this);
  const bool reverse = has(KALAM_CAP_REVERSE_ITERATION);
  Iter it = iter(nullptr);
  ASSERT_EQ(code_name(it.seek("k00010")), code_name(KALAM_OK));
  size_t at = 10;  // the index of the current entry
  Batch b = read(*this, it, 5);
  ASSERT_EQ(code_name(b.rc), code_name(KALAM_OK));
  EXPECT_EQ(read_views(b.views),
            KV(all.begin() + at, all.begin() + at + b.filled));
  at += b.filled;
  EXPECT_EQ(it.entry(), all[at]);
  ASSERT_EQ(code_name(it.next()), code_name(KALAM_OK));
  ++at;
  EXPECT_EQ(it.entry(), all[at]);
  if (reverse) {
    b = read(*this, it, 3, KALAM_BATCH_REVERSE);
    ASSERT_EQ(code_name(b.rc), code_name(KALAM_OK));
    for (size_t i = 0; i < b.filled; ++i) {
      EXPECT_EQ(read_views(b.views)[i], all[at - i]) << i;
    }
    at -= b.filled;
    EXPECT_EQ(it.entry(), all[at]);
    ASSERT_EQ(code_name(it.prev()), code_name(KALAM_OK));
    --at;
    EXPECT_EQ(it.entry(), all[at]);
  }
  size_t consumed = 0;
  ASSERT_EQ(
      code_name(vt().iter_next_batch(
          it.get(), 0, 4,
          [](void*, const void*, size_t, const void*, size_t) { return 0; },
          nullptr, &consumed, &it.status)),
      code_name(KALAM_OK));
  at += consumed;
  b = read(*this, it, 2);
  ASSERT_EQ(code_name(b.rc), code_name(KALAM_OK));
  EXPECT_EQ(read_views(b.views)[0], all[at]);
  at += b.filled;
  EXPECT_EQ(it.entry(), all[at]);
}

TEST_P(Conformance, IteratorReadBatch_MaxEntriesZeroAndEmptyRanges) {
  KALAM_REQUIRE_READ_BATCH();
  {
    // An empty family: nothing to start on.
    Iter it = iter(nullptr);
    EXPECT_EQ(code_name(read(*this, it, 8).rc), code_name(KALAM_NOT_FOUND))
        << "unpositioned at creation";
    EXPECT_EQ(code_name(it.first()), code_name(KALAM_NOT_FOUND));
    const Batch b = read(*this, it, 8);
    EXPECT_EQ(code_name(b.rc), code_name(KALAM_NOT_FOUND));
    EXPECT_EQ(b.filled, 0u);
  }
  for (const auto& k : {"a", "b", "c"})
    ASSERT_EQ(code_name(put(nullptr, k, k)), code_name(KALAM_OK));
  {
    // Bounds with nothing between them.
    Iter it = iter(nullptr, {.lower = "b", .upper = "b"});
    EXPECT_EQ(code_name(it.first()), code_name(KALAM_NOT_FOUND));
    EXPECT_EQ(code_name(read(*this, it, 8).rc), code_name(KALAM_NOT_FOUND));
    Iter gap = iter(nullptr, {.lower = "bb", .upper = "c"});
    EXPECT_EQ(code_name(gap.first()), code_name(KALAM_NOT_FOUND));
    EXPECT_EQ(code_name(read(*this, gap, 8).rc), code_name(KALAM_NOT_FOUND));
  }
  {
    // max_entries 0: nothing filled, nothing moved; out may be NULL.
    Iter it = iter(nullptr);
    ASSERT_EQ(code_name(it.seek("b")), code_name(KALAM_OK));
    const Batch b = read(*this, it, 0);
    EXPECT_EQ(code_name(b.rc), code_name(KALAM_OK));
    EXPECT_EQ(b.filled, 0u);
    size_t filled = 99;
    EXPECT_EQ(code_name(plugin().iter_read_batch()(it.get(), 0, 0, nullptr,
                                                   &filled, &it.status)),
              code_name(KALAM_OK))
        << it.status.text();
    EXPECT_EQ(filled, 0u);
    EXPECT_EQ(it.key(), "b");
    // The last entry: filled, then the iterator runs out.
    ASSERT_EQ(code_name(it.seek("c")), code_name(KALAM_OK));
    const Batch last = read(*this, it, 1);
    EXPECT_EQ(code_name(last.rc), code_name(KALAM_NOT_FOUND));
    EXPECT_EQ(read_views(last.views), (KV{{"c", "c"}}));
    EXPECT_FALSE(it.valid());
    EXPECT_EQ(code_name(read(*this, it, 4).rc), code_name(KALAM_NOT_FOUND));
  }
}

// Filling the array moves the iterator past every entry in it; the views of
// the first ones must survive those moves, later iter_entry() calls and
// writes to the database, until the next move of this iterator.
TEST_P(Conformance, IteratorReadBatch_ViewsStayValidForTheWholeArray) {
  KALAM_REQUIRE_READ_BATCH();
  KV expected;
  std::vector<Op> ops;
  for (int i = 0; i < 300; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "key%04d", i);
    // Distinct, long values: a reused buffer shows.
    std::string value(1000 + i, static_cast<char>('A' + i % 26));
    value += key;
    expected.emplace_back(key, value);
    ops.push_back(Put(nullptr, key, value));
  }
  ASSERT_EQ(code_name(write(ops)), code_name(KALAM_OK));
  Iter it = iter(nullptr);
  ASSERT_EQ(code_name(it.first()), code_name(KALAM_OK));
  KV got;
  while (got.size() < expected.size()) {
    const Batch b = read(*this, it, expected.size() - got.size());
    ASSERT_TRUE(b.rc == KALAM_OK || b.rc == KALAM_NOT_FOUND)
        << code_name(b.rc) << ": " << it.status.text();
    ASSERT_GT(b.filled, 0u);
    const KV first = read_views(b.views);
    // Writes by others, and calls that do not move, change nothing.
    // (Only to keys already passed or before them: a plugin without
    // snapshots may see later keys change.)
    ASSERT_EQ(code_name(write({Put(nullptr, first.front().first, "overwritten"),
                               Del(nullptr, first.back().first),
                               Put(nullptr, "a" + first.back().first,
                                   std::string(5000, 'z'))})),
              code_name(KALAM_OK));
    (void)it.valid();
    (void)it.entry();
    EXPECT_EQ(read_views(b.views), first);
    got.insert(got.end(), first.begin(), first.end());
    if (b.rc == KALAM_NOT_FOUND) break;
  }
  EXPECT_EQ(got, expected) << "every view, compared at the end of its batch";
}

TEST_P(Conformance, IteratorReadBatch_BadArgumentsAreRefusedAndNotSticky) {
  KALAM_REQUIRE_READ_BATCH();
  for (const auto& k : {"a", "b", "c"})
    ASSERT_EQ(code_name(put(nullptr, k, k)), code_name(KALAM_OK));
  Iter it = iter(nullptr);
  ASSERT_EQ(code_name(it.seek("b")), code_name(KALAM_OK));
  kalam_entry out[4];
  size_t filled = 99;
  RawStatus status;
  EXPECT_EQ(code_name(plugin().iter_read_batch()(it.get(), 0x80, 4, out,
                                                 &filled, &status)),
            code_name(KALAM_INVALID_ARGUMENT));
  EXPECT_EQ(filled, 0u);
  EXPECT_NE(std::string(status.message), "") << "no message";
  EXPECT_EQ(code_name(plugin().iter_read_batch()(it.get(), 0, 4, out, nullptr,
                                                 &status)),
            code_name(KALAM_INVALID_ARGUMENT));
  filled = 99;
  EXPECT_EQ(code_name(plugin().iter_read_batch()(it.get(), 0, 4, nullptr,
                                                 &filled, &status)),
            code_name(KALAM_INVALID_ARGUMENT));
  EXPECT_EQ(filled, 0u);
  filled = 99;
  EXPECT_EQ(code_name(plugin().iter_read_batch()(nullptr, 0, 4, out, &filled,
                                                 &status)),
            code_name(KALAM_INVALID_ARGUMENT));
  EXPECT_EQ(filled, 0u);
  // Not sticky, and nothing moved.
  EXPECT_EQ(it.key(), "b");
  const Batch b = read(*this, it, 4);
  EXPECT_EQ(code_name(b.rc), code_name(KALAM_NOT_FOUND));
  EXPECT_EQ(read_views(b.views), (KV{{"b", "b"}, {"c", "c"}}));
}

// An error from a read batch sticks like one from any move. The one error a
// conformance case can cause on every plugin is a dropped family: the
// iterator either keeps its view or fails with DROPPED, for good.
TEST_P(Conformance, IteratorReadBatch_ErrorsAreSticky) {
  KALAM_REQUIRE_READ_BATCH();
  kalam_cf* doomed = cf("doomed");
  ASSERT_EQ(code_name(write({Put(doomed, "a", "1"), Put(doomed, "b", "2"),
                             Put(doomed, "c", "3")})),
            code_name(KALAM_OK));
  Iter it = iter(doomed);
  ASSERT_EQ(code_name(it.first()), code_name(KALAM_OK));
  RawStatus status;
  ASSERT_EQ(code_name(vt().cf_drop(db_, doomed, &status)), code_name(KALAM_OK))
      << status.text();
  const Batch b = read(*this, it, 2);
  if (b.rc == KALAM_OK) {
    EXPECT_EQ(read_views(b.views), (KV{{"a", "1"}, {"b", "2"}}));
    EXPECT_EQ(it.key(), "c");
    return;
  }
  EXPECT_EQ(code_name(b.rc), code_name(KALAM_DROPPED)) << it.status.text();
  EXPECT_FALSE(it.valid());
  // Sticky: every later move and iter_status() say the same.
  EXPECT_EQ(code_name(read(*this, it, 2).rc), code_name(KALAM_DROPPED));
  EXPECT_EQ(code_name(it.next()), code_name(KALAM_DROPPED));
  EXPECT_EQ(code_name(vt().iter_status(it.get(), &status)),
            code_name(KALAM_DROPPED));
  EXPECT_EQ(code_name(read(*this, it, 2).rc), code_name(KALAM_DROPPED));
}

}  // namespace
}  // namespace kalam::conformance
