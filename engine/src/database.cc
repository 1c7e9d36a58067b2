// RAII wrappers over the backend ABI: Database, ColumnFamily, WriteBatch,
// Iterator, Snapshot.
#include <fcntl.h>
#include <kalam/database.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <shared_mutex>

#include "abi_status.h"
#include "counters.h"
#include "log.h"
#include "manifest.h"

namespace kalam {

namespace fs = std::filesystem;

namespace detail {

struct CfState {
  const DbCore* owner;
  kalam_cf* handle;
  std::string name;
  // Set by drop_column_family() and by close(); never cleared.
  std::atomic<bool> dropped{false};
  std::atomic<bool> closed{false};
};

// What Database, Iterator and Snapshot share. The backend database is
// closed when the Database is closed, or when the last of them goes.
struct DbCore {
  std::shared_ptr<const Plugin> plugin;
  const kalam_backend_vtable* vt = nullptr;
  kalam_db* db = nullptr;
  fs::path path;
  // Backends without the thread_safe capability get every call serialised.
  bool serialize = false;
  // Iterators check the plugin's order and bounds (OpenOptions).
  bool check_iterators = false;
  std::mutex call_mu;
  // Backends without conditional_write (and not shared): every write takes
  // write_mu shared, a conditional one takes it exclusively, so its check
  // and its write see no other write of this process in between.
  bool emulate_conditional = false;
  std::shared_mutex write_mu;
  // The store's per-write limits (ABI 1.2 get_limits()).
  WriteLimits limits;
  std::atomic<int> live_iterators{0};
  std::atomic<int> live_snapshots{0};
  std::mutex families_mu;
  std::map<std::string, std::shared_ptr<CfState>, std::less<>> families;
  CounterCells counters;
  // The data directory's stored counters (persistent backends); saved with
  // this session's counters on a clean close when `save_counters`.
  std::optional<StoredCounters> stored_counters;
  bool save_counters = false;

  void count(CounterCells::Field field, uint64_t n = 1) {
    counters.add(field, n);
  }
  // Counts one key looked up with result `rc`; `bytes`: the value's size.
  void count_get(int rc, size_t bytes) {
    if (rc == KALAM_OK || rc == KALAM_BUFFER_TOO_SMALL) {
      count(CounterCells::kGets);
      count(CounterCells::kGetHits);
      if (bytes != 0) count(CounterCells::kGetBytes, bytes);
    } else if (rc == KALAM_NOT_FOUND) {
      count(CounterCells::kGets);
    } else {
      count(CounterCells::kErrors);
    }
  }
  // Counts an ABI call's failure (NOT_FOUND is a result).
  void count_failure(int rc) {
    if (rc != KALAM_OK && rc != KALAM_NOT_FOUND) count(CounterCells::kErrors);
  }

  std::unique_lock<std::mutex> lock() {
    return serialize ? std::unique_lock<std::mutex>(call_mu)
                     : std::unique_lock<std::mutex>();
  }
  // Held around a plain write: shared, and only when conditional writes are
  // emulated.
  std::shared_lock<std::shared_mutex> plain_write_lock() {
    return emulate_conditional ? std::shared_lock<std::shared_mutex>(write_mu)
                               : std::shared_lock<std::shared_mutex>();
  }
  const std::string& backend() const { return plugin->name(); }

  Status close_now() {
    if (db == nullptr) return Status::OK();
    StatusBuffer detail;
    const int rc = vt->close(db, detail.get());
    if (rc == KALAM_BUSY) {
      return status_from_abi(
          rc, detail, [&] { return "close " + path.string(); }, backend());
    }
    db = nullptr;
    {
      std::lock_guard lock(families_mu);
      for (auto& [name, state] : families) {
        state->closed = true;
        state->handle = nullptr;
      }
    }
    if (rc == KALAM_OK && save_counters) save_counters_at_close();
    return status_from_abi(
        rc, detail, [&] { return "close " + path.string(); }, backend());
  }

  // Folds this session into the stored counters and marks the store closed.
  // The counters are advisory: failing to save them is logged, not returned.
  void save_counters_at_close() {
    StoredCounters stored = *stored_counters;
    stored.totals += counters.read();
    ++stored.clean_closes;
    stored.open = false;
    Status s = write_stored_counters(path, stored);
    if (!s.ok()) {
      detail::log(LogLevel::kWarn,
                  "could not save the engine's counters: " + s.to_string());
    }
    save_counters = false;
  }

  ~DbCore() {
    Status s = close_now();
    if (!s.ok()) {
      // Nobody is left to return it to.
      detail::log(LogLevel::kError, s.to_string());
    }
  }
};

}  // namespace detail

using detail::CfState;
using detail::CounterCells;
using detail::DbCore;

namespace {

const std::string kDefaultName = "default";

kalam_cf* handle_of(const CfState* cf) {
  return cf == nullptr ? nullptr : cf->handle;
}

std::string family_label(const CfState* cf) {
  return "column family '" + (cf == nullptr ? kDefaultName : cf->name) + "'";
}

// True when Database::check_family() would pass: the database is open and
// `cf` is the default family or a live family of it. Point reads test this
// inline and call check_family() only to build the error, so the hot path
// constructs no Status.
bool family_usable(const DbCore* core, const CfState* cf) {
  return core->db != nullptr &&
         (cf == nullptr || (cf->owner == core && !cf->closed && !cf->dropped));
}

// The NOT_FOUND of a point read, built once: a miss is a result, and
// copying a ready Status costs less than building its message each time.
Status not_found() {
  static const Status kNotFound = Status::NotFound("not found");
  return kNotFound;
}

// The smallest key greater than every key starting with `prefix`, or nullopt
// when there is none (the prefix is empty or all 0xFF).
std::optional<std::string> prefix_successor(std::string prefix) {
  while (!prefix.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(prefix.back());
    if (last != 0xFF) {
      ++last;
      return prefix;
    }
    prefix.pop_back();
  }
  return std::nullopt;
}

// `bytes` as hex for a message, cut after 32 bytes: "6b6579" or
// "6b65...(300 bytes)"; "(empty)" for the empty string.
std::string hex_for_message(std::string_view bytes) {
  constexpr size_t kShown = 32;
  static constexpr char kDigits[] = "0123456789abcdef";
  if (bytes.empty()) return "(empty)";
  std::string out;
  const size_t shown = std::min(bytes.size(), kShown);
  out.reserve(2 * shown + 24);
  for (size_t i = 0; i < shown; ++i) {
    const auto byte = static_cast<unsigned char>(bytes[i]);
    out += kDigits[byte >> 4];
    out += kDigits[byte & 0xF];
  }
  if (shown < bytes.size()) {
    out += "...(" + std::to_string(bytes.size()) + " bytes)";
  }
  return out;
}

// KALAM_STORE_OPENED in a data directory: the store there was created and
// opened successfully at least once (written right after that first open,
// and into checkpoints). From then on the engine never lets the plugin
// create a fresh store there. A creation killed half-way leaves no marker,
// so it can simply be retried.
constexpr const char* kStoreOpenedFileName = "KALAM_STORE_OPENED";

bool store_was_opened(const fs::path& data_dir) {
  std::error_code ec;
  return fs::exists(data_dir / kManifestFileName, ec) &&
         fs::exists(data_dir / kStoreOpenedFileName, ec);
}

// Writes the marker durably (file and directory fsynced). Best effort: the
// marker only guards against silent re-creation, so a failure to write it
// leaves the database as usable as before.
void mark_store_opened(const fs::path& data_dir) {
  const fs::path file = data_dir / kStoreOpenedFileName;
  const int fd =
      ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  static constexpr char kText[] =
      "The store in this directory was created and opened. Kalam will not "
      "create a new one here:\nif its files go missing, opening it is a "
      "CORRUPTION error instead of a silently empty database.\n";
  const bool written = ::write(fd, kText, sizeof kText - 1) ==
                       static_cast<ssize_t>(sizeof kText - 1);
  const bool synced = written && ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) {
    ::unlink(file.c_str());
    return;
  }
  const int dir = ::open(data_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

}  // namespace

// --- ColumnFamily ------------------------------------------------------------

const std::string& ColumnFamily::name() const {
  return state_ == nullptr ? kDefaultName : state_->name;
}

// --- WriteBatch --------------------------------------------------------------

void WriteBatch::add(uint32_t type, const ColumnFamily& cf,
                     std::string_view key, std::string_view value,
                     std::vector<Op>* to) {
  Op op{type, cf.state_.get(), data_.size(), key.size(), 0, value.size()};
  data_.append(key);
  op.value_offset = data_.size();
  data_.append(value);
  to->push_back(op);
  if (cf.state_ != nullptr &&
      (families_.empty() || families_.back() != cf.state_)) {
    families_.push_back(cf.state_);
  }
}

void WriteBatch::put(const ColumnFamily& cf, std::string_view key,
                     std::string_view value) {
  add(KALAM_OP_PUT, cf, key, value);
}

void WriteBatch::del(const ColumnFamily& cf, std::string_view key) {
  add(KALAM_OP_DELETE, cf, key, {});
}

void WriteBatch::delete_range(const ColumnFamily& cf, std::string_view begin,
                              std::string_view end) {
  add(KALAM_OP_DELETE_RANGE, cf, begin, end);
}

void WriteBatch::expect_value(const ColumnFamily& cf, std::string_view key,
                              std::string_view value) {
  add(KALAM_EXPECT_VALUE, cf, key, value, &expects_);
}

void WriteBatch::expect_absent(const ColumnFamily& cf, std::string_view key) {
  add(KALAM_EXPECT_ABSENT, cf, key, {}, &expects_);
}

void WriteBatch::expect_present(const ColumnFamily& cf, std::string_view key) {
  add(KALAM_EXPECT_PRESENT, cf, key, {}, &expects_);
}

void WriteBatch::clear() {
  data_.clear();
  ops_.clear();
  expects_.clear();
  families_.clear();
}

// --- Snapshot ----------------------------------------------------------------

namespace detail {

// One plugin snapshot, released when the last Snapshot copy or Iterator
// reading at it goes.
struct SnapshotState {
  SnapshotState(std::shared_ptr<DbCore> c, kalam_snapshot* h)
      : core(std::move(c)), handle(h) {
    ++core->live_snapshots;
  }
  SnapshotState(const SnapshotState&) = delete;
  SnapshotState& operator=(const SnapshotState&) = delete;
  ~SnapshotState() {
    {
      auto lock = core->lock();
      core->vt->snapshot_release(core->db, handle);
    }
    --core->live_snapshots;
  }
  std::shared_ptr<DbCore> core;
  kalam_snapshot* handle;
};

}  // namespace detail

using detail::SnapshotState;

// --- Iterator ----------------------------------------------------------------

bool iterator_checks_default() {
#ifdef NDEBUG
  return false;
#else
  return true;
#endif
}

Iterator::Iterator(std::shared_ptr<DbCore> core, kalam_iter* handle,
                   std::string cf_name, std::shared_ptr<SnapshotState> at,
                   std::unique_ptr<Bounds> checked_bounds)
    : core_(std::move(core)),
      handle_(handle),
      cf_name_(std::move(cf_name)),
      snapshot_(std::move(at)),
      checked_(std::move(checked_bounds)),
      read_batch_fn_(core_->plugin->iter_read_batch()) {
  ++core_->live_iterators;
}

Iterator::Iterator(Iterator&& other) noexcept
    : core_(std::move(other.core_)),
      handle_(std::exchange(other.handle_, nullptr)),
      cf_name_(std::move(other.cf_name_)),
      snapshot_(std::move(other.snapshot_)),
      valid_(std::exchange(other.valid_, false)),
      key_(other.key_),
      value_(other.value_),
      status_(std::move(other.status_)),
      checked_(std::move(other.checked_)),
      last_key_(std::move(other.last_key_)),
      broken_(other.broken_),
      read_batch_fn_(other.read_batch_fn_),
      batch_(std::move(other.batch_)) {}

Iterator& Iterator::operator=(Iterator&& other) noexcept {
  if (this != &other) {
    this->~Iterator();
    new (this) Iterator(std::move(other));
  }
  return *this;
}

Iterator::~Iterator() {
  if (handle_ == nullptr) return;
  {
    auto lock = core_->lock();
    core_->vt->iter_destroy(handle_);
  }
  handle_ = nullptr;
  --core_->live_iterators;
  snapshot_.reset();  // may release the snapshot: after the iterator
  core_.reset();
}

bool Iterator::check_key(std::string_view key, const std::string_view* previous,
                         const char* operation, const Expect& expect) {
  using Order = Expect::Order;
  const Bounds& b = *checked_;
  std::string problem;
  if (b.lower && key < *b.lower) {
    problem = "is below the lower bound " + hex_for_message(*b.lower);
  } else if (b.upper && key >= *b.upper) {
    problem = "is not below the upper bound " + hex_for_message(*b.upper);
  } else if (previous != nullptr &&
             ((expect.order == Order::kAfter && key <= *previous) ||
              (expect.order == Order::kBefore && key >= *previous))) {
    problem = std::string("does not come ") +
              (expect.order == Order::kAfter ? "after" : "before") +
              " the previous key " + hex_for_message(*previous);
  } else if (previous != nullptr && expect.order == Order::kSame &&
             key != *previous) {
    problem = "is not the entry it should have stayed on, " +
              hex_for_message(*previous);
  } else if ((expect.target_order == Order::kAfter && key < expect.target) ||
             (expect.target_order == Order::kBefore && key > expect.target)) {
    problem = std::string("is ") +
              (expect.target_order == Order::kAfter ? "before" : "after") +
              " the seek target " + hex_for_message(expect.target);
  } else {
    return true;
  }
  broken_ = true;
  valid_ = false;
  key_ = value_ = {};
  core_->count(CounterCells::kErrors);
  status_ = Status::Corruption(
      "iterator " + std::string(operation) + " on column family '" + cf_name_ +
      "': plugin '" + core_->backend() + "' (" +
      core_->plugin->file().string() + ") returned key " +
      hex_for_message(key) + ", which " + problem +
      "; the plugin breaks the iterator contract, so the iterator was "
      "stopped (storage.check_iterators)");
  return false;
}

void Iterator::after_move(int rc, const char* operation, void* buffer,
                          const Expect& expect, bool had_previous,
                          bool count_landing) {
  valid_ = false;
  key_ = value_ = {};
  if (rc == KALAM_OK) {
    const void *k = nullptr, *v = nullptr;
    size_t kl = 0, vl = 0;
    rc = core_->vt->iter_entry(handle_, &k, &kl, &v, &vl);
    if (rc == KALAM_OK) {
      const std::string_view key(static_cast<const char*>(k), kl);
      if (checked_ != nullptr) {
        const std::string_view previous = last_key_;
        if (!check_key(key, had_previous ? &previous : nullptr, operation,
                       expect)) {
          return;
        }
        // Reuses last_key_'s capacity: no allocation once it has grown.
        last_key_.assign(key);
      }
      valid_ = true;
      key_ = key;
      value_ = {static_cast<const char*>(v), vl};
      if (count_landing) core_->count(CounterCells::kIteratorEntries);
      return;
    }
    // A plugin that says "positioned" and then has no entry is broken.
    rc = KALAM_INTERNAL;
  }
  if (rc != KALAM_NOT_FOUND && status_.ok()) {
    core_->count(CounterCells::kErrors);
    status_ = status_from_abi(rc, *static_cast<StatusBuffer*>(buffer),
                              std::string("iterator ") + operation +
                                  " on column family '" + cf_name_ + "'",
                              core_->backend());
  }
}

template <typename Call>
void Iterator::move(const char* operation, const Expect& expect, Call call) {
  if (handle_ == nullptr || broken_) return;
  // last_key_ holds the current key when checks are on and it is valid.
  const bool had_previous = valid_;
  StatusBuffer detail;
  auto lock = core_->lock();
  after_move(call(core_->vt, detail.get()), operation, &detail, expect,
             had_previous);
}

void Iterator::seek_to_first() {
  move("seek_to_first", {},
       [&](const kalam_backend_vtable* vt, kalam_status* s) {
         return vt->iter_seek_first(handle_, s);
       });
}
void Iterator::seek_to_last() {
  move("seek_to_last", {},
       [&](const kalam_backend_vtable* vt, kalam_status* s) {
         return vt->iter_seek_last(handle_, s);
       });
}
void Iterator::seek(std::string_view target) {
  const Expect expect{Expect::Order::kAny, Expect::Order::kAfter, target};
  move("seek", expect, [&](const kalam_backend_vtable* vt, kalam_status* s) {
    return vt->iter_seek(handle_, target.data(), target.size(), s);
  });
}
void Iterator::seek_for_prev(std::string_view target) {
  const Expect expect{Expect::Order::kAny, Expect::Order::kBefore, target};
  move("seek_for_prev", expect,
       [&](const kalam_backend_vtable* vt, kalam_status* s) {
         return vt->iter_seek_for_prev(handle_, target.data(), target.size(),
                                       s);
       });
}
void Iterator::next() {
  move("next", {Expect::Order::kAfter},
       [&](const kalam_backend_vtable* vt, kalam_status* s) {
         return vt->iter_next(handle_, s);
       });
}
void Iterator::prev() {
  move("prev", {Expect::Order::kBefore},
       [&](const kalam_backend_vtable* vt, kalam_status* s) {
         return vt->iter_prev(handle_, s);
       });
}

StatusOr<size_t> Iterator::visit_batch(size_t max_entries, EntryFn visit,
                                       void* visit_ctx, Direction direction) {
  if (handle_ == nullptr) return Status::Closed("iterator was moved from");
  if (broken_) return status_;
  const Expect::Order order = direction == Direction::kBackward
                                  ? Expect::Order::kBefore
                                  : Expect::Order::kAfter;
  // What the entry visitor needs: the caller's callback and, with checks
  // on, the iterator whose last_key_ holds the previous entry.
  struct Context {
    EntryFn fn;
    void* fn_ctx;
    std::exception_ptr error;
    Iterator* checked_by;  // null with checks off
    Expect expect;
    // Whether last_key_ holds the previous entry: the current one at the
    // start, then each visited entry.
    bool have_previous;
    size_t visited = 0;
    // The visitor returned non-zero for a reason of the caller's: the
    // plugin stays on the last entry visited.
    bool stopped = false;
  } context{visit,   visit_ctx, nullptr, checked_ != nullptr ? this : nullptr,
            {order}, valid_};
  auto entry_visitor = [](void* ctx, const void* key, size_t key_len,
                          const void* value, size_t value_len) -> int {
    auto* c = static_cast<Context*>(ctx);
    const std::string_view k(static_cast<const char*>(key), key_len);
    if (Iterator* it = c->checked_by; it != nullptr) {
      // The first entry is the one the iterator is on: the same key.
      Expect expect = c->expect;
      if (c->visited == 0) expect.order = Expect::Order::kSame;
      const std::string_view previous = it->last_key_;
      if (!it->check_key(k, c->have_previous ? &previous : nullptr,
                         "next_batch", expect)) {
        return 1;
      }
      try {
        it->last_key_.assign(k);
      } catch (...) {
        c->error = std::current_exception();
        c->stopped = true;
        return 1;
      }
      c->have_previous = true;
    }
    ++c->visited;
    try {
      if (c->fn(c->fn_ctx, k, {static_cast<const char*>(value), value_len})) {
        return 0;
      }
    } catch (...) {
      c->error = std::current_exception();
    }
    c->stopped = true;
    return 1;
  };
  StatusBuffer detail;
  size_t consumed = 0;
  int rc;
  {
    auto lock = core_->lock();
    rc = core_->vt->iter_next_batch(
        handle_, direction == Direction::kBackward ? KALAM_BATCH_REVERSE : 0,
        max_entries, entry_visitor, &context, &consumed, detail.get());
  }
  if (broken_) return status_;  // a check failed inside the batch
  // Where the batch must have left the iterator: on the last entry visited
  // when the caller stopped there (or nothing was visited), else past it.
  const Expect after{
      context.stopped || context.visited == 0 ? Expect::Order::kSame : order};
  after_move(rc, "next_batch", &detail, after, context.have_previous,
             /*count_landing=*/false);
  if (broken_) return status_;
  if (context.error) std::rethrow_exception(context.error);
  if (!status_.ok()) return status_;
  count_batch(consumed);
  return consumed;
}

void Iterator::count_batch(size_t consumed) {
  // The caller's iterator moved past `consumed` entries: it landed on each
  // of them but the first (counted when it got there), and on the one it
  // is on now.
  if (consumed == 0) return;
  core_->count(CounterCells::kIteratorEntries, consumed - 1 + (valid_ ? 1 : 0));
}

size_t Iterator::read_batch(size_t want, Direction direction) {
  if (broken_) return 0;
  if (batch_.size() < want) batch_.resize(want);
  const bool backward = direction == Direction::kBackward;
  const Expect::Order order =
      backward ? Expect::Order::kBefore : Expect::Order::kAfter;
  // last_key_ holds the current key when checks are on and it is valid.
  const bool had_previous = valid_;
  StatusBuffer detail;
  size_t filled = 0;
  int rc;
  {
    auto lock = core_->lock();
    rc = read_batch_fn_(handle_, backward ? KALAM_BATCH_REVERSE : 0, want,
                        batch_.data(), &filled, detail.get());
  }
  auto contract_broken = [&](const std::string& what) {
    core_->count(CounterCells::kErrors);
    broken_ = true;
    valid_ = false;
    key_ = value_ = {};
    status_ = Status::Internal(
        "iterator next_batch on column family '" + cf_name_ + "': plugin '" +
        core_->backend() + "' (" + core_->plugin->file().string() + ") " +
        what + "; the plugin breaks the iter_read_batch contract");
  };
  if (filled > want) {
    contract_broken("filled " + std::to_string(filled) +
                    " entries, more than the " + std::to_string(want) +
                    " asked for");
    return 0;
  }
  if (rc == KALAM_OK && want > 0 && filled == 0) {
    contract_broken("returned OK but filled no entry");
    return 0;
  }
  size_t good = filled;
  if (checked_ != nullptr) {
    // Every key: inside the bounds, the first one the entry the iterator
    // was on, each later one strictly after (before) the one before it.
    const std::string_view current = last_key_;
    for (size_t i = 0; i < filled; ++i) {
      const std::string_view key(static_cast<const char*>(batch_[i].key),
                                 batch_[i].key_len);
      std::string_view previous;
      Expect expect{order};
      if (i == 0) {
        previous = current;
        expect.order = Expect::Order::kSame;
      } else {
        previous = std::string_view(static_cast<const char*>(batch_[i - 1].key),
                                    batch_[i - 1].key_len);
      }
      const bool has_previous = i > 0 || had_previous;
      if (!check_key(key, has_previous ? &previous : nullptr, "next_batch",
                     expect)) {
        good = i;
        break;
      }
    }
    if (broken_) return good;
    if (filled > 0) {
      last_key_.assign(static_cast<const char*>(batch_[filled - 1].key),
                       batch_[filled - 1].key_len);
    }
  }
  // Where the batch must have left the iterator: past the last entry filled,
  // or where it was when none was.
  const Expect after{filled == 0 ? Expect::Order::kSame : order};
  after_move(rc, "next_batch", &detail, after, filled > 0 || had_previous,
             /*count_landing=*/false);
  return good;
}

bool Iterator::return_to(size_t index, Direction direction) {
  if (broken_) return false;
  const bool backward = direction == Direction::kBackward;
  // The seek invalidates the views: keep the key.
  std::string key(static_cast<const char*>(batch_[index].key),
                  batch_[index].key_len);
  // With a snapshot (every iterator of a plugin with snapshots reads at
  // one), the entry is still there and the seek lands exactly on it;
  // without, it may have gone, and the seek lands past it.
  const bool exact = core_->plugin->has(KALAM_CAP_SNAPSHOTS);
  const bool had_previous = checked_ != nullptr;
  if (had_previous) last_key_ = key;
  const Expect expect{exact ? Expect::Order::kSame : Expect::Order::kAny,
                      backward ? Expect::Order::kBefore : Expect::Order::kAfter,
                      key};
  StatusBuffer detail;
  int rc;
  {
    auto lock = core_->lock();
    rc = backward ? core_->vt->iter_seek_for_prev(handle_, key.data(),
                                                  key.size(), detail.get())
                  : core_->vt->iter_seek(handle_, key.data(), key.size(),
                                         detail.get());
  }
  after_move(rc, "next_batch", &detail, expect, had_previous,
             /*count_landing=*/false);
  if (broken_ || !status_.ok()) return false;
  if (exact && !valid_) {
    broken_ = true;
    status_ = Status::Internal(
        "iterator next_batch on column family '" + cf_name_ + "': plugin '" +
        core_->backend() + "' (" + core_->plugin->file().string() +
        ") lost the entry the caller stopped on when seeking back to it");
    return false;
  }
  return true;
}

// --- Database ----------------------------------------------------------------

Database::Database(std::shared_ptr<DbCore> core) : core_(std::move(core)) {}

Database::~Database() {
  if (core_ == nullptr || core_->db == nullptr) return;
  if (core_->live_iterators == 0 && core_->live_snapshots == 0) {
    Status s = core_->close_now();
    if (!s.ok()) {
      detail::log(LogLevel::kError, s.to_string());
    }
  }
  // Otherwise the last iterator or snapshot closes it (DbCore's destructor).
}

namespace {

// Reads the data directory's stored counters into `core` and, for a writable
// open, records the open (and an earlier open that never closed).
void open_stored_counters(DbCore& core, bool read_only) {
  std::string damaged;
  StoredCounters stored = detail::read_stored_counters(core.path, &damaged);
  if (!damaged.empty()) {
    detail::log(LogLevel::kWarn, damaged +
                                     "; the engine's stored counters restart "
                                     "from zero (the data is not affected)");
  }
  if (!read_only) {
    if (stored.open) ++stored.unclean_shutdowns;
    ++stored.opens;
    stored.open = true;
    Status s = detail::write_stored_counters(core.path, stored);
    if (s.ok()) {
      core.save_counters = true;
    } else {
      detail::log(LogLevel::kWarn,
                  "could not record the open in the engine's counters: " +
                      s.to_string());
    }
  }
  core.stored_counters = stored;
}

}  // namespace

StatusOr<std::unique_ptr<Database>> Database::open(const StorageConfig& config,
                                                   const OpenOptions& options) {
  KALAM_ASSIGN_OR_RETURN(
      auto plugin,
      load_plugin(config.backend,
                  plugin_dirs(plugin_search_path(config.plugin_path))));
  OpenOptions effective = options;
  effective.read_only = options.read_only || config.read_only;
  if (!effective.check_iterators) {
    effective.check_iterators = config.check_iterators;
  }
  return open(std::move(plugin), config.path, config.options, effective);
}

StatusOr<std::unique_ptr<Database>> open(const fs::path& config_file,
                                         const OpenOptions& options) {
  KALAM_ASSIGN_OR_RETURN(EngineConfig config, load_config_file(config_file));
  return Database::open(config.storage, options);
}

StatusOr<std::unique_ptr<Database>> Database::open(
    std::shared_ptr<const Plugin> plugin, const fs::path& path,
    const std::vector<BackendOption>& backend_options,
    const OpenOptions& options) {
  if (options.read_only && !plugin->has(KALAM_CAP_READ_ONLY_OPEN)) {
    return Status::NotSupported("backend '" + plugin->name() +
                                "' cannot open a database read-only");
  }
  // A store that was opened before is an existing database: the plugin
  // must find it there, never create a fresh, empty one over files it no
  // longer recognises (a deleted RocksDB CURRENT, an SQLite file truncated
  // to nothing).
  const bool persistent = plugin->has(KALAM_CAP_PERSISTENT);
  const bool existing = persistent && store_was_opened(path);
  KALAM_ASSIGN_OR_RETURN(
      fs::path store,
      prepare_data_dir(*plugin, path,
                       options.create_if_missing && !options.read_only));

  std::vector<const char*> keys, values;
  for (const auto& option : backend_options) {
    keys.push_back(option.key.c_str());
    values.push_back(option.value.c_str());
  }
  const std::string store_path = store.string();
  kalam_open_params params{};
  params.struct_size = sizeof params;
  params.flags =
      (options.create_if_missing && !existing ? KALAM_OPEN_CREATE_IF_MISSING
                                              : 0) |
      (options.read_only ? KALAM_OPEN_READ_ONLY : 0);
  params.path = store_path.c_str();
  params.option_keys = keys.data();
  params.option_values = values.data();
  params.option_count = keys.size();

  auto core = std::make_shared<DbCore>();
  core->plugin = plugin;
  core->vt = &plugin->vtable();
  core->path = path;
  core->serialize = !plugin->has(KALAM_CAP_THREAD_SAFE);
  core->check_iterators =
      options.check_iterators.value_or(iterator_checks_default());
  StatusBuffer detail;
  kalam_db* db = nullptr;
  const int rc = core->vt->open(&params, &db, detail.get());
  if (rc == KALAM_NOT_FOUND && existing) {
    // NOT_FOUND is a result, so the plugin may have left no message.
    const std::string why = detail.message_or("");
    return Status::Corruption(
        "open " + path.string() + " (" + plugin->name() +
        "): " + kManifestFileName + " says a " + plugin->name() +
        " database is here, but the plugin finds none in " + store_path +
        (why.empty() ? "" : " (" + why + ")") +
        ": files it needs are missing or damaged; restore the directory "
        "from a backup or checkpoint");
  }
  if (rc != KALAM_OK) {
    return status_from_abi(
        rc, detail, [&] { return "open " + path.string(); }, plugin->name());
  }
  if (db == nullptr) {
    return Status::Internal("open " + path.string() + " (" + plugin->name() +
                            "): the plugin returned OK and no database");
  }
  core->db = db;
  core->emulate_conditional =
      plugin->write_conditional() == nullptr && !plugin->is_shared();
  if (auto get_limits = plugin->get_limits(); get_limits != nullptr) {
    kalam_limits limits{};
    limits.struct_size = sizeof limits;
    StatusBuffer limits_detail;
    const int limits_rc = get_limits(db, &limits, limits_detail.get());
    if (limits_rc != KALAM_OK) {
      Status failed = status_from_abi(
          limits_rc, limits_detail,
          [&] { return "get_limits after open " + path.string(); },
          plugin->name());
      (void)core->close_now();
      return failed;
    }
    core->limits.max_ops = limits.max_write_ops;
    core->limits.max_bytes = limits.max_write_bytes;
    core->limits.max_expectations = limits.max_expectations;
  }
  if (persistent && !existing && !options.read_only) mark_store_opened(path);
  if (persistent) open_stored_counters(*core, options.read_only);
  return std::unique_ptr<Database>(new Database(std::move(core)));
}

Status Database::close() {
  if (core_->db == nullptr) return Status::OK();
  const int iterators = core_->live_iterators;
  const int snapshots = core_->live_snapshots;
  if (iterators > 0 || snapshots > 0) {
    return Status::Busy("close " + core_->path.string() + ": " +
                        std::to_string(iterators) + " iterator(s) and " +
                        std::to_string(snapshots) +
                        " snapshot(s) are still alive; destroy them first");
  }
  return core_->close_now();
}

const Plugin& Database::plugin() const { return *core_->plugin; }

const WriteLimits& Database::write_limits() const { return core_->limits; }

EngineCounters Database::counters() const { return core_->counters.read(); }

std::optional<StoredCounters> Database::stored_counters() const {
  return core_->stored_counters;
}
const fs::path& Database::path() const { return core_->path; }

Status Database::check_family(const ColumnFamily& cf) const {
  auto refuse = [&](Status status) {
    core_->count(CounterCells::kErrors);
    return status;
  };
  if (core_->db == nullptr) {
    return refuse(
        Status::Closed("database " + core_->path.string() + " is closed"));
  }
  const CfState* state = cf.state_.get();
  if (state == nullptr) return Status::OK();
  if (state->closed) {
    return refuse(
        Status::Closed(family_label(state) + " belongs to a closed database"));
  }
  if (state->owner != core_.get()) {
    return refuse(Status::InvalidArgument(family_label(state) +
                                          " belongs to another database"));
  }
  if (state->dropped) {
    return refuse(Status::Dropped(family_label(state) + " was dropped"));
  }
  return Status::OK();
}

StatusOr<ColumnFamily> Database::column_family(std::string_view name,
                                               bool create_if_missing) {
  KALAM_RETURN_IF_ERROR(check_family(ColumnFamily()));
  if (name.empty()) {
    return Status::InvalidArgument("a column family name may not be empty");
  }
  if (name == kDefaultName) return ColumnFamily();
  std::lock_guard families_lock(core_->families_mu);
  if (auto it = core_->families.find(name);
      it != core_->families.end() && !it->second->dropped) {
    return ColumnFamily(it->second);
  }
  const std::string name_str(name);
  StatusBuffer detail;
  kalam_cf* handle = nullptr;
  int rc;
  {
    auto lock = core_->lock();
    rc = core_->vt->cf_open(core_->db, name_str.c_str(),
                            create_if_missing ? KALAM_CF_CREATE_IF_MISSING : 0,
                            &handle, detail.get());
  }
  if (rc == KALAM_NOT_FOUND) {
    return Status::NotFound("column family '" + name_str +
                            "' does not exist in " + core_->path.string());
  }
  KALAM_RETURN_IF_ERROR(status_from_abi(
      rc, detail, [&] { return "open column family '" + name_str + "'"; },
      core_->backend()));
  auto state = std::make_shared<CfState>();
  state->owner = core_.get();
  state->handle = handle;
  state->name = name_str;
  core_->families[name_str] = state;
  return ColumnFamily(std::move(state));
}

Status Database::drop_column_family(const ColumnFamily& cf) {
  KALAM_RETURN_IF_ERROR(check_family(cf));
  if (cf.is_default()) {
    return Status::InvalidArgument(
        "the default column family cannot be dropped");
  }
  StatusBuffer detail;
  int rc;
  {
    auto lock = core_->lock();
    rc = core_->vt->cf_drop(core_->db, cf.state_->handle, detail.get());
  }
  if (rc == KALAM_OK || rc == KALAM_DROPPED) cf.state_->dropped = true;
  return status_from_abi(
      rc, detail, [&] { return "drop " + family_label(cf.state_.get()); },
      core_->backend());
}

StatusOr<std::vector<std::string>> Database::list_column_families() {
  KALAM_RETURN_IF_ERROR(check_family(ColumnFamily()));
  std::vector<std::string> names;
  StatusBuffer detail;
  int rc;
  {
    auto lock = core_->lock();
    rc = core_->vt->cf_list(
        core_->db,
        [](void* ctx, const char* name) {
          try {
            static_cast<std::vector<std::string>*>(ctx)->emplace_back(name);
          } catch (...) {
            // Out of memory: the list comes back short; nothing to corrupt.
          }
        },
        &names, detail.get());
  }
  KALAM_RETURN_IF_ERROR(
      status_from_abi(rc, detail, "list column families", core_->backend()));
  std::sort(names.begin(), names.end());
  return names;
}

Status Database::put(const ColumnFamily& cf, std::string_view key,
                     std::string_view value, const WriteOptions& options) {
  return write_one(cf, KALAM_OP_PUT, key, value, options);
}

Status Database::del(const ColumnFamily& cf, std::string_view key,
                     const WriteOptions& options) {
  return write_one(cf, KALAM_OP_DELETE, key, {}, options);
}

Status Database::write_one(const ColumnFamily& cf, int type,
                           std::string_view key, std::string_view value,
                           const WriteOptions& options) {
  if (!family_usable(core_.get(), cf.state_.get())) {
    KALAM_RETURN_IF_ERROR(check_family(cf));
  }
  kalam_write_op op{};
  op.type = type;
  op.cf = handle_of(cf.state_.get());
  op.key = key.data();
  op.key_len = key.size();
  op.value = value.data();
  op.value_len = value.size();
  kalam_write_options wo{};
  wo.struct_size = sizeof wo;
  wo.flags = options.sync ? KALAM_WRITE_SYNC : 0;
  wo.op_stride = sizeof(kalam_write_op);
  StatusBuffer detail;
  int rc;
  {
    auto write_lock = core_->plain_write_lock();
    auto lock = core_->lock();
    rc = core_->vt->write(core_->db, &wo, &op, 1, detail.get());
  }
  if (rc == KALAM_OK) {
    core_->count(type == KALAM_OP_PUT ? CounterCells::kPuts
                                      : CounterCells::kDeletes);
    core_->count(CounterCells::kBytesWritten, key.size() + value.size());
    return Status::OK();
  }
  core_->count_failure(rc);
  return status_from_abi(
      rc, detail,
      [&] {
        return std::string(type == KALAM_OP_PUT ? "put into "
                                                : "delete from ") +
               family_label(cf.state_.get());
      },
      core_->backend());
}

namespace {

kalam_write_op abi_op(const std::string& data, uint32_t type, const CfState* cf,
                      size_t key_offset, size_t key_size, size_t value_offset,
                      size_t value_size) {
  kalam_write_op w{};
  w.type = type;
  w.cf = handle_of(cf);
  w.key = data.data() + key_offset;
  w.key_len = key_size;
  w.value = data.data() + value_offset;
  w.value_len = value_size;
  return w;
}

std::string hex_key(std::string_view key) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  const size_t shown = std::min<size_t>(key.size(), 32);
  for (size_t i = 0; i < shown; ++i) {
    const auto c = static_cast<unsigned char>(key[i]);
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  if (shown < key.size()) out += "...";
  return out;
}

const char* expectation_name(uint32_t type) {
  switch (type) {
    case KALAM_EXPECT_VALUE:
      return "holds the expected value";
    case KALAM_EXPECT_ABSENT:
      return "is absent";
    case KALAM_EXPECT_PRESENT:
      return "is present";
  }
  return "(unknown expectation)";
}

}  // namespace

Status Database::check_limits(size_t ops, size_t expects,
                              uint64_t bytes) const {
  const WriteLimits& l = core_->limits;
  auto over = [&](const char* what, uint64_t has, uint64_t limit,
                  const char* name) {
    core_->count(CounterCells::kErrors);
    return Status::TooLarge(
        "write of " + std::to_string(has) + " " + what + " is over the " +
        core_->backend() + " store's limit of " + std::to_string(limit) +
        " per write (" + name + "); nothing was applied: split the work");
  };
  if (l.max_ops != 0 && ops > l.max_ops) {
    return over("ops", ops, l.max_ops, "max_write_ops");
  }
  if (l.max_expectations != 0 && expects > l.max_expectations) {
    return over("expectations", expects, l.max_expectations,
                "max_expectations");
  }
  if (l.max_bytes != 0 && bytes > l.max_bytes) {
    return over("bytes", bytes, l.max_bytes, "max_write_bytes");
  }
  return Status::OK();
}

Status Database::write(const WriteBatch& batch, const WriteOptions& options) {
  KALAM_RETURN_IF_ERROR(check_family(ColumnFamily()));
  for (const auto& family : batch.families_) {
    KALAM_RETURN_IF_ERROR(check_family(ColumnFamily(family)));
  }
  const bool conditional = !batch.expects_.empty();
  if (conditional && core_->plugin->write_conditional() == nullptr &&
      !core_->emulate_conditional) {
    core_->count(CounterCells::kErrors);
    return Status::NotSupported(
        "conditional write to " + core_->path.string() + " (" +
        core_->backend() +
        "): the backend is shared with other processes but has no "
        "conditional_write capability, so the engine cannot check "
        "expectations atomically; use a backend that declares it");
  }
  // Conditional writes emulated by the engine hold its write lock
  // exclusively from the first read (a delete-range expansion, the checks)
  // to the write; plain ones hold it shared.
  std::shared_lock<std::shared_mutex> shared_write;
  std::unique_lock<std::shared_mutex> exclusive_write;
  if (core_->emulate_conditional) {
    if (conditional) {
      exclusive_write = std::unique_lock<std::shared_mutex>(core_->write_mu);
    } else {
      shared_write = std::shared_lock<std::shared_mutex>(core_->write_mu);
    }
  }
  std::vector<kalam_write_op> ops;
  ops.reserve(batch.ops_.size());
  // Keys found for delete ranges the backend cannot do natively; a deque so
  // the ops can point into it while it grows.
  std::deque<std::string> expanded_keys;
  const bool native_range = core_->plugin->has(KALAM_CAP_DELETE_RANGE);
  // What the batch asks for, counted once it is applied.
  uint64_t by_type[4] = {};  // by KALAM_OP_PUT, _DELETE, _DELETE_RANGE
  uint64_t bytes = 0;
  for (const auto& op : batch.ops_) {
    if (op.type >= KALAM_OP_PUT && op.type <= KALAM_OP_DELETE_RANGE) {
      ++by_type[op.type];
    }
    bytes += op.key_size + op.value_size;
    kalam_write_op w = abi_op(batch.data_, op.type, op.cf, op.key_offset,
                              op.key_size, op.value_offset, op.value_size);
    if (op.type == KALAM_OP_DELETE_RANGE && !native_range) {
      KALAM_RETURN_IF_ERROR(
          expand_delete_range(batch, op, w, &expanded_keys, &ops));
      continue;
    }
    ops.push_back(w);
  }
  if (ops.empty() && !conditional) return Status::OK();
  uint64_t expect_bytes = 0;
  for (const auto& e : batch.expects_)
    expect_bytes += e.key_size + e.value_size;
  KALAM_RETURN_IF_ERROR(
      check_limits(ops.size(), batch.expects_.size(), bytes + expect_bytes));
  StatusBuffer detail;
  int rc;
  if (conditional && core_->emulate_conditional) {
    KALAM_RETURN_IF_ERROR(write_emulated_conditional(batch, ops, options));
    rc = KALAM_OK;
  } else {
    kalam_write_options wo{};
    wo.struct_size = sizeof wo;
    wo.flags = options.sync ? KALAM_WRITE_SYNC : 0;
    wo.op_stride = sizeof(kalam_write_op);
    std::vector<kalam_expectation> expects;
    expects.reserve(batch.expects_.size());
    for (const auto& e : batch.expects_) {
      const kalam_write_op w = abi_op(batch.data_, e.type, e.cf, e.key_offset,
                                      e.key_size, e.value_offset, e.value_size);
      kalam_expectation x{};
      x.type = w.type;
      x.cf = w.cf;
      x.key = w.key;
      x.key_len = w.key_len;
      x.value = w.value;
      x.value_len = w.value_len;
      expects.push_back(x);
    }
    auto lock = core_->lock();
    rc = conditional ? core_->plugin->write_conditional()(
                           core_->db, &wo, expects.data(), expects.size(),
                           ops.data(), ops.size(), detail.get())
                     : core_->vt->write(core_->db, &wo, ops.data(), ops.size(),
                                        detail.get());
  }
  if (rc == KALAM_OK) {
    core_->count(CounterCells::kBatches);
    core_->count(CounterCells::kPuts, by_type[KALAM_OP_PUT]);
    core_->count(CounterCells::kDeletes, by_type[KALAM_OP_DELETE]);
    core_->count(CounterCells::kDeleteRanges, by_type[KALAM_OP_DELETE_RANGE]);
    core_->count(CounterCells::kBytesWritten, bytes);
    return Status::OK();
  }
  core_->count_failure(rc);
  return status_from_abi(
      rc, detail,
      [&] {
        return "write batch of " + std::to_string(ops.size()) + " op(s)" +
               (conditional ? " and " + std::to_string(batch.expects_.size()) +
                                  " expectation(s)"
                            : std::string());
      },
      core_->backend());
}

Status Database::write_emulated_conditional(
    const WriteBatch& batch, const std::vector<kalam_write_op>& ops,
    const WriteOptions& options) {
  // REQUIRES: write_mu held exclusively, so no write of this process runs
  // between these reads and the write below.
  for (size_t i = 0; i < batch.expects_.size(); ++i) {
    const auto& e = batch.expects_[i];
    const std::string_view key(batch.data_.data() + e.key_offset, e.key_size);
    const std::string_view want(batch.data_.data() + e.value_offset,
                                e.value_size);
    struct Seen {
      std::string_view want;
      bool equal = false;
    } seen{want};
    StatusBuffer detail;
    int rc;
    {
      auto lock = core_->lock();
      rc = core_->vt->get(
          core_->db, nullptr, handle_of(e.cf), key.data(), key.size(),
          [](void* ctx, const void* value, size_t len) {
            auto* s = static_cast<Seen*>(ctx);
            s->equal = std::string_view(static_cast<const char*>(value), len) ==
                       s->want;
          },
          &seen, detail.get());
    }
    core_->count_get(rc, 0);
    if (rc != KALAM_OK && rc != KALAM_NOT_FOUND) {
      return status_from_abi(
          rc, detail,
          [&] {
            return "conditional write: check expectation #" + std::to_string(i);
          },
          core_->backend());
    }
    const bool holds = e.type == KALAM_EXPECT_ABSENT ? rc == KALAM_NOT_FOUND
                       : e.type == KALAM_EXPECT_PRESENT
                           ? rc == KALAM_OK
                           : rc == KALAM_OK && seen.equal;
    if (!holds) {
      core_->count(CounterCells::kErrors);
      return Status::Conflict(
          "conditional write: expectation #" + std::to_string(i) + " (key " +
          hex_key(key) + " in " + family_label(e.cf) + " " +
          expectation_name(e.type) + ") does not hold; nothing was applied");
    }
  }
  if (ops.empty()) return Status::OK();
  kalam_write_options wo{};
  wo.struct_size = sizeof wo;
  wo.flags = options.sync ? KALAM_WRITE_SYNC : 0;
  wo.op_stride = sizeof(kalam_write_op);
  StatusBuffer detail;
  int rc;
  {
    auto lock = core_->lock();
    rc = core_->vt->write(core_->db, &wo, ops.data(), ops.size(), detail.get());
  }
  return status_from_abi(
      rc, detail,
      [&] { return "write batch of " + std::to_string(ops.size()) + " op(s)"; },
      core_->backend());
}

Status Database::read_modify_write(const std::vector<KeyToRead>& keys,
                                   const ModifyFn& modify,
                                   const WriteOptions& options) {
  KALAM_RETURN_IF_ERROR(check_family(ColumnFamily()));
  for (const auto& k : keys) KALAM_RETURN_IF_ERROR(check_family(k.cf));
  if (core_->limits.max_expectations != 0 &&
      keys.size() > core_->limits.max_expectations) {
    return check_limits(0, keys.size(), 0);
  }
  if (core_->plugin->read_modify_write() != nullptr) {
    return read_modify_write_native(keys, modify, options);
  }
  // The fallback: read, modify, write expecting what was read; retry on
  // conflict.
  std::vector<kalam_cf*> families(keys.size());
  std::vector<const void*> key_ptrs(keys.size());
  std::vector<size_t> key_lens(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    families[i] = handle_of(keys[i].cf.state_.get());
    key_ptrs[i] = keys[i].key.data();
    key_lens[i] = keys[i].key.size();
  }
  WriteBatch batch;
  for (int attempt = 0; attempt < kReadModifyWriteAttempts; ++attempt) {
    struct Read {
      std::vector<std::optional<std::string>> values;
      int first_error = KALAM_OK;
    } read;
    read.values.resize(keys.size());
    StatusBuffer detail;
    int rc = KALAM_OK;
    if (!keys.empty()) {
      auto lock = core_->lock();
      rc = core_->vt->multi_get(
          core_->db, nullptr, keys.size(), families.data(), key_ptrs.data(),
          key_lens.data(),
          [](void* ctx, size_t index, int code, const void* value, size_t len) {
            auto* r = static_cast<Read*>(ctx);
            if (index >= r->values.size()) {
              r->first_error = KALAM_INTERNAL;
            } else if (code == KALAM_OK) {
              try {
                r->values[index].emplace(static_cast<const char*>(value), len);
              } catch (...) {
                r->first_error = KALAM_NO_MEMORY;
              }
            } else if (code != KALAM_NOT_FOUND && r->first_error == KALAM_OK) {
              r->first_error = code;
            }
          },
          &read, detail.get());
    }
    if (rc == KALAM_OK) rc = read.first_error;
    if (rc != KALAM_OK) {
      core_->count_failure(rc);
      return status_from_abi(
          rc, detail,
          [&] {
            return "read_modify_write: read " + std::to_string(keys.size()) +
                   " key(s)";
          },
          core_->backend());
    }
    core_->count(CounterCells::kGets, keys.size());
    std::vector<std::optional<std::string_view>> current(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      if (read.values[i]) current[i] = *read.values[i];
    }
    batch.clear();
    KALAM_RETURN_IF_ERROR(modify(current, &batch));
    if (!batch.expects_.empty()) {
      return Status::InvalidArgument(
          "read_modify_write: the modify function added expectations to its "
          "batch; the engine adds them itself (one per key read)");
    }
    for (size_t i = 0; i < keys.size(); ++i) {
      if (read.values[i]) {
        batch.expect_value(keys[i].cf, keys[i].key, *read.values[i]);
      } else {
        batch.expect_absent(keys[i].cf, keys[i].key);
      }
    }
    Status written = write(batch, options);
    if (!written.is_conflict()) return written;
  }
  return Status::Conflict(
      "read_modify_write of " + std::to_string(keys.size()) + " key(s) (" +
      core_->backend() + "): other writers changed them " +
      std::to_string(kReadModifyWriteAttempts) +
      " times in a row between the read and the write; nothing was applied");
}

Status Database::read_modify_write_native(const std::vector<KeyToRead>& keys,
                                          const ModifyFn& modify,
                                          const WriteOptions& options) {
  std::vector<kalam_cf*> families(keys.size());
  std::vector<const void*> key_ptrs(keys.size());
  std::vector<size_t> key_lens(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    families[i] = handle_of(keys[i].cf.state_.get());
    key_ptrs[i] = keys[i].key.data();
    key_lens[i] = keys[i].key.size();
  }
  // What the visitor (inside the plugin's write transaction) shares with
  // this call. It runs no ABI call (no re-entry), so it cannot expand a
  // delete-range for a backend without the capability.
  struct Call {
    Database* self;
    const ModifyFn* modify;
    WriteBatch batch;
    std::vector<std::optional<std::string_view>> current;
    std::vector<kalam_write_op> ops;
    uint64_t by_type[4] = {};
    uint64_t bytes = 0;
    Status cancelled;
    std::exception_ptr error;
  } call{this, &modify, {}, {}, {}, {}, 0, {}, {}};
  kalam_rmw_visitor visit =
      [](void* ctx, size_t count, const kalam_rmw_value* current,
         const kalam_write_op** ops, size_t* op_count) -> int {
    auto* c = static_cast<Call*>(ctx);
    try {
      c->current.assign(count, std::nullopt);
      for (size_t i = 0; i < count; ++i) {
        if (current[i].code == KALAM_OK) {
          c->current[i] = std::string_view(
              static_cast<const char*>(current[i].value), current[i].value_len);
        }
      }
      c->cancelled = (*c->modify)(c->current, &c->batch);
      if (!c->cancelled.ok()) return 1;
      if (!c->batch.expects_.empty()) {
        c->cancelled = Status::InvalidArgument(
            "read_modify_write: the modify function added expectations to "
            "its batch; the reads it was given are already exact");
        return 1;
      }
      const bool native_range =
          c->self->core_->plugin->has(KALAM_CAP_DELETE_RANGE);
      for (const auto& family : c->batch.families_) {
        c->cancelled = c->self->check_family(ColumnFamily(family));
        if (!c->cancelled.ok()) return 1;
      }
      for (const auto& op : c->batch.ops_) {
        if (op.type == KALAM_OP_DELETE_RANGE && !native_range) {
          c->cancelled = Status::NotSupported(
              "read_modify_write: a delete-range on a backend without "
              "delete_range (the engine cannot expand it inside the "
              "backend's write transaction); delete the keys one by one");
          return 1;
        }
        if (op.type >= KALAM_OP_PUT && op.type <= KALAM_OP_DELETE_RANGE) {
          ++c->by_type[op.type];
        }
        c->bytes += op.key_size + op.value_size;
        c->ops.push_back(abi_op(c->batch.data_, op.type, op.cf, op.key_offset,
                                op.key_size, op.value_offset, op.value_size));
      }
      c->cancelled = c->self->check_limits(c->ops.size(), 0, c->bytes);
      if (!c->cancelled.ok()) return 1;
      *ops = c->ops.data();
      *op_count = c->ops.size();
      return 0;
    } catch (...) {
      c->error = std::current_exception();
      return 1;
    }
  };
  kalam_write_options wo{};
  wo.struct_size = sizeof wo;
  wo.flags = options.sync ? KALAM_WRITE_SYNC : 0;
  wo.op_stride = sizeof(kalam_write_op);
  StatusBuffer detail;
  int rc;
  {
    auto lock = core_->lock();
    rc = core_->plugin->read_modify_write()(
        core_->db, &wo, keys.size(), families.data(), key_ptrs.data(),
        key_lens.data(), visit, &call, detail.get());
  }
  if (call.error) std::rethrow_exception(call.error);
  if (rc != KALAM_OK) {
    core_->count_failure(rc);
    return status_from_abi(
        rc, detail,
        [&] {
          return "read_modify_write of " + std::to_string(keys.size()) +
                 " key(s)";
        },
        core_->backend());
  }
  core_->count(CounterCells::kGets, keys.size());
  KALAM_RETURN_IF_ERROR(call.cancelled);
  if (!call.ops.empty()) {
    core_->count(CounterCells::kBatches);
    core_->count(CounterCells::kPuts, call.by_type[KALAM_OP_PUT]);
    core_->count(CounterCells::kDeletes, call.by_type[KALAM_OP_DELETE]);
    core_->count(CounterCells::kDeleteRanges,
                 call.by_type[KALAM_OP_DELETE_RANGE]);
    core_->count(CounterCells::kBytesWritten, call.bytes);
  }
  return Status::OK();
}

StatusOr<std::string> Database::get(const ColumnFamily& cf,
                                    std::string_view key,
                                    const ReadOptions& options) {
  std::string value;
  KALAM_RETURN_IF_ERROR(get_with(
      cf, key, [&value](std::string_view v) { value.assign(v); }, options));
  return value;
}

Status Database::expand_delete_range(const WriteBatch& batch,
                                     const WriteBatch::Op& op,
                                     const kalam_write_op& range,
                                     std::deque<std::string>* keys,
                                     std::vector<kalam_write_op>* ops) {
  std::string_view begin(static_cast<const char*>(range.key), range.key_len);
  std::string_view end(static_cast<const char*>(range.value), range.value_len);
  if (end <= begin) return Status::OK();
  ColumnFamily family;
  for (const auto& f : batch.families_) {
    if (f.get() == op.cf) family = ColumnFamily(f);
  }
  IteratorOptions bounds;
  bounds.lower = std::string(begin);
  bounds.upper = std::string(end);
  // Keys put earlier in this batch are not in the store yet; the range
  // removes them too, as a native delete_range would.
  const size_t earlier = ops->size();
  for (size_t i = 0; i < earlier; ++i) {
    kalam_write_op del = (*ops)[i];
    std::string_view key(static_cast<const char*>(del.key), del.key_len);
    if (del.type != KALAM_OP_PUT || del.cf != range.cf || key < begin ||
        key >= end) {
      continue;
    }
    del.type = KALAM_OP_DELETE;
    del.value = nullptr;
    del.value_len = 0;
    ops->push_back(del);
  }
  KALAM_ASSIGN_OR_RETURN(Iterator it, new_iterator(family, bounds));
  for (it.seek_to_first(); it.valid(); it.next()) {
    const std::string& key = keys->emplace_back(it.key());
    kalam_write_op del{};
    del.type = KALAM_OP_DELETE;
    del.cf = range.cf;
    del.key = key.data();
    del.key_len = key.size();
    ops->push_back(del);
  }
  return it.status();
}

StatusOr<const kalam_snapshot*> Database::snapshot_handle(
    const Snapshot* snapshot) const {
  if (snapshot == nullptr) return static_cast<const kalam_snapshot*>(nullptr);
  if (snapshot->state_ == nullptr) {
    return Status::InvalidArgument("the snapshot was moved from");
  }
  if (snapshot->state_->core != core_) {
    return Status::InvalidArgument(
        "the snapshot belongs to another database than " +
        core_->path.string());
  }
  return static_cast<const kalam_snapshot*>(snapshot->state_->handle);
}

Status Database::visit_value(const ColumnFamily& cf, std::string_view key,
                             ValueVisit* visit, const ReadOptions& options) {
  if (!family_usable(core_.get(), cf.state_.get())) {
    KALAM_RETURN_IF_ERROR(check_family(cf));
  }
  kalam_read_options ro{};
  ro.struct_size = sizeof ro;
  if (options.snapshot != nullptr) {
    KALAM_ASSIGN_OR_RETURN(ro.snapshot, snapshot_handle(options.snapshot));
  }
  // What the plugin calls back: the caller's visit, and the value's size for
  // the counters.
  struct Context {
    ValueVisit* visit;
    size_t value_bytes;
  } context{visit, 0};
  StatusBuffer detail;
  int rc;
  {
    auto lock = core_->lock();
    rc = core_->vt->get(
        core_->db, &ro, handle_of(cf.state_.get()), key.data(), key.size(),
        [](void* ctx, const void* value, size_t len) {
          auto* c = static_cast<Context*>(ctx);
          c->value_bytes = len;
          c->visit->fn(c->visit, {static_cast<const char*>(value), len});
        },
        &context, detail.get());
  }
  core_->count_get(rc, context.value_bytes);
  if (visit->error) std::rethrow_exception(visit->error);
  if (rc == KALAM_OK) return Status::OK();
  if (rc == KALAM_NOT_FOUND) return not_found();
  return status_from_abi(
      rc, detail, [&] { return "get from " + family_label(cf.state_.get()); },
      core_->backend());
}

StatusOr<size_t> Database::get_into(const ColumnFamily& cf,
                                    std::string_view key, Span<char> buffer,
                                    const ReadOptions& options) {
  if (!family_usable(core_.get(), cf.state_.get())) {
    KALAM_RETURN_IF_ERROR(check_family(cf));
  }
  kalam_read_options ro{};
  ro.struct_size = sizeof ro;
  if (options.snapshot != nullptr) {
    KALAM_ASSIGN_OR_RETURN(ro.snapshot, snapshot_handle(options.snapshot));
  }
  StatusBuffer detail;
  size_t length = 0;
  int rc;
  {
    auto lock = core_->lock();
    rc = core_->vt->get_into(core_->db, &ro, handle_of(cf.state_.get()),
                             key.data(), key.size(), buffer.data(),
                             buffer.size(), &length, detail.get());
  }
  core_->count_get(rc, rc == KALAM_OK ? length : 0);
  if (rc == KALAM_OK) return length;
  if (rc == KALAM_NOT_FOUND) return not_found();
  if (rc == KALAM_BUFFER_TOO_SMALL) {
    return Status(Code::kBufferTooSmall, "value is " + std::to_string(length) +
                                             " bytes; the buffer holds " +
                                             std::to_string(buffer.size()));
  }
  return status_from_abi(
      rc, detail, [&] { return "get from " + family_label(cf.state_.get()); },
      core_->backend());
}

StatusOr<std::vector<std::optional<std::string>>> Database::multi_get(
    const ColumnFamily& cf, Span<const std::string_view> keys,
    const ReadOptions& options) {
  if (!family_usable(core_.get(), cf.state_.get())) {
    KALAM_RETURN_IF_ERROR(check_family(cf));
  }
  kalam_read_options ro{};
  ro.struct_size = sizeof ro;
  if (options.snapshot != nullptr) {
    KALAM_ASSIGN_OR_RETURN(ro.snapshot, snapshot_handle(options.snapshot));
  }
  std::vector<const void*> key_ptrs(keys.size());
  std::vector<size_t> key_lens(keys.size());
  std::vector<kalam_cf*> families(keys.size(), handle_of(cf.state_.get()));
  for (size_t i = 0; i < keys.size(); ++i) {
    key_ptrs[i] = keys[i].data();
    key_lens[i] = keys[i].size();
  }
  struct Results {
    std::vector<std::optional<std::string>> values;
    int first_error = KALAM_OK;
    size_t visited = 0;
    size_t hits = 0;
    size_t hit_bytes = 0;
    bool out_of_memory = false;
  } results;
  results.values.resize(keys.size());
  StatusBuffer detail;
  int rc;
  {
    auto lock = core_->lock();
    rc = core_->vt->multi_get(
        core_->db, &ro, keys.size(), families.data(), key_ptrs.data(),
        key_lens.data(),
        [](void* ctx, size_t index, int code, const void* value, size_t len) {
          auto* r = static_cast<Results*>(ctx);
          ++r->visited;
          if (index >= r->values.size()) {
            r->first_error = KALAM_INTERNAL;
            return;
          }
          if (code == KALAM_OK) {
            ++r->hits;
            r->hit_bytes += len;
            try {
              r->values[index].emplace(static_cast<const char*>(value), len);
            } catch (...) {
              r->out_of_memory = true;
            }
          } else if (code != KALAM_NOT_FOUND && r->first_error == KALAM_OK) {
            r->first_error = code;
          }
        },
        &results, detail.get());
  }
  auto what = [&] { return "multi_get from " + family_label(cf.state_.get()); };
  if (rc != KALAM_OK || results.first_error != KALAM_OK ||
      results.visited != keys.size()) {
    core_->count(CounterCells::kErrors);
  } else {
    core_->count(CounterCells::kGets, keys.size());
    core_->count(CounterCells::kGetHits, results.hits);
    core_->count(CounterCells::kGetBytes, results.hit_bytes);
  }
  KALAM_RETURN_IF_ERROR(status_from_abi(rc, detail, what, core_->backend()));
  if (results.out_of_memory) {
    return Status(Code::kNoMemory, what() + ": out of memory copying values");
  }
  if (results.first_error != KALAM_OK) {
    return status_from_abi(results.first_error, detail, what, core_->backend());
  }
  if (results.visited != keys.size()) {
    return Status::Internal(what() + " (" + core_->backend() + "): visited " +
                            std::to_string(results.visited) + " of " +
                            std::to_string(keys.size()) + " keys");
  }
  return std::move(results.values);
}

StatusOr<Iterator> Database::new_iterator(const ColumnFamily& cf,
                                          const IteratorOptions& options) {
  KALAM_RETURN_IF_ERROR(check_family(cf));
  kalam_iter_options io{};
  io.struct_size = sizeof io;
  KALAM_ASSIGN_OR_RETURN(io.snapshot, snapshot_handle(options.snapshot));
  std::optional<std::string> lower = options.lower;
  std::optional<std::string> upper = options.upper;
  if (options.prefix) {
    // The ABI promises plugins that the bounds already cover the prefix.
    if (!lower || *lower < *options.prefix) lower = options.prefix;
    if (auto end = prefix_successor(*options.prefix)) {
      if (!upper || *end < *upper) upper = std::move(end);
    }
    io.flags |= KALAM_ITER_PREFIX;
    io.prefix = options.prefix->data();
    io.prefix_len = options.prefix->size();
  }
  if (lower) {
    io.flags |= KALAM_ITER_LOWER_BOUND;
    io.lower = lower->data();
    io.lower_len = lower->size();
  }
  if (upper) {
    io.flags |= KALAM_ITER_UPPER_BOUND;
    io.upper = upper->data();
    io.upper_len = upper->size();
  }
  if (options.reverse) io.flags |= KALAM_ITER_REVERSE;
  // The bounds as the plugin gets them, for the iterator checks (they cover
  // the prefix: a key inside them starts with it). Copied before the plugin
  // allocates anything, so no throw can leak its iterator.
  std::unique_ptr<Iterator::Bounds> checked;
  if (core_->check_iterators) {
    checked =
        std::make_unique<Iterator::Bounds>(Iterator::Bounds{lower, upper});
  }
  StatusBuffer detail;
  kalam_iter* handle = nullptr;
  int rc;
  {
    auto lock = core_->lock();
    rc = core_->vt->iter_create(core_->db, &io, handle_of(cf.state_.get()),
                                &handle, detail.get());
  }
  core_->count_failure(rc);
  if (rc == KALAM_OK) core_->count(CounterCells::kIterators);
  KALAM_RETURN_IF_ERROR(status_from_abi(
      rc, detail,
      [&] { return "new iterator on " + family_label(cf.state_.get()); },
      core_->backend()));
  return Iterator(core_, handle, cf.name(),
                  options.snapshot ? options.snapshot->state_ : nullptr,
                  std::move(checked));
}

StatusOr<Snapshot> Database::snapshot() {
  KALAM_RETURN_IF_ERROR(check_family(ColumnFamily()));
  if (!core_->plugin->has(KALAM_CAP_SNAPSHOTS)) {
    return Status::NotSupported("backend '" + core_->backend() +
                                "' does not support snapshots");
  }
  StatusBuffer detail;
  kalam_snapshot* handle = nullptr;
  int rc;
  {
    auto lock = core_->lock();
    rc = core_->vt->snapshot_create(core_->db, &handle, detail.get());
  }
  KALAM_RETURN_IF_ERROR(
      status_from_abi(rc, detail, "snapshot", core_->backend()));
  return Snapshot(std::make_shared<SnapshotState>(core_, handle));
}

Status Database::flush() {
  KALAM_RETURN_IF_ERROR(check_family(ColumnFamily()));
  StatusBuffer detail;
  int rc;
  {
    auto lock = core_->lock();
    rc = core_->vt->flush(core_->db, 0, detail.get());
  }
  return status_from_abi(rc, detail, "flush", core_->backend());
}

Status Database::compact_range(const ColumnFamily& cf,
                               std::optional<std::string_view> begin,
                               std::optional<std::string_view> end) {
  KALAM_RETURN_IF_ERROR(check_family(cf));
  if (!core_->plugin->has(KALAM_CAP_COMPACT_RANGE)) {
    return Status::NotSupported("backend '" + core_->backend() +
                                "' does not support compact_range");
  }
  uint32_t flags =
      (begin ? KALAM_COMPACT_HAS_BEGIN : 0) | (end ? KALAM_COMPACT_HAS_END : 0);
  StatusBuffer detail;
  int rc;
  {
    auto lock = core_->lock();
    rc = core_->vt->compact_range(
        core_->db, handle_of(cf.state_.get()), flags,
        begin ? begin->data() : nullptr, begin ? begin->size() : 0,
        end ? end->data() : nullptr, end ? end->size() : 0, detail.get());
  }
  return status_from_abi(
      rc, detail, [&] { return "compact " + family_label(cf.state_.get()); },
      core_->backend());
}

StatusOr<std::string> Database::property(const ColumnFamily& cf,
                                         std::string_view name) {
  KALAM_RETURN_IF_ERROR(check_family(cf));
  if (!core_->plugin->has(KALAM_CAP_PROPERTIES)) {
    return Status::NotSupported("backend '" + core_->backend() +
                                "' does not report properties");
  }
  const std::string name_str(name);
  std::string value;
  StatusBuffer detail;
  int rc;
  {
    auto lock = core_->lock();
    rc = core_->vt->get_property(
        core_->db, handle_of(cf.state_.get()), name_str.c_str(),
        [](void* ctx, const void* data, size_t len) {
          try {
            static_cast<std::string*>(ctx)->assign(
                static_cast<const char*>(data), len);
          } catch (...) {
            // Out of memory: the property comes back empty.
          }
        },
        &value, detail.get());
  }
  if (rc == KALAM_NOT_FOUND) {
    return Status::NotFound("backend '" + core_->backend() +
                            "' has no property '" + name_str + "'");
  }
  KALAM_RETURN_IF_ERROR(status_from_abi(
      rc, detail, [&] { return "property '" + name_str + "'"; },
      core_->backend()));
  return value;
}

Status Database::checkpoint(const fs::path& dir) {
  KALAM_RETURN_IF_ERROR(check_family(ColumnFamily()));
  // The table layer's default cold tier: a copy without it would lose every
  // flushed row.
  const fs::path cold = core_->path / "cold";
  std::error_code ec;
  if (fs::is_directory(cold, ec)) {
    for (fs::recursive_directory_iterator it(cold, ec), end; !ec && it != end;
         it.increment(ec)) {
      std::error_code type_ec;
      if (it->is_regular_file(type_ec)) {
        return Status::NotSupported(
            "checkpoint into " + dir.string() + ": the database in " +
            core_->path.string() + " has a cold tier (" + cold.string() +
            ") that a checkpoint of the backend store does not carry; use "
            "kalam::tables::Tables::checkpoint, which copies it too "
            "(nothing was written)");
      }
    }
  }
  return checkpoint_store(dir);
}

Status Database::checkpoint_store(const fs::path& dir) {
  KALAM_RETURN_IF_ERROR(check_family(ColumnFamily()));
  if (!core_->plugin->has(KALAM_CAP_CHECKPOINT)) {
    return Status::NotSupported("backend '" + core_->backend() +
                                "' does not support checkpoints");
  }
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    return Status::AlreadyExists("checkpoint directory " + dir.string() +
                                 " already exists");
  }
  fs::create_directories(dir, ec);
  if (ec) {
    return Status::IoError("cannot create " + dir.string() + ": " +
                           ec.message());
  }
  const std::string store = store_dir_of(dir).string();
  StatusBuffer detail;
  int rc;
  {
    auto lock = core_->lock();
    rc = core_->vt->checkpoint(core_->db, store.c_str(), detail.get());
  }
  KALAM_RETURN_IF_ERROR(status_from_abi(
      rc, detail, [&] { return "checkpoint into " + dir.string(); },
      core_->backend()));
  KALAM_RETURN_IF_ERROR(copy_manifest(core_->path, dir));
  mark_store_opened(dir);
  return Status::OK();
}

}  // namespace kalam
