// The plugin's options (kalam_open_params option_keys/option_values) and
// their parsing. Every key and its default is listed in README.md.
#pragma once

#include <kalam/backend_api.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "pg_status.h"

namespace kalam::postgres_plugin {

struct Options {
  // A libpq connection string ("host=... port=... user=... password=...",
  // or a postgresql:// URI). Empty: libpq's defaults (PG* environment).
  std::string conninfo;
  // The schema holding this database's tables; empty: the one recorded in
  // the data directory, or a new, unique one.
  std::string schema;
  // Idle connections kept for reuse (more are opened while in use).
  size_t pool_size = 4;
  // statement_timeout of every connection; 0 leaves the server's setting.
  int64_t statement_timeout_ms = 0;
  // synchronous_commit of every connection; empty leaves the server's.
  std::string synchronous_commit;
};

// Parses params.option_keys/option_values into *out (defaults for what is
// not given). Returns KALAM_OK, or KALAM_INVALID_ARGUMENT for an unknown key,
// a key given twice or a value that does not parse (the message names the
// key and the value; a conninfo's value is not repeated, it may hold a
// password).
int parse_options(const kalam_open_params& params, Options* out, Error& err);

// True for a schema name the plugin accepts: [A-Za-z_][A-Za-z0-9_]*, at most
// 63 bytes (PostgreSQL's identifier limit), not starting with "pg_"
// (reserved for the server's own schemas).
bool valid_schema_name(const std::string& name);

}  // namespace kalam::postgres_plugin
