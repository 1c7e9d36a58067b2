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
// for scan), p50 and p99 latency of one op in microseconds, the client's CPU
// time per unit and the units done (bench/remote/remote_bench.h).
//
// The native side makes exactly the requests the plugin makes: keys under a
// namespace of the plugin's length plus its 5-byte family prefix, Txn for
// writes, the "hasleader" metadata, a 5 s deadline.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#ifdef KALAM_ETCD_BENCH_NATIVE
#include <grpcpp/grpcpp.h>

#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"
#else
#include "../remote/remote_plugin_store.h"
#endif
#include "../remote/remote_bench.h"

namespace {

using namespace kalam_bench;

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
#endif

}  // namespace

int main(int argc, char** argv) {
  g_program = "kalam-etcd-bench";
  std::string endpoints;
  std::string plugin_dir = KALAM_ETCD_BENCH_PLUGIN_DIR;
  WorkloadOptions options;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--endpoints") {
      endpoints = value;
    } else if (flag == "--plugin-dir") {
      plugin_dir = value;
    } else if (!options.take(flag, value)) {
      die("unknown flag " + flag);
    }
  }
  if (endpoints.empty()) die("--endpoints host:port,... is required");
#ifdef KALAM_ETCD_BENCH_NATIVE
  Store store(endpoints);
  run_workloads(store, "native", options);
#else
  PluginStore store("etcd", plugin_dir,
                    {{"endpoints", endpoints, 0}, {"page_size", "1000", 0}});
  run_workloads(store, "plugin", options);
#endif
  return 0;
}
