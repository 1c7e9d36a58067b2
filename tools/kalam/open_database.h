// Reading the config and opening the database it describes, with the access
// a subcommand needs: read subcommands never write and never create.
#pragma once

#include <kalam/config.h>
#include <kalam/database.h>

#include <memory>
#include <string>
#include <string_view>

#include "common_options.h"

namespace kalam::cli {

enum class Access {
  // Read-only where the backend has read_only_open, else a normal open;
  // never creates. A missing database is an error.
  kRead,
  // Writes; creates the database when there is none (put, load, cf create,
  // migrate's destination).
  kWrite,
  // Writes, but the database must exist (del, cf drop).
  kWriteExisting,
};

struct OpenedDatabase {
  OpenedDatabase() = default;
  OpenedDatabase(OpenedDatabase&&) = default;
  OpenedDatabase& operator=(OpenedDatabase&&) = default;
  // When close_database() was not reached (the subcommand failed), closes
  // the database here and keeps a failed close as a secondary error, so the
  // subcommand's error stays the one line on stderr.
  ~OpenedDatabase();

  EngineConfig config;
  std::unique_ptr<Database> db;
  // Opened with the backend's read-only mode.
  bool read_only = false;
};

// Reads and validates the YAML config in `file`. A file that does not exist
// is a usage error (exit 2); an unreadable or invalid one exit 1.
EngineConfig load_config(const std::string& file);

// Loads the config named by --config and opens its database for `access`.
// `command` ("kalam put") names the subcommand in messages.
OpenedDatabase open_database(const CommonOptions& options, Access access,
                             std::string_view command);

// The same for a config already loaded (migrate's destination).
OpenedDatabase open_configured(EngineConfig config, Access access,
                               const CommonOptions& options,
                               std::string_view command);

// "data directory <path> (storage.path in <config>)", for messages.
std::string describe_location(const EngineConfig& config);

// Closes the database, reporting a failure (which may lose writes) as an
// error.
void close_database(OpenedDatabase* opened);

}  // namespace kalam::cli
