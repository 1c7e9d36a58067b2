// What a Session shares with its virtual tables. Internal.
#pragma once

#include <kalam/sql/session.h>
#include <sqlite3.h>

#include <list>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace kalam::sql {

namespace detail {
class TableVtab;
}

struct Session::Internals {
  sqlite3* db = nullptr;
  // Attached namespaces (SQLite schemas), least recently used first, each
  // with its virtual tables: name -> the catalog's table id.
  std::list<std::pair<std::string, std::map<std::string, uint64_t>>> attached;
  // True while the session runs its own DDL (the authorizer lets it pass).
  bool internal_ddl = false;
  // The table-layer error behind the latest failed virtual-table call; the
  // session reports it instead of SQLite's generic message.
  Status table_error;
  // Every live virtual table of the session.
  std::set<detail::TableVtab*> vtabs;
  // Statements stepped and not finished.
  int active_statements = 0;
};

namespace detail {

// Registers the "kalam" module (user, shared and stream tables) and the
// "kalam_system" module (system.namespaces, system.tables, system.columns)
// on `db`, both bound to `session`.
int register_modules(sqlite3* db, Session* session);

// Applies the buffered changes of every virtual table of the session as one
// atomic batch (the first xSync of a commit calls it).
Status apply_pending(Session& session);

// Forgets the rowid handles of every virtual table (no statement runs).
void clear_handles(Session& session);

}  // namespace detail
}  // namespace kalam::sql
