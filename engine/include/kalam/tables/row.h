// Rows as the table layer hands them out, and the streaming cursor over them.
#pragma once

#include <kalam/database.h>
#include <kalam/status.h>

#include <deque>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace kalam::tables {

// One row of any table — user, shared or system.
struct Row {
  // The owner, for rows of user tables; empty for shared and system tables.
  std::string user_id;
  // The row id in text form: the primary key's value (decimal for int64
  // keys), or for tables without one the generated id (32 hex digits, in
  // creation order). System rows: the namespace name (system.namespaces),
  // "namespace.table" (system.tables).
  std::string row_id;
  // The row: a JSON object with every column of the table.
  nlohmann::json data;

  friend bool operator==(const Row&, const Row&) = default;
};

namespace detail {
struct RowCursorAccess;
// Turns one stored entry into a row: true when `row` holds one, false to
// skip the entry (a deletion record); a non-OK status stops the cursor.
using RowDecoder = std::function<StatusOr<bool>(
    std::string_view key, std::string_view value, Row& row)>;
// Where a RowCursor's rows come from.
class RowSource {
 public:
  virtual ~RowSource() = default;
  // Appends up to `max` rows to `out`; appending none means the end.
  virtual Status fill(std::deque<Row>& out, size_t max) = 0;
};
}  // namespace detail

// A forward, streaming read over the rows of one table (or of one user in
// it), in key order. It holds one storage iterator (plus, once a table has
// been flushed, one reader per cold segment) and at most one batch of
// decoded rows, never the whole table. Like the Iterator it wraps, it keeps
// its database open until destroyed (Database::close() returns BUSY), and
// it is used by one thread at a time. It sees the hot rows as of its
// creation on backends with snapshots, and the cold segments that existed
// then.
//
//   KALAM_ASSIGN_OR_RETURN(auto cursor, store.iter("app", "messages", "u1"));
//   while (cursor.next()) use(cursor.row());
//   KALAM_RETURN_IF_ERROR(cursor.status());
class RowCursor {
 public:
  RowCursor(RowCursor&&) noexcept;
  RowCursor& operator=(RowCursor&&) noexcept;
  RowCursor(const RowCursor&) = delete;
  RowCursor& operator=(const RowCursor&) = delete;
  ~RowCursor();

  // Moves to the next row. false at the end, or on an error: then status()
  // is not OK, and every later call returns false.
  bool next();
  // REQUIRES: the last next() returned true. Valid until the next call;
  // the non-const form lets the caller move the row out.
  const Row& row() const { return current_; }
  Row& row() { return current_; }
  // OK, or the first error (storage or a row that does not decode).
  const Status& status() const { return status_; }

  // Rows decoded per storage call (default 256).
  void set_batch_size(size_t rows) { batch_size_ = rows == 0 ? 1 : rows; }

 private:
  friend struct detail::RowCursorAccess;
  explicit RowCursor(std::unique_ptr<detail::RowSource> source);

  std::unique_ptr<detail::RowSource> source_;
  std::deque<Row> buffer_;
  Row current_;
  Status status_;
  size_t batch_size_ = 256;
};

}  // namespace kalam::tables
