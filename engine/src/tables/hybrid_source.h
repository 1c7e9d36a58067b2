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

// Decodes one stored hot entry.
using HotDecoder = std::function<Status(
    std::string_view key, std::string_view value, KeyedEntry& out)>;

// The hot entries of one iterator, read a batch at a time.
std::unique_ptr<EntryStream> hot_stream(Iterator iterator, HotDecoder decoder);

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

// Merges hot and cold into rows: equal keys take the hot entry; deleted
// entries are dropped.
std::unique_ptr<RowSource> hybrid_source(std::unique_ptr<EntryStream> hot,
                                         std::unique_ptr<EntryStream> cold);

}  // namespace kalam::tables::detail
