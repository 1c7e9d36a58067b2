#include "etcd_client.h"

#include <grpcpp/security/credentials.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

namespace kalam::etcd_plugin {
namespace {

using Clock = std::chrono::system_clock;

bool contains(const std::string& text, const char* needle) {
  return text.find(needle) != std::string::npos;
}

int read_file(const std::string& path, const char* option, std::string* out,
              Error& err) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  if (!in || text.str().empty()) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                "etcd plugin: option '" + std::string(option) +
                    "': cannot "
                    "read '" +
                    path + "' (a PEM file is expected)");
  }
  *out = text.str();
  return KALAM_OK;
}

// The recovery steps of etcd's space quota, for the NO_SPACE message.
constexpr const char* kQuotaSteps =
    "etcd's backend quota (--quota-backend-bytes) is exhausted and its "
    "NOSPACE alarm is raised: the cluster refuses writes (etcd applies the "
    "one write that filled the quota and still reports it as refused: read "
    "its keys to be sure; any later write was not applied). To recover "
    "(deleting keys alone does not free the space): "
    "`etcdctl endpoint status -w json` for the current revision, "
    "`etcdctl compaction <revision>`, `etcdctl defrag --cluster`, then "
    "`etcdctl alarm disarm`; or raise --quota-backend-bytes on every member";

}  // namespace

int Client::connect(const Options& options, std::unique_ptr<Client>* out,
                    Error& err) {
  std::unique_ptr<Client> client(new Client(options));
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (!options.ca_file.empty()) {
    grpc::SslCredentialsOptions ssl;
    int rc = read_file(options.ca_file, "ca_file", &ssl.pem_root_certs, err);
    if (rc != KALAM_OK) return rc;
    if (!options.cert_file.empty()) {
      rc = read_file(options.cert_file, "cert_file", &ssl.pem_cert_chain, err);
      if (rc != KALAM_OK) return rc;
      rc = read_file(options.key_file, "key_file", &ssl.pem_private_key, err);
      if (rc != KALAM_OK) return rc;
    }
    credentials = grpc::SslCredentials(ssl);
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }
  for (const std::string& address : options.endpoints) {
    grpc::ChannelArguments args;
    // A restarted member is found again within a second, not after gRPC's
    // default reconnect backoff of up to two minutes.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    // Pages of large values exceed gRPC's default 4 MiB receive limit.
    args.SetMaxReceiveMessageSize(-1);
    args.SetMaxSendMessageSize(-1);
    // One channel per endpoint, never shared with another database: a
    // distinct channel argument keeps gRPC from pooling subchannels.
    args.SetPointer("kalam.etcd.client", client.get());
    Endpoint ep;
    ep.address = address;
    ep.channel = grpc::CreateCustomChannel(address, credentials, args);
    ep.kv = pb::KV::NewStub(ep.channel);
    ep.auth = pb::Auth::NewStub(ep.channel);
    client->endpoints_.push_back(std::move(ep));
  }
  *out = std::move(client);
  return KALAM_OK;
}

std::string Client::endpoint_list() const {
  std::string list;
  for (const Endpoint& ep : endpoints_) {
    if (!list.empty()) list += ",";
    list += ep.address;
  }
  return list;
}

bool Client::wait_connected(Endpoint& ep, Clock::time_point deadline) {
  grpc_connectivity_state state = ep.channel->GetState(true);
  for (int steps = 0; steps < 16 && state != GRPC_CHANNEL_READY; ++steps) {
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE ||
        state == GRPC_CHANNEL_SHUTDOWN) {
      return false;
    }
    if (!ep.channel->WaitForStateChange(state, deadline)) return false;
    state = ep.channel->GetState(true);
  }
  return state == GRPC_CHANNEL_READY;
}

int Client::authenticate(Endpoint& ep, Clock::time_point deadline, Error& err) {
  grpc::ClientContext context;
  context.set_deadline(deadline);
  pb::AuthenticateRequest request;
  request.set_name(options_.username);
  request.set_password(options_.password);
  pb::AuthenticateResponse response;
  const grpc::Status status =
      ep.auth->Authenticate(&context, request, &response);
  if (status.ok()) {
    std::lock_guard<std::mutex> lock(token_mutex_);
    token_ = response.token();
    return KALAM_OK;
  }
  if (contains(status.error_message(), "authentication failed") ||
      contains(status.error_message(), "authentication is not enabled")) {
    return fail(err, KALAM_IO_ERROR,
                "etcd plugin: " + ep.address + " refused user '" +
                    options_.username + "': " + status.error_message() +
                    "; check the options username and password (and that "
                    "the cluster has `etcdctl auth enable`)",
                status.error_code());
  }
  int code = KALAM_UNAVAILABLE;
  std::string message;
  if (classify(status, false, "authenticate", ep.address, &code, &message) ==
      Next::kDone) {
    return fail(err, code, message, status.error_code());
  }
  return fail(err, KALAM_UNAVAILABLE, message, status.error_code());
}

Client::Next Client::classify(const grpc::Status& status, bool writes,
                              const char* what, const std::string& endpoint,
                              int* code, std::string* message) {
  const std::string& text = status.error_message();
  const std::string where =
      std::string("etcd plugin: ") + what + " at " + endpoint + ": ";
  *message = where + text;
  const auto unknown = [&] {
    *code = KALAM_OUTCOME_UNKNOWN;
    *message = where + text +
               "; the write may or may not have been applied (applied "
               "whole or not at all): read the keys to find out";
    return Next::kDone;
  };
  // etcd's own errors (rpctypes), by their stable text.
  if (contains(text, "etcdserver: no leader") ||
      contains(text, "etcdserver: too many requests") ||
      contains(text, "etcdserver: not capable")) {
    *code = KALAM_UNAVAILABLE;
    return Next::kOtherNode;
  }
  // A serializable read at a revision this member has not applied yet.
  if (contains(text, "required revision is a future revision") && !writes) {
    *code = KALAM_UNAVAILABLE;
    return Next::kOtherNode;
  }
  if (contains(text, "invalid auth token") ||
      contains(text, "invalid auth management")) {
    *code = KALAM_UNAVAILABLE;
    return Next::kReauth;
  }
  if (contains(text, "required revision has been compacted")) {
    *code = KALAM_SNAPSHOT_TOO_OLD;
    *message = where + text +
               ": the snapshot's revision was compacted away; take a new "
               "snapshot (or iterator) and retry";
    return Next::kDone;
  }
  if (contains(text, "database space exceeded")) {
    *code = KALAM_NO_SPACE;
    *message = where + kQuotaSteps;
    return Next::kDone;
  }
  if (contains(text, "request is too large") ||
      contains(text, "too many operations in txn request")) {
    *code = KALAM_TOO_LARGE;
    *message = where + text +
               "; nothing was applied (set the options max_txn_ops and "
               "max_request_bytes to the cluster's --max-txn-ops and "
               "--max-request-bytes)";
    return Next::kDone;
  }
  if (contains(text, "user name is empty")) {
    *code = KALAM_IO_ERROR;
    *message = where + text +
               ": the cluster has authentication enabled; set the options "
               "username and password";
    return Next::kDone;
  }
  if (status.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
    *code = KALAM_IO_ERROR;
    *message = where + text + ": user '" + options_.username +
               "' lacks a read-write role on this namespace's keys";
    return Next::kDone;
  }
  if (contains(text, "etcdserver: request timed out") ||
      contains(text, "etcdserver: leader changed") ||
      contains(text, "etcdserver: server stopped") ||
      contains(text, "etcdserver: request cancelled")) {
    if (writes) return unknown();
    *code = KALAM_UNAVAILABLE;
    return Next::kOtherNode;
  }
  switch (status.error_code()) {
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      if (writes) return unknown();
      *code = KALAM_TIMED_OUT;
      *message = where + "no answer within timeout_ms (" +
                 std::to_string(options_.timeout_ms) + " ms): " + text;
      return Next::kDone;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::UNKNOWN:
      // Refused before anything was sent, or the connection broke: a write
      // that may have been sent has an unknown outcome.
      if (contains(text, "failed to connect") ||
          contains(text, "Connection refused") ||
          contains(text, "connections to all backends failing")) {
        *code = KALAM_UNAVAILABLE;
        return Next::kOtherNode;
      }
      if (writes) return unknown();
      *code = KALAM_UNAVAILABLE;
      return Next::kOtherNode;
    case grpc::StatusCode::UNAUTHENTICATED:
      *code = KALAM_IO_ERROR;
      return Next::kDone;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      *code = KALAM_NO_MEMORY;
      return Next::kDone;
    default:
      *code = KALAM_IO_ERROR;
      return Next::kDone;
  }
}

int Client::call(const Rpc& rpc, bool writes, bool require_leader,
                 const char* what, Error& err) {
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::milliseconds(options_.timeout_ms);
  const size_t n = endpoints_.size();
  std::string last = "no endpoint could be reached";
  int last_code = KALAM_UNAVAILABLE;
  auto backoff = std::chrono::milliseconds(20);
  // Bounded by the deadline and by a count (each pass waits at least the
  // backoff, so the count is never what ends a normal call).
  for (int attempt = 0; attempt < 10000; ++attempt) {
    if (Clock::now() >= deadline) break;
    const size_t index = current_.load(std::memory_order_relaxed) % n;
    Endpoint& ep = endpoints_[index];
    const auto slice = std::min(
        deadline, Clock::now() + std::chrono::milliseconds(std::max<int64_t>(
                                     options_.timeout_ms / 2, 100)));
    const auto rotate = [&] {
      size_t expected = index;
      current_.compare_exchange_strong(expected, (index + 1) % n);
    };
    if (!wait_connected(ep, slice)) {
      last = "etcd plugin: " + std::string(what) + ": cannot connect to " +
             ep.address +
             " (refused, unreachable, or a TLS/plain-text mismatch: TLS is "
             "on exactly when ca_file is set)";
      last_code = KALAM_UNAVAILABLE;
      rotate();
      if ((attempt + 1) % n == 0) {
        std::this_thread::sleep_for(
            std::min<Clock::duration>(backoff, deadline - Clock::now()));
        backoff = std::min(backoff * 2, std::chrono::milliseconds(500));
      }
      continue;
    }
    std::string token;
    if (!options_.username.empty()) {
      {
        std::lock_guard<std::mutex> lock(token_mutex_);
        token = token_;
      }
      if (token.empty()) {
        const int rc = authenticate(ep, deadline, err);
        if (rc == KALAM_UNAVAILABLE) {
          last = err.message;
          rotate();
          continue;
        }
        if (rc != KALAM_OK) return rc;
        std::lock_guard<std::mutex> lock(token_mutex_);
        token = token_;
      }
    }
    grpc::ClientContext context;
    context.set_deadline(deadline);
    // Refused at once by a member that has no leader, instead of waiting
    // for an election that may never come (no quorum).
    if (require_leader) context.AddMetadata("hasleader", "true");
    if (!token.empty()) context.AddMetadata("token", token);
    const grpc::Status status = rpc(ep, context);
    if (status.ok()) return KALAM_OK;
    int code = KALAM_INTERNAL;
    std::string message;
    const Next next =
        classify(status, writes, what, ep.address, &code, &message);
    if (next == Next::kDone)
      return fail(err, code, message, status.error_code());
    last = message;
    last_code = code;
    if (next == Next::kReauth) {
      std::lock_guard<std::mutex> lock(token_mutex_);
      if (token_ == token) token_.clear();
      continue;
    }
    rotate();
    std::this_thread::sleep_for(std::min<Clock::duration>(
        backoff, std::max<Clock::duration>(deadline - Clock::now(),
                                           Clock::duration::zero())));
    backoff = std::min(backoff * 2, std::chrono::milliseconds(500));
  }
  return fail(err, last_code,
              last + "; no member of " + endpoint_list() +
                  " served the request within timeout_ms (" +
                  std::to_string(options_.timeout_ms) +
                  " ms): no quorum, or no member reachable; nothing was "
                  "applied");
}

int Client::range(const pb::RangeRequest& request, pb::RangeResponse* response,
                  Error& err) {
  return call(
      [&](Endpoint& ep, grpc::ClientContext& context) {
        return ep.kv->Range(&context, request, response);
      },
      false, !request.serializable(), "read", err);
}

int Client::txn(const pb::TxnRequest& request, pb::TxnResponse* response,
                bool writes, const char* what, Error& err) {
  return call(
      [&](Endpoint& ep, grpc::ClientContext& context) {
        return ep.kv->Txn(&context, request, response);
      },
      writes, true, what, err);
}

}  // namespace kalam::etcd_plugin
