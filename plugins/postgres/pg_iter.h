// An iterator over one column family: keyset pages ("WHERE key >= $1 ORDER BY
// key LIMIT n", and the reverse) read at the snapshot of a read view, with
// the iterator's bounds pushed down into every query. A kalam_iter points at
// an Iterator.
#pragma once

#include <kalam/backend_api.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pg_db.h"
#include "pg_status.h"
#include "plugin_support.h"

namespace kalam::postgres_plugin {

class Iterator {
 public:
  Iterator(Database* db, const Family* family, std::shared_ptr<ReadView> view,
           IterBounds bounds)
      : db_(db),
        family_(family),
        view_(std::move(view)),
        bounds_(std::move(bounds)) {}
  Iterator(const Iterator&) = delete;
  Iterator& operator=(const Iterator&) = delete;
  ~Iterator();

  int seek_first(Error& err);
  int seek_last(Error& err);
  int seek(const void* target, size_t target_len, Error& err);
  int seek_for_prev(const void* target, size_t target_len, Error& err);
  int next(Error& err);
  int prev(Error& err);

  bool valid() const { return valid_; }
  int entry(const void** key, size_t* key_len, const void** value,
            size_t* value_len) const;
  int status(Error& err) const;
  int next_batch(uint32_t flags, size_t max_entries, kalam_entry_visitor visit,
                 void* ctx, size_t* consumed, Error& err);
  int read_batch(uint32_t flags, size_t max_entries, kalam_entry* out,
                 size_t* filled, Error& err);

  // The first page holds this many rows; each further page in the same
  // direction twice as many, up to kMaxPage.
  static constexpr int64_t kFirstPage = 64;
  static constexpr int64_t kMaxPage = 2048;

 private:
  // Loads a page: forward from `pivot` (inclusive or not), or backward.
  // Leaves the iterator on the page's first row, or unpositioned.
  int load(bool forward, const std::string& pivot, bool inclusive,
           bool unbounded_reverse, Error& err);
  int check_target(const void* target, size_t target_len, Error& err) const;
  int stick(Error& err);
  int move(bool forward, Error& err);
  const std::string& key() const { return page_[pos_].first; }

  Database* db_;
  const Family* family_;
  std::shared_ptr<ReadView> view_;
  IterBounds bounds_;

  // The current page, in the order it was read (descending for a backward
  // page), and the position in it.
  std::vector<std::pair<std::string, std::string>> page_;
  size_t pos_ = 0;
  bool page_forward_ = true;
  bool page_last_ = false;  // the page reached the end of the range
  int64_t page_size_ = kFirstPage;
  bool valid_ = false;

  Error sticky_;
  kalam_plugin::EntryArena arena_;
};

inline Iterator* to_iterator(kalam_iter* iter) {
  return reinterpret_cast<Iterator*>(iter);
}
inline const Iterator* to_iterator(const kalam_iter* iter) {
  return reinterpret_cast<const Iterator*>(iter);
}

}  // namespace kalam::postgres_plugin
