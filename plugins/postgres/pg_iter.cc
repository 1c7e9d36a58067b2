#include "pg_iter.h"

#include <algorithm>
#include <mutex>

namespace kalam::postgres_plugin {
namespace {

const std::string kPrefix = "postgres plugin: ";

std::string be64(int64_t value) {
  const auto v = static_cast<uint64_t>(value);
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(v >> (56 - 8 * i));
  return out;
}

Param param(const std::string& s) {
  return Param{s.data(), static_cast<int>(s.size())};
}

}  // namespace

Iterator::~Iterator() {
  page_.clear();
  view_.reset();
  db_->iterator_destroyed();
}

int Iterator::stick(Error& err) {
  valid_ = false;
  page_.clear();
  sticky_ = err;
  return err.code;
}

int Iterator::status(Error& err) const {
  if (sticky_.code == KALAM_OK) return KALAM_OK;
  err = sticky_;
  return sticky_.code;
}

int Iterator::check_target(const void* target, size_t target_len,
                           Error& err) const {
  if (kalam_plugin::null_with_length(target, target_len)) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + "seek: target is NULL with length " +
                    std::to_string(target_len));
  }
  if (target_len > kMaxKeySize) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + "seek: target has " + std::to_string(target_len) +
                    " bytes, over max_key_size (" +
                    std::to_string(kMaxKeySize) + ")");
  }
  return KALAM_OK;
}

int Iterator::load(bool forward, const std::string& pivot, bool inclusive,
                   bool unbounded_reverse, Error& err) {
  valid_ = false;
  page_.clear();
  StatementKind kind;
  const std::string limit = be64(page_size_);
  Param params[3];
  int count = 0;
  if (forward) {
    if (bounds_.has_upper) {
      kind = inclusive ? kForwardGeBelow : kForwardGtBelow;
      params[0] = param(pivot);
      params[1] = param(bounds_.upper);
      params[2] = param(limit);
      count = 3;
    } else {
      kind = inclusive ? kForwardGe : kForwardGt;
      params[0] = param(pivot);
      params[1] = param(limit);
      count = 2;
    }
  } else if (unbounded_reverse) {
    kind = kReverseAll;
    params[0] = param(bounds_.lower);  // empty when there is no lower bound
    params[1] = param(limit);
    count = 2;
  } else {
    kind = inclusive ? kReverseLe : kReverseLt;
    params[0] = param(pivot);
    params[1] = param(bounds_.lower);
    params[2] = param(limit);
    count = 3;
  }
  Result result;
  {
    std::lock_guard lock(view_->mutex());
    Connection& conn = view_->conn();
    int rc = db_->prepare(conn, *family_, kind, err);
    if (rc == KALAM_OK) {
      rc = conn.run(family_->statements[kind],
                    std::span<const Param>(params, static_cast<size_t>(count)),
                    "iterator", err, &result);
    }
    if (rc == KALAM_DROPPED) {
      rc = fail(err, KALAM_DROPPED,
                kPrefix + "column family '" + family_->name + "' was dropped");
    }
    if (rc != KALAM_OK) return stick(err);
  }
  const int rows = PQntuples(result.get());
  page_.reserve(static_cast<size_t>(rows));
  for (int i = 0; i < rows; ++i) {
    page_.emplace_back(
        std::string(PQgetvalue(result.get(), i, 0),
                    static_cast<size_t>(PQgetlength(result.get(), i, 0))),
        std::string(PQgetvalue(result.get(), i, 1),
                    static_cast<size_t>(PQgetlength(result.get(), i, 1))));
  }
  page_forward_ = forward;
  page_last_ = rows < page_size_;
  pos_ = 0;
  if (rows == 0) return KALAM_NOT_FOUND;
  valid_ = true;
  return KALAM_OK;
}

int Iterator::seek_first(Error& err) {
  if (sticky_.code != KALAM_OK) return status(err);
  page_size_ = kFirstPage;
  return load(true, bounds_.lower, true, false, err);
}

int Iterator::seek_last(Error& err) {
  if (sticky_.code != KALAM_OK) return status(err);
  page_size_ = kFirstPage;
  if (bounds_.has_upper) return load(false, bounds_.upper, false, false, err);
  return load(false, std::string(), false, true, err);
}

int Iterator::seek(const void* target, size_t target_len, Error& err) {
  if (sticky_.code != KALAM_OK) return status(err);
  int rc = check_target(target, target_len, err);
  if (rc != KALAM_OK) return rc;
  page_size_ = kFirstPage;
  std::string pivot(static_cast<const char*>(target), target_len);
  if (bounds_.has_lower &&
      compare_bytes(pivot.data(), pivot.size(), bounds_.lower.data(),
                    bounds_.lower.size()) < 0) {
    pivot = bounds_.lower;
  }
  return load(true, pivot, true, false, err);
}

int Iterator::seek_for_prev(const void* target, size_t target_len, Error& err) {
  if (sticky_.code != KALAM_OK) return status(err);
  int rc = check_target(target, target_len, err);
  if (rc != KALAM_OK) return rc;
  page_size_ = kFirstPage;
  std::string pivot(static_cast<const char*>(target), target_len);
  if (bounds_.has_upper &&
      compare_bytes(pivot.data(), pivot.size(), bounds_.upper.data(),
                    bounds_.upper.size()) >= 0) {
    return load(false, bounds_.upper, false, false, err);
  }
  return load(false, pivot, true, false, err);
}

int Iterator::move(bool forward, Error& err) {
  if (sticky_.code != KALAM_OK) return status(err);
  if (!valid_) return KALAM_NOT_FOUND;
  if (page_forward_ == forward) {
    if (pos_ + 1 < page_.size()) {
      ++pos_;
      return KALAM_OK;
    }
    if (page_last_) {
      valid_ = false;
      page_.clear();
      return KALAM_NOT_FOUND;
    }
    page_size_ = std::min(page_size_ * 2, kMaxPage);
  } else {
    if (pos_ > 0) {
      --pos_;
      return KALAM_OK;
    }
    page_size_ = kFirstPage;
  }
  const std::string pivot = key();
  return load(forward, pivot, false, false, err);
}

int Iterator::next(Error& err) { return move(true, err); }

int Iterator::prev(Error& err) { return move(false, err); }

int Iterator::entry(const void** key, size_t* key_len, const void** value,
                    size_t* value_len) const {
  if (!valid_) return KALAM_NOT_FOUND;
  if (key == nullptr || key_len == nullptr) return KALAM_INVALID_ARGUMENT;
  const auto& e = page_[pos_];
  *key = e.first.data();
  *key_len = e.first.size();
  if (value != nullptr) *value = e.second.data();
  if (value_len != nullptr) *value_len = e.second.size();
  return KALAM_OK;
}

int Iterator::next_batch(uint32_t flags, size_t max_entries,
                         kalam_entry_visitor visit, void* ctx, size_t* consumed,
                         Error& err) {
  if (visit == nullptr) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + "iter_next_batch: visit is NULL");
  }
  if ((flags & ~KALAM_BATCH_REVERSE) != 0) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + "iter_next_batch: unknown flag bits " +
                    std::to_string(flags));
  }
  if (sticky_.code != KALAM_OK) return status(err);
  const bool forward = (flags & KALAM_BATCH_REVERSE) == 0;
  size_t n = 0;
  int rc = valid_ ? KALAM_OK : KALAM_NOT_FOUND;
  while (rc == KALAM_OK && n < max_entries) {
    const auto& e = page_[pos_];
    if (visit(ctx, e.first.data(), e.first.size(), e.second.data(),
              e.second.size()) != 0) {
      break;
    }
    ++n;
    rc = move(forward, err);
  }
  if (consumed != nullptr) *consumed = n;
  return rc;
}

int Iterator::read_batch(uint32_t flags, size_t max_entries, kalam_entry* out,
                         size_t* filled, Error& err) {
  if (filled == nullptr || (out == nullptr && max_entries > 0)) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix +
                    "iter_read_batch: filled is NULL, or out is NULL "
                    "with max_entries > 0");
  }
  if ((flags & ~KALAM_BATCH_REVERSE) != 0) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                kPrefix + "iter_read_batch: unknown flag bits " +
                    std::to_string(flags));
  }
  if (sticky_.code != KALAM_OK) return status(err);
  const bool forward = (flags & KALAM_BATCH_REVERSE) == 0;
  size_t n = 0;
  int rc = valid_ ? KALAM_OK : KALAM_NOT_FOUND;
  if (rc == KALAM_OK && max_entries > 0) {
    // Copies: a page is replaced when the walk runs past it.
    const auto& first = page_[pos_];
    kalam_plugin::EntryArena::Batch batch =
        arena_.start(max_entries, first.first.size() + first.second.size());
    while (rc == KALAM_OK && n < max_entries) {
      const auto& e = page_[pos_];
      batch.add(out, n, e.first.data(), e.first.size(), e.second.data(),
                e.second.size());
      ++n;
      rc = move(forward, err);
    }
  }
  *filled = n;
  return rc;
}

}  // namespace kalam::postgres_plugin
