// The "tables" mode: the same key/value operations as rows of a user table,
// through the table layer (kalam::tables::UserTableStore) on the same
// engine and plugin as the plugin mode. What it adds over the plugin mode is
// what issue 7 asks to measure: JSON rows (validation against the schema,
// dump and parse), key encoding (table id | esc(user) | esc(primary key)),
// the catalog lookup of every call, and the table layer's locks.
//
// The table, in namespace "bench" (created on first open, outside any
// timed loop):
//
//   bench.kv, a user table: k string NOT NULL PRIMARY KEY,
//                           v string NOT NULL
//
// A key/value pair is the row {"k": key, "v": value} of user "bench": the
// workload's 16-byte key is the primary key and row id, its 100-byte value
// the payload column. Mapping of the Store calls:
//
//   put          UserTableStore::put(row)
//   write_batch  UserTableStore::put_many(rows)   (one atomic batch)
//   del          UserTableStore::del(row id)      (reads the row first)
//   get          UserTableStore::get(row id) -> the "v" member to the sink
//   cursor       UserTableStore::iter_all(table)  (every user's rows)
//   prefix_cursor UserTableStore::iter(table, "bench"): the user-scoped scan,
//                 read as views (RowCursor::next_batch: row id, row text)
//   decoded_prefix_cursor  the same, read as Rows (RowCursor::next: parsed)
//
// The row objects are built once per store and only their two strings are
// reassigned per call, so the driver adds no JSON allocations of its own to
// the figure: what is measured is the table layer, not the caller building
// rows. A RowCursor cannot seek (it reads a partition from its start), so
// seekrandom and YCSB E do not run in this mode (config.h, mode_runs()).
#pragma once

#include <kalam/database.h>
#include <kalam/tables/tables.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "store.h"
#include "workload.h"

namespace kalam_bench {

inline constexpr std::string_view kTablesNamespace = "bench";
inline constexpr std::string_view kTablesTable = "kv";
inline constexpr std::string_view kTablesUser = "bench";

class TablesStore {
 public:
  static std::unique_ptr<TablesStore> open(const StoreOptions& options,
                                           const std::filesystem::path& dir);
  ~TablesStore();

  bool persistent() const { return persistent_; }

  void put(std::string_view key, std::string_view value, bool sync) {
    set(rows_[0], key, value);
    kalam::StatusOr<std::string> id = tables_->user().put(
        kTablesNamespace, kTablesTable, kTablesUser, rows_[0], {.sync = sync});
    if (!id.ok()) die("UserTableStore::put: " + id.status().to_string());
  }
  void del(std::string_view key, bool sync) {
    kalam::Status s = tables_->user().del(kTablesNamespace, kTablesTable,
                                          kTablesUser, key, {.sync = sync});
    if (!s.ok()) die("UserTableStore::del: " + s.to_string());
  }
  void write_batch(const std::string_view* keys, const std::string_view* values,
                   size_t n, bool sync) {
    if (rows_.size() < n) rows_.resize(n, rows_[0]);
    for (size_t i = 0; i < n; ++i) set(rows_[i], keys[i], values[i]);
    auto ids = tables_->user().put_many(
        kTablesNamespace, kTablesTable, kTablesUser,
        kalam::Span<const nlohmann::json>(rows_.data(), n), {.sync = sync});
    if (!ids.ok()) die("UserTableStore::put_many: " + ids.status().to_string());
  }
  bool get(std::string_view key, Sink& sink) {
    kalam::StatusOr<kalam::tables::Row> row =
        tables_->user().get(kTablesNamespace, kTablesTable, kTablesUser, key);
    if (row.ok()) {
      sink.value(payload(*row));
      return true;
    }
    if (row.status().is_not_found()) return false;
    die("UserTableStore::get: " + row.status().to_string());
  }

  class Cursor {
   public:
    // `views`: hand the sink views of each row's id and stored JSON text
    // (RowCursor::next_batch, zero-copy, no parse); otherwise each row is
    // read as a Row, its JSON parsed, and the sink gets its "v" member.
    Cursor(kalam::tables::RowCursor cursor, bool views)
        : cursor_(std::move(cursor)), views_(views) {}
    // A RowCursor starts at its partition's first row; it cannot seek.
    void seek_first() {}
    [[noreturn]] void seek(std::string_view) {
      die("the tables mode cannot seek (a RowCursor has no seek)");
    }
    size_t read(size_t n, Sink& sink) {
      if (views_) {
        // The like-for-like counterpart of the raw prefix scan, which hands
        // the sink the entries' key and value views.
        kalam::StatusOr<size_t> got =
            cursor_.next_batch(n, [&sink](const kalam::tables::RowView& row) {
              sink.entry(row.row_id, row.json);
              return true;
            });
        if (!got.ok()) die("RowCursor: " + got.status().to_string());
        return *got;
      }
      size_t got = 0;
      while (got < n && cursor_.next()) {
        const kalam::tables::Row& row = cursor_.row();
        sink.entry(row.row_id, payload(row));
        ++got;
      }
      if (!cursor_.status().ok()) {
        die("RowCursor: " + cursor_.status().to_string());
      }
      return got;
    }

   private:
    kalam::tables::RowCursor cursor_;
    bool views_;
  };
  Cursor cursor();
  // The prefix is implied: user "bench" holds exactly the loaded rows, and
  // iter() reads that user's key range through one bounded iterator. Rows
  // as views (scanprefix).
  Cursor prefix_cursor(std::string_view prefix);
  // The same scan, every row parsed into a Row (scanprefix-decoded).
  Cursor decoded_prefix_cursor(std::string_view prefix);

  void flush();
  void close();

 private:
  TablesStore() = default;
  // The "v" member of a stored row.
  static std::string_view payload(const kalam::tables::Row& row) {
    auto it = row.data.find("v");
    if (it == row.data.end() || !it->is_string()) {
      die("a row of bench.kv has no string column 'v'");
    }
    return it->get_ref<const std::string&>();
  }
  static void set(nlohmann::json& row, std::string_view key,
                  std::string_view value) {
    row["k"].get_ref<std::string&>().assign(key);
    row["v"].get_ref<std::string&>().assign(value);
  }

  std::unique_ptr<kalam::Database> db_;
  std::unique_ptr<kalam::tables::Tables> tables_;
  std::vector<nlohmann::json> rows_;
  size_t scan_batch_ = 256;
  bool persistent_ = false;
};

}  // namespace kalam_bench
