// An iterator over one column family at one etcd revision: the revision of
// its snapshot, or the one read when it was created. It holds a window of
// consecutive entries (one Range page, bounds pushed down to the server)
// and fetches the next page when a move leaves it; a seek inside the window
// costs no round trip. Backward pages use a descending sort, which etcd 3.4
// serves by reading the whole rest of the range and truncating: a reverse
// page costs O(keys between the lower bound and the page) on the server
// (README.md, "Iterators").
#pragma once

#include <kalam/backend_api.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "etcd_db.h"
#include "etcd_status.h"

namespace kalam::etcd_plugin {

struct IterBounds {
  bool has_lower = false;
  bool has_upper = false;
  std::string lower;  // inclusive, user key
  std::string upper;  // exclusive, user key
};

class Iterator {
 public:
  // `revision` 0: read the first page now, at the current revision, which
  // the iterator then keeps (reverse_hint: the last page instead).
  Iterator(Database* db, Family* family, int64_t revision, IterBounds bounds);
  Iterator(const Iterator&) = delete;
  Iterator& operator=(const Iterator&) = delete;
  ~Iterator();

  // Reads the first (or last) page and fixes the revision; called once by
  // iter_create() when there is no snapshot.
  int start(bool reverse_hint, Error& err);

  int seek_first(Error& err);
  int seek_last(Error& err);
  int seek(const void* target, size_t len, Error& err);
  int seek_for_prev(const void* target, size_t len, Error& err);
  int next(Error& err);
  int prev(Error& err);
  bool valid() const { return pos_ >= 0; }
  int entry(const void** key, size_t* key_len, const void** value,
            size_t* value_len) const;
  int status(Error& err) const;
  int next_batch(uint32_t flags, size_t max_entries, kalam_entry_visitor visit,
                 void* ctx, size_t* consumed, Error& err);
  int read_batch(uint32_t flags, size_t max_entries, kalam_entry* out,
                 size_t* filled, Error& err);

 private:
  struct Entry {
    std::string key;  // user key
    std::string value;
  };

  // Replaces the window with the page of keys >= from (etcd key), upwards.
  int fetch_forward(const std::string& from, Error& err);
  // Replaces the window with the page of keys < before (etcd key),
  // downwards (stored ascending).
  int fetch_backward(const std::string& before, Error& err);
  int fetch(const std::string& begin, const std::string& end, bool descending,
            Error& err);
  // A failure of a move: sticky, unpositioned.
  int broken(int code, Error& err);
  int land(ptrdiff_t pos);

  Database* db_;
  Family* family_;
  int64_t revision_;
  IterBounds bounds_;
  std::string begin_;  // etcd key of the lower bound (or the family start)
  std::string end_;    // etcd key of the upper bound (or the family end)

  std::vector<Entry> window_;   // ascending
  std::vector<Entry> retired_;  // the previous window (views still handed out)
  bool below_done_ = false;     // nothing in bounds before window_.front()
  bool above_done_ = false;     // nothing in bounds after window_.back()
  ptrdiff_t pos_ = -1;
  uint64_t fetches_ = 0;
  int sticky_ = KALAM_OK;
  Error sticky_error_;
};

inline Iterator* to_iterator(kalam_iter* iter) {
  return reinterpret_cast<Iterator*>(iter);
}
inline const Iterator* to_iterator(const kalam_iter* iter) {
  return reinterpret_cast<const Iterator*>(iter);
}

}  // namespace kalam::etcd_plugin
