// The plugin's options (kalam_open_params option_keys/option_values) and
// their parsing. Every key and its default is listed in README.md.
#pragma once

#include <kalam/backend_api.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "etcd_status.h"

namespace kalam::etcd_plugin {

struct Options {
  // The cluster's client URLs as host:port, tried in order (the next one
  // when a connection is refused). Required.
  std::vector<std::string> endpoints;
  // The key prefix of this database. Empty: the one recorded in the data
  // directory, or a new, unique one ("kalam/<random>/").
  std::string ns;
  bool ns_given = false;
  // The bound on every call, connection included.
  int64_t timeout_ms = 5000;
  // Reads: linearizable (through the leader's read index) or serializable
  // (any member's local state, possibly stale).
  bool serializable = false;
  // Keys per Range call of an iterator.
  int64_t page_size = 1000;
  // Password authentication (etcd's auth); both or neither.
  std::string username;
  std::string password;
  // TLS: the CA that signed the servers' certificates; a client certificate
  // and key for client-certificate authentication (both or neither).
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  // The server's limits (etcd --max-txn-ops, --max-request-bytes); set them
  // when the cluster runs with other values than etcd's defaults.
  int64_t max_txn_ops = 128;
  int64_t max_request_bytes = 1536 * 1024;
};

// Parses params.option_keys/option_values into *out (defaults for what is
// not given). Returns KALAM_OK, or KALAM_INVALID_ARGUMENT for an unknown key,
// a key given twice, a value that does not parse or a missing `endpoints`
// (the message names the key and the value; a password is never repeated).
int parse_options(const kalam_open_params& params, Options* out, Error& err);

}  // namespace kalam::etcd_plugin
