// Thread-safe handles: concurrent readers and writers lose nothing and see
// no torn values.
#include <gmock/gmock.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "conformance.h"

namespace kalam::conformance {
namespace {

// A value that proves it is whole: its key repeated, then a checksum byte.
std::string make_value(const std::string& key, int version) {
  std::string v;
  for (int i = 0; i < 20; ++i) v += key + ":" + std::to_string(version) + ";";
  unsigned char sum = 0;
  for (char c : v) sum = static_cast<unsigned char>(sum + c);
  v.push_back(static_cast<char>(sum));
  return v;
}

bool is_whole(const std::string& v) {
  if (v.empty()) return false;
  unsigned char sum = 0;
  for (size_t i = 0; i + 1 < v.size(); ++i) {
    sum = static_cast<unsigned char>(sum + v[i]);
  }
  return static_cast<unsigned char>(v.back()) == sum;
}

TEST_P(Conformance, Concurrency_ReadersAndWritersLoseNothing) {
  KALAM_REQUIRE(KALAM_CAP_THREAD_SAFE);
  constexpr int kWriters = 3, kKeysPerWriter = 200, kVersions = 3;
  kalam_cf* family = cf("shared");
  std::atomic<bool> done{false};
  std::atomic<int> torn{0}, failed{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int version = 0; version < kVersions; ++version) {
        for (int i = 0; i < kKeysPerWriter; i += 2) {
          const std::string a =
              "w" + std::to_string(w) + "k" + std::to_string(i);
          const std::string b =
              "w" + std::to_string(w) + "k" + std::to_string(i + 1);
          if (write({Put(family, a, make_value(a, version)),
                     Put(family, b, make_value(b, version))}) != KALAM_OK) {
            ++failed;
          }
        }
      }
    });
  }
  threads.emplace_back([&] {
    while (!done) {
      Iter it = iter(family);
      for (int rc = it.first(); rc == KALAM_OK; rc = it.next()) {
        if (!is_whole(it.value())) ++torn;
      }
      std::string v;
      if (get(family, "w0k0", &v) == KALAM_OK && !is_whole(v)) ++torn;
    }
  });
  for (int w = 0; w < kWriters; ++w) threads[w].join();
  done = true;
  threads.back().join();
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(torn, 0);
  KV all = scan(family);
  ASSERT_EQ(all.size(), static_cast<size_t>(kWriters * kKeysPerWriter));
  for (const auto& [k, v] : all) EXPECT_EQ(v, make_value(k, kVersions - 1));
}

TEST_P(Conformance, Concurrency_FamiliesCreatedFromManyThreads) {
  KALAM_REQUIRE(KALAM_CAP_THREAD_SAFE);
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        kalam_cf* handle = nullptr;
        RawStatus status;
        const std::string name =
            "t" + std::to_string(t) + "_" + std::to_string(i);
        if (vt().cf_open(db_, name.c_str(), KALAM_CF_CREATE_IF_MISSING, &handle,
                         &status) != KALAM_OK ||
            put(handle, "k", name) != KALAM_OK) {
          ++failed;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(list_families().size(), 21u);
}

// A thread that reads, waits and reads again sees every write another thread
// completed in between, in an existing family and in one created meanwhile,
// whatever the plugin keeps between a thread's reads (a cached read
// transaction, a pooled connection).
TEST_P(Conformance, Concurrency_ReaderThreadSeesEachCompletedWrite) {
  KALAM_REQUIRE(KALAM_CAP_THREAD_SAFE);
  constexpr int kRounds = 200;
  std::mutex mu;
  std::condition_variable cv;
  int written = -1;  // the round the writer finished
  int checked = -1;  // the round the reader verified
  kalam_cf* later = nullptr;
  std::vector<std::string> errors;
  std::thread reader([&] {
    for (int round = 0; round < kRounds; ++round) {
      kalam_cf* family = nullptr;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return written >= round; });
        family = later;
      }
      const std::string want = std::to_string(round);
      std::string got;
      int rc = get(nullptr, "k", &got);
      if (rc != KALAM_OK || got != want) {
        errors.push_back("round " + want + ": default family gave " +
                         code_name(rc) + " '" + got + "'");
      }
      if (family != nullptr) {
        rc = get(family, "k", &got);
        if (rc != KALAM_OK || got != want) {
          errors.push_back("round " + want + ": family 'later' gave " +
                           code_name(rc) + " '" + got + "'");
        }
      }
      // A read of an absent key in between, as a busy reader would do.
      if (get(nullptr, "absent", &got) != KALAM_NOT_FOUND) {
        errors.push_back("round " + want + ": 'absent' was found");
      }
      std::lock_guard lock(mu);
      checked = round;
      cv.notify_all();
    }
  });
  for (int round = 0; round < kRounds; ++round) {
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return checked == round - 1; });
    }
    // EXPECT, not ASSERT: the reader thread must be joined either way.
    const std::string value = std::to_string(round);
    EXPECT_EQ(code_name(put(nullptr, "k", value)), code_name(KALAM_OK));
    kalam_cf* family = later;
    if (round == kRounds / 2) family = cf("later");
    if (family != nullptr) {
      EXPECT_EQ(code_name(put(family, "k", value)), code_name(KALAM_OK));
    }
    std::lock_guard lock(mu);
    later = family;
    written = round;
    cv.notify_all();
  }
  reader.join();
  EXPECT_THAT(errors, ::testing::IsEmpty());
}

// Many threads reading one key while another overwrites it: every read sees
// a whole value no older than the last write completed before it began.
TEST_P(Conformance, Concurrency_ManyReadersNeverSeeAnOlderValue) {
  KALAM_REQUIRE(KALAM_CAP_THREAD_SAFE);
  constexpr int kReaders = 4, kWrites = 300;
  ASSERT_EQ(code_name(put(nullptr, "k", make_value("k", 0))),
            code_name(KALAM_OK));
  std::atomic<int> completed{0};  // the last version whose put returned
  std::atomic<bool> done{false};
  std::atomic<int> stale{0}, torn{0}, failed{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&] {
      while (!done) {
        const int floor = completed.load();
        std::string v;
        if (get(nullptr, "k", &v) != KALAM_OK) {
          ++failed;
          continue;
        }
        if (!is_whole(v)) {
          ++torn;
          continue;
        }
        // make_value("k", n) starts "k:<n>;".
        const int version = std::stoi(v.substr(2, v.find(';') - 2));
        if (version < floor) ++stale;
      }
    });
  }
  for (int version = 1; version <= kWrites; ++version) {
    if (put(nullptr, "k", make_value("k", version)) != KALAM_OK) {
      ADD_FAILURE() << "put of version " << version << " failed";
      break;  // the readers must be joined either way
    }
    completed = version;
  }
  done = true;
  for (auto& thread : readers) thread.join();
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(torn, 0);
  EXPECT_EQ(stale, 0);
  EXPECT_EQ(value_of(nullptr, "k"), make_value("k", kWrites));
}

}  // namespace
}  // namespace kalam::conformance
