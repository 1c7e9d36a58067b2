// kalam-etcd-bench-native / kalam-etcd-bench-plugin: the etcd plugin next to
// the same gRPC calls made without the engine (bench/etcd/README.md).
//
//   kalam-etcd-bench-<mode> --endpoints host:port,... [--seconds S]
//       [--threads 1,4,16] [--keys N] [--workloads put,batch100,get,scan]
//       [--plugin-dir DIR]
//
// One binary per mode: etcd's generated protobuf code registers itself in
// libprotobuf's global descriptor pool, so a process that holds it (native)
// cannot also load kalam_etcd.so, which holds its own copy.
//
// Workloads, each for --seconds per thread count, every thread its own
// keys: put (one key per write: one etcd Txn with one put), batch100 (100
// keys per write: one Txn), get (random existing keys, linearizable Range)
// and scan (the loaded set, bounds pushed down, Range pages of 1000 at one
// revision). Prints one TSV line per (workload, threads): ops/s (entries/s
// for scan), p50 and p99 latency of one op in microseconds.
//
// The native side makes exactly the requests the plugin makes: keys under a
// namespace of the plugin's length plus its 5-byte family prefix, Txn for
// writes, the "hasleader" metadata, a 5 s deadline.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#ifdef KALAM_ETCD_BENCH_NATIVE
#include <grpcpp/grpcpp.h>

#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"
#else
#include <kalam/database.h>
#include <kalam/plugin.h>
#endif

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "kalam-etcd-bench: %s\n", message.c_str());
  std::exit(2);
}

std::string key_of(int thread, uint64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "t%02d-k%010llu", thread,
                static_cast<unsigned long long>(i));
  return buf;  // 16 bytes
}

const std::string kValue(100, 'v');
// The scan workload reads the loaded set ("thread" 99's keys) only, so its
// size does not grow with the write workloads.
const std::string kScanLower = "t99-";
const std::string kScanUpper = "t99.";

#ifdef KALAM_ETCD_BENCH_NATIVE
namespace pb = ::etcdserverpb;

// The namespace the plugin would generate ("kalam/" + 16 hex + "/") and the
// default family's prefix ("d" + id 0 as 4 bytes).
const std::string kPrefix =
    std::string("kalam/0123456789abcdef/d") + std::string(4, '\0');

class Store {
 public:
  explicit Store(const std::string& endpoints) {
    std::string first = endpoints.substr(0, endpoints.find(','));
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    channel_ = grpc::CreateCustomChannel(
        first, grpc::InsecureChannelCredentials(), args);
    kv_ = pb::KV::NewStub(channel_);
  }
  void context(grpc::ClientContext* c) {
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    c->AddMetadata("hasleader", "true");
  }
  void write(const std::vector<std::string>& keys) {
    pb::TxnRequest txn;
    for (const std::string& k : keys) {
      auto* put = txn.add_success()->mutable_request_put();
      put->set_key(kPrefix + k);
      put->set_value(kValue);
    }
    pb::TxnResponse response;
    grpc::ClientContext c;
    context(&c);
    const grpc::Status s = kv_->Txn(&c, txn, &response);
    if (!s.ok()) die("txn: " + s.error_message());
  }
  bool get(const std::string& key) {
    pb::RangeRequest request;
    request.set_key(kPrefix + key);
    pb::RangeResponse response;
    grpc::ClientContext c;
    context(&c);
    const grpc::Status s = kv_->Range(&c, request, &response);
    if (!s.ok()) die("range: " + s.error_message());
    return response.kvs_size() == 1;
  }
  uint64_t scan() {
    std::string from = kPrefix + kScanLower;
    const std::string end = kPrefix + kScanUpper;
    int64_t revision = 0;
    uint64_t n = 0;
    for (;;) {
      pb::RangeRequest request;
      request.set_key(from);
      request.set_range_end(end);
      request.set_limit(1000);
      request.set_revision(revision);
      pb::RangeResponse response;
      grpc::ClientContext c;
      context(&c);
      const grpc::Status s = kv_->Range(&c, request, &response);
      if (!s.ok()) die("range: " + s.error_message());
      if (revision == 0) revision = response.header().revision();
      n += static_cast<uint64_t>(response.kvs_size());
      if (!response.more() || response.kvs_size() == 0) return n;
      from = response.kvs(response.kvs_size() - 1).key();
      from.push_back('\0');
    }
  }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pb::KV::Stub> kv_;
};
#else
class Store {
 public:
  Store(const std::string& endpoints, const std::string& plugin_dir) {
    auto plugin = kalam::load_plugin("etcd", {plugin_dir});
    if (!plugin.ok()) die("load_plugin: " + plugin.status().to_string());
    dir_ = std::filesystem::temp_directory_path() /
           ("kalam-etcd-bench-" + std::to_string(getpid()));
    auto db = kalam::Database::open(
        *plugin, dir_, {{"endpoints", endpoints, 0}, {"page_size", "1000", 0}});
    if (!db.ok()) die("open: " + db.status().to_string());
    db_ = std::move(db).value();
  }
  ~Store() {
    static_cast<void>(db_->close());
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void write(const std::vector<std::string>& keys) {
    kalam::WriteBatch batch;
    for (const std::string& k : keys) batch.put(cf_, k, kValue);
    const kalam::Status s = db_->write(batch);
    if (!s.ok()) die("write: " + s.to_string());
  }
  bool get(const std::string& key) {
    size_t len = 0;
    const kalam::Status s =
        db_->get_with(cf_, key, [&len](std::string_view v) { len = v.size(); });
    if (s.ok()) return true;
    if (s.is_not_found()) return false;
    die("get: " + s.to_string());
  }
  uint64_t scan() {
    kalam::IteratorOptions options;
    options.lower = kScanLower;
    options.upper = kScanUpper;
    auto it = db_->new_iterator(cf_, options);
    if (!it.ok()) die("new_iterator: " + it.status().to_string());
    it->seek_to_first();
    uint64_t n = 0;
    for (;;) {
      auto got = it->next_batch(
          1000, [](std::string_view, std::string_view) { return true; });
      if (!got.ok()) die("next_batch: " + got.status().to_string());
      if (*got == 0) return n;
      n += *got;
    }
  }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<kalam::Database> db_;
  kalam::ColumnFamily cf_;
};
#endif

struct Result {
  double ops_per_s = 0;
  double p50_us = 0;
  double p99_us = 0;
};

double quantile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * v.size()));
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(i), v.end());
  return v[i];
}

// Runs `op(thread, i)` (returning the units it did) on `threads` threads for
// `seconds`; latency per op.
template <class Op>
Result run(int threads, double seconds, Op op) {
  std::vector<std::vector<double>> latencies(threads);
  std::vector<uint64_t> units(threads, 0);
  std::vector<std::thread> pool;
  const auto start = Clock::now();
  const auto stop = start + std::chrono::duration<double>(seconds);
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      // Bounded by time and by count.
      for (uint64_t i = 0; i < 100000000 && Clock::now() < stop; ++i) {
        const auto t0 = Clock::now();
        units[t] += op(t, i);
        latencies[t].push_back(
            std::chrono::duration<double, std::micro>(Clock::now() - t0)
                .count());
      }
    });
  }
  for (auto& th : pool) th.join();
  const double took =
      std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  uint64_t total = 0;
  for (int t = 0; t < threads; ++t) {
    all.insert(all.end(), latencies[t].begin(), latencies[t].end());
    total += units[t];
  }
  Result r;
  r.ops_per_s = static_cast<double>(total) / took;
  r.p50_us = quantile(all, 0.50);
  r.p99_us = quantile(all, 0.99);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::string endpoints;
  std::string plugin_dir = KALAM_ETCD_BENCH_PLUGIN_DIR;
  double seconds = 3;
  uint64_t keys = 10000;
  std::vector<int> thread_counts = {1, 4, 16};
  std::string workloads = ",put,batch100,get,scan,";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--endpoints") {
      endpoints = value;
    } else if (flag == "--seconds") {
      seconds = std::stod(value);
    } else if (flag == "--keys") {
      keys = std::stoull(value);
    } else if (flag == "--workloads") {
      workloads = "," + value + ",";
    } else if (flag == "--plugin-dir") {
      plugin_dir = value;
    } else if (flag == "--threads") {
      thread_counts.clear();
      std::stringstream in(value);
      std::string n;
      while (std::getline(in, n, ',')) thread_counts.push_back(std::stoi(n));
    } else {
      die("unknown flag " + flag);
    }
  }
  if (endpoints.empty()) die("--endpoints host:port,... is required");
#ifdef KALAM_ETCD_BENCH_NATIVE
  const char* mode = "native";
  Store store(endpoints);
#else
  const char* mode = "plugin";
  Store store(endpoints, plugin_dir);
#endif
  // The read set: `keys` keys written by "thread" 99 in batches of 100.
  for (uint64_t i = 0; i < keys; i += 100) {
    std::vector<std::string> batch;
    for (uint64_t j = i; j < std::min(keys, i + 100); ++j) {
      batch.push_back(key_of(99, j));
    }
    store.write(batch);
  }
  std::printf("mode\tworkload\tthreads\tops_per_s\tp50_us\tp99_us\n");
  for (int threads : thread_counts) {
    std::vector<std::mt19937_64> rngs;
    for (int t = 0; t < threads; ++t) rngs.emplace_back(1234 + t);
    const auto wanted = [&](const char* workload) {
      return workloads.find("," + std::string(workload) + ",") !=
             std::string::npos;
    };
    const auto print = [&](const char* workload, const Result& r) {
      std::printf("%s\t%s\t%d\t%.0f\t%.0f\t%.0f\n", mode, workload, threads,
                  r.ops_per_s, r.p50_us, r.p99_us);
      std::fflush(stdout);
    };
    if (wanted("put"))
      print("put", run(threads, seconds, [&](int t, uint64_t i) {
              store.write({key_of(t, 1000000 + i)});
              return 1;
            }));
    if (wanted("batch100"))
      print("batch100", run(threads, seconds, [&](int t, uint64_t i) {
              std::vector<std::string> batch;
              for (uint64_t j = 0; j < 100; ++j) {
                batch.push_back(key_of(t, 2000000 + i * 100 + j));
              }
              store.write(batch);
              return 100;
            }));
    if (wanted("get"))
      print("get", run(threads, seconds, [&](int t, uint64_t) {
              if (!store.get(key_of(99, rngs[t]() % keys))) die("get: missing");
              return 1;
            }));
    // scan: entries per second over the loaded set.
    if (wanted("scan"))
      print("scan", run(threads, seconds, [&](int, uint64_t) {
              return static_cast<int>(store.scan());
            }));
  }
  return 0;
}
