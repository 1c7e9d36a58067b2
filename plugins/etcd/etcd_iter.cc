#include "etcd_iter.h"

#include <algorithm>
#include <utility>

namespace kalam::etcd_plugin {

Iterator::Iterator(Database* db, Family* family, int64_t revision,
                   IterBounds bounds)
    : db_(db),
      family_(family),
      revision_(revision),
      bounds_(std::move(bounds)) {
  begin_ = family_->prefix + (bounds_.has_lower ? bounds_.lower : "");
  end_ = bounds_.has_upper ? family_->prefix + bounds_.upper : family_->end;
}

Iterator::~Iterator() { db_->iterator_destroyed(); }

int Iterator::start(bool reverse_hint, Error& err) {
  const int rc =
      reverse_hint ? fetch_backward(end_, err) : fetch_forward(begin_, err);
  pos_ = -1;
  return rc;
}

int Iterator::fetch(const std::string& begin, const std::string& end,
                    bool descending, Error& err) {
  pb::RangeResponse response;
  // An empty range is not sent: etcd would read it as "to the end".
  if (begin < end) {
    pb::RangeRequest request;
    request.set_key(begin);
    request.set_range_end(end);
    request.set_limit(db_->client().options().page_size);
    request.set_revision(revision_);
    request.set_serializable(db_->client().options().serializable);
    if (descending) {
      request.set_sort_order(pb::RangeRequest::DESCEND);
      request.set_sort_target(pb::RangeRequest::KEY);
    }
    const int rc = db_->client().range(request, &response, err);
    if (rc != KALAM_OK) return rc;
  }
  if (revision_ == 0 && begin < end) {
    revision_ = response.header().revision();
  }
  std::vector<Entry> page;
  page.reserve(static_cast<size_t>(response.kvs_size()));
  const size_t skip = family_->prefix.size();
  for (mvccpb::KeyValue& kv : *response.mutable_kvs()) {
    Entry e;
    e.key = kv.key().substr(skip);
    e.value = std::move(*kv.mutable_value());
    page.push_back(std::move(e));
  }
  if (descending) std::reverse(page.begin(), page.end());
  retired_ = std::move(window_);
  window_ = std::move(page);
  ++fetches_;
  const bool more = response.more();
  if (descending) {
    above_done_ = end == end_;
    below_done_ = !more;
  } else {
    below_done_ = begin == begin_;
    above_done_ = !more;
  }
  return KALAM_OK;
}

int Iterator::fetch_forward(const std::string& from, Error& err) {
  return fetch(std::max(from, begin_), end_, false, err);
}

int Iterator::fetch_backward(const std::string& before, Error& err) {
  return fetch(begin_, std::min(before, end_), true, err);
}

int Iterator::broken(int code, Error& err) {
  pos_ = -1;
  sticky_ = code;
  sticky_error_ = err;
  return code;
}

int Iterator::land(ptrdiff_t pos) {
  if (pos < 0 || pos >= static_cast<ptrdiff_t>(window_.size())) {
    pos_ = -1;
    return KALAM_NOT_FOUND;
  }
  pos_ = pos;
  return KALAM_OK;
}

int Iterator::seek_first(Error& err) {
  if (sticky_ != KALAM_OK) return fail(err, sticky_, sticky_error_.message);
  if (!below_done_) {
    const int rc = fetch_forward(begin_, err);
    if (rc != KALAM_OK) return broken(rc, err);
  }
  return land(0);
}

int Iterator::seek_last(Error& err) {
  if (sticky_ != KALAM_OK) return fail(err, sticky_, sticky_error_.message);
  if (!above_done_) {
    const int rc = fetch_backward(end_, err);
    if (rc != KALAM_OK) return broken(rc, err);
  }
  return land(static_cast<ptrdiff_t>(window_.size()) - 1);
}

int Iterator::seek(const void* target, size_t len, Error& err) {
  if (sticky_ != KALAM_OK) return fail(err, sticky_, sticky_error_.message);
  if (target == nullptr && len > 0) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                "etcd plugin: iter_seek: target is NULL with a length");
  }
  if (len > kMaxKeySize) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                "etcd plugin: iter_seek: target of " + std::to_string(len) +
                    " bytes is over the maximum key size of " +
                    std::to_string(kMaxKeySize));
  }
  const std::string t(static_cast<const char*>(target), len);
  const auto first_at_or_after = [&] {
    return std::lower_bound(
               window_.begin(), window_.end(), t,
               [](const Entry& e, const std::string& k) { return e.key < k; }) -
           window_.begin();
  };
  // Answered from the window when it is known to hold the first entry >= t.
  const bool low_known =
      below_done_ || (!window_.empty() && window_.front().key <= t);
  const bool high_known =
      above_done_ || (!window_.empty() && t <= window_.back().key);
  if (!(low_known && high_known)) {
    const int rc = fetch_forward(family_->prefix + t, err);
    if (rc != KALAM_OK) return broken(rc, err);
  }
  return land(first_at_or_after());
}

int Iterator::seek_for_prev(const void* target, size_t len, Error& err) {
  if (sticky_ != KALAM_OK) return fail(err, sticky_, sticky_error_.message);
  if (target == nullptr && len > 0) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                "etcd plugin: iter_seek_for_prev: target is NULL with a "
                "length");
  }
  if (len > kMaxKeySize) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                "etcd plugin: iter_seek_for_prev: target of " +
                    std::to_string(len) +
                    " bytes is over the maximum key size of " +
                    std::to_string(kMaxKeySize));
  }
  const std::string t(static_cast<const char*>(target), len);
  const auto last_at_or_before = [&] {
    return (std::upper_bound(window_.begin(), window_.end(), t,
                             [](const std::string& k, const Entry& e) {
                               return k < e.key;
                             }) -
            window_.begin()) -
           1;
  };
  const bool high_known =
      above_done_ || (!window_.empty() && t <= window_.back().key);
  const bool low_known =
      below_done_ || (!window_.empty() && window_.front().key <= t);
  if (!(low_known && high_known)) {
    std::string before = family_->prefix + t;
    before.push_back('\0');  // keys <= t
    const int rc = fetch_backward(before, err);
    if (rc != KALAM_OK) return broken(rc, err);
  }
  return land(last_at_or_before());
}

int Iterator::next(Error& err) {
  if (sticky_ != KALAM_OK) return fail(err, sticky_, sticky_error_.message);
  if (pos_ < 0) return KALAM_NOT_FOUND;
  if (pos_ + 1 < static_cast<ptrdiff_t>(window_.size())) return land(pos_ + 1);
  if (above_done_) return land(-1);
  std::string from = family_->prefix + window_.back().key;
  from.push_back('\0');
  const int rc = fetch_forward(from, err);
  if (rc != KALAM_OK) return broken(rc, err);
  return land(0);
}

int Iterator::prev(Error& err) {
  if (sticky_ != KALAM_OK) return fail(err, sticky_, sticky_error_.message);
  if (pos_ < 0) return KALAM_NOT_FOUND;
  if (pos_ > 0) return land(pos_ - 1);
  if (below_done_) return land(-1);
  const int rc = fetch_backward(family_->prefix + window_.front().key, err);
  if (rc != KALAM_OK) return broken(rc, err);
  return land(static_cast<ptrdiff_t>(window_.size()) - 1);
}

int Iterator::entry(const void** key, size_t* key_len, const void** value,
                    size_t* value_len) const {
  if (pos_ < 0) return KALAM_NOT_FOUND;
  const Entry& e = window_[static_cast<size_t>(pos_)];
  if (key != nullptr) *key = e.key.data();
  if (key_len != nullptr) *key_len = e.key.size();
  if (value != nullptr) *value = e.value.data();
  if (value_len != nullptr) *value_len = e.value.size();
  return KALAM_OK;
}

int Iterator::status(Error& err) const {
  if (sticky_ == KALAM_OK) return KALAM_OK;
  return fail(err, sticky_, sticky_error_.message, sticky_error_.native_code);
}

int Iterator::next_batch(uint32_t flags, size_t max_entries,
                         kalam_entry_visitor visit, void* ctx, size_t* consumed,
                         Error& err) {
  if (flags & ~KALAM_BATCH_REVERSE) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                "etcd plugin: iter_next_batch: unknown flags");
  }
  if (visit == nullptr) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                "etcd plugin: iter_next_batch: visit is NULL");
  }
  const bool reverse = (flags & KALAM_BATCH_REVERSE) != 0;
  if (sticky_ != KALAM_OK) return fail(err, sticky_, sticky_error_.message);
  size_t n = 0;
  int rc = pos_ >= 0 ? KALAM_OK : KALAM_NOT_FOUND;
  while (rc == KALAM_OK && n < max_entries) {
    const Entry& e = window_[static_cast<size_t>(pos_)];
    if (visit(ctx, e.key.data(), e.key.size(), e.value.data(),
              e.value.size()) != 0) {
      break;
    }
    ++n;
    rc = reverse ? prev(err) : next(err);
  }
  if (consumed != nullptr) *consumed = n;
  return rc;
}

int Iterator::read_batch(uint32_t flags, size_t max_entries, kalam_entry* out,
                         size_t* filled, Error& err) {
  if (flags & ~KALAM_BATCH_REVERSE) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                "etcd plugin: iter_read_batch: unknown flags");
  }
  if (filled == nullptr || (out == nullptr && max_entries > 0)) {
    return fail(err, KALAM_INVALID_ARGUMENT,
                "etcd plugin: iter_read_batch: out or filled is NULL");
  }
  const bool reverse = (flags & KALAM_BATCH_REVERSE) != 0;
  if (sticky_ != KALAM_OK) return fail(err, sticky_, sticky_error_.message);
  size_t n = 0;
  int rc = pos_ >= 0 ? KALAM_OK : KALAM_NOT_FOUND;
  const uint64_t fetches_before = fetches_;
  // The entries handed out live in the window; a move that fetches a page
  // retires the window (kept until the next fetch), so the batch ends at the
  // first fetch and every view stays valid until the next move.
  while (rc == KALAM_OK && n < max_entries) {
    const Entry& e = window_[static_cast<size_t>(pos_)];
    out[n].key = e.key.data();
    out[n].key_len = e.key.size();
    out[n].value = e.value.data();
    out[n].value_len = e.value.size();
    ++n;
    rc = reverse ? prev(err) : next(err);
    if (fetches_ != fetches_before) break;
  }
  *filled = n;
  return rc;
}

}  // namespace kalam::etcd_plugin
