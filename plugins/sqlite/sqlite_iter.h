// An iterator over one column family: a bounded, ordered SELECT on the
// connection of a read view, re-prepared in the other direction when the
// iteration turns around. A kalam_iter points at an Iterator.
#pragma once

#include <kalam/backend_api.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "plugin_support.h"
#include "sqlite_connection.h"
#include "sqlite_db.h"
#include "sqlite_status.h"

namespace kalam::sqlite_plugin {

class Iterator {
 public:
  // The iterator starts unpositioned. It keeps `view` (and so its read
  // transaction) alive until it is destroyed.
  Iterator(Database* db, const Family* family, std::shared_ptr<ReadView> view,
           IterBounds bounds);
  Iterator(const Iterator&) = delete;
  Iterator& operator=(const Iterator&) = delete;
  ~Iterator();

  // The moves of the vtable: KALAM_OK when positioned, KALAM_NOT_FOUND when
  // out of entries, else an error that sticks (every later move returns it).
  int seek_first(Error& err);
  int seek_last(Error& err);
  int seek(const void* target, size_t target_len, Error& err);
  int seek_for_prev(const void* target, size_t target_len, Error& err);
  int next(Error& err);
  int prev(Error& err);

  bool valid() const { return valid_; }
  int entry(const void** key, size_t* key_len, const void** value,
            size_t* value_len) const;
  // The sticky error (KALAM_OK when none), its detail in `err`.
  int status(Error& err) const;
  int next_batch(uint32_t flags, size_t max_entries, kalam_entry_visitor visit,
                 void* ctx, size_t* consumed, Error& err);
  // iter_read_batch(): copies the entries into arena_ (a column blob dies
  // at the next step), so their views live until the next move.
  int read_batch(uint32_t flags, size_t max_entries, kalam_entry* out,
                 size_t* filled, Error& err);

 private:
  enum Lower { kNoLower = 0, kAtLeast = 1, kAbove = 2 };
  enum Upper { kNoUpper = 0, kBelow = 1, kAtMost = 2 };

  // Starts a new query in `forward` order over the keys between the given
  // bounds (each pointer must stay valid while the query runs) and steps it
  // onto its first row.
  int position(bool forward, Lower lower_kind, const std::string* lower,
               Upper upper_kind, const std::string* upper, Error& err);
  // Steps the current query one row. The end of the query and errors go out
  // of line to query_ended() (read_batch() steps inline the same way).
  inline int step(Error& err);
  [[gnu::cold, gnu::noinline]] int query_ended(int rc, Error& err);
  int next_locked(Error& err);
  int prev_locked(Error& err);
  int check_target(const void* target, size_t target_len, Error& err) const;
  // Records `err` as the sticky error and leaves the iterator unpositioned.
  int stick(Error& err);

  Database* db_;
  const Family* family_;
  std::shared_ptr<ReadView> view_;
  IterBounds bounds_;
  // The table is not in the view (created after it): no entries.
  bool table_missing_ = false;

  Statement query_;
  bool forward_ = true;
  bool valid_ = false;
  const void* key_ = nullptr;
  size_t key_len_ = 0;
  const void* value_ = nullptr;
  size_t value_len_ = 0;
  // The seek target or turn-around key the current query is bound to.
  std::string pivot_;

  Error sticky_;
  // The copies of the last read_batch()'s entries.
  kalam_plugin::EntryArena arena_;
};

inline Iterator* to_iterator(kalam_iter* iter) {
  return reinterpret_cast<Iterator*>(iter);
}
inline const Iterator* to_iterator(const kalam_iter* iter) {
  return reinterpret_cast<const Iterator*>(iter);
}

}  // namespace kalam::sqlite_plugin
