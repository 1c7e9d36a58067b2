// The connection to an etcd cluster: one gRPC channel per endpoint, the
// authentication token, and the one place where a gRPC or etcd failure
// becomes a KALAM_* code. Thread-safe: every call may run from any thread.
//
// Failure rules (README.md, "Failure behaviour"):
//  - An endpoint that refuses the connection, or a member without a leader
//    (the call carries etcd's "hasleader" requirement), rejects the request
//    before it is proposed: the client moves to the next endpoint and tries
//    again, with a short backoff, until `timeout_ms` from the start of the
//    call. Still failing then: KALAM_UNAVAILABLE, nothing applied.
//  - A read that times out is KALAM_TIMED_OUT; a read that lost its
//    connection is tried again on the next endpoint.
//  - A write that was sent and whose answer never came (deadline, a
//    connection lost, etcd's "request timed out", "leader changed") is
//    KALAM_OUTCOME_UNKNOWN, and is never sent again by the plugin.
//  - etcd's quota alarm is KALAM_NO_SPACE, with the etcdctl steps to recover.
//    etcd refuses writes once the alarm is up, but reports the one write
//    that filled the quota as refused although it applied it (its
//    quotaApplierV3): the message says so instead of "nothing was applied".
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "etcd/etcdserver/etcdserverpb/rpc.grpc.pb.h"
#include "etcd_options.h"
#include "etcd_status.h"

namespace kalam::etcd_plugin {

namespace pb = ::etcdserverpb;

class Client {
 public:
  // Opens a channel to every endpoint (lazily connected) and, with a
  // username, authenticates. Fails with KALAM_INVALID_ARGUMENT for an
  // unreadable TLS file, KALAM_IO_ERROR for refused credentials and
  // KALAM_UNAVAILABLE when no endpoint answers within timeout_ms.
  static int connect(const Options& options, std::unique_ptr<Client>* out,
                     Error& err);

  // KV.Range. Retried on another endpoint while nothing could have been
  // read; KALAM_SNAPSHOT_TOO_OLD for a compacted revision.
  int range(const pb::RangeRequest& request, pb::RangeResponse* response,
            Error& err);
  // KV.Txn. `writes`: the txn changes something, so an unknown outcome is
  // KALAM_OUTCOME_UNKNOWN (never retried); a read-only txn is retried like
  // range(). `what` names the operation in messages ("write", "cf_open").
  int txn(const pb::TxnRequest& request, pb::TxnResponse* response, bool writes,
          const char* what, Error& err);

  const Options& options() const { return options_; }
  std::string endpoint_list() const;

 private:
  struct Endpoint {
    std::string address;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<pb::KV::Stub> kv;
    std::unique_ptr<pb::Auth::Stub> auth;
  };
  // How a failed attempt ends.
  enum class Next {
    kDone,       // return `code` with the message
    kOtherNode,  // not applied: try the next endpoint (after a backoff)
    kReauth,     // the token expired: authenticate again, then retry
  };
  using Rpc = std::function<grpc::Status(Endpoint&, grpc::ClientContext&)>;

  explicit Client(Options options) : options_(std::move(options)) {}

  // Runs `rpc` under the rules above.
  // `require_leader`: sent with etcd's "hasleader" requirement (every call
  // but a serializable read, which any member may serve alone).
  int call(const Rpc& rpc, bool writes, bool require_leader, const char* what,
           Error& err);
  // Waits (up to `deadline`) for `ep` to be connected; false when it is in
  // TRANSIENT_FAILURE or did not connect in time.
  bool wait_connected(Endpoint& ep,
                      std::chrono::system_clock::time_point deadline);
  // Fetches a token with Auth.Authenticate on `ep`.
  int authenticate(Endpoint& ep, std::chrono::system_clock::time_point deadline,
                   Error& err);
  Next classify(const grpc::Status& status, bool writes, const char* what,
                const std::string& endpoint, int* code, std::string* message);

  Options options_;
  std::vector<Endpoint> endpoints_;
  std::atomic<size_t> current_{0};
  std::mutex token_mutex_;
  std::string token_;  // empty: not authenticated (or no auth)
};

}  // namespace kalam::etcd_plugin
