#include "etcd_options.h"

#include <charconv>
#include <limits>
#include <string_view>
#include <system_error>

namespace kalam::etcd_plugin {
namespace {

using kalam_plugin::trim;

bool parse_int(std::string_view text, int64_t min, int64_t max, int64_t* out) {
  text = trim(text);
  int64_t value = 0;
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return false;
  if (value < min || value > max) return false;
  *out = value;
  return true;
}

int bad_value(Error& err, std::string_view key, std::string_view value,
              std::string_view expected) {
  return fail(err, KALAM_INVALID_ARGUMENT,
              "etcd plugin: option '" + std::string(key) + "' has value '" +
                  std::string(value) + "', expected " + std::string(expected));
}

// host:port with a non-empty host and a port from 1 to 65535. A URL scheme
// is refused: TLS is chosen by ca_file, not by "https://".
bool valid_endpoint(std::string_view endpoint) {
  const size_t colon = endpoint.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  if (endpoint.find("://") != std::string_view::npos) return false;
  int64_t port = 0;
  return parse_int(endpoint.substr(colon + 1), 1, 65535, &port);
}

}  // namespace

int parse_options(const kalam_open_params& params, Options* out, Error& err) {
  Options options;
  if (std::string problem =
          kalam_plugin::option_list_problem(params, "etcd plugin");
      !problem.empty()) {
    return fail(err, KALAM_INVALID_ARGUMENT, std::move(problem));
  }
  for (size_t i = 0; i < params.option_count; ++i) {
    const std::string_view key(params.option_keys[i]);
    const std::string_view value(params.option_values[i]);
    if (key == "endpoints") {
      std::string_view rest = value;
      while (true) {
        const size_t comma = rest.find(',');
        const std::string_view one = trim(rest.substr(0, comma));
        if (!valid_endpoint(one)) {
          return bad_value(err, key, value,
                           "a comma-separated list of host:port (e.g. "
                           "127.0.0.1:2379,127.0.0.1:22379), without a "
                           "scheme");
        }
        options.endpoints.emplace_back(one);
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    } else if (key == "namespace") {
      options.ns = std::string(trim(value));
      options.ns_given = true;
      if (options.ns.empty()) {
        return bad_value(err, key, value,
                         "a non-empty key prefix such as 'myapp/db1/'");
      }
    } else if (key == "timeout_ms") {
      if (!parse_int(value, 1, 3600 * 1000, &options.timeout_ms)) {
        return bad_value(err, key, value,
                         "a whole number of milliseconds from 1 to 3600000");
      }
    } else if (key == "read_consistency") {
      const std::string_view v = trim(value);
      if (kalam_plugin::iequals(v, "linearizable")) {
        options.serializable = false;
      } else if (kalam_plugin::iequals(v, "serializable")) {
        options.serializable = true;
      } else {
        return bad_value(err, key, value, "linearizable or serializable");
      }
    } else if (key == "page_size") {
      if (!parse_int(value, 1, 1000000, &options.page_size)) {
        return bad_value(err, key, value, "a whole number from 1 to 1000000");
      }
    } else if (key == "username") {
      options.username = std::string(value);
    } else if (key == "password") {
      options.password = std::string(value);
    } else if (key == "ca_file") {
      options.ca_file = std::string(trim(value));
    } else if (key == "cert_file") {
      options.cert_file = std::string(trim(value));
    } else if (key == "key_file") {
      options.key_file = std::string(trim(value));
    } else if (key == "max_txn_ops") {
      if (!parse_int(value, 1, 1 << 20, &options.max_txn_ops)) {
        return bad_value(err, key, value,
                         "a whole number from 1 to 1048576 (the cluster's "
                         "--max-txn-ops)");
      }
    } else if (key == "max_request_bytes") {
      uint64_t bytes = 0;
      if (!kalam_plugin::parse_byte_size(value, &bytes) || bytes < 64 * 1024 ||
          bytes > (uint64_t{1} << 31)) {
        return bad_value(err, key, value,
                         "a byte size from 64KiB to 2GiB (the cluster's "
                         "--max-request-bytes)");
      }
      options.max_request_bytes = static_cast<int64_t>(bytes);
    } else {
      return fail(err, KALAM_INVALID_ARGUMENT,
                  "etcd plugin: unknown option '" + std::string(key) +
                      "'; known options: endpoints, namespace, timeout_ms, "
                      "read_consistency, page_size, username, password, "
                      "ca_file, cert_file, key_file, max_txn_ops, "
                      "max_request_bytes");
    }
  }
  if (options.endpoints.empty()) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                "etcd plugin: option 'endpoints' is required: the cluster's "
                "client addresses as host:port, comma-separated");
  }
  if (options.username.empty() != options.password.empty()) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                "etcd plugin: options 'username' and 'password' go together; "
                "give both or neither");
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                "etcd plugin: options 'cert_file' and 'key_file' go "
                "together; give both or neither");
  }
  if (!options.cert_file.empty() && options.ca_file.empty()) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                "etcd plugin: option 'cert_file' needs 'ca_file' (TLS is on "
                "when ca_file is given)");
  }
  *out = std::move(options);
  return KALAM_OK;
}

}  // namespace kalam::etcd_plugin
