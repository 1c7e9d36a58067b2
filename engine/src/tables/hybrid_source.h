// Hybrid reads: one key-ordered stream of rows merged from the hot store and
// the cold segments of a table, the hot version winning over every cold one,
// a newer segment winning over an older one, deletions hiding rows.
// Internal.
#pragma once

#include <kalam/database.h>
#include <kalam/tables/cold_store.h>
#include <kalam/tables/row.h>

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "key_codec.h"

namespace kalam::tables::detail {

// A row (or the deletion of one) at its full key in `kalam.tables`.
struct KeyedEntry {
  std::string key;
  Row row;
  bool deleted = false;
};

// A key-ordered stream of entries. advance() moves to the first entry on
// its first call, then to the next one.
class EntryStream {
 public:
  virtual ~EntryStream() = default;
  virtual Status advance() = 0;
  virtual bool valid() const = 0;
  // REQUIRES: valid().
  virtual KeyedEntry& current() = 0;
};

// The records of one partition's segments (newest first, as
// ColdStore::open_segments returns them), merged: one entry per row id, the
// newest segment's. Keys are `key_prefix` + the row key of each record's id.
std::unique_ptr<EntryStream> cold_stream(
    std::vector<std::unique_ptr<ColdSegmentReader>> segments,
    std::string key_prefix, keys::RowKeyKind kind, std::string user_id);

// The cold streams of several users of one table, one after the other in key
// order. `open_user` opens one user's stream when it is reached.
std::unique_ptr<EntryStream> users_cold_stream(
    std::vector<std::string> users,
    std::function<StatusOr<std::unique_ptr<EntryStream>>(const std::string&)>
        open_user);

// How the keys of a scan's hot entries are read.
struct HotLayout {
  // Every key of the scan starts with this: the partition's prefix (a
  // user's, or a shared or stream table's), or for `all_users` the table's.
  std::string prefix;
  // An every-user scan of a user table: each key's user is read from it
  // (prefix | esc(user) | row key); otherwise the row key follows `prefix`
  // and every row's user is `user`.
  bool all_users = false;
  std::string user;
  keys::RowKeyKind kind = keys::RowKeyKind::kGenerated;
  // Whether a kTombstone value records a deletion (user and shared tables);
  // stream tables have none.
  bool tombstones = true;
  // "row" or "event", for CORRUPTION messages.
  const char* noun = "row";
};

// The rows of one scan: the hot entries of `iterator` (bounded to the
// scan's range, not yet positioned) merged with `cold` (nullptr: none) in
// key order. Equal keys take the hot entry; deletions (hot tombstones,
// cold deletion records) hide the row and are never handed out. Hot rows
// are handed to the visitor straight from Iterator::next_batch: their
// views are the backend's, and the row id a view of the key or of one
// reused buffer. Cold rows are handed as DOMs (SourceRow::dom).
std::unique_ptr<ViewSource> merged_source(Iterator iterator, HotLayout layout,
                                          std::unique_ptr<EntryStream> cold);

}  // namespace kalam::tables::detail
