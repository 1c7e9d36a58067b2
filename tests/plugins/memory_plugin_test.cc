// What is special about the memory plugin (kalam_memory.so), through the raw
// C ABI and the conformance harness (RawDatabase): it takes no options, keeps
// nothing across close, keeps one version list per key and reclaims old
// versions once no reader needs them, and honours a prefix on its own.
// Behaviour every plugin shares is tested by tests/conformance.
#include <gtest/gtest.h>
#include <kalam/test_paths.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "conformance.h"

namespace kalam::conformance {
namespace {

const BackendUnderTest kMemory{"memory", KALAM_TEST_PLUGIN_MEMORY_PATH, {}};

std::string Hex(const std::string& s) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

bool Contains(const char* text, const std::string& part) {
  return std::string(text).find(part) != std::string::npos;
}

// The number after "<field>=" in the kalam.stats text.
uint64_t StatsField(const std::string& stats, const std::string& field) {
  auto at = stats.find(" " + field + "=");
  if (at == std::string::npos) {
    ADD_FAILURE() << "no " << field << " in: " << stats;
    return 0;
  }
  return std::strtoull(stats.c_str() + at + field.size() + 2, nullptr, 10);
}

class MemoryTest : public ::testing::Test, public RawDatabase {
 protected:
  void SetUp() override { ASSERT_TRUE(start(kMemory)); }
  void TearDown() override { close_db(); }

  // A property of `family`, expecting KALAM_OK.
  std::string property(kalam_cf* family, const char* name) {
    std::string text;
    RawStatus status;
    EXPECT_EQ(vt().get_property(
                  db_, family, name,
                  [](void* ctx, const void* data, size_t len) {
                    static_cast<std::string*>(ctx)->assign(
                        static_cast<const char*>(data), len);
                  },
                  &text, &status),
              KALAM_OK)
        << name << ": " << status.text();
    return text;
  }
  int property_code(kalam_cf* family, const char* name) {
    RawStatus status;
    return vt().get_property(
        db_, family, name, [](void*, const void*, size_t) {}, nullptr, &status);
  }
};

// ---- Entry point and info ---------------------------------------------------

TEST_F(MemoryTest, DescribesItself) {
  EXPECT_EQ(plugin().name(), "memory");
  EXPECT_EQ(plugin().version(), "1.0.0");
  EXPECT_EQ(plugin().abi_minor(), 2u);  // write_conditional() is ABI 1.2
  EXPECT_NE(plugin().iter_read_batch(), nullptr);
  EXPECT_EQ(plugin().format_version(), 1u);
  EXPECT_EQ(plugin().capabilities(),
            KALAM_CAP_ATOMIC_BATCH | KALAM_CAP_SNAPSHOTS |
                KALAM_CAP_REVERSE_ITERATION | KALAM_CAP_DELETE_RANGE |
                KALAM_CAP_THREAD_SAFE | KALAM_CAP_PROPERTIES |
                KALAM_CAP_CONDITIONAL_WRITE | KALAM_CAP_READ_MODIFY_WRITE);
  EXPECT_EQ(plugin().max_key_size(), 0u);
  EXPECT_EQ(plugin().max_value_size(), 0u);
  EXPECT_EQ(vt().struct_size, sizeof(kalam_backend_vtable));
  EXPECT_EQ(vt().compact_range, nullptr);
  EXPECT_EQ(vt().checkpoint, nullptr);
  EXPECT_NE(vt().get_property, nullptr);
}

// ---- Open and close: no options, no files, nothing kept ---------------------

TEST_F(MemoryTest, RejectsEveryOptionNamingTheKey) {
  // Even an option other backends know.
  kalam_db* other = reinterpret_cast<kalam_db*>(0x1);  // Must stay untouched.
  RawStatus status;
  EXPECT_EQ(open_at(dir_ / "x", &other, KALAM_OPEN_CREATE_IF_MISSING,
                    {{"write_buffer_size", "64MiB"}}, &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(other, reinterpret_cast<kalam_db*>(0x1));
  EXPECT_EQ(status.code, KALAM_INVALID_ARGUMENT);
  EXPECT_TRUE(Contains(status.message, "write_buffer_size")) << status.message;
}

TEST_F(MemoryTest, OpensAnyPathWithoutCreateButNotReadOnly) {
  kalam_db* other = nullptr;
  RawStatus status;
  ASSERT_EQ(open_at("/nowhere", &other, 0, {}, &status), KALAM_OK)
      << status.text();
  EXPECT_FALSE(std::filesystem::exists("/nowhere"));
  EXPECT_EQ(vt().close(other, &status), KALAM_OK);
  other = nullptr;
  EXPECT_EQ(open_at("/nowhere", &other, KALAM_OPEN_READ_ONLY, {}, &status),
            KALAM_NOT_SUPPORTED);
  EXPECT_EQ(other, nullptr);
}

TEST_F(MemoryTest, NothingSurvivesClose) {
  ASSERT_EQ(put(nullptr, "k", "v"), KALAM_OK);
  ASSERT_NE(cf("extra"), nullptr);
  reopen();
  EXPECT_EQ(value_of(nullptr, "k"), std::nullopt);
  kalam_cf* family = nullptr;
  RawStatus status;
  EXPECT_EQ(vt().cf_open(db_, "extra", 0, &family, &status), KALAM_NOT_FOUND);
  EXPECT_EQ(list_families(), std::vector<std::string>{"default"});
}

TEST_F(MemoryTest, TwoDatabasesOfOnePathAreIndependent) {
  kalam_db* other = nullptr;
  RawStatus status;
  ASSERT_EQ(
      open_at(db_path(), &other, KALAM_OPEN_CREATE_IF_MISSING, {}, &status),
      KALAM_OK)
      << status.text();
  kalam_cf* family = cf("f");
  ASSERT_EQ(put(nullptr, "k", "1"), KALAM_OK);
  std::swap(db_, other);  // The helpers now act on the other database.
  EXPECT_EQ(value_of(nullptr, "k"), std::nullopt);
  // A family handle of one database is refused by the other.
  EXPECT_EQ(kalam_code_name(put(family, "k", "v")),
            kalam_code_name(KALAM_INVALID_ARGUMENT));
  std::string value;
  EXPECT_EQ(kalam_code_name(get(family, "k", &value)),
            kalam_code_name(KALAM_INVALID_ARGUMENT));
  std::swap(db_, other);
  EXPECT_EQ(vt().close(other, &status), KALAM_OK) << status.text();
}

// Optional in the ABI; this plugin keeps count and refuses.
TEST_F(MemoryTest, CloseIsBusyWhileAnIteratorOrASnapshotLives) {
  RawStatus status;
  {
    Iter it = iter(nullptr);
    EXPECT_EQ(vt().close(db_, &status), KALAM_BUSY);
    EXPECT_EQ(status.code, KALAM_BUSY);
    EXPECT_TRUE(Contains(status.message, "iterator")) << status.message;
    ASSERT_EQ(put(nullptr, "still", "open"), KALAM_OK);
    EXPECT_EQ(value_of(nullptr, "still"), "open");
  }
  {
    auto snap = snapshot();
    EXPECT_EQ(vt().close(db_, &status), KALAM_BUSY);
    EXPECT_TRUE(Contains(status.message, "snapshot")) << status.message;
  }
  // TearDown closes it: KALAM_OK now.
}

// ---- Reads, iterators and snapshots -----------------------------------------

TEST_F(MemoryTest, VisitorsMayCallBackIntoThePlugin) {
  ASSERT_EQ(put(nullptr, "k", "v"), KALAM_OK);
  struct Ctx {
    MemoryTest* test;
    int rc;
  } ctx{this, -1};
  RawStatus status;
  ASSERT_EQ(vt().get(
                db_, nullptr, nullptr, "k", 1,
                [](void* p, const void*, size_t) {
                  auto* c = static_cast<Ctx*>(p);
                  c->rc = c->test->put(nullptr, "k2", "w");
                },
                &ctx, &status),
            KALAM_OK);
  EXPECT_EQ(ctx.rc, KALAM_OK);
  EXPECT_EQ(value_of(nullptr, "k2"), "w");
}

// The ABI lets a plugin rely on the bounds the host narrows to the prefix;
// this one honours the prefix alone too.
TEST_F(MemoryTest, PrefixAloneNarrowsTheRange) {
  for (const std::string& k :
       {std::string("p"), std::string("pa"), std::string("pz"),
        std::string("p\xff"), std::string("q"), std::string("o")}) {
    ASSERT_EQ(put(nullptr, k, "x"), KALAM_OK);
  }
  KV all = scan(nullptr, {.prefix = "p"});
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all.front().first, "p");
  EXPECT_EQ(all.back().first, "p\xff");
  ASSERT_EQ(put(nullptr, "\xff\xff\xff", "top"), KALAM_OK);
  EXPECT_EQ(scan(nullptr, {.prefix = "\xff"}), (KV{{"\xff\xff\xff", "top"}}));
  EXPECT_EQ(scan(nullptr, {.prefix = "\xff", .reverse = true}),
            (KV{{"\xff\xff\xff", "top"}}));
}

// The ABI allows either; this plugin keeps the iterator's view.
TEST_F(MemoryTest, IteratorOnADroppedFamilyKeepsItsView) {
  kalam_cf* doomed = cf("doomed");
  ASSERT_EQ(write({Put(doomed, "a", "1"), Put(doomed, "b", "2")}), KALAM_OK);
  Iter it = iter(doomed);
  ASSERT_EQ(it.first(), KALAM_OK);
  RawStatus status;
  ASSERT_EQ(vt().cf_drop(db_, doomed, &status), KALAM_OK);
  ASSERT_EQ(put(cf("doomed"), "a", "new family"), KALAM_OK);
  EXPECT_EQ(it.entry(), (std::pair<std::string, std::string>{"a", "1"}));
  ASSERT_EQ(it.next(), KALAM_OK);
  EXPECT_EQ(it.key(), "b");
  ASSERT_EQ(it.last(), KALAM_OK);
  EXPECT_EQ(it.prev(), KALAM_OK);
  EXPECT_EQ(it.key(), "a");
  EXPECT_EQ(it.next(), KALAM_OK);
  EXPECT_EQ(it.next(), KALAM_NOT_FOUND);
}

TEST_F(MemoryTest, IteratorWithASnapshotOutlivesTheSnapshot) {
  ASSERT_EQ(put(nullptr, "a", "1"), KALAM_OK);
  auto snap = snapshot();
  Iter it = iter(nullptr, {.snapshot = snap->get()});
  snap.reset();
  ASSERT_EQ(write({Put(nullptr, "a", "2"), Put(nullptr, "b", "3")}), KALAM_OK);
  ASSERT_EQ(it.first(), KALAM_OK);
  EXPECT_EQ(it.entry(), (std::pair<std::string, std::string>{"a", "1"}));
  EXPECT_EQ(it.next(), KALAM_NOT_FOUND);
}

// ---- Reclaiming old versions and exact properties ---------------------------

TEST_F(MemoryTest, OldVersionsAreReclaimedOnceNoReaderNeedsThem) {
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(put(nullptr, "k" + std::to_string(i), "1"), KALAM_OK);
  }
  std::string stats = property(nullptr, KALAM_PROPERTY_STATS);
  EXPECT_EQ(StatsField(stats, "versions"), 100u) << stats;
  {
    auto snap = snapshot();
    for (int i = 0; i < 100; ++i) {
      ASSERT_EQ(put(nullptr, "k" + std::to_string(i), "2"), KALAM_OK);
    }
    for (int i = 0; i < 50; ++i) {
      ASSERT_EQ(del(nullptr, "k" + std::to_string(i)), KALAM_OK);
    }
    stats = property(nullptr, KALAM_PROPERTY_STATS);
    // Each key keeps the version the snapshot sees.
    EXPECT_GE(StatsField(stats, "versions"), 200u) << stats;
    EXPECT_EQ(value_of(nullptr, "k0", snap->get()), "1");
  }
  // No reader left: a few writes elsewhere sweep the garbage away.
  for (int i = 0; i < 20; ++i) ASSERT_EQ(put(nullptr, "other", "x"), KALAM_OK);
  stats = property(nullptr, KALAM_PROPERTY_STATS);
  EXPECT_EQ(StatsField(stats, "versions"), 51u) << stats;
  EXPECT_EQ(StatsField(stats, "keys"), 51u) << stats;
  // With no reader at all, an overwrite or delete leaves nothing behind.
  ASSERT_EQ(put(nullptr, "other", "y"), KALAM_OK);
  ASSERT_EQ(del(nullptr, "k99"), KALAM_OK);
  stats = property(nullptr, KALAM_PROPERTY_STATS);
  EXPECT_EQ(StatsField(stats, "versions"), 50u) << stats;
}

TEST_F(MemoryTest, PropertiesAreExactForTheLiveData) {
  kalam_cf* family = cf("props");
  EXPECT_EQ(property(family, KALAM_PROPERTY_ESTIMATE_NUM_KEYS), "0");
  EXPECT_EQ(property(family, KALAM_PROPERTY_APPROXIMATE_BYTES), "0");
  ASSERT_EQ(write({Put(family, "ab", "12345"),  // 7 bytes
                   Put(family, "c", ""),        // 1 byte
                   Put(family, "d", "xyz"),     // 4 bytes
                   Put(nullptr, "elsewhere", "not counted")}),
            KALAM_OK);
  {
    auto snap = snapshot();  // Old versions kept for it are not live data.
    ASSERT_EQ(write({Put(family, "d", "wxyz"), Del(family, "c")}), KALAM_OK);
    EXPECT_EQ(property(family, KALAM_PROPERTY_ESTIMATE_NUM_KEYS), "2");
    EXPECT_EQ(property(family, KALAM_PROPERTY_APPROXIMATE_BYTES), "12");
  }
  // Exact after a batch that overwrites, deletes and range-deletes in order.
  ASSERT_EQ(write({Put(family, "a", "1"), Put(family, "a", "2"),
                   Put(family, "e1", "x"), DelRange(family, "e", "f"),
                   Put(family, "e2", "y"), Del(family, "ab")}),
            KALAM_OK);
  EXPECT_EQ(property(family, KALAM_PROPERTY_ESTIMATE_NUM_KEYS), "3");
  EXPECT_EQ(property(family, KALAM_PROPERTY_APPROXIMATE_BYTES), "10");
  const std::string stats = property(family, KALAM_PROPERTY_STATS);
  EXPECT_TRUE(Contains(stats.c_str(), "props")) << stats;
}

// ---- Threads ----------------------------------------------------------------

// A value that proves it was not torn: "<writer>:<counter>;" repeated.
std::string MakeValue(int writer, int counter) {
  std::string unit =
      std::to_string(writer) + ":" + std::to_string(counter) + ";";
  std::string value;
  for (int i = 0; i <= counter % 13; ++i) value += unit;
  return value;
}

bool WellFormed(const std::string& value) {
  auto end = value.find(';');
  if (end == std::string::npos) return false;
  const std::string unit = value.substr(0, end + 1);
  if (value.size() % unit.size() != 0) return false;
  for (size_t at = 0; at < value.size(); at += unit.size()) {
    if (value.compare(at, unit.size(), unit) != 0) return false;
  }
  const int counter = std::atoi(unit.c_str() + unit.find(':') + 1);
  return value.size() / unit.size() == static_cast<size_t>(counter % 13 + 1);
}

// Every batch writes the same key and value to two families, so any view
// that shows them differently saw half a batch.
TEST_F(MemoryTest, ConcurrentReadersSeeNoTornValuesOrHalfBatches) {
  kalam_cf* mirror = cf("mirror");
  constexpr int kWriters = 2;
  constexpr int kReaders = 2;
  constexpr int kMinBatchesPerWriter = 2000;
  constexpr int kReadsPerReader = 3000;
  constexpr int kKeys = 40;
  std::atomic<int> readers_left{kReaders};
  std::atomic<int> problems{0};
  std::atomic<long> reads{0};
  std::mutex first_problem_mu;
  std::string first_problem;
  auto problem = [&](const std::string& what) {
    if (problems++ == 0) {
      std::lock_guard lock(first_problem_mu);
      first_problem = what;
    }
  };

  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      std::mt19937 rng(static_cast<uint32_t>(w) + 1);
      // Until every reader is done, so reads and writes overlap.
      for (int i = 0; i < kMinBatchesPerWriter || readers_left.load() > 0;
           ++i) {
        const std::string key = "k" + std::to_string(rng() % kKeys);
        const std::string value = MakeValue(w, i);
        RawStatus status;
        const int rc =
            rng() % 8 == 0
                ? write({Del(nullptr, key), Del(mirror, key)}, false,
                        sizeof(kalam_write_op), &status)
                : write({Put(nullptr, key, value), Put(mirror, key, value)},
                        false, sizeof(kalam_write_op), &status);
        if (rc != KALAM_OK) {
          problem("write: " + status.text());
          break;
        }
      }
    });
  }
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&, r] {
      std::mt19937 rng(static_cast<uint32_t>(r) + 100);
      for (int i = 0; i < kReadsPerReader && problems.load() == 0; ++i) {
        const std::string key = "k" + std::to_string(rng() % kKeys);
        switch (rng() % 4) {
          case 0: {  // Point read.
            auto v = value_of(nullptr, key);
            if (v && !WellFormed(*v)) problem("torn get: " + *v);
            break;
          }
          case 1: {  // Both families in one consistent view.
            const void* keys[] = {key.data(), key.data()};
            const size_t lens[] = {key.size(), key.size()};
            kalam_cf* const cfs[] = {nullptr, mirror};
            std::vector<std::optional<std::string>> seen;
            RawStatus status;
            int rc = vt().multi_get(
                db_, nullptr, 2, cfs, keys, lens,
                [](void* ctx, size_t, int code, const void* v, size_t n) {
                  auto* out =
                      static_cast<std::vector<std::optional<std::string>>*>(
                          ctx);
                  if (code == KALAM_OK) {
                    out->emplace_back(
                        std::string(static_cast<const char*>(v), n));
                  } else {
                    out->emplace_back(std::nullopt);
                  }
                },
                &seen, &status);
            if (rc != KALAM_OK || seen.size() != 2 || seen[0] != seen[1]) {
              problem("multi_get saw half a batch for " + key);
            }
            break;
          }
          case 2: {  // A snapshot across both families.
            auto snap = snapshot();
            auto a = value_of(nullptr, key, snap->get());
            auto b = value_of(mirror, key, snap->get());
            if (a != b) problem("snapshot saw half a batch for " + key);
            break;
          }
          default: {  // Scan both families at one snapshot, one batched.
            auto snap = snapshot();
            const KV left =
                scan_batched(nullptr, {.snapshot = snap->get()}, 1000);
            const KV right = scan(mirror, {.snapshot = snap->get()});
            if (left != right) problem("scans of one snapshot differ");
            for (const auto& [k, v] : left) {
              if (!WellFormed(v)) problem("torn scan value: " + v);
            }
            break;
          }
        }
        ++reads;
      }
      --readers_left;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(problems.load(), 0) << first_problem;
  EXPECT_GT(reads.load(), 0);
  // Afterwards both families hold the same data.
  EXPECT_EQ(scan(nullptr), scan(mirror));
}

TEST_F(MemoryTest, FamiliesSnapshotsAndIteratorsChurnUnderWrites) {
  constexpr int kRounds = 300;
  std::atomic<bool> stop{false};
  std::atomic<int> problems{0};
  std::thread writer([&] {
    for (int i = 0; !stop.load(); ++i) {
      if (write({Put(nullptr, "k" + std::to_string(i % 50), MakeValue(0, i)),
                 Del(nullptr, "k" + std::to_string((i + 25) % 50))}) !=
          KALAM_OK) {
        ++problems;
      }
    }
  });
  std::thread churner([&] {
    for (int round = 0; round < kRounds; ++round) {
      kalam_cf* family = nullptr;
      RawStatus status;
      if (vt().cf_open(db_, "churn", KALAM_CF_CREATE_IF_MISSING, &family,
                       &status) != KALAM_OK) {
        ++problems;
        continue;
      }
      if (put(family, "a", "1") != KALAM_OK) ++problems;
      auto snap = snapshot();
      Iter on_family = iter(family);
      Iter on_default = iter(nullptr, {.snapshot = snap->get()});
      if (on_family.first() != KALAM_OK) ++problems;
      if (vt().cf_drop(db_, family, &status) != KALAM_OK) ++problems;
      // Whatever the drop did, the open iterator keeps its view.
      if (on_family.key() != "a" || on_family.next() != KALAM_NOT_FOUND) {
        ++problems;
      }
      for (int rc = on_default.first(); rc == KALAM_OK;
           rc = on_default.next()) {
        if (!WellFormed(on_default.value())) ++problems;
      }
    }
  });
  std::thread lister([&] {
    for (int round = 0; round < kRounds; ++round) {
      const std::vector<std::string> names = list_families();
      if (std::find(names.begin(), names.end(), "default") == names.end()) {
        ++problems;
      }
      if (property(nullptr, KALAM_PROPERTY_STATS).empty()) ++problems;
    }
  });
  churner.join();
  lister.join();
  stop = true;
  writer.join();
  EXPECT_EQ(problems.load(), 0);
}

// ---- Random model test with long-lived iterators ----------------------------

// The suite's model test scans from fresh iterators; this one also keeps up
// to three iterators alive across writes and moves them at random (each must
// stay on the view of its creation), and checks the exact properties.
class RandomModel {
 public:
  explicit RandomModel(uint32_t seed) : rng_(seed) {}

  // A key to write: 1 to 3 bytes.
  std::string Key() { return Bytes(1 + rng_() % 3); }
  // A key to read, a bound, a seek target or a range end: 0 to 3 bytes.
  std::string Target() { return Bytes(rng_() % 4); }
  std::string Value() {
    std::string value;
    const size_t len = rng_() % 12;
    for (size_t i = 0; i < len; ++i) value.push_back(static_cast<char>(rng_()));
    return value;
  }
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(rng_() % n); }

 private:
  std::string Bytes(size_t len) {
    static const char kAlphabet[] = {'\0', 'a', 'b', '\xff'};
    std::string key;
    for (size_t i = 0; i < len; ++i) key.push_back(kAlphabet[rng_() % 4]);
    return key;
  }

  std::mt19937 rng_;
};

uint32_t TestSeed() {
  if (const char* env = std::getenv("KALAM_TEST_SEED")) {
    return static_cast<uint32_t>(std::strtoul(env, nullptr, 10));
  }
  return std::random_device{}();
}

using Model = std::map<std::string, std::string>;

KV Slice(const Model& model, const std::optional<std::string>& lower,
         const std::optional<std::string>& upper) {
  KV out;
  for (const auto& [k, v] : model) {
    if (lower && k < *lower) continue;
    if (upper && k >= *upper) continue;
    out.emplace_back(k, v);
  }
  return out;
}

TEST_F(MemoryTest, RandomOperationsWithLiveIteratorsMatchAModel) {
  const uint32_t seed = TestSeed();
  SCOPED_TRACE("seed " + std::to_string(seed) +
               " (rerun with KALAM_TEST_SEED=" + std::to_string(seed) + ")");
  RandomModel random(seed);
  kalam_cf* families[2] = {nullptr, cf("second")};
  Model model[2];

  struct LiveSnapshot {
    std::unique_ptr<Snap> snap;
    Model model[2];
  };
  std::vector<LiveSnapshot> snapshots;

  struct LiveIter {
    std::unique_ptr<Iter> iter;
    KV expected;   // The view, already bounded.
    long at = -1;  // Index into expected, -1 when unpositioned.
  };
  std::vector<LiveIter> iters;

  auto check_iter_position = [&](LiveIter& li, int rc) {
    ASSERT_EQ(rc, li.at >= 0 ? KALAM_OK : KALAM_NOT_FOUND)
        << li.iter->status.text();
    ASSERT_EQ(li.iter->valid(), li.at >= 0);
    if (li.at >= 0) {
      ASSERT_EQ(li.iter->entry(), li.expected[static_cast<size_t>(li.at)]);
    }
  };

  for (int step = 0; step < 10000; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    const uint32_t dice = random.Below(100);
    const int f = static_cast<int>(random.Below(2));
    if (dice < 40) {  // A batch of 1-4 ops over both families.
      std::vector<Op> ops;
      const uint32_t n = 1 + random.Below(4);
      for (uint32_t i = 0; i < n; ++i) {
        const int of = static_cast<int>(random.Below(2));
        const uint32_t kind = random.Below(10);
        if (kind < 6) {
          ops.push_back(Put(families[of], random.Key(), random.Value()));
          model[of][ops.back().key] = ops.back().value;
        } else if (kind < 9) {
          ops.push_back(Del(families[of], random.Key()));
          model[of].erase(ops.back().key);
        } else {
          ops.push_back(
              DelRange(families[of], random.Target(), random.Target()));
          const std::string& b = ops.back().key;
          const std::string& e = ops.back().value;
          if (b < e) {
            model[of].erase(model[of].lower_bound(b), model[of].lower_bound(e));
          }
        }
      }
      RawStatus status;
      ASSERT_EQ(write(ops, false, sizeof(kalam_write_op), &status), KALAM_OK)
          << status.text();
    } else if (dice < 55) {  // A point read.
      const std::string key = random.Target();
      auto it = model[f].find(key);
      ASSERT_EQ(value_of(families[f], key),
                it == model[f].end() ? std::nullopt
                                     : std::optional<std::string>(it->second))
          << Hex(key);
    } else if (dice < 60) {
      if (snapshots.size() < 4) {
        snapshots.push_back({snapshot(), {model[0], model[1]}});
      }
    } else if (dice < 64) {
      if (!snapshots.empty()) {
        snapshots.erase(snapshots.begin() +
                        random.Below(static_cast<uint32_t>(snapshots.size())));
      }
    } else if (dice < 72) {  // Read at a snapshot.
      if (snapshots.empty()) continue;
      LiveSnapshot& s =
          snapshots[random.Below(static_cast<uint32_t>(snapshots.size()))];
      for (int i = 0; i < 4; ++i) {
        const std::string key = random.Target();
        auto it = s.model[f].find(key);
        ASSERT_EQ(value_of(families[f], key, s.snap->get()),
                  it == s.model[f].end()
                      ? std::nullopt
                      : std::optional<std::string>(it->second))
            << Hex(key);
      }
      ASSERT_EQ(scan(families[f], {.snapshot = s.snap->get()}),
                Slice(s.model[f], std::nullopt, std::nullopt));
    } else if (dice < 77) {  // Full scans, both ways.
      const KV want = Slice(model[f], std::nullopt, std::nullopt);
      ASSERT_EQ(scan(families[f]), want);
      ASSERT_EQ(scan(families[f], {.reverse = true}),
                KV(want.rbegin(), want.rend()));
    } else if (dice < 82) {  // A new long-lived iterator with random bounds.
      if (iters.size() >= 3) continue;
      IterSpec spec;
      if (random.Below(2) != 0) spec.lower = random.Target();
      if (random.Below(2) != 0) spec.upper = random.Target();
      LiveIter li;
      li.iter = std::make_unique<Iter>(iter(families[f], spec));
      li.expected = Slice(model[f], spec.lower, spec.upper);
      iters.push_back(std::move(li));
    } else if (dice < 96) {  // Move a live iterator.
      if (iters.empty()) continue;
      LiveIter& li = iters[random.Below(static_cast<uint32_t>(iters.size()))];
      const long size = static_cast<long>(li.expected.size());
      const uint32_t move = random.Below(7);
      int rc = KALAM_OK;
      if (move == 0) {
        rc = li.iter->first();
        li.at = size > 0 ? 0 : -1;
      } else if (move == 1) {
        rc = li.iter->last();
        li.at = size - 1;
      } else if (move == 2) {
        const std::string target = random.Target();
        rc = li.iter->seek(target);
        auto pos = std::lower_bound(
            li.expected.begin(), li.expected.end(), target,
            [](const auto& kv, const std::string& t) { return kv.first < t; });
        li.at = pos == li.expected.end() ? -1 : pos - li.expected.begin();
      } else if (move == 3) {
        const std::string target = random.Target();
        rc = li.iter->seek_for_prev(target);
        auto pos = std::upper_bound(
            li.expected.begin(), li.expected.end(), target,
            [](const std::string& t, const auto& kv) { return t < kv.first; });
        li.at = (pos - li.expected.begin()) - 1;
      } else if (move == 4 || move == 5) {
        rc = li.iter->next();
        if (li.at >= 0) li.at = li.at + 1 < size ? li.at + 1 : -1;
      } else {
        rc = li.iter->prev();
        if (li.at >= 0) li.at = li.at - 1;
      }
      check_iter_position(li, rc);
      if (random.Below(4) == 0 && li.at >= 0) {  // And a batch from there.
        const bool reverse = random.Below(2) != 0;
        const size_t max = 1 + random.Below(5);
        KV got;
        size_t consumed = 12345;
        rc = vt().iter_next_batch(
            li.iter->get(), reverse ? KALAM_BATCH_REVERSE : 0, max,
            [](void* ctx, const void* k, size_t kl, const void* v, size_t vl) {
              static_cast<KV*>(ctx)->emplace_back(
                  std::string(static_cast<const char*>(k), kl),
                  std::string(static_cast<const char*>(v), vl));
              return 0;
            },
            &got, &consumed, &li.iter->status);
        KV want;
        while (li.at >= 0 && want.size() < max) {
          want.push_back(li.expected[static_cast<size_t>(li.at)]);
          li.at = reverse ? li.at - 1 : (li.at + 1 < size ? li.at + 1 : -1);
        }
        ASSERT_EQ(got, want);
        ASSERT_EQ(consumed, want.size());
        check_iter_position(li, rc);
      }
    } else {
      if (!iters.empty()) {
        iters.erase(iters.begin() +
                    random.Below(static_cast<uint32_t>(iters.size())));
      }
    }
    if (HasFatalFailure()) return;
  }
  // Properties agree with the model.
  for (int f = 0; f < 2; ++f) {
    uint64_t bytes = 0;
    for (const auto& [k, v] : model[f]) bytes += k.size() + v.size();
    EXPECT_EQ(property(families[f], KALAM_PROPERTY_ESTIMATE_NUM_KEYS),
              std::to_string(model[f].size()));
    EXPECT_EQ(property(families[f], KALAM_PROPERTY_APPROXIMATE_BYTES),
              std::to_string(bytes));
  }
  iters.clear();
  snapshots.clear();
}

// ---- Generic ABI behaviour the conformance suite does not check (yet) -------
// Candidates for tests/conformance; kept here until the suite has them.

TEST_F(MemoryTest, Generic_NullPointersAndUnknownFlagsAreInvalidArguments) {
  RawStatus status;
  kalam_open_params params{};
  params.struct_size = sizeof params;
  params.path = "/x";
  EXPECT_EQ(vt().open(&params, nullptr, &status), KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(vt().close(nullptr, &status), KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(vt().flush(db_, 1, &status), KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(vt().flush(nullptr, 0, &status), KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(vt().get_property(db_, nullptr, KALAM_PROPERTY_STATS, nullptr,
                              nullptr, &status),
            KALAM_INVALID_ARGUMENT);
  // iter_create: an unknown flag, a NULL bound with a length, no out pointer.
  kalam_iter_options options{};
  options.struct_size = sizeof options;
  options.flags = 1u << 20;
  kalam_iter* it = nullptr;
  EXPECT_EQ(vt().iter_create(db_, &options, nullptr, &it, &status),
            KALAM_INVALID_ARGUMENT);
  options.flags = KALAM_ITER_LOWER_BOUND;
  options.lower_len = 3;
  EXPECT_EQ(vt().iter_create(db_, &options, nullptr, &it, &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(it, nullptr);
  EXPECT_EQ(vt().iter_create(db_, nullptr, nullptr, nullptr, &status),
            KALAM_INVALID_ARGUMENT);
  // A rejected seek is not sticky.
  ASSERT_EQ(put(nullptr, "k", "v"), KALAM_OK);
  Iter ok = iter(nullptr);
  EXPECT_EQ(vt().iter_seek(ok.get(), nullptr, 2, &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(vt().iter_status(ok.get(), &status), KALAM_OK);
  EXPECT_EQ(ok.first(), KALAM_OK);
}

TEST_F(MemoryTest, Generic_StatusIsWrittenOnlyOnErrorAndWithinItsSize) {
  kalam_status status;
  std::memset(&status, 0xAB, sizeof status);
  status.struct_size = offsetof(kalam_status, message) + 8;
  EXPECT_EQ(vt().flush(db_, 7, &status), KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(status.code, KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(status.native_code, 0);
  EXPECT_EQ(std::strlen(status.message), 7u);  // Truncated and terminated.
  EXPECT_EQ(static_cast<unsigned char>(status.message[8]), 0xABu);

  std::memset(&status, 0xAB, sizeof status);
  status.struct_size = offsetof(kalam_status, code);  // Covers nothing.
  EXPECT_EQ(vt().flush(db_, 7, &status), KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(static_cast<unsigned char>(status.message[0]), 0xABu);
  EXPECT_NE(status.code, KALAM_INVALID_ARGUMENT);

  // OK and NOT_FOUND leave it alone.
  std::memset(&status, 0xAB, sizeof status);
  status.struct_size = sizeof status;
  kalam_cf* family = nullptr;
  EXPECT_EQ(vt().cf_open(db_, "missing", 0, &family, &status), KALAM_NOT_FOUND);
  EXPECT_EQ(static_cast<unsigned char>(status.message[0]), 0xABu);
}

TEST_F(MemoryTest, Generic_WriteValidatesOpsAndOptions) {
  kalam_cf* a = cf("a");
  ASSERT_EQ(put(nullptr, "keep", "old"), KALAM_OK);
  RawStatus status;
  // A DELETE of the empty key is refused like a PUT of it.
  EXPECT_EQ(write({Put(nullptr, "keep", "new"), Del(nullptr, "")}, false,
                  sizeof(kalam_write_op), &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_TRUE(Contains(status.message, "empty key")) << status.message;

  kalam_write_op ops[2] = {};
  for (auto& op : ops) {
    op.type = KALAM_OP_PUT;
    op.key = "x";
    op.key_len = 1;
    op.value = "2";
    op.value_len = 1;
  }
  ops[0].cf = a;
  kalam_write_options options{};
  options.struct_size = sizeof options;
  options.op_stride = sizeof(kalam_write_op);
  ops[1].reserved0 = 1;
  EXPECT_EQ(vt().write(db_, &options, ops, 2, &status), KALAM_INVALID_ARGUMENT);
  ops[1].reserved0 = 0;
  ops[1].value = nullptr;  // A NULL value with a length.
  EXPECT_EQ(vt().write(db_, &options, ops, 2, &status), KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(vt().write(db_, nullptr, ops, 1, &status), KALAM_INVALID_ARGUMENT);
  options.flags = 1u << 7;
  EXPECT_EQ(vt().write(db_, &options, ops, 1, &status), KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(value_of(nullptr, "keep"), "old");
  EXPECT_EQ(value_of(a, "x"), std::nullopt);

  // No ops at all, and NULL pointers of length 0 (an empty value, the empty
  // end of a range) are fine.
  options.flags = KALAM_WRITE_SYNC;
  EXPECT_EQ(vt().write(db_, &options, nullptr, 0, &status), KALAM_OK);
  ops[1].value_len = 0;
  EXPECT_EQ(vt().write(db_, &options, &ops[1], 1, &status), KALAM_OK);
  EXPECT_EQ(value_of(nullptr, "x"), "");
  ops[1].type = KALAM_OP_DELETE_RANGE;
  EXPECT_EQ(vt().write(db_, &options, &ops[1], 1, &status), KALAM_OK);
  EXPECT_EQ(value_of(nullptr, "x"), "");
}

TEST_F(MemoryTest, Generic_PointReadEdges) {
  ASSERT_EQ(write({Put(nullptr, "k", "0123456789"), Put(nullptr, "empty", "")}),
            KALAM_OK);
  RawStatus status;
  // A NULL key of length 0 is the empty key: never found.
  std::string value;
  EXPECT_EQ(vt().get(
                db_, nullptr, nullptr, nullptr, 0,
                [](void* ctx, const void* data, size_t n) {
                  static_cast<std::string*>(ctx)->assign(
                      static_cast<const char*>(data), n);
                },
                &value, &status),
            KALAM_NOT_FOUND);
  // get_into: a NULL buffer of size 0 holds an empty value; bytes past the
  // value stay untouched; the length pointer is required.
  size_t len = 99;
  EXPECT_EQ(vt().get_into(db_, nullptr, nullptr, "empty", 5, nullptr, 0, &len,
                          &status),
            KALAM_OK);
  EXPECT_EQ(len, 0u);
  char buf[16];
  std::memset(buf, '#', sizeof buf);
  EXPECT_EQ(vt().get_into(db_, nullptr, nullptr, "k", 1, buf, sizeof buf, &len,
                          &status),
            KALAM_OK);
  EXPECT_EQ(std::string(buf, len), "0123456789");
  EXPECT_EQ(buf[10], '#');
  EXPECT_EQ(vt().get_into(db_, nullptr, nullptr, "k", 1, buf, sizeof buf,
                          nullptr, &status),
            KALAM_INVALID_ARGUMENT);
  // get_into at a snapshot.
  auto snap = snapshot();
  ASSERT_EQ(put(nullptr, "k", "new"), KALAM_OK);
  kalam_read_options ro{};
  ro.struct_size = sizeof ro;
  ro.snapshot = snap->get();
  ASSERT_EQ(
      vt().get_into(db_, &ro, nullptr, "k", 1, buf, sizeof buf, &len, &status),
      KALAM_OK);
  EXPECT_EQ(std::string(buf, len), "0123456789");
}

TEST_F(MemoryTest, Generic_MultiGetEdges) {
  kalam_cf* gone = cf("gone");
  ASSERT_EQ(put(nullptr, "a", "A"), KALAM_OK);
  RawStatus status;
  ASSERT_EQ(vt().cf_drop(db_, gone, &status), KALAM_OK);
  const void* keys[] = {"a", "a"};
  const size_t lens[] = {1, 1};
  std::vector<std::pair<int, std::string>> seen;
  auto visit = [](void* ctx, size_t, int code, const void* v, size_t n) {
    static_cast<std::vector<std::pair<int, std::string>>*>(ctx)->emplace_back(
        code, v != nullptr ? std::string(static_cast<const char*>(v), n) : "");
  };
  // A dropped family is that key's DROPPED, not the call's.
  kalam_cf* const cfs[] = {gone, nullptr};
  ASSERT_EQ(
      vt().multi_get(db_, nullptr, 2, cfs, keys, lens, visit, &seen, &status),
      KALAM_OK);
  EXPECT_EQ(seen, (std::vector<std::pair<int, std::string>>{{KALAM_DROPPED, ""},
                                                            {KALAM_OK, "A"}}));
  // cfs NULL: all in the default family; count 0 is a no-op.
  seen.clear();
  ASSERT_EQ(vt().multi_get(db_, nullptr, 2, nullptr, keys, lens, visit, &seen,
                           &status),
            KALAM_OK);
  EXPECT_EQ(seen, (std::vector<std::pair<int, std::string>>{{KALAM_OK, "A"},
                                                            {KALAM_OK, "A"}}));
  seen.clear();
  EXPECT_EQ(vt().multi_get(db_, nullptr, 0, nullptr, nullptr, nullptr, visit,
                           &seen, &status),
            KALAM_OK);
  EXPECT_TRUE(seen.empty());
}

TEST_F(MemoryTest, Generic_DroppedFamilyEverywhere) {
  kalam_cf* doomed = cf("doomed");
  ASSERT_EQ(put(doomed, "k", "v"), KALAM_OK);
  RawStatus status;
  ASSERT_EQ(vt().cf_drop(db_, doomed, &status), KALAM_OK) << status.text();
  std::string value;
  kalam_read_options ro{};
  ro.struct_size = sizeof ro;
  EXPECT_EQ(vt().get(
                db_, &ro, doomed, "k", 1, [](void*, const void*, size_t) {},
                nullptr, &status),
            KALAM_DROPPED);
  EXPECT_TRUE(Contains(status.message, "doomed")) << status.message;
  char buf[4];
  size_t len = 0;
  EXPECT_EQ(vt().get_into(db_, nullptr, doomed, "k", 1, buf, sizeof buf, &len,
                          &status),
            KALAM_DROPPED);
  EXPECT_EQ(property_code(doomed, KALAM_PROPERTY_ESTIMATE_NUM_KEYS),
            KALAM_DROPPED);
  kalam_iter* it = reinterpret_cast<kalam_iter*>(0x1);
  EXPECT_EQ(vt().iter_create(db_, nullptr, doomed, &it, &status),
            KALAM_DROPPED);
  EXPECT_EQ(it, reinterpret_cast<kalam_iter*>(0x1));
  // The name again: a new handle; the old one stays dropped.
  kalam_cf* again = cf("doomed");
  EXPECT_NE(again, doomed);
  EXPECT_EQ(kalam_code_name(get(doomed, "k", &value)),
            kalam_code_name(KALAM_DROPPED));
}

TEST_F(MemoryTest, Generic_IteratorEdges) {
  for (const char* k : {"b", "d", "f", "h"}) {
    ASSERT_EQ(put(nullptr, k, std::string("v") + k), KALAM_OK);
  }
  Iter it = iter(nullptr, {.lower = ""});  // An empty bound is fine.
  EXPECT_EQ(it.prev(), KALAM_NOT_FOUND) << "unpositioned";
  ASSERT_EQ(it.seek(""), KALAM_OK);
  EXPECT_EQ(it.key(), "b");
  EXPECT_EQ(it.seek_for_prev(""), KALAM_NOT_FOUND);
  ASSERT_EQ(it.last(), KALAM_OK);
  EXPECT_EQ(it.next(), KALAM_NOT_FOUND);
  EXPECT_EQ(it.prev(), KALAM_NOT_FOUND) << "unpositioned stays so";
  Iter bounded = iter(nullptr, {.lower = "c", .upper = "g"});
  ASSERT_EQ(bounded.seek_for_prev("g"), KALAM_OK);  // Upper is exclusive.
  EXPECT_EQ(bounded.key(), "f");
  EXPECT_EQ(bounded.seek_for_prev("c"), KALAM_NOT_FOUND);
  // Empty and crossed bounds find nothing backwards either.
  for (const auto& [lower, upper] :
       std::vector<std::pair<std::string, std::string>>{{"d", "d"},
                                                        {"f", "d"}}) {
    Iter empty = iter(nullptr, {.lower = lower, .upper = upper});
    EXPECT_EQ(empty.last(), KALAM_NOT_FOUND);
    EXPECT_EQ(empty.seek("e"), KALAM_NOT_FOUND);
    EXPECT_EQ(empty.seek_for_prev("e"), KALAM_NOT_FOUND);
  }
}

TEST_F(MemoryTest, Generic_NextBatchEdges) {
  for (const char* k : {"b", "d", "f", "h"}) {
    ASSERT_EQ(put(nullptr, k, std::string("v") + k), KALAM_OK);
  }
  Iter it = iter(nullptr);
  ASSERT_EQ(it.first(), KALAM_OK);
  size_t consumed = 99;
  auto refuse_all = [](void*, const void*, size_t, const void*, size_t) {
    return 1;
  };
  auto accept = [](void*, const void*, size_t, const void*, size_t) {
    return 0;
  };
  // Refusing the first entry consumes nothing and does not move.
  EXPECT_EQ(vt().iter_next_batch(it.get(), 0, 10, refuse_all, nullptr,
                                 &consumed, &it.status),
            KALAM_OK);
  EXPECT_EQ(consumed, 0u);
  EXPECT_EQ(it.key(), "b");
  // max_entries 0: nothing consumed, still positioned.
  consumed = 99;
  EXPECT_EQ(vt().iter_next_batch(it.get(), 0, 0, accept, nullptr, &consumed,
                                 &it.status),
            KALAM_OK);
  EXPECT_EQ(consumed, 0u);
  EXPECT_EQ(it.key(), "b");
  // A reverse batch that refuses its second entry.
  ASSERT_EQ(it.last(), KALAM_OK);
  int calls = 0;
  EXPECT_EQ(vt().iter_next_batch(
                it.get(), KALAM_BATCH_REVERSE, 10,
                [](void* ctx, const void*, size_t, const void*, size_t) {
                  return ++*static_cast<int*>(ctx) == 2 ? 1 : 0;
                },
                &calls, &consumed, &it.status),
            KALAM_OK);
  EXPECT_EQ(consumed, 1u);
  EXPECT_EQ(it.key(), "f");
  // Unpositioned: nothing visited.
  EXPECT_EQ(it.seek("z"), KALAM_NOT_FOUND);
  consumed = 99;
  EXPECT_EQ(vt().iter_next_batch(it.get(), 0, 10, accept, nullptr, &consumed,
                                 &it.status),
            KALAM_NOT_FOUND);
  EXPECT_EQ(consumed, 0u);
  // Bad arguments still write *consumed.
  ASSERT_EQ(it.first(), KALAM_OK);
  consumed = 99;
  RawStatus status;
  EXPECT_EQ(vt().iter_next_batch(it.get(), 0, 1, nullptr, nullptr, &consumed,
                                 &status),
            KALAM_INVALID_ARGUMENT);
  EXPECT_EQ(consumed, 0u);
}

}  // namespace
}  // namespace kalam::conformance
