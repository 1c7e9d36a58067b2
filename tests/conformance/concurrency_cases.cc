// Thread-safe handles: concurrent readers and writers lose nothing and see
// no torn values.
#include <atomic>
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

}  // namespace
}  // namespace kalam::conformance
