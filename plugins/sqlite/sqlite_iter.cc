#include "sqlite_iter.h"

#include <mutex>
#include <utility>

namespace kalam::sqlite_plugin {
namespace {

const std::string kPrefix = "sqlite plugin: ";

// The SQL of iterator query `variant` (0..17) over `table`:
//   variant = direction * 9 + lower kind * 3 + upper kind
// lower kind: 0 none, 1 key >= ?1, 2 key > ?1;
// upper kind: 0 none, 1 key < ?2, 2 key <= ?2; direction 1 is descending.
std::string iterator_sql(unsigned variant, const std::string& sql_table) {
  const unsigned direction = variant / 9;
  const unsigned lower = (variant / 3) % 3;
  const unsigned upper = variant % 3;
  std::string sql = "SELECT key, value FROM " + sql_table;
  const char* joiner = " WHERE ";
  if (lower != 0) {
    sql += joiner;
    sql += lower == 1 ? "key >= ?1" : "key > ?1";
    joiner = " AND ";
  }
  if (upper != 0) {
    sql += joiner;
    sql += upper == 1 ? "key < ?2" : "key <= ?2";
  }
  sql += direction == 0 ? " ORDER BY key ASC" : " ORDER BY key DESC";
  return sql;
}

}  // namespace

Iterator::Iterator(Database* db, const Family* family,
                   std::shared_ptr<ReadView> view, IterBounds bounds)
    : db_(db),
      family_(family),
      view_(std::move(view)),
      bounds_(std::move(bounds)) {}

Iterator::~Iterator() {
  {
    std::lock_guard<std::recursive_mutex> lock(view_->mutex());
    query_.release();
  }
  view_.reset();  // may end the read transaction (implicit snapshot)
  db_->iterator_destroyed();
}

int Iterator::stick(Error& err) {
  query_.release();
  valid_ = false;
  sticky_ = err;
  return err.code;
}

int Iterator::position(bool forward, Lower lower_kind, const std::string* lower,
                       Upper upper_kind, const std::string* upper, Error& err) {
  query_.release();
  valid_ = false;
  forward_ = forward;
  if (table_missing_) return KALAM_NOT_FOUND;
  const unsigned variant = (forward ? 0u : 9u) +
                           static_cast<unsigned>(lower_kind) * 3u +
                           static_cast<unsigned>(upper_kind);
  Connection& conn = view_->conn();
  int rc = conn.lease(
      statement_key(family_->id, kIterFirst + variant),
      [&] { return iterator_sql(variant, family_->sql_name); }, &query_);
  if (rc != SQLITE_OK) {
    // A family created after the view started is empty in that view.
    if ((rc & 0xff) == SQLITE_ERROR &&
        !Database::table_in_view(conn, family_->table)) {
      table_missing_ = true;
      return KALAM_NOT_FOUND;
    }
    fail_sqlite(err, conn.handle(), rc,
                kPrefix + "iterator: preparing a query on column family '" +
                    family_->name + "' of " + db_->file());
    return stick(err);
  }
  // Each variant's every parameter is bound below before it steps.
  query_.keep_bindings();
  if (lower_kind != kNoLower)
    rc = query_.bind_blob(1, lower->data(), lower->size());
  if (rc == SQLITE_OK && upper_kind != kNoUpper) {
    rc = query_.bind_blob(2, upper->data(), upper->size());
  }
  if (rc != SQLITE_OK) {
    fail_sqlite(err, conn.handle(), rc,
                kPrefix + "iterator: binding bounds on column family '" +
                    family_->name + "'");
    return stick(err);
  }
  return step(err);
}

int Iterator::step(Error& err) {
  const int rc = query_.step();
  if (rc == SQLITE_ROW) [[likely]] {
    key_ = query_.column_blob(0, &key_len_);
    value_ = query_.column_blob(1, &value_len_);
    valid_ = true;
    return KALAM_OK;
  }
  return query_ended(rc, err);
}

int Iterator::query_ended(int rc, Error& err) {
  valid_ = false;
  if (rc == SQLITE_DONE) {
    query_.release();
    return KALAM_NOT_FOUND;
  }
  fail_sqlite(err, view_->conn().handle(), rc,
              kPrefix + "iterator: reading column family '" + family_->name +
                  "' of " + db_->file());
  return stick(err);
}

int Iterator::check_target(const void* target, size_t target_len,
                           Error& err) const {
  if (kalam_plugin::null_with_length(target, target_len) ||
      target_len > db_->length_limit()) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + "iterator: the seek target is NULL with length " +
                    std::to_string(target_len) + ", or longer than " +
                    std::to_string(db_->length_limit()) + " bytes");
  }
  return KALAM_OK;
}

int Iterator::seek_first(Error& err) {
  if (sticky_.code != KALAM_OK) return status(err);
  std::lock_guard<std::recursive_mutex> lock(view_->mutex());
  return position(true, bounds_.has_lower ? kAtLeast : kNoLower, &bounds_.lower,
                  bounds_.has_upper ? kBelow : kNoUpper, &bounds_.upper, err);
}

int Iterator::seek_last(Error& err) {
  if (sticky_.code != KALAM_OK) return status(err);
  std::lock_guard<std::recursive_mutex> lock(view_->mutex());
  return position(false, bounds_.has_lower ? kAtLeast : kNoLower,
                  &bounds_.lower, bounds_.has_upper ? kBelow : kNoUpper,
                  &bounds_.upper, err);
}

int Iterator::seek(const void* target, size_t target_len, Error& err) {
  if (sticky_.code != KALAM_OK) return status(err);
  // An invalid target is the caller's mistake, not the iterator's: not sticky.
  int rc = check_target(target, target_len, err);
  if (rc != KALAM_OK) return rc;
  std::lock_guard<std::recursive_mutex> lock(view_->mutex());
  // Copied first: the target may be this iterator's own entry view, which
  // dies with the current query.
  std::string copy(static_cast<const char*>(target), target_len);
  query_.release();
  pivot_ = std::move(copy);
  // Clamp to the lower bound: key >= max(target, lower).
  const bool below_lower =
      bounds_.has_lower &&
      compare_bytes(pivot_.data(), pivot_.size(), bounds_.lower.data(),
                    bounds_.lower.size()) < 0;
  return position(true, kAtLeast, below_lower ? &bounds_.lower : &pivot_,
                  bounds_.has_upper ? kBelow : kNoUpper, &bounds_.upper, err);
}

int Iterator::seek_for_prev(const void* target, size_t target_len, Error& err) {
  if (sticky_.code != KALAM_OK) return status(err);
  int rc = check_target(target, target_len, err);
  if (rc != KALAM_OK) return rc;
  std::lock_guard<std::recursive_mutex> lock(view_->mutex());
  std::string copy(static_cast<const char*>(target), target_len);  // see seek
  query_.release();
  pivot_ = std::move(copy);
  const Lower lower_kind = bounds_.has_lower ? kAtLeast : kNoLower;
  // Clamp to the upper bound: key <= target and key < upper.
  if (bounds_.has_upper &&
      compare_bytes(pivot_.data(), pivot_.size(), bounds_.upper.data(),
                    bounds_.upper.size()) >= 0) {
    return position(false, lower_kind, &bounds_.lower, kBelow, &bounds_.upper,
                    err);
  }
  return position(false, lower_kind, &bounds_.lower, kAtMost, &pivot_, err);
}

int Iterator::next(Error& err) {
  if (sticky_.code != KALAM_OK) return status(err);
  std::lock_guard<std::recursive_mutex> lock(view_->mutex());
  return next_locked(err);
}

int Iterator::prev(Error& err) {
  if (sticky_.code != KALAM_OK) return status(err);
  std::lock_guard<std::recursive_mutex> lock(view_->mutex());
  return prev_locked(err);
}

int Iterator::next_locked(Error& err) {
  if (!valid_) return KALAM_NOT_FOUND;
  if (forward_) return step(err);
  // Turn around: a new ascending query from just after the current key.
  std::string current(static_cast<const char*>(key_), key_len_);
  query_.release();
  pivot_ = std::move(current);
  return position(true, kAbove, &pivot_, bounds_.has_upper ? kBelow : kNoUpper,
                  &bounds_.upper, err);
}

int Iterator::prev_locked(Error& err) {
  if (!valid_) return KALAM_NOT_FOUND;
  if (!forward_) return step(err);
  // Turn around: a new descending query from just before the current key.
  std::string current(static_cast<const char*>(key_), key_len_);
  query_.release();
  pivot_ = std::move(current);
  return position(false, bounds_.has_lower ? kAtLeast : kNoLower,
                  &bounds_.lower, kBelow, &pivot_, err);
}

int Iterator::entry(const void** key, size_t* key_len, const void** value,
                    size_t* value_len) const {
  if (!valid_) return KALAM_NOT_FOUND;
  if (key != nullptr) *key = key_;
  if (key_len != nullptr) *key_len = key_len_;
  if (value != nullptr) *value = value_;
  if (value_len != nullptr) *value_len = value_len_;
  return KALAM_OK;
}

int Iterator::status(Error& err) const {
  if (sticky_.code == KALAM_OK) return KALAM_OK;
  err = sticky_;
  return sticky_.code;
}

int Iterator::next_batch(uint32_t flags, size_t max_entries,
                         kalam_entry_visitor visit, void* ctx, size_t* consumed,
                         Error& err) {
  if (consumed != nullptr) *consumed = 0;
  if ((flags & ~KALAM_BATCH_REVERSE) != 0 || visit == nullptr) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix +
                    "iter_next_batch: visit is NULL or flags has unknown "
                    "bits " +
                    std::to_string(flags & ~KALAM_BATCH_REVERSE));
  }
  if (sticky_.code != KALAM_OK) return status(err);
  const bool reverse = (flags & KALAM_BATCH_REVERSE) != 0;
  std::lock_guard<std::recursive_mutex> lock(view_->mutex());
  size_t count = 0;
  int rc = KALAM_OK;
  while (true) {
    if (!valid_) {
      rc = KALAM_NOT_FOUND;
      break;
    }
    if (count == max_entries) {
      rc = KALAM_OK;
      break;
    }
    if (visit(ctx, key_, key_len_, value_, value_len_) != 0) {
      rc = KALAM_OK;  // refused: stays current, not consumed
      break;
    }
    ++count;
    if (consumed != nullptr) *consumed = count;
    rc = reverse ? prev_locked(err) : next_locked(err);
    if (rc != KALAM_OK) break;
  }
  return rc;
}

int Iterator::read_batch(uint32_t flags, size_t max_entries, kalam_entry* out,
                         size_t* filled, Error& err) {
  // read_batch() grows arena_ past this only to hold one entry.
  constexpr size_t kArenaSoftLimit = size_t{4} << 20;
  if (filled != nullptr) *filled = 0;
  if ((flags & ~KALAM_BATCH_REVERSE) != 0 || filled == nullptr ||
      (out == nullptr && max_entries > 0)) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix +
                    "iter_read_batch: filled is NULL, out is NULL with "
                    "max_entries above 0, or flags has unknown bits " +
                    std::to_string(flags & ~KALAM_BATCH_REVERSE));
  }
  if (sticky_.code != KALAM_OK) return status(err);
  const bool reverse = (flags & KALAM_BATCH_REVERSE) != 0;
  std::lock_guard<std::recursive_mutex> lock(view_->mutex());
  if (!valid_) return KALAM_NOT_FOUND;
  kalam_plugin::EntryArena::Batch batch =
      arena_.start(max_entries, key_len_ + value_len_);
  size_t n = 0;
  if (max_entries > 0 && forward_ == reverse) {
    // The first move turns around: a new query in the batch's direction.
    batch.add(out, n, key_, key_len_, value_, value_len_);
    *filled = ++n;
    const int rc = reverse ? prev_locked(err) : next_locked(err);
    if (rc != KALAM_OK) return rc;
  }
  // The query runs in the batch's direction: each step continues it. The
  // current row stays in locals until the batch ends (the copies are char
  // stores, after which members would be reloaded).
  sqlite3_stmt* const stmt = query_.get();
  const void* key = key_;
  size_t key_len = key_len_;
  const void* value = value_;
  size_t value_len = value_len_;
  // The iterator stays on the row the query stepped to, also when add()
  // throws (out of memory).
  auto keep_row = [&] {
    key_ = key;
    key_len_ = key_len;
    value_ = value;
    value_len_ = value_len;
  };
  try {
    while (n < max_entries) {
      batch.add(out, n, key, key_len, value, value_len);
      *filled = ++n;
      const int rc = sqlite3_step(stmt);
      if (rc != SQLITE_ROW) [[unlikely]] {
        return query_ended(rc, err);
      }
      key = column_bytes(stmt, 0, &key_len);
      value = column_bytes(stmt, 1, &value_len);
      if (batch.used() >= kArenaSoftLimit) break;
    }
  } catch (...) {
    keep_row();
    throw;
  }
  keep_row();
  return KALAM_OK;
}

}  // namespace kalam::sqlite_plugin
