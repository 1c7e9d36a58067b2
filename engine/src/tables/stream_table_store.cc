// Stream tables: keys are  table_id | generated row key  (ms | counter), so
// time order is key order and "everything older than X" is one key range.
#include <kalam/tables/json_input.h>
#include <kalam/tables/stream_table_store.h>

#include <algorithm>
#include <optional>

#include "context.h"
#include "hybrid_source.h"
#include "key_codec.h"
#include "row_store.h"

namespace kalam::tables {

using detail::TablesContext;
using nlohmann::json;

namespace {

struct Stream {
  std::shared_ptr<const TableInfo> info;
  std::string prefix;  // table_prefix(id)
};

std::string describe(std::string_view op, std::string_view ns,
                     std::string_view table) {
  return std::string(op) + " " + std::string(ns) + "." + std::string(table);
}

// The smallest live key of the stream: events at smaller keys have expired.
// `snapshot` (may be null) is the view to count max_rows in.
StatusOr<std::string> live_lower_bound(Database& db, const ColumnFamily& cf,
                                       const Stream& stream,
                                       const Snapshot* snapshot) {
  const TableOptions& options = stream.info->options;
  std::string lower = stream.prefix;
  if (options.ttl) {
    const int64_t cutoff = detail::now_ms() - options.ttl->count();
    std::string by_time = stream.prefix;
    keys::append_u64(by_time,
                     static_cast<uint64_t>(std::max<int64_t>(cutoff, 0)));
    lower = std::max(lower, by_time);
  }
  if (options.max_rows) {
    const uint64_t keep = *options.max_rows;
    IteratorOptions range;
    range.lower = stream.prefix;
    range.upper = keys::table_end(stream.info->id);
    range.snapshot = snapshot;
    if (db.plugin().has(KALAM_CAP_REVERSE_ITERATION)) {
      // The keep-th newest event is the oldest one kept.
      range.reverse = true;
      KALAM_ASSIGN_OR_RETURN(Iterator it, db.new_iterator(cf, range));
      it.seek_to_last();
      for (uint64_t i = 1; i < keep && it.valid(); ++i) it.prev();
      KALAM_RETURN_IF_ERROR(it.status());
      if (it.valid()) lower = std::max(lower, std::string(it.key()));
    } else {
      // Without reverse iteration: count, then walk to the same place.
      uint64_t total = 0;
      {
        KALAM_ASSIGN_OR_RETURN(Iterator it, db.new_iterator(cf, range));
        for (it.seek_to_first(); it.valid(); it.next()) ++total;
        KALAM_RETURN_IF_ERROR(it.status());
      }
      if (total > keep) {
        KALAM_ASSIGN_OR_RETURN(Iterator it, db.new_iterator(cf, range));
        it.seek_to_first();
        for (uint64_t i = 0; i < total - keep && it.valid(); ++i) it.next();
        KALAM_RETURN_IF_ERROR(it.status());
        if (it.valid()) lower = std::max(lower, std::string(it.key()));
      }
    }
  }
  return lower;
}

}  // namespace

StreamTableStore::StreamTableStore(Catalog& catalog) : catalog_(catalog) {}

namespace {

StatusOr<Stream> resolve_stream(
    Catalog& catalog, StatusOr<std::shared_ptr<const TableInfo>> info) {
  if (!info.ok()) return info.status();
  if ((*info)->kind != TableKind::kStream) {
    return Status::InvalidArgument((*info)->qualified_name() + " is a " +
                                   std::string(table_kind_name((*info)->kind)) +
                                   " table, not a stream table; use " +
                                   ((*info)->kind == TableKind::kUser
                                        ? "UserTableStore"
                                        : "SharedTableStore"));
  }
  return Stream{*info, keys::table_prefix((*info)->id)};
}

}  // namespace

StatusOr<std::string> StreamTableStore::append(std::string_view ns,
                                               std::string_view table,
                                               const json& event,
                                               const WriteOptions& options) {
  KALAM_ASSIGN_OR_RETURN(std::vector<std::string> ids,
                         append_many(ns, table, {&event, 1}, options));
  return std::move(ids.front());
}

StatusOr<std::vector<std::string>> StreamTableStore::append_many(
    std::string_view ns, std::string_view table, Span<const json> events,
    const WriteOptions& options) {
  const std::string what = describe("append to", ns, table);
  TablesContext& ctx = *catalog_.context_;
  std::shared_lock data(ctx.locks->data);
  auto stream = resolve_stream(catalog_, catalog_.resolve(ns, table));
  if (!stream.ok()) return stream.status().with_context(what);
  std::vector<std::string> ids;
  std::vector<std::string> keys_of;  // each event's full key
  std::vector<std::string> values;
  for (size_t i = 0; i < events.size(); ++i) {
    auto canonical = stream->info->schema.validate_row(events[i]);
    if (!canonical.ok()) {
      return canonical.status().with_context(
          events.size() > 1 ? what + ": event " + std::to_string(i) : what);
    }
    const std::string row_key = keys::new_generated_row_key();
    KALAM_ASSIGN_OR_RETURN(
        std::string id,
        keys::row_id_from_key(keys::RowKeyKind::kGenerated, row_key));
    std::string value;
    try {
      value = canonical->dump();
    } catch (const json::exception& e) {
      return Status::InvalidArgument(
          what + ": the event cannot be encoded: " + e.what());
    }
    keys_of.push_back(stream->prefix + row_key);
    values.push_back(std::move(value));
    ids.push_back(std::move(id));
  }
  if (ids.empty()) return ids;
  Database& db = catalog_.database();
  // Event ids are unique within this process by construction; on a store
  // shared with other processes each new key is also expected absent and,
  // on the (unlikely) collision with another process's id, every id is
  // drawn again (see RowStore::put).
  const bool check_ids = detail::store_is_shared(db);
  for (int attempt = 1;; ++attempt) {
    WriteBatch batch;
    // Shared store: no event lands in a table another process dropped.
    detail::expect_table_unchanged(ctx, *stream->info, batch);
    for (size_t i = 0; i < ids.size(); ++i) {
      if (attempt > 1) {
        const std::string row_key = keys::new_generated_row_key();
        KALAM_ASSIGN_OR_RETURN(
            ids[i],
            keys::row_id_from_key(keys::RowKeyKind::kGenerated, row_key));
        keys_of[i] = stream->prefix + row_key;
      }
      batch.put(ctx.data, keys_of[i], values[i]);
      if (check_ids) batch.expect_absent(ctx.data, keys_of[i]);
    }
    Status s = db.write(batch, options);
    if (check_ids && s.is_conflict()) {
      detail::forget_resolved(ctx);
      auto now = catalog_.resolve(ns, table);
      if (!now.ok() || (*now)->id != stream->info->id) {
        return Status::NotFound(what + ": table " +
                                stream->info->qualified_name() +
                                " was dropped (by another process sharing "
                                "the store); nothing was written");
      }
      if (attempt < detail::kConditionalWriteAttempts) continue;
    }
    KALAM_RETURN_IF_ERROR(s.with_context(what));
    return ids;
  }
}

StatusOr<Row> StreamTableStore::get(std::string_view ns, std::string_view table,
                                    std::string_view event_id) {
  const std::string what = describe("get from", ns, table);
  TablesContext& ctx = *catalog_.context_;
  auto stream = resolve_stream(catalog_, catalog_.resolve(ns, table));
  if (!stream.ok()) return stream.status().with_context(what);
  auto row_key = keys::row_key_from_id(keys::RowKeyKind::kGenerated, event_id);
  if (!row_key.ok()) return row_key.status().with_context(what);
  const std::string key = stream->prefix + *row_key;
  Database& db = catalog_.database();
  auto not_found = [&] {
    return Status::NotFound("no live event '" + keys::printable(event_id) +
                            "' in " + stream->info->qualified_name() +
                            " (never appended, or expired)");
  };
  auto lower = live_lower_bound(db, ctx.data, *stream, nullptr);
  if (!lower.ok()) return lower.status().with_context(what);
  if (key < *lower) return not_found();
  auto value = db.get(ctx.data, key);
  if (value.status().is_not_found()) return not_found();
  if (!value.ok()) return value.status().with_context(what);
  StatusOr<json> parsed = parse_json(*value);
  json data = parsed.ok() ? std::move(*parsed) : json();
  if (!data.is_object()) {
    return Status::Corruption(what + ": the stored event '" +
                              keys::printable(event_id) +
                              "' is not a JSON object");
  }
  return Row{.row_id = std::string(event_id), .data = std::move(data)};
}

StatusOr<std::vector<Row>> StreamTableStore::scan(std::string_view ns,
                                                  std::string_view table) {
  KALAM_ASSIGN_OR_RETURN(RowCursor cursor, iter(ns, table));
  std::vector<Row> rows;
  while (cursor.next()) rows.push_back(std::move(cursor.row()));
  KALAM_RETURN_IF_ERROR(cursor.status());
  return rows;
}

Status StreamTableStore::scan_with(std::string_view ns, std::string_view table,
                                   const RowVisitor& visit) {
  return detail::RowStore::visit_all(iter(ns, table), visit);
}

StatusOr<RowCursor> StreamTableStore::iter(std::string_view ns,
                                           std::string_view table) {
  const std::string what = describe("scan", ns, table);
  TablesContext& ctx = *catalog_.context_;
  auto stream = resolve_stream(catalog_, catalog_.resolve(ns, table));
  if (!stream.ok()) return stream.status().with_context(what);
  Database& db = catalog_.database();
  // The cutoff and the rows from one view where the backend has snapshots.
  std::optional<Snapshot> snapshot;
  if (db.plugin().has(KALAM_CAP_SNAPSHOTS)) {
    auto taken = db.snapshot();
    if (!taken.ok()) return taken.status().with_context(what);
    snapshot = std::move(*taken);
  }
  const Snapshot* view = snapshot ? &*snapshot : nullptr;
  auto lower = live_lower_bound(db, ctx.data, *stream, view);
  if (!lower.ok()) return lower.status().with_context(what);
  IteratorOptions range;
  range.lower = std::move(*lower);
  range.upper = keys::table_end(stream->info->id);
  range.snapshot = view;
  auto it = db.new_iterator(ctx.data, range);
  if (!it.ok()) return it.status().with_context(what);
  detail::HotLayout layout{.prefix = stream->prefix,
                           .kind = keys::RowKeyKind::kGenerated,
                           .tombstones = false,
                           .noun = "event"};
  return detail::RowCursorAccess::make_views(
      detail::merged_source(std::move(*it), std::move(layout), nullptr));
}

StatusOr<uint64_t> StreamTableStore::evict(std::string_view ns,
                                           std::string_view table) {
  const std::string what = describe("evict expired events of", ns, table);
  TablesContext& ctx = *catalog_.context_;
  std::shared_lock data(ctx.locks->data);
  auto stream = resolve_stream(catalog_, catalog_.resolve(ns, table));
  if (!stream.ok()) return stream.status().with_context(what);
  Database& db = catalog_.database();
  auto lower = live_lower_bound(db, ctx.data, *stream, nullptr);
  if (!lower.ok()) return lower.status().with_context(what);
  if (*lower == stream->prefix) return uint64_t{0};
  uint64_t expired = 0;
  {
    IteratorOptions range;
    range.lower = stream->prefix;
    range.upper = *lower;
    auto it = db.new_iterator(ctx.data, range);
    if (!it.ok()) return it.status().with_context(what);
    for (it->seek_to_first(); it->valid(); it->next()) ++expired;
    if (!it->status().ok()) return it->status().with_context(what);
  }
  if (expired == 0) return expired;
  WriteBatch batch;
  batch.delete_range(ctx.data, stream->prefix, *lower);
  KALAM_RETURN_IF_ERROR(db.write(batch).with_context(what));
  return expired;
}

}  // namespace kalam::tables
