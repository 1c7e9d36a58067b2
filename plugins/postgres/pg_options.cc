#include "pg_options.h"

#include <charconv>
#include <limits>
#include <string_view>
#include <system_error>

namespace kalam::postgres_plugin {
namespace {

constexpr int64_t kMaxPoolSize = 1024;

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
              "postgres plugin: option '" + std::string(key) + "' has value '" +
                  std::string(value) + "', expected " + std::string(expected));
}

}  // namespace

bool valid_schema_name(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  // PostgreSQL reserves pg_* for its own schemas.
  if (name.size() >= 3 && kalam_plugin::iequals(name.substr(0, 3), "pg_")) {
    return false;
  }
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

int parse_options(const kalam_open_params& params, Options* out, Error& err) {
  Options options;
  if (std::string problem =
          kalam_plugin::option_list_problem(params, "postgres plugin");
      !problem.empty()) {
    return fail(err, KALAM_INVALID_ARGUMENT, std::move(problem));
  }
  for (size_t i = 0; i < params.option_count; ++i) {
    const std::string_view key(params.option_keys[i]);
    const std::string_view value(params.option_values[i]);
    if (key == "conninfo") {
      options.conninfo = std::string(value);
    } else if (key == "schema") {
      options.schema = std::string(trim(value));
      if (!valid_schema_name(options.schema)) {
        return bad_value(err, key, value,
                         "a schema name of letters, digits and '_', not "
                         "starting with a digit or 'pg_', at most 63 bytes");
      }
    } else if (key == "pool_size") {
      int64_t count = 0;
      if (!parse_int(value, 0, kMaxPoolSize, &count)) {
        return bad_value(err, key, value, "a whole number from 0 to 1024");
      }
      options.pool_size = static_cast<size_t>(count);
    } else if (key == "statement_timeout_ms") {
      int64_t ms = 0;
      if (!parse_int(value, 0, std::numeric_limits<int32_t>::max(), &ms)) {
        return bad_value(err, key, value,
                         "a whole number of milliseconds from 0 (no limit) "
                         "to 2147483647");
      }
      options.statement_timeout_ms = ms;
    } else if (key == "synchronous_commit") {
      const std::string_view v = trim(value);
      bool known = false;
      for (const char* name :
           {"on", "off", "local", "remote_write", "remote_apply"}) {
        if (kalam_plugin::iequals(v, name)) {
          options.synchronous_commit = name;
          known = true;
        }
      }
      if (!known) {
        return bad_value(err, key, value,
                         "one of on, off, local, remote_write, remote_apply");
      }
    } else {
      return fail(err, KALAM_INVALID_ARGUMENT,
                  "postgres plugin: unknown option '" + std::string(key) +
                      "'; known options: conninfo, schema, pool_size, "
                      "statement_timeout_ms, synchronous_commit (host, "
                      "password, sslmode and the like go inside conninfo)");
    }
  }
  *out = std::move(options);
  return KALAM_OK;
}

}  // namespace kalam::postgres_plugin
