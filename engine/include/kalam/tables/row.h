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
#include <tuple>
#include <vector>

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

  friend bool operator==(const Row& a, const Row& b) {
    return std::tie(a.user_id, a.row_id, a.data) ==
           std::tie(b.user_id, b.row_id, b.data);
  }
  friend bool operator!=(const Row& a, const Row& b) { return !(a == b); }
};

// A range of row ids, for the bounded scans (iter_range): ids compare as
// their stored keys do — int64 keys numerically, string keys bytewise,
// generated ids in creation order. An unset bound leaves that side open.
// The scan reads only the keys inside the range (one bounded iterator over
// the hot rows; cold records outside it are skipped, never handed out).
struct RowIdRange {
  std::optional<std::string> lower;
  bool lower_inclusive = true;
  std::optional<std::string> upper;
  bool upper_inclusive = true;
};

// A row without its DOM: views of the owner, the id and the stored JSON
// text of the row, handed out by RowCursor::next_batch(), next_view() and
// the stores' scan_with() — the zero-copy read path (see docs/tables.md,
// "Zero-copy scans"). Reading a row this way costs no JSON parse and, in
// the common case (rows still in the hot store), no heap allocation.
//
// Lifetime: the views point into the storage iterator's current entry or
// into buffers of the cursor. They are valid only inside the visitor that
// received the view (next_batch, scan_with), or until the cursor's next
// call (next_view). Copy what must outlive that (to_row(), std::string).
//
// The text is the row as stored: one JSON object, not parsed or checked on
// this path (the Row path checks every row, and fails with CORRUPTION on a
// stored value that is not a JSON object; data() does the same check).
struct RowView {
  // As Row::user_id: the owner for rows of user tables, else empty.
  std::string_view user_id;
  // As Row::row_id.
  std::string_view row_id;
  // The row's JSON object text.
  std::string_view json;

  // The row parsed: what Row::data holds. CORRUPTION naming the row when
  // the text is not a JSON object.
  StatusOr<nlohmann::json> data() const;
  // An owning copy, with the row parsed (data()).
  StatusOr<Row> to_row() const;
};

// Gets one row; returns false to stop (that row is then not consumed: the
// cursor's next call hands it out again).
using RowVisitor = std::function<bool(const RowView&)>;

// What update_with() asks for the changes to a row: gets the row's current
// data (a JSON object) and returns the changes to merge into it (as
// update() takes them), or an error that cancels the update.
using RowChangesFn =
    std::function<StatusOr<nlohmann::json>(const nlohmann::json& current)>;

namespace detail {
struct RowCursorAccess;
// Turns one stored entry into a row: true when `row` holds one, false to
// skip the entry (a deletion record); a non-OK status stops the cursor.
using RowDecoder = std::function<StatusOr<bool>(
    std::string_view key, std::string_view value, Row& row)>;
// A Row-producing source (system tables).
class RowSource {
 public:
  virtual ~RowSource() = default;
  // Appends up to `max` rows to `out`; appending none means the end.
  virtual Status fill(std::deque<Row>& out, size_t max) = 0;
};
// One row as a source hands it to the cursor: the views of a RowView, the
// storage key (for error messages) and, when the row is already a DOM (a
// cold record, a system row), that DOM instead of the text (`json` then
// empty). Valid only inside the call that received it; the receiver may
// move from *dom.
struct SourceRow {
  std::string_view user_id;
  std::string_view row_id;
  std::string_view json;
  std::string_view key;
  nlohmann::json* dom = nullptr;
  // What a stored value is called in a CORRUPTION message ("row", "event").
  const char* noun = "row";
};
// Where a RowCursor's rows come from.
class ViewSource {
 public:
  virtual ~ViewSource() = default;
  // Hands up to `max` rows (max >= 1) to `visit`, in key order; a visit
  // that returns false stops the call, and that row is handed out again by
  // the next one. Returns the rows consumed: 0 means the end (or, when the
  // first visit returned false, nothing consumed). Every error is sticky.
  virtual StatusOr<size_t> visit(
      size_t max, const std::function<bool(SourceRow&)>& visit) = 0;
  // The same, each row handed as a RowView (a row that comes as a DOM is
  // dumped into a buffer of the source first); `stopped` is set when a
  // visit returned false. The default wraps visit(); a source overrides it
  // to save that indirection per row.
  virtual StatusOr<size_t> visit_views(size_t max, const RowVisitor& visit,
                                       bool& stopped);

 private:
  std::string scratch_;  // the default visit_views(): a DOM row's text
};
}  // namespace detail

// A forward, streaming read over the rows of one table (or of one user in
// it), in key order. It holds one storage iterator (plus, once a table has
// been flushed, one reader per cold segment) and at most one batch of
// rows, never the whole table. Like the Iterator it wraps, it keeps its
// database open until destroyed (Database::close() returns BUSY), and it
// is used by one thread at a time. It sees the hot rows as of its creation
// on backends with snapshots, and the cold segments that existed then.
//
// Two ways to read, which may be mixed (each call moves past the rows it
// returns):
//  - Rows, each parsed into a DOM (next()/row()):
//      KALAM_ASSIGN_OR_RETURN(auto cursor, store.iter("app", "notes", "u1"));
//      while (cursor.next()) use(cursor.row());
//      KALAM_RETURN_IF_ERROR(cursor.status());
//  - Views, zero-copy, no parse (next_batch(), or next_view()/view()):
//      while (true) {
//        KALAM_ASSIGN_OR_RETURN(size_t n, cursor.next_batch(256,
//            [&](const RowView& v) { use(v.row_id, v.json); return true; }));
//        if (n == 0) break;
//      }
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

  // The zero-copy batch step, in the manner of Iterator::next_batch: hands
  // up to `max_rows` rows to `visit` as views valid ONLY inside `visit`,
  // which returns false to stop (that row then stays next). Returns the
  // rows handed out and consumed; 0 at the end (or when the first visit
  // returned false, or for max_rows 0). Rows still in the hot store are
  // handed straight from the backend's batch, so `visit` runs inside a
  // storage call and must not call back into the Database or a table store.
  // An error is returned and kept in status(), and ends the cursor.
  StatusOr<size_t> next_batch(size_t max_rows, const RowVisitor& visit);
  // The step form of the view read: moves to the next row, false at the end
  // or on an error (as next()). Rows are copied a batch at a time into one
  // buffer the cursor reuses, so next_batch's restrictions do not apply and no
  // allocation happens per row once the buffer has grown.
  bool next_view();
  // REQUIRES: the last next_view() returned true. The views are valid until
  // the cursor's next call (or its destruction).
  const RowView& view() const { return view_; }

  // Rows read per storage call by next() and next_view() (default 256).
  void set_batch_size(size_t rows) { batch_size_ = rows == 0 ? 1 : rows; }

 private:
  friend struct detail::RowCursorAccess;
  explicit RowCursor(std::unique_ptr<detail::ViewSource> source);
  // Ends the cursor with `s` (when not OK) and releases the source.
  void finish(Status s);
  // Whether rows copied by next_view() are still to be handed out.
  bool views_pending() const { return next_copied_ < copied_.size(); }
  // Hands the pending copied views to `visit` (at most `max`).
  size_t drain_copied(size_t max, const RowVisitor& visit);

  std::unique_ptr<detail::ViewSource> source_;
  std::deque<Row> buffer_;
  Row current_;
  Status status_;
  size_t batch_size_ = 256;
  // next_view(): one batch of rows, copied; each row's views as offsets
  // into `arena_`.
  struct Copied {
    size_t user_id, user_id_size, row_id, row_id_size, json, json_size;
  };
  std::string arena_;
  std::vector<Copied> copied_;
  size_t next_copied_ = 0;
  RowView view_;
  std::string scratch_;  // a cold or system row's text, dumped
};

}  // namespace kalam::tables
