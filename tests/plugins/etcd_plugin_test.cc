// What is special about the etcd plugin (kalam_etcd.so), through the raw C
// ABI and the conformance harness (RawDatabase), against real throwaway
// clusters (tests/support/etcd_cluster.h, one per test): options, etcd's
// per-txn limits and its refusal of duplicate keys, compaction, the leader
// killed mid-workload, quorum lost and restored, the space quota, password
// authentication and TLS. Behaviour every plugin shares is tested by the
// conformance suite (conformance_runner_passes_etcd).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "conformance.h"
#include "etcd_cluster.h"

namespace kalam::conformance {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;
using Options = std::map<std::string, std::string>;

std::string code(int rc) { return kalam_code_name(rc); }

class EtcdTest : public ::testing::Test, public RawDatabase {
 public:
  void TearDown() override {
    close_db();
    cluster_.reset();
  }

  // Starts this test's cluster.
  void start_cluster(test::EtcdClusterOptions options = {}) {
    cluster_ = std::make_unique<test::EtcdCluster>(std::move(options));
  }
  BackendUnderTest backend(Options extra = {}) const {
    Options options = {{"endpoints", cluster_->endpoints()},
                       {"timeout_ms", "3000"}};
    for (auto& [k, v] : extra) options[k] = v;
    return {"etcd", KALAM_TEST_PLUGIN_ETCD_PATH, options};
  }
  // open() with exactly `options` (no defaults), at a fresh path.
  int open_raw(const Options& options, kalam_db** db, RawStatus* status) {
    std::vector<const char*> keys, values;
    for (const auto& [k, v] : options) {
      keys.push_back(k.c_str());
      values.push_back(v.c_str());
    }
    const std::string path =
        (db_path().parent_path() / ("raw" + std::to_string(++raw_opens_)))
            .string();
    kalam_open_params params{};
    params.struct_size = sizeof params;
    params.flags = KALAM_OPEN_CREATE_IF_MISSING;
    params.path = path.c_str();
    params.option_keys = keys.data();
    params.option_values = values.data();
    params.option_count = keys.size();
    return vt().open(&params, db, status);
  }
  // The cluster's current revision (etcdctl).
  int64_t revision() {
    std::string out;
    EXPECT_EQ(
        cluster_->etcdctl({"get", "kalam-no-such-key", "-w", "json"}, &out), 0)
        << out;
    std::smatch m;
    const std::regex re("\"revision\":([0-9]+)");
    if (!std::regex_search(out, m, re)) return 0;
    return std::stoll(m[1]);
  }
  int put_status(std::string_view key, std::string_view value,
                 RawStatus* status) {
    return write({Put(nullptr, std::string(key), std::string(value))}, false,
                 sizeof(kalam_write_op), status);
  }

  std::unique_ptr<test::EtcdCluster> cluster_;
  int raw_opens_ = 0;
};

// ---- Options
// -----------------------------------------------------------------

TEST_F(EtcdTest, OptionsAreCheckedAndUnknownKeysRefused) {
  start_cluster();
  ASSERT_TRUE(start(backend()));
  kalam_db* db = nullptr;
  RawStatus status;
  EXPECT_EQ(
      code(open_raw({{"endpoints", cluster_->endpoints()}, {"endpoint", "x"}},
                    &db, &status)),
      code(KALAM_INVALID_ARGUMENT));
  EXPECT_THAT(status.text(), HasSubstr("unknown option 'endpoint'"));
  EXPECT_EQ(code(open_raw({{"timeout_ms", "100"}}, &db, &status)),
            code(KALAM_INVALID_ARGUMENT));
  EXPECT_THAT(status.text(), HasSubstr("'endpoints' is required"));
  EXPECT_EQ(code(open_raw({{"endpoints", "http://127.0.0.1:1"}}, &db, &status)),
            code(KALAM_INVALID_ARGUMENT));
  EXPECT_THAT(status.text(), HasSubstr("without a scheme"));
  EXPECT_EQ(code(open_raw({{"endpoints", cluster_->endpoints()},
                           {"read_consistency", "eventual"}},
                          &db, &status)),
            code(KALAM_INVALID_ARGUMENT));
  EXPECT_THAT(status.text(), HasSubstr("linearizable or serializable"));
  EXPECT_EQ(
      code(open_raw({{"endpoints", cluster_->endpoints()}, {"username", "u"}},
                    &db, &status)),
      code(KALAM_INVALID_ARGUMENT));
  EXPECT_THAT(status.text(), HasSubstr("give both or neither"));

  // A refused first endpoint: the next one serves; none: UNAVAILABLE
  // within timeout_ms.
  ASSERT_EQ(
      code(open_raw({{"endpoints", "127.0.0.1:1," + cluster_->endpoint(1)},
                     {"timeout_ms", "3000"}},
                    &db, &status)),
      code(KALAM_OK))
      << status.text();
  ASSERT_EQ(vt().close(db, &status), KALAM_OK);
  const auto t0 = Clock::now();
  EXPECT_EQ(code(open_raw({{"endpoints", "127.0.0.1:1,127.0.0.1:2"},
                           {"timeout_ms", "800"}},
                          &db, &status)),
            code(KALAM_UNAVAILABLE));
  EXPECT_LT(Clock::now() - t0, std::chrono::milliseconds(800 + 1000));
  EXPECT_THAT(status.text(), HasSubstr("127.0.0.1:1,127.0.0.1:2"));

  // Two namespaces on one cluster do not see each other.
  ASSERT_EQ(put(nullptr, "k", "mine"), KALAM_OK);
  ASSERT_EQ(code(open_raw(
                {{"endpoints", cluster_->endpoints()}, {"namespace", "other/"}},
                &db, &status)),
            code(KALAM_OK));
  std::string value;
  EXPECT_EQ(code(vt().get(
                db, nullptr, nullptr, "k", 1, [](void*, const void*, size_t) {},
                &value, &status)),
            code(KALAM_NOT_FOUND));
  ASSERT_EQ(vt().close(db, &status), KALAM_OK);
}

// ---- etcd's txn rules ------------------------------------------------------

TEST_F(EtcdTest, OverTheTxnLimitsIsTooLargeWithNothingApplied) {
  start_cluster();
  ASSERT_TRUE(start(backend()));
  kalam_limits limits{};
  limits.struct_size = sizeof limits;
  RawStatus status;
  ASSERT_EQ(vt().get_limits(db_, &limits, &status), KALAM_OK);
  EXPECT_EQ(limits.max_write_ops, 128u);
  EXPECT_GT(limits.max_write_bytes, 1400u * 1024);
  EXPECT_LE(limits.max_write_bytes, 1536u * 1024);

  std::vector<Op> ops;
  for (int i = 0; i < 129; ++i) {
    ops.push_back(Put(nullptr, "op" + std::to_string(1000 + i), "v"));
  }
  EXPECT_EQ(code(write(ops, false, sizeof(kalam_write_op), &status)),
            code(KALAM_TOO_LARGE));
  EXPECT_THAT(status.text(), HasSubstr("129 ops"));
  EXPECT_TRUE(scan(nullptr).empty());
  ops.pop_back();
  EXPECT_EQ(code(write(ops)), code(KALAM_OK));
  EXPECT_EQ(scan(nullptr).size(), 128u);

  // Over 1.5 MiB in two values that are each within max_value_size.
  const std::string big(800 * 1024, 'x');
  EXPECT_EQ(code(write({Put(nullptr, "big1", big), Put(nullptr, "big2", big)},
                       false, sizeof(kalam_write_op), &status)),
            code(KALAM_TOO_LARGE));
  EXPECT_THAT(status.text(), HasSubstr("nothing was applied"));
  EXPECT_EQ(value_of(nullptr, "big1"), std::nullopt);
  EXPECT_EQ(value_of(nullptr, "big2"), std::nullopt);
  EXPECT_EQ(code(write({Put(nullptr, "big1", big)})), code(KALAM_OK));
}

TEST_F(EtcdTest, BatchesEtcdWouldRefuseAreCollapsedIntoOneTxn) {
  start_cluster();
  ASSERT_TRUE(start(backend()));
  ASSERT_EQ(write({Put(nullptr, "a1", "old"), Put(nullptr, "a5", "old"),
                   Put(nullptr, "a7", "old"), Put(nullptr, "z", "keep")}),
            KALAM_OK);
  // One key put twice, a put inside its own earlier delete range, a delete
  // then a put of the same key, a put then a covering delete range.
  const int64_t before = revision();
  ASSERT_EQ(code(write({Put(nullptr, "k", "1"), Put(nullptr, "k", "2"),
                        Put(nullptr, "a3", "gone"), DelRange(nullptr, "a", "b"),
                        Put(nullptr, "a5", "new"), Del(nullptr, "a6"),
                        Put(nullptr, "a6", "six"), Del(nullptr, "k2"),
                        DelRange(nullptr, "a9", "a8")})),
            code(KALAM_OK));
  const KV expected = {{"a5", "new"}, {"a6", "six"}, {"k", "2"}, {"z", "keep"}};
  EXPECT_EQ(scan(nullptr), expected);
  // ... in exactly one txn: one revision.
  EXPECT_EQ(revision(), before + 1);
}

// ---- Snapshots and compaction
// ---------------------------------------------------

TEST_F(EtcdTest, CompactedSnapshotIsSnapshotTooOld) {
  start_cluster();
  ASSERT_TRUE(start(backend()));
  ASSERT_EQ(put(nullptr, "a", "1"), KALAM_OK);
  auto snap = snapshot();
  ASSERT_EQ(put(nullptr, "a", "2"), KALAM_OK);
  EXPECT_EQ(value_of(nullptr, "a", snap->get()), "1");
  Iter before = iter(nullptr, {.snapshot = snap->get()});
  std::string out;
  ASSERT_EQ(cluster_->etcdctl({"compaction", std::to_string(revision())}, &out),
            0)
      << out;
  std::string value;
  RawStatus status;
  EXPECT_EQ(code(vt().get(
                db_, nullptr, nullptr, "a", 1,
                [](void*, const void*, size_t) {}, nullptr, &status)),
            code(KALAM_OK));
  kalam_read_options ro{};
  ro.struct_size = sizeof ro;
  ro.snapshot = snap->get();
  EXPECT_EQ(code(vt().get(
                db_, &ro, nullptr, "a", 1, [](void*, const void*, size_t) {},
                nullptr, &status)),
            code(KALAM_SNAPSHOT_TOO_OLD));
  EXPECT_THAT(status.text(), HasSubstr("take a new snapshot"));
  EXPECT_EQ(code(before.first()), code(KALAM_SNAPSHOT_TOO_OLD));
  EXPECT_EQ(code(before.first()), code(KALAM_SNAPSHOT_TOO_OLD));  // sticky
  auto fresh = snapshot();
  EXPECT_EQ(value_of(nullptr, "a", fresh->get()), "2");
}

// ---- Failures
// -------------------------------------------------------------------

// SIGKILL of the leader in the middle of a write workload: writes resume
// within 5 s, every acknowledged write is there, every OUTCOME_UNKNOWN write
// reads back as applied or not (never an error), and the member, restarted,
// catches up.
TEST_F(EtcdTest, LeaderKilledMidWorkloadLosesNoAcknowledgedWrite) {
  start_cluster();
  const int leader = cluster_->leader();
  ASSERT_GE(leader, 0);
  // The leader first, so the plugin is connected to the member that dies.
  std::string endpoints = cluster_->endpoint(leader);
  for (int i = 0; i < cluster_->size(); ++i) {
    if (i != leader) endpoints += "," + cluster_->endpoint(i);
  }
  ASSERT_TRUE(
      start(backend({{"endpoints", endpoints}, {"timeout_ms", "2000"}})));
  std::vector<std::string> acked, unknown;
  std::map<int, int> other_codes;
  Clock::time_point killed_at{}, resumed_at{};
  const auto deadline = Clock::now() + std::chrono::seconds(90);
  for (int i = 0; i < 300 && Clock::now() < deadline; ++i) {
    if (i == 100) {
      cluster_->kill(leader, SIGKILL);
      killed_at = Clock::now();
    }
    const std::string key = "w" + std::to_string(10000 + i);
    RawStatus status;
    const int rc = put_status(key, "v" + key, &status);
    if (rc == KALAM_OK) {
      acked.push_back(key);
      if (i >= 100 && resumed_at == Clock::time_point{}) {
        resumed_at = Clock::now();
      }
    } else if (rc == KALAM_OUTCOME_UNKNOWN) {
      unknown.push_back(key);
      EXPECT_THAT(status.text(), HasSubstr("may or may not have been applied"));
    } else {
      ++other_codes[rc];
      EXPECT_THAT(code(rc),
                  AnyOf(code(KALAM_UNAVAILABLE), code(KALAM_TIMED_OUT)))
          << status.text();
    }
  }
  int others = 0;
  for (const auto& [rc, n] : other_codes) others += n;
  std::printf(
      "leader %d killed after 100 writes: %zu acknowledged, %zu "
      "OUTCOME_UNKNOWN, %d UNAVAILABLE/TIMED_OUT; first write after the "
      "kill acknowledged %lld ms after it\n",
      leader, acked.size(), unknown.size(), others,
      static_cast<long long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(resumed_at -
                                                                killed_at)
              .count()));
  ASSERT_NE(resumed_at, Clock::time_point{}) << "writes never resumed";
  EXPECT_LT(resumed_at - killed_at, std::chrono::seconds(5));
  EXPECT_GE(acked.size(), 250u);
  for (const std::string& key : acked) {
    EXPECT_EQ(value_of(nullptr, key), "v" + key) << key;
  }
  for (const std::string& key : unknown) {
    std::string value;
    const int rc = get(nullptr, key, &value);
    EXPECT_THAT(code(rc), AnyOf(code(KALAM_OK), code(KALAM_NOT_FOUND))) << key;
    if (rc == KALAM_OK) {
      EXPECT_EQ(value, "v" + key);
    }
  }
  // The killed member restarts and catches up: read it alone, serializably.
  cluster_->restart(leader);
  ASSERT_TRUE(cluster_->wait_healthy(std::chrono::seconds(30)));
  kalam_db* alone = nullptr;
  RawStatus status;
  ASSERT_EQ(code(open_at(db_path(), &alone, 0,
                         {{"endpoints", cluster_->endpoint(leader)},
                          {"read_consistency", "serializable"}},
                         &status)),
            code(KALAM_OK))
      << status.text();
  const std::string last = acked.back();
  int rc = KALAM_NOT_FOUND;
  const auto catch_up = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < catch_up) {
    rc = vt().get(
        alone, nullptr, nullptr, last.data(), last.size(),
        [](void*, const void*, size_t) {}, nullptr, &status);
    if (rc == KALAM_OK) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(code(rc), code(KALAM_OK)) << status.text();
  for (const std::string& key : acked) {
    EXPECT_EQ(code(vt().get(
                  alone, nullptr, nullptr, key.data(), key.size(),
                  [](void*, const void*, size_t) {}, nullptr, &status)),
              code(KALAM_OK))
        << key;
  }
  ASSERT_EQ(vt().close(alone, &status), KALAM_OK);
}

// Two of three members killed: no quorum. Writes and linearizable reads
// fail within timeout_ms with UNAVAILABLE or TIMED_OUT; serializable reads
// from the survivor still work; quorum restored, everything works.
TEST_F(EtcdTest, QuorumLostIsUnavailableWithinTheTimeoutThenRecovers) {
  start_cluster();
  ASSERT_TRUE(start(backend({{"timeout_ms", "1500"}})));
  ASSERT_EQ(put(nullptr, "before", "1"), KALAM_OK);
  cluster_->kill(1, SIGKILL);
  cluster_->kill(2, SIGKILL);
  // The survivor notices within an election timeout (1 s) that it has no
  // leader; before that a write may still be in flight (OUTCOME_UNKNOWN).
  std::this_thread::sleep_for(std::chrono::seconds(3));
  for (int i = 0; i < 3; ++i) {
    RawStatus status;
    const auto t0 = Clock::now();
    const int rc = put_status("during" + std::to_string(i), "x", &status);
    const auto took = Clock::now() - t0;
    EXPECT_THAT(code(rc), AnyOf(code(KALAM_UNAVAILABLE), code(KALAM_TIMED_OUT)))
        << status.text();
    EXPECT_LT(took, std::chrono::milliseconds(1500 + 1000));
    const auto t1 = Clock::now();
    std::string value;
    const int read = get(nullptr, "before", &value);
    EXPECT_THAT(code(read),
                AnyOf(code(KALAM_UNAVAILABLE), code(KALAM_TIMED_OUT)));
    EXPECT_LT(Clock::now() - t1, std::chrono::milliseconds(1500 + 1000));
  }
  kalam_db* serial = nullptr;
  RawStatus status;
  ASSERT_EQ(code(open_at(db_path(), &serial, 0,
                         {{"endpoints", cluster_->endpoint(0)},
                          {"read_consistency", "serializable"}},
                         &status)),
            code(KALAM_OK))
      << status.text();
  std::string value;
  EXPECT_EQ(code(vt().get(
                serial, nullptr, nullptr, "before", 6,
                [](void* c, const void* v, size_t n) {
                  static_cast<std::string*>(c)->assign(
                      static_cast<const char*>(v), n);
                },
                &value, &status)),
            code(KALAM_OK))
      << status.text();
  EXPECT_EQ(value, "1");
  ASSERT_EQ(vt().close(serial, &status), KALAM_OK);

  cluster_->restart(1);
  cluster_->restart(2);
  ASSERT_TRUE(cluster_->wait_healthy(std::chrono::seconds(30)));
  int rc = KALAM_UNAVAILABLE;
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (rc != KALAM_OK && Clock::now() < deadline) {
    rc = put_status("after", "2", &status);
  }
  EXPECT_EQ(code(rc), code(KALAM_OK)) << status.text();
  EXPECT_EQ(value_of(nullptr, "after"), "2");
  EXPECT_EQ(value_of(nullptr, "before"), "1");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(value_of(nullptr, "during" + std::to_string(i)), std::nullopt);
  }
}

TEST_F(EtcdTest, SpaceQuotaIsNoSpaceWithTheStepsToRecover) {
  start_cluster(
      {.extra_flags = {"--quota-backend-bytes=" + std::to_string(4 << 20)}});
  ASSERT_TRUE(start(backend()));
  const std::string value(256 * 1024, 'q');
  int rc = KALAM_OK;
  RawStatus status;
  int written = 0;
  for (int i = 0; i < 200 && rc == KALAM_OK; ++i) {
    rc = put_status("fill" + std::to_string(i), value, &status);
    if (rc == KALAM_OK) ++written;
  }
  ASSERT_EQ(code(rc), code(KALAM_NO_SPACE)) << status.text();
  EXPECT_THAT(status.text(), HasSubstr("etcdctl alarm disarm"));
  EXPECT_THAT(status.text(), HasSubstr("etcdctl defrag"));
  // Once the alarm is up, a write is refused and not applied.
  EXPECT_EQ(code(put_status("late", "x", &status)), code(KALAM_NO_SPACE));
  EXPECT_EQ(value_of(nullptr, "late"), std::nullopt);
  EXPECT_EQ(value_of(nullptr, "fill0"), value);
  EXPECT_GT(written, 0);
}

// ---- Authentication
// ---------------------------------------------------------------

TEST_F(EtcdTest, PasswordAuthWorksWithRightCredentialsOnly) {
  start_cluster();
  std::string out;
  ASSERT_EQ(cluster_->etcdctl({"user", "add", "root:rootpw"}, &out), 0) << out;
  ASSERT_EQ(cluster_->etcdctl({"user", "add", "app:apppw"}, &out), 0) << out;
  ASSERT_EQ(cluster_->etcdctl({"role", "add", "app"}, &out), 0) << out;
  ASSERT_EQ(cluster_->etcdctl({"role", "grant-permission", "app", "--prefix",
                               "readwrite", "app/"},
                              &out),
            0)
      << out;
  ASSERT_EQ(cluster_->etcdctl({"user", "grant-role", "app", "app"}, &out), 0)
      << out;
  ASSERT_EQ(cluster_->etcdctl({"auth", "enable"}, &out), 0) << out;
  cluster_->set_etcdctl_user("root:rootpw");

  ASSERT_TRUE(start(backend(
      {{"username", "app"}, {"password", "apppw"}, {"namespace", "app/db/"}})));
  ASSERT_EQ(put(nullptr, "k", "v"), KALAM_OK);
  EXPECT_EQ(value_of(nullptr, "k"), "v");

  kalam_db* db = nullptr;
  RawStatus status;
  EXPECT_EQ(code(open_raw({{"endpoints", cluster_->endpoints()},
                           {"namespace", "app/db/"},
                           {"username", "app"},
                           {"password", "wrong"}},
                          &db, &status)),
            code(KALAM_IO_ERROR));
  EXPECT_THAT(status.text(), HasSubstr("refused user 'app'"));
  EXPECT_EQ(code(open_raw({{"endpoints", cluster_->endpoints()},
                           {"namespace", "app/db/"}},
                          &db, &status)),
            code(KALAM_IO_ERROR));
  EXPECT_THAT(status.text(),
              HasSubstr("set the options username and password"));
  // Outside its role's prefix: a clear permission error.
  EXPECT_EQ(code(open_raw({{"endpoints", cluster_->endpoints()},
                           {"namespace", "other/"},
                           {"username", "app"},
                           {"password", "apppw"}},
                          &db, &status)),
            code(KALAM_IO_ERROR));
  EXPECT_THAT(status.text(), HasSubstr("lacks a read-write role"));
}

TEST_F(EtcdTest, TlsWorksWithTheRightCertificatesOnly) {
  start_cluster({.tls = true, .client_cert_auth = true});
  ASSERT_TRUE(start(backend({{"ca_file", cluster_->ca_file()},
                             {"cert_file", cluster_->client_cert_file()},
                             {"key_file", cluster_->client_key_file()}})));
  ASSERT_EQ(put(nullptr, "k", "v"), KALAM_OK);
  EXPECT_EQ(value_of(nullptr, "k"), "v");

  kalam_db* db = nullptr;
  RawStatus status;
  // Plain text to a TLS cluster.
  EXPECT_EQ(code(open_raw(
                {{"endpoints", cluster_->endpoints()}, {"timeout_ms", "1500"}},
                &db, &status)),
            code(KALAM_UNAVAILABLE));
  EXPECT_THAT(status.text(),
              HasSubstr("TLS is on exactly when ca_file is set"));
  // TLS without the client certificate the cluster requires.
  EXPECT_EQ(code(open_raw({{"endpoints", cluster_->endpoints()},
                           {"timeout_ms", "1500"},
                           {"ca_file", cluster_->ca_file()}},
                          &db, &status)),
            code(KALAM_UNAVAILABLE));
  // A CA that did not sign the servers' certificates.
  EXPECT_EQ(code(open_raw({{"endpoints", cluster_->endpoints()},
                           {"timeout_ms", "1500"},
                           {"ca_file", cluster_->client_cert_file()},
                           {"cert_file", cluster_->client_cert_file()},
                           {"key_file", cluster_->client_key_file()}},
                          &db, &status)),
            code(KALAM_UNAVAILABLE));
  // An unreadable file is named.
  EXPECT_EQ(code(open_raw({{"endpoints", cluster_->endpoints()},
                           {"ca_file", "/nonexistent/ca.pem"}},
                          &db, &status)),
            code(KALAM_INVALID_ARGUMENT));
  EXPECT_THAT(status.text(), HasSubstr("/nonexistent/ca.pem"));
}

}  // namespace
}  // namespace kalam::conformance
