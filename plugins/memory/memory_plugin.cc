// kalam_memory.so: the in-memory storage plugin, the reference implementation
// of the backend C ABI (kalam/backend_api.h). Nothing touches the disk and
// nothing survives close(); see README.md for what it guarantees.
//
// Data model
//   Each column family is a std::map from key to the versions of that key,
//   oldest first. A version is (sequence, value) or (sequence, tombstone).
//   Every successful write() is one step of the database's sequence clock,
//   and all its ops carry that one sequence, which makes a batch atomic for
//   readers across column families.
//
//   A reader at sequence S sees, per key, the newest version with seq <= S:
//   plain reads use the latest sequence; snapshots and iterators the one
//   current at their creation. Snapshots and live iterators register their
//   sequence in kalam_db::readers. A write prunes, on the keys it touches and
//   on a few more (sweep()), every version no registered reader and no latest
//   read can see, and erases a key with nothing left.
//
// Pinning (why iterators are cheap)
//   A version visible at a registered sequence is never pruned, so a key an
//   iterator stands on is never erased from its map. The iterator keeps the
//   std::map iterator and raw views of the key (inside the map node) and of
//   the value (a heap buffer the version owns, which does not move when the
//   version list grows or shrinks). So a step is ++ on the map iterator, an
//   entry is never copied, and iter_next_batch() calls its visitor without
//   holding any lock.
//
// Locking
//   kalam_db::mu (std::shared_mutex): reads, iterator creation and moves take
//   it shared; write(), cf_open() creating, and cf_drop() take it exclusive.
//   kalam_db::readers_mu guards the reader registry and the live counters and
//   is always taken after mu when both are held. No host callback (visitor)
//   is ever called with a lock held, so a visitor may call back into the
//   plugin, with one exception: read_modify_write() (ABI 1.2) calls its
//   visitor holding mu exclusively, as the ABI allows (no re-entry).
//   write_conditional() checks its expectations and applies its ops under
//   one exclusive hold of mu.

#include <kalam/backend_api.h>

#include "plugin_support.h"

#include <algorithm>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

constexpr char kPluginName[] = "memory";
constexpr char kPluginVersion[] = "1.0.0";
constexpr uint32_t kFormatVersion = 1;
constexpr uint64_t kCapabilities =
    KALAM_CAP_ATOMIC_BATCH | KALAM_CAP_SNAPSHOTS | KALAM_CAP_REVERSE_ITERATION |
    KALAM_CAP_DELETE_RANGE | KALAM_CAP_THREAD_SAFE | KALAM_CAP_PROPERTIES |
    KALAM_CAP_CONDITIONAL_WRITE | KALAM_CAP_READ_MODIFY_WRITE;
constexpr char kDefaultFamily[] = "default";
// The view handed out for an empty value, so value views are never NULL.
constexpr char kEmptyValue[1] = {'\0'};
// The read sequence of a read without a snapshot: newer than any version.
constexpr uint64_t kLatest = UINT64_MAX;
// How many entries iter_next_batch() gathers per lock acquisition.
constexpr size_t kBatchChunk = 64;

// ---- Status -----------------------------------------------------------------

using kalam_plugin::fail;  // the memory plugin has no native codes: always 0

// The exception firewall of every entry point (convention 8).
template <typename Fn>
int guarded(kalam_status* status, const char* what, Fn&& fn) noexcept {
  return kalam_plugin::guarded(status, "memory", what, static_cast<Fn&&>(fn));
}

std::string_view as_view(const void* data, size_t len) {
  return len == 0 ? std::string_view()
                  : std::string_view(static_cast<const char*>(data), len);
}

// ---- Versions and families --------------------------------------------------

struct Version {
  uint64_t seq = 0;
  // The value bytes; null for a tombstone and for an empty value. Shared so
  // that get() can hand the bytes to its visitor after dropping the lock.
  std::shared_ptr<const char[]> data;
  size_t len = 0;
  bool tombstone = false;

  const char* bytes() const { return data ? data.get() : kEmptyValue; }
};

struct Entry {
  // Oldest first, sequences strictly increasing. Never empty outside write().
  std::vector<Version> versions;
  // The sequence of the write() that last recorded this entry (see write()).
  uint64_t touched_by = 0;
};

using Table = std::map<std::string, Entry, std::less<>>;
// Read sequences of live snapshots and iterators.
using Readers = std::multiset<uint64_t>;

bool is_live(const Entry& entry) {
  return !entry.versions.empty() && !entry.versions.back().tombstone;
}

bool has_garbage(const Entry& entry) {
  return entry.versions.size() > 1 ||
         (entry.versions.size() == 1 && entry.versions.back().tombstone);
}

// The version a reader at `seq` sees, or NULL (missing or deleted).
const Version* visible(const Entry& entry, uint64_t seq) {
  const auto& versions = entry.versions;
  for (auto v = versions.rbegin(); v != versions.rend(); ++v) {
    if (v->seq <= seq) return v->tombstone ? nullptr : &*v;
  }
  return nullptr;
}

// Removes every version no reader can see: the readers in `readers` and the
// latest view. A version is needed when some reader's sequence falls between
// its own and its successor's; the newest is always needed by the latest
// view. A tombstone with no older live version under it reads exactly like a
// missing key and goes too. Never allocates.
void prune(std::vector<Version>& versions, const Readers& readers) noexcept {
  const size_t count = versions.size();
  size_t kept = 0;
  for (size_t i = 0; i < count; ++i) {
    bool keep = true;
    if (i + 1 < count) {
      auto reader = readers.lower_bound(versions[i].seq);
      keep = reader != readers.end() && *reader < versions[i + 1].seq;
    }
    if (keep && versions[i].tombstone &&
        (kept == 0 || versions[kept - 1].tombstone)) {
      keep = false;
    }
    if (keep) {
      if (kept != i) versions[kept] = std::move(versions[i]);
      ++kept;
    }
  }
  versions.erase(versions.begin() + static_cast<std::ptrdiff_t>(kept),
                 versions.end());
}

// Sums over the entries of a family, for the properties and for sweep().
struct Totals {
  uint64_t live_keys = 0;
  uint64_t live_bytes = 0;
  uint64_t versions = 0;
  uint64_t garbage_keys = 0;

  static Totals of(const Table::value_type& node) {
    Totals t;
    const Entry& entry = node.second;
    t.versions = entry.versions.size();
    if (is_live(entry)) {
      t.live_keys = 1;
      t.live_bytes = node.first.size() + entry.versions.back().len;
    }
    t.garbage_keys = has_garbage(entry) ? 1 : 0;
    return t;
  }
  void add(const Totals& t) {
    live_keys += t.live_keys;
    live_bytes += t.live_bytes;
    versions += t.versions;
    garbage_keys += t.garbage_keys;
  }
  void subtract(const Totals& t) {
    live_keys -= t.live_keys;
    live_bytes -= t.live_bytes;
    versions -= t.versions;
    garbage_keys -= t.garbage_keys;
  }
};

struct Family {
  explicit Family(std::string family_name) : name(std::move(family_name)) {}
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  const std::string name;
  Table table;
  // Totals::of() summed over `table`, except for the entries a running
  // write() has recorded.
  Totals totals;
  // Where the next sweep() starts.
  std::string sweep_cursor;
  // The sequence of the last write() that swept this family.
  uint64_t swept_by = 0;
};

// Prunes `node`, whose totals are not in family.totals, then erases it if
// nothing is left or adds its totals back. Returns the node after it.
Table::iterator settle(Family& family, Table::iterator node,
                       const Readers& readers) noexcept {
  prune(node->second.versions, readers);
  if (node->second.versions.empty()) return family.table.erase(node);
  family.totals.add(Totals::of(*node));
  return std::next(node);
}

// Reclaims versions that only a since-released reader needed, on keys no
// write touches any more: examines up to `budget` entries from where the
// last sweep stopped. Cheap when there is no garbage.
void sweep(Family& family, size_t budget, const Readers& readers) noexcept {
  if (family.totals.garbage_keys == 0 || family.table.empty()) return;
  auto node = family.table.lower_bound(family.sweep_cursor);
  for (size_t n = 0; n < budget && family.totals.garbage_keys > 0; ++n) {
    if (node == family.table.end()) node = family.table.begin();
    if (node == family.table.end()) break;
    if (has_garbage(node->second)) {
      family.totals.subtract(Totals::of(*node));
      node = settle(family, node, readers);
    } else {
      ++node;
    }
  }
  try {
    if (node == family.table.end()) {
      family.sweep_cursor.clear();
    } else {
      family.sweep_cursor.assign(node->first);
    }
  } catch (...) {
    family.sweep_cursor.clear();  // Only an optimisation; start over.
  }
}

// Where an iterator stands: the map node and views of its visible entry.
struct Position {
  Table::const_iterator node;
  const char* key = nullptr;
  size_t key_len = 0;
  const char* value = nullptr;
  size_t value_len = 0;
};

Position position_at(Table::const_iterator node, const Version& version) {
  return Position{node, node->first.data(), node->first.size(), version.bytes(),
                  version.len};
}

}  // namespace

// ---- The opaque handles -----------------------------------------------------

struct kalam_cf {
  kalam_db* db = nullptr;
  std::string name;
  // The family's data; reset by cf_drop(). Guarded by db->mu.
  std::shared_ptr<Family> family;
  bool dropped = false;  // Guarded by db->mu.
};

struct kalam_snapshot {
  kalam_db* db = nullptr;
  uint64_t seq = 0;
  Readers::iterator registration;
};

struct kalam_db {
  std::shared_mutex mu;
  // Guarded by mu:
  std::shared_ptr<Family> default_family;
  std::map<std::string, kalam_cf*, std::less<>> families;  // Live, by name.
  // Every handle cf_open() made, dropped ones included; freed by close().
  std::vector<std::unique_ptr<kalam_cf>> handles;
  uint64_t last_seq = 0;  // The sequence of the last successful write().

  std::mutex readers_mu;
  // Guarded by readers_mu:
  Readers readers;
  size_t live_snapshots = 0;
  size_t live_iterators = 0;
};

struct kalam_iter {
  kalam_db* db = nullptr;
  // Shared with the family handle, so a dropped family's data stays alive
  // (and unchanging) for the iterators already open on it.
  std::shared_ptr<Family> family;
  uint64_t seq = 0;  // Registered in db->readers until iter_destroy().
  Readers::iterator registration;
  bool has_lower = false;
  bool has_upper = false;
  std::string lower;  // Inclusive.
  std::string upper;  // Exclusive.
  bool valid = false;
  Position at;  // Meaningful when valid.
  int error = KALAM_OK;
  char error_message[KALAM_STATUS_MESSAGE_SIZE] = {};
};

namespace {

// ---- Helpers shared by the entry points -------------------------------------

// Checks that `cf` (NULL: default) can be used on `db`. REQUIRES: db->mu.
int check_family(const kalam_db* db, const kalam_cf* cf, const char* what,
                 kalam_status* status) {
  if (cf == nullptr) return KALAM_OK;
  if (cf->db != db) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "memory: %s: the column family handle belongs to another "
                "database",
                what);
  }
  if (cf->dropped) {
    return fail(status, KALAM_DROPPED, 0,
                "memory: %s: column family '%.200s' was dropped; open it "
                "again with KALAM_CF_CREATE_IF_MISSING to get a new, empty one",
                what, cf->name.c_str());
  }
  return KALAM_OK;
}

// The data of a family check_family() accepted. REQUIRES: db->mu.
const std::shared_ptr<Family>& family_of(const kalam_db* db,
                                         const kalam_cf* cf) {
  return cf == nullptr ? db->default_family : cf->family;
}

// The read sequence of `options`: its snapshot's, or kLatest.
int read_seq(const kalam_db* db, const kalam_read_options* options,
             const char* what, kalam_status* status, uint64_t* seq) {
  const kalam_snapshot* snapshot = nullptr;
  if (options != nullptr && KALAM_PLUGIN_COVERS(options, snapshot)) {
    snapshot = options->snapshot;
  }
  if (snapshot == nullptr) {
    *seq = kLatest;
  } else if (snapshot->db != db) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "memory: %s: the snapshot belongs to another database", what);
  } else {
    *seq = snapshot->seq;
  }
  return KALAM_OK;
}

// ---- Database ---------------------------------------------------------------

int mem_open(const kalam_open_params* params, kalam_db** out_db,
             kalam_status* status) noexcept {
  return guarded(status, "open", [&]() -> int {
    if (params == nullptr || out_db == nullptr) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "memory: open: params and out_db must not be NULL");
    }
    const uint32_t flags =
        KALAM_PLUGIN_COVERS(params, flags) ? params->flags : 0;
    const char* path =
        KALAM_PLUGIN_COVERS(params, path) ? params->path : nullptr;
    const char* const* keys = KALAM_PLUGIN_COVERS(params, option_keys)
                                  ? params->option_keys
                                  : nullptr;
    const size_t option_count =
        KALAM_PLUGIN_COVERS(params, option_count) ? params->option_count : 0;
    if (path == nullptr) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "memory: open: params->path must not be NULL (the memory "
                  "plugin ignores it, but every host passes one)");
    }
    if ((flags & ~(KALAM_OPEN_CREATE_IF_MISSING | KALAM_OPEN_READ_ONLY)) != 0) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "memory: open: unknown flag bits 0x%x in params->flags",
                  static_cast<unsigned>(flags));
    }
    if ((flags & KALAM_OPEN_READ_ONLY) != 0) {
      return fail(status, KALAM_NOT_SUPPORTED, 0,
                  "memory: open: KALAM_OPEN_READ_ONLY is not supported: a "
                  "memory database starts empty, so a read-only one would be "
                  "useless; open it writable");
    }
    if (option_count > 0) {
      if (keys == nullptr || keys[0] == nullptr) {
        return fail(status, KALAM_INVALID_ARGUMENT, 0,
                    "memory: open: option_count is %zu but the option keys "
                    "are NULL",
                    option_count);
      }
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "memory: open: unknown option '%.200s': the memory plugin "
                  "takes no options; remove it from the backend's options",
                  keys[0]);
    }
    // Without KALAM_OPEN_CREATE_IF_MISSING too: a memory database always
    // starts empty, so there is never "no database" to report.
    auto db = std::make_unique<kalam_db>();
    db->default_family = std::make_shared<Family>(kDefaultFamily);
    *out_db = db.release();
    return KALAM_OK;
  });
}

int mem_close(kalam_db* db, kalam_status* status) noexcept {
  return guarded(status, "close", [&]() -> int {
    if (db == nullptr) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "memory: close: db must not be NULL");
    }
    {
      std::lock_guard lock(db->readers_mu);
      if (db->live_iterators > 0 || db->live_snapshots > 0) {
        return fail(status, KALAM_BUSY, 0,
                    "memory: close: %zu iterator(s) and %zu snapshot(s) are "
                    "still alive; destroy and release them first (the "
                    "database stays open)",
                    db->live_iterators, db->live_snapshots);
      }
    }
    delete db;  // Everything, column family handles included, is gone.
    return KALAM_OK;
  });
}

int mem_flush(kalam_db* db, uint32_t flags, kalam_status* status) noexcept {
  if (db == nullptr) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "memory: flush: db must not be NULL");
  }
  if (flags != 0) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "memory: flush: flags must be 0, got 0x%x",
                static_cast<unsigned>(flags));
  }
  return KALAM_OK;  // Nothing is ever durable; nothing to do.
}

// ---- Column families --------------------------------------------------------

int mem_cf_open(kalam_db* db, const char* name, uint32_t flags,
                kalam_cf** out_cf, kalam_status* status) noexcept {
  return guarded(status, "cf_open", [&]() -> int {
    if (db == nullptr || name == nullptr || out_cf == nullptr) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "memory: cf_open: db, name and out_cf must not be NULL");
    }
    if (name[0] == '\0') {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "memory: cf_open: the column family name must not be "
                  "empty");
    }
    if ((flags & ~KALAM_CF_CREATE_IF_MISSING) != 0) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "memory: cf_open: unknown flag bits 0x%x",
                  static_cast<unsigned>(flags));
    }
    if (std::strcmp(name, kDefaultFamily) == 0) {
      *out_cf = nullptr;
      return KALAM_OK;
    }
    const std::string_view wanted(name);
    {
      std::shared_lock lock(db->mu);
      auto found = db->families.find(wanted);
      if (found != db->families.end()) {
        *out_cf = found->second;
        return KALAM_OK;
      }
    }
    if ((flags & KALAM_CF_CREATE_IF_MISSING) == 0) return KALAM_NOT_FOUND;

    std::unique_lock lock(db->mu);
    auto found = db->families.find(wanted);  // Someone may have won the race.
    if (found != db->families.end()) {
      *out_cf = found->second;
      return KALAM_OK;
    }
    auto handle = std::make_unique<kalam_cf>();
    handle->db = db;
    handle->name.assign(wanted);
    handle->family = std::make_shared<Family>(handle->name);
    db->handles.reserve(db->handles.size() + 1);
    db->families.emplace(handle->name, handle.get());
    db->handles.push_back(std::move(handle));  // Cannot throw: reserved.
    *out_cf = db->handles.back().get();
    return KALAM_OK;
  });
}

int mem_cf_drop(kalam_db* db, kalam_cf* cf, kalam_status* status) noexcept {
  return guarded(status, "cf_drop", [&]() -> int {
    if (db == nullptr) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "memory: cf_drop: db must not be NULL");
    }
    if (cf == nullptr) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "memory: cf_drop: the default column family (NULL) cannot "
                  "be dropped");
    }
    std::shared_ptr<Family> doomed;
    {
      std::unique_lock lock(db->mu);
      int rc = check_family(db, cf, "cf_drop", status);
      if (rc != KALAM_OK) return rc;
      cf->dropped = true;
      db->families.erase(cf->name);
      doomed = std::move(cf->family);
    }
    // The data is freed here, outside the lock, unless iterators still hold
    // it; the last of them frees it.
    return KALAM_OK;
  });
}

int mem_cf_list(kalam_db* db, kalam_name_visitor visit, void* ctx,
                kalam_status* status) noexcept {
  return guarded(status, "cf_list", [&]() -> int {
    if (db == nullptr || visit == nullptr) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "memory: cf_list: db and visit must not be NULL");
    }
    std::vector<std::string> names;
    {
      std::shared_lock lock(db->mu);
      names.reserve(db->families.size() + 1);
      names.emplace_back(kDefaultFamily);
      for (const auto& entry : db->families) names.push_back(entry.first);
    }
    for (const auto& name : names) visit(ctx, name.c_str());
    return KALAM_OK;
  });
}

// ---- Point reads ------------------------------------------------------------

int mem_get(kalam_db* db, const kalam_read_options* options, kalam_cf* cf,
            const void* key, size_t key_len, kalam_value_visitor visit,
            void* ctx, kalam_status* status) noexcept {
  return guarded(status, "get", [&]() -> int {
    if (db == nullptr || visit == nullptr ||
        kalam_plugin::null_with_length(key, key_len)) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "memory: get: db and visit must not be NULL, nor key when "
                  "key_len > 0");
    }
    uint64_t seq = 0;
    int rc = read_seq(db, options, "get", status, &seq);
    if (rc != KALAM_OK) return rc;
    std::shared_ptr<const char[]> data;  // Keeps the bytes alive unlocked.
    size_t len = 0;
    {
      std::shared_lock lock(db->mu);
      rc = check_family(db, cf, "get", status);
      if (rc != KALAM_OK) return rc;
      const Table& table = family_of(db, cf)->table;
      auto node = table.find(as_view(key, key_len));
      if (node == table.end()) return KALAM_NOT_FOUND;
      const Version* version = visible(node->second, seq);
      if (version == nullptr) return KALAM_NOT_FOUND;
      data = version->data;
      len = version->len;
    }
    visit(ctx, data ? data.get() : kEmptyValue, len);
    return KALAM_OK;
  });
}

int mem_get_into(kalam_db* db, const kalam_read_options* options, kalam_cf* cf,
                 const void* key, size_t key_len, void* buf, size_t buf_size,
                 size_t* value_len, kalam_status* status) noexcept {
  return guarded(status, "get_into", [&]() -> int {
    if (db == nullptr || value_len == nullptr ||
        kalam_plugin::null_with_length(key, key_len) ||
        kalam_plugin::null_with_length(buf, buf_size)) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "memory: get_into: db and value_len must not be NULL, nor "
                  "key when key_len > 0, nor buf when buf_size > 0");
    }
    uint64_t seq = 0;
    int rc = read_seq(db, options, "get_into", status, &seq);
    if (rc != KALAM_OK) return rc;
    std::shared_lock lock(db->mu);
    rc = check_family(db, cf, "get_into", status);
    if (rc != KALAM_OK) return rc;
    const Table& table = family_of(db, cf)->table;
    auto node = table.find(as_view(key, key_len));
    if (node == table.end()) return KALAM_NOT_FOUND;
    const Version* version = visible(node->second, seq);
    if (version == nullptr) return KALAM_NOT_FOUND;
    if (version->len > buf_size) {
      *value_len = version->len;  // The documented exception to rule 6.
      return fail(status, KALAM_BUFFER_TOO_SMALL, 0,
                  "memory: get_into: the value is %zu bytes but the buffer "
                  "holds %zu; retry with a buffer of at least *value_len",
                  version->len, buf_size);
    }
    if (version->len > 0) std::memcpy(buf, version->data.get(), version->len);
    *value_len = version->len;
    return KALAM_OK;
  });
}

int mem_multi_get(kalam_db* db, const kalam_read_options* options, size_t count,
                  kalam_cf* const* cfs, const void* const* keys,
                  const size_t* key_lens, kalam_multi_get_visitor visit,
                  void* ctx, kalam_status* status) noexcept {
  return guarded(status, "multi_get", [&]() -> int {
    if (db == nullptr || visit == nullptr ||
        (count > 0 && (keys == nullptr || key_lens == nullptr))) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "memory: multi_get: db, visit, keys and key_lens must not "
                  "be NULL");
    }
    uint64_t seq = 0;
    int rc = read_seq(db, options, "multi_get", status, &seq);
    if (rc != KALAM_OK) return rc;
    if (count == 0) return KALAM_OK;
    struct Result {
      int code = KALAM_NOT_FOUND;
      std::shared_ptr<const char[]> data;
      size_t len = 0;
    };
    std::vector<Result> results(count);
    {
      std::shared_lock lock(db->mu);  // One consistent view for every key.
      for (size_t i = 0; i < count; ++i) {
        const kalam_cf* cf = cfs == nullptr ? nullptr : cfs[i];
        Result& result = results[i];
        if (kalam_plugin::null_with_length(keys[i], key_lens[i])) {
          result.code = KALAM_INVALID_ARGUMENT;
        } else if (cf != nullptr && cf->db != db) {
          result.code = KALAM_INVALID_ARGUMENT;
        } else if (cf != nullptr && cf->dropped) {
          result.code = KALAM_DROPPED;
        } else {
          const Table& table = family_of(db, cf)->table;
          auto node = table.find(as_view(keys[i], key_lens[i]));
          const Version* version =
              node == table.end() ? nullptr : visible(node->second, seq);
          if (version != nullptr) {
            result.code = KALAM_OK;
            result.data = version->data;
            result.len = version->len;
          }
        }
      }
    }
    for (size_t i = 0; i < count; ++i) {
      const Result& result = results[i];
      if (result.code == KALAM_OK) {
        visit(ctx, i, KALAM_OK, result.data ? result.data.get() : kEmptyValue,
              result.len);
      } else {
        visit(ctx, i, result.code, nullptr, 0);
      }
    }
    return KALAM_OK;
  });
}

// ---- Writes -----------------------------------------------------------------
//
// write() runs in three phases under the exclusive lock:
//   1. prepare: insert the nodes PUTs need, and record every node the batch
//      will change (stamped with the batch's sequence, so each once), taking
//      its totals out of the family and reserving room for one new version.
//      This is the only phase that allocates; on failure rollback() restores
//      the state exactly, so a failed write applies nothing.
//   2. apply the ops in order, each appending (or, for a key already changed
//      by this batch, replacing) one version. Cannot fail.
//   3. settle every recorded node (prune, erase if empty, totals back), sweep
//      a little, and publish the sequence.

struct PreparedOp {
  std::shared_ptr<const char[]> value;  // PUT with a non-empty value.
  Family* family = nullptr;
  Table::iterator node;  // PUT, DELETE: the key's node, when has_node.
  bool has_node = false;
};

struct Recorded {
  Family* family;
  Table::iterator node;
};

// Makes room for one more record; may throw before anything changes.
void make_room(std::vector<Recorded>& recorded) {
  if (recorded.size() == recorded.capacity()) {
    recorded.reserve(std::max<size_t>(8, 2 * recorded.capacity()));
  }
}

// REQUIRES: make_room() since the last record; node not yet stamped `seq`.
void record(std::vector<Recorded>& recorded, Family& family,
            Table::iterator node, uint64_t seq) {
  family.totals.subtract(Totals::of(*node));
  node->second.touched_by = seq;
  recorded.push_back(Recorded{&family, node});
  // The batch adds at most one version per key (later ops replace it).
  auto& versions = node->second.versions;
  if (versions.size() == versions.capacity()) {
    versions.reserve(versions.empty() ? 1 : 2 * versions.size());
  }
}

// Undoes phase 1 after an exception. Never allocates.
void rollback(const std::vector<Recorded>& recorded) noexcept {
  for (const Recorded& r : recorded) {
    r.node->second.touched_by = 0;
    if (r.node->second.versions.empty()) {
      r.family->table.erase(r.node);  // Inserted by this batch; invisible.
    } else {
      r.family->totals.add(Totals::of(*r.node));
    }
  }
}

void apply_put(Entry& entry, uint64_t seq,
               const std::shared_ptr<const char[]>& value, size_t len) {
  auto& versions = entry.versions;
  if (!versions.empty() && versions.back().seq == seq) {
    Version& mine = versions.back();  // Same batch: the later op wins.
    mine.data = value;
    mine.len = len;
    mine.tombstone = false;
    return;
  }
  versions.push_back(Version{seq, value, len, false});  // Room reserved.
}

void apply_delete(Entry& entry, uint64_t seq) {
  auto& versions = entry.versions;
  if (versions.empty() || versions.back().tombstone) return;  // Not there.
  if (versions.back().seq == seq) {
    // A put of this same batch: drop it, or turn it into a tombstone when an
    // older live version lies under it.
    if (versions.size() == 1 || versions[versions.size() - 2].tombstone) {
      versions.pop_back();
    } else {
      Version& mine = versions.back();
      mine.data.reset();
      mine.len = 0;
      mine.tombstone = true;
    }
    return;
  }
  versions.push_back(Version{seq, nullptr, 0, true});  // Room reserved.
}

// Validates `options` and `ops` and copies the put values into `prepared`
// (one per op), before any lock is taken. KALAM_OK or an error; nothing is
// applied either way.
int prepare_write(kalam_db* db, const kalam_write_options* options,
                  const kalam_write_op* ops, size_t op_count,
                  std::vector<PreparedOp>& prepared, kalam_status* status) {
  if (db == nullptr || options == nullptr) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "memory: write: db and options must not be NULL");
  }
  if (!KALAM_PLUGIN_COVERS(options, op_stride)) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "memory: write: options->struct_size %u is too small to "
                "hold op_stride",
                static_cast<unsigned>(options->struct_size));
  }
  if ((options->flags & ~KALAM_WRITE_SYNC) != 0) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "memory: write: unknown flag bits 0x%x in options->flags",
                static_cast<unsigned>(options->flags));
  }
  const uint32_t stride = options->op_stride;
  if (stride < sizeof(kalam_write_op) ||
      stride % alignof(kalam_write_op) != 0) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "memory: write: options->op_stride is %u; it must be "
                "sizeof(kalam_write_op) (at least %zu, a multiple of %zu)",
                static_cast<unsigned>(stride), sizeof(kalam_write_op),
                alignof(kalam_write_op));
  }
  if (op_count == 0) return KALAM_OK;
  if (ops == nullptr) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "memory: write: ops is NULL but op_count is %zu", op_count);
  }

  // Validate every op and copy the values, before taking the lock.
  prepared.resize(op_count);
  for (size_t i = 0; i < op_count; ++i) {
    const kalam_write_op* op = kalam_write_op_at(ops, stride, i);
    if (op->type != KALAM_OP_PUT && op->type != KALAM_OP_DELETE &&
        op->type != KALAM_OP_DELETE_RANGE) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "memory: write: op #%zu has unknown type %u; nothing was "
                  "applied",
                  i, static_cast<unsigned>(op->type));
    }
    if (op->reserved0 != 0) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "memory: write: op #%zu has reserved0 = %u, must be 0; "
                  "nothing was applied",
                  i, static_cast<unsigned>(op->reserved0));
    }
    if (op->type != KALAM_OP_DELETE_RANGE && op->key_len == 0) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "memory: write: op #%zu has an empty key; keys are 1 or "
                  "more bytes; nothing was applied",
                  i);
    }
    if (kalam_plugin::null_with_length(op->key, op->key_len)) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "memory: write: op #%zu has a NULL key of length %zu; "
                  "nothing was applied",
                  i, op->key_len);
    }
    if (op->type != KALAM_OP_DELETE && op->value == nullptr &&
        op->value_len > 0) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "memory: write: op #%zu has a NULL %s of length %zu; "
                  "nothing was applied",
                  i, op->type == KALAM_OP_PUT ? "value" : "end key",
                  op->value_len);
    }
    if (op->cf != nullptr && op->cf->db != db) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "memory: write: op #%zu names a column family of another "
                  "database; nothing was applied",
                  i);
    }
    if (op->type == KALAM_OP_PUT && op->value_len > 0) {
      auto copy = std::make_shared_for_overwrite<char[]>(op->value_len);
      std::memcpy(copy.get(), op->value, op->value_len);
      prepared[i].value = std::move(copy);
    }
  }

  return KALAM_OK;
}

// Applies prepared ops. REQUIRES: db->mu held exclusively, prepare_write()
// returned KALAM_OK for these ops.
int apply_locked(kalam_db* db, uint32_t stride, const kalam_write_op* ops,
                 size_t op_count, std::vector<PreparedOp>& prepared,
                 kalam_status* status) {
  if (op_count == 0) return KALAM_OK;
  for (size_t i = 0; i < op_count; ++i) {
    const kalam_cf* cf = kalam_write_op_at(ops, stride, i)->cf;
    if (cf != nullptr && cf->dropped) {
      return fail(status, KALAM_DROPPED, 0,
                  "memory: write: op #%zu writes to column family '%.200s', "
                  "which was dropped; nothing was applied",
                  i, cf->name.c_str());
    }
    prepared[i].family = family_of(db, cf).get();
  }
  // The registered readers, copied: none can register while we hold mu
  // exclusively, and one that leaves meanwhile only makes the copy keep a
  // version longer. So releasing an iterator or snapshot never waits for
  // a write (a copy of an empty registry costs nothing).
  Readers readers;
  {
    std::lock_guard readers_lock(db->readers_mu);
    readers = db->readers;
  }
  const uint64_t seq = db->last_seq + 1;

  // Phase 1: prepare (with the copy above, the only allocations).
  std::vector<Recorded> recorded;
  try {
    for (size_t i = 0; i < op_count; ++i) {
      const kalam_write_op* op = kalam_write_op_at(ops, stride, i);
      PreparedOp& p = prepared[i];
      Table& table = p.family->table;
      const std::string_view key = as_view(op->key, op->key_len);
      if (op->type == KALAM_OP_PUT) {
        make_room(recorded);
        auto node = table.lower_bound(key);
        if (node == table.end() || node->first != key) {
          node = table.emplace_hint(node, std::piecewise_construct,
                                    std::forward_as_tuple(key),
                                    std::forward_as_tuple());
        }
        p.node = node;
        p.has_node = true;
        if (node->second.touched_by != seq) {
          record(recorded, *p.family, node, seq);
        }
      } else if (op->type == KALAM_OP_DELETE) {
        auto node = table.find(key);
        if (node == table.end()) continue;  // Nothing to delete.
        p.node = node;
        p.has_node = true;
        if (node->second.touched_by != seq && is_live(node->second)) {
          make_room(recorded);
          record(recorded, *p.family, node, seq);
        }
      } else {  // KALAM_OP_DELETE_RANGE
        const std::string_view end = as_view(op->value, op->value_len);
        if (end <= key) continue;  // Empty or reversed: a no-op.
        for (auto node = table.lower_bound(key);
             node != table.end() && node->first < end; ++node) {
          if (node->second.touched_by != seq && is_live(node->second)) {
            make_room(recorded);
            record(recorded, *p.family, node, seq);
          }
        }
      }
    }
  } catch (...) {
    rollback(recorded);
    throw;
  }

  // Phase 2: apply, in op order. Only recorded nodes change.
  for (size_t i = 0; i < op_count; ++i) {
    const kalam_write_op* op = kalam_write_op_at(ops, stride, i);
    PreparedOp& p = prepared[i];
    if (op->type == KALAM_OP_PUT) {
      apply_put(p.node->second, seq, p.value, op->value_len);
    } else if (op->type == KALAM_OP_DELETE) {
      if (p.has_node) apply_delete(p.node->second, seq);
    } else {
      const std::string_view begin = as_view(op->key, op->key_len);
      const std::string_view end = as_view(op->value, op->value_len);
      if (end <= begin) continue;
      Table& table = p.family->table;
      for (auto node = table.lower_bound(begin);
           node != table.end() && node->first < end; ++node) {
        apply_delete(node->second, seq);
      }
    }
  }

  // Phase 3: settle, sweep, publish.
  for (const Recorded& r : recorded) settle(*r.family, r.node, readers);
  const size_t budget = 16 + recorded.size();
  for (const PreparedOp& p : prepared) {
    if (p.family->swept_by != seq) {
      p.family->swept_by = seq;
      sweep(*p.family, budget, readers);
    }
  }
  db->last_seq = seq;
  return KALAM_OK;
}

// The state of `key` in `cf` now. REQUIRES: db->mu held, family checked.
const Version* latest(const kalam_db* db, const kalam_cf* cf, const void* key,
                      size_t key_len) {
  const Table& table = family_of(db, cf)->table;
  auto node = table.find(as_view(key, key_len));
  return node == table.end() ? nullptr : visible(node->second, kLatest);
}

int mem_write(kalam_db* db, const kalam_write_options* options,
              const kalam_write_op* ops, size_t op_count,
              kalam_status* status) noexcept {
  return guarded(status, "write", [&]() -> int {
    std::vector<PreparedOp> prepared;
    int rc = prepare_write(db, options, ops, op_count, prepared, status);
    if (rc != KALAM_OK || op_count == 0) return rc;
    std::unique_lock lock(db->mu);
    return apply_locked(db, options->op_stride, ops, op_count, prepared,
                        status);
  });
}

// ABI 1.2: the expectations are checked and the ops applied under one
// exclusive hold of db->mu, so no other write falls in between.
int mem_write_conditional(kalam_db* db, const kalam_write_options* options,
                          const kalam_expectation* expects, size_t expect_count,
                          const kalam_write_op* ops, size_t op_count,
                          kalam_status* status) noexcept {
  return guarded(status, "write_conditional", [&]() -> int {
    int rc = kalam_plugin::check_expectations("memory", expects, expect_count,
                                              status);
    if (rc != KALAM_OK) return rc;
    for (size_t i = 0; i < expect_count; ++i) {
      if (expects[i].cf != nullptr && expects[i].cf->db != db) {
        return fail(status, KALAM_INVALID_ARGUMENT, 0,
                    "memory: write_conditional: expectation #%zu names a "
                    "column family of another database; nothing was applied",
                    i);
      }
    }
    std::vector<PreparedOp> prepared;
    rc = prepare_write(db, options, ops, op_count, prepared, status);
    if (rc != KALAM_OK) return rc;
    std::unique_lock lock(db->mu);
    for (size_t i = 0; i < expect_count; ++i) {
      const kalam_expectation& e = expects[i];
      rc = check_family(db, e.cf, "write_conditional", status);
      if (rc != KALAM_OK) return rc;
      const Version* v = latest(db, e.cf, e.key, e.key_len);
      if (!kalam_plugin::expectation_holds(
              e, v != nullptr, v != nullptr ? v->data.get() : nullptr,
              v != nullptr ? v->len : 0)) {
        return kalam_plugin::conflict(status, "memory: write_conditional", i,
                                      e);
      }
    }
    return apply_locked(db, options->op_stride, ops, op_count, prepared,
                        status);
  });
}

// ABI 1.2: reads, the host's visitor and the write all under one exclusive
// hold of db->mu (the one place a host callback runs with a lock held: the
// visitor must not call back into the plugin).
int mem_read_modify_write(kalam_db* db, const kalam_write_options* options,
                          size_t count, kalam_cf* const* cfs,
                          const void* const* keys, const size_t* key_lens,
                          kalam_rmw_visitor visit, void* ctx,
                          kalam_status* status) noexcept {
  return guarded(status, "read_modify_write", [&]() -> int {
    if (db == nullptr || options == nullptr || visit == nullptr ||
        (count > 0 && (keys == nullptr || key_lens == nullptr))) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "memory: read_modify_write: db, options, visit (and keys, "
                  "key_lens when count > 0) must not be NULL");
    }
    for (size_t i = 0; i < count; ++i) {
      if (key_lens[i] == 0 || keys[i] == nullptr) {
        return fail(status, KALAM_INVALID_ARGUMENT, 0,
                    "memory: read_modify_write: key #%zu is empty or NULL; "
                    "nothing was applied",
                    i);
      }
      if (cfs != nullptr && cfs[i] != nullptr && cfs[i]->db != db) {
        return fail(status, KALAM_INVALID_ARGUMENT, 0,
                    "memory: read_modify_write: key #%zu names a column "
                    "family of another database",
                    i);
      }
    }
    std::vector<kalam_rmw_value> current(count);
    std::unique_lock lock(db->mu);
    for (size_t i = 0; i < count; ++i) {
      const kalam_cf* cf = cfs != nullptr ? cfs[i] : nullptr;
      int rc = check_family(db, cf, "read_modify_write", status);
      if (rc != KALAM_OK) return rc;
      const Version* v = latest(db, cf, keys[i], key_lens[i]);
      current[i].code = v != nullptr ? KALAM_OK : KALAM_NOT_FOUND;
      if (v != nullptr) {
        current[i].value = v->data ? v->data.get() : kEmptyValue;
        current[i].value_len = v->len;
      }
    }
    const kalam_write_op* ops = nullptr;
    size_t op_count = 0;
    if (visit(ctx, count, current.data(), &ops, &op_count) != 0) {
      return KALAM_OK;  // Cancelled by the host: nothing applied.
    }
    std::vector<PreparedOp> prepared;
    int rc = prepare_write(db, options, ops, op_count, prepared, status);
    if (rc != KALAM_OK || op_count == 0) return rc;
    return apply_locked(db, options->op_stride, ops, op_count, prepared,
                        status);
  });
}

// ---- Snapshots --------------------------------------------------------------

int mem_snapshot_create(kalam_db* db, kalam_snapshot** out_snapshot,
                        kalam_status* status) noexcept {
  return guarded(status, "snapshot_create", [&]() -> int {
    if (db == nullptr || out_snapshot == nullptr) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "memory: snapshot_create: db and out_snapshot must not be "
                  "NULL");
    }
    auto snapshot = std::make_unique<kalam_snapshot>();
    snapshot->db = db;
    std::shared_lock lock(db->mu);  // No write is half-applied.
    std::lock_guard readers_lock(db->readers_mu);
    snapshot->seq = db->last_seq;
    snapshot->registration = db->readers.insert(snapshot->seq);
    ++db->live_snapshots;
    *out_snapshot = snapshot.release();
    return KALAM_OK;
  });
}

void mem_snapshot_release(kalam_db* db, kalam_snapshot* snapshot) noexcept {
  if (snapshot == nullptr) return;
  kalam_db* owner = snapshot->db;  // Trust the handle over the argument.
  try {
    std::lock_guard readers_lock(owner->readers_mu);
    owner->readers.erase(snapshot->registration);
    --owner->live_snapshots;
  } catch (...) {
    // Locking a std::mutex cannot fail here in practice; if it did, the
    // registration leaks (old versions are kept, close() reports BUSY).
  }
  delete snapshot;
}

// ---- Iterators --------------------------------------------------------------

// The first visible entry at or after `node` below the upper bound.
// REQUIRES: iter.db->mu held shared.
bool forward(const kalam_iter& iter, Table::const_iterator node,
             Position* out) {
  const Table& table = iter.family->table;
  for (; node != table.end(); ++node) {
    if (iter.has_upper && node->first.compare(iter.upper) >= 0) return false;
    if (const Version* version = visible(node->second, iter.seq)) {
      *out = position_at(node, *version);
      return true;
    }
  }
  return false;
}

// The last visible entry before `node` at or above the lower bound.
// REQUIRES: iter.db->mu held shared.
bool backward(const kalam_iter& iter, Table::const_iterator node,
              Position* out) {
  const Table& table = iter.family->table;
  while (node != table.begin()) {
    --node;
    if (iter.has_lower && node->first.compare(iter.lower) < 0) return false;
    if (const Version* version = visible(node->second, iter.seq)) {
      *out = position_at(node, *version);
      return true;
    }
  }
  return false;
}

// Makes `code` the iterator's sticky error and reports it.
[[gnu::format(printf, 4, 5)]] int set_sticky(kalam_iter* iter,
                                             kalam_status* status, int code,
                                             const char* format, ...) noexcept {
  iter->valid = false;
  iter->error = code;
  va_list args;
  va_start(args, format);
  std::vsnprintf(iter->error_message, sizeof iter->error_message, format, args);
  va_end(args);
  return fail(status, code, 0, "%s", iter->error_message);
}

int report_sticky(const kalam_iter* iter, kalam_status* status) {
  return fail(status, iter->error, 0, "%s", iter->error_message);
}

// One move: `find` runs under the shared lock and fills a Position.
template <typename Find>
int move(kalam_iter* iter, kalam_status* status, const char* what,
         Find&& find) noexcept {
  if (iter == nullptr) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "memory: %s: iter must not be NULL", what);
  }
  if (iter->error != KALAM_OK) return report_sticky(iter, status);
  try {
    Position position;
    bool found = false;
    {
      std::shared_lock lock(iter->db->mu);
      found = find(iter->family->table, &position);
    }
    iter->valid = found;
    if (found) iter->at = position;
    return found ? KALAM_OK : KALAM_NOT_FOUND;
  } catch (const std::bad_alloc&) {
    return set_sticky(iter, status, KALAM_NO_MEMORY,
                      "memory: %s: out of memory", what);
  } catch (const std::exception& e) {
    return set_sticky(iter, status, KALAM_INTERNAL,
                      "memory: %s: unexpected error: %s", what, e.what());
  } catch (...) {
    return set_sticky(iter, status, KALAM_INTERNAL,
                      "memory: %s: unexpected non-standard exception", what);
  }
}

int mem_iter_create(kalam_db* db, const kalam_iter_options* options,
                    kalam_cf* cf, kalam_iter** out_iter,
                    kalam_status* status) noexcept {
  return guarded(status, "iter_create", [&]() -> int {
    if (db == nullptr || out_iter == nullptr) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "memory: iter_create: db and out_iter must not be NULL");
    }
    auto iter = std::make_unique<kalam_iter>();
    const kalam_snapshot* snapshot = nullptr;
    if (options != nullptr) {
      const uint32_t flags =
          KALAM_PLUGIN_COVERS(options, flags) ? options->flags : 0;
      constexpr uint32_t kKnown = KALAM_ITER_LOWER_BOUND |
                                  KALAM_ITER_UPPER_BOUND | KALAM_ITER_PREFIX |
                                  KALAM_ITER_REVERSE;
      if ((flags & ~kKnown) != 0) {
        return fail(status, KALAM_INVALID_ARGUMENT, 0,
                    "memory: iter_create: unknown flag bits 0x%x",
                    static_cast<unsigned>(flags));
      }
      if (KALAM_PLUGIN_COVERS(options, snapshot)) snapshot = options->snapshot;
      if (snapshot != nullptr && snapshot->db != db) {
        return fail(status, KALAM_INVALID_ARGUMENT, 0,
                    "memory: iter_create: the snapshot belongs to another "
                    "database");
      }
      struct Bound {
        uint32_t flag;
        bool covered;
        const void* data;
        size_t len;
        const char* name;
      };
      Bound bounds[] = {
          {KALAM_ITER_LOWER_BOUND, KALAM_PLUGIN_COVERS(options, lower_len),
           nullptr, 0, "lower"},
          {KALAM_ITER_UPPER_BOUND, KALAM_PLUGIN_COVERS(options, upper_len),
           nullptr, 0, "upper"},
          {KALAM_ITER_PREFIX, KALAM_PLUGIN_COVERS(options, prefix_len), nullptr,
           0, "prefix"},
      };
      // Fields the struct does not cover are never read (convention 7).
      if (bounds[0].covered) {
        bounds[0].data = options->lower;
        bounds[0].len = options->lower_len;
      }
      if (bounds[1].covered) {
        bounds[1].data = options->upper;
        bounds[1].len = options->upper_len;
      }
      if (bounds[2].covered) {
        bounds[2].data = options->prefix;
        bounds[2].len = options->prefix_len;
      }
      for (const Bound& bound : bounds) {
        if ((flags & bound.flag) == 0) continue;
        if (!bound.covered) {
          return fail(status, KALAM_INVALID_ARGUMENT, 0,
                      "memory: iter_create: options->struct_size %u is too "
                      "small to hold the %s bound its flag announces",
                      static_cast<unsigned>(options->struct_size), bound.name);
        }
        if (kalam_plugin::null_with_length(bound.data, bound.len)) {
          return fail(status, KALAM_INVALID_ARGUMENT, 0,
                      "memory: iter_create: the %s bound is NULL with length "
                      "%zu",
                      bound.name, bound.len);
        }
      }
      if ((flags & KALAM_ITER_LOWER_BOUND) != 0) {
        iter->has_lower = true;
        iter->lower.assign(as_view(bounds[0].data, bounds[0].len));
      }
      if ((flags & KALAM_ITER_UPPER_BOUND) != 0) {
        iter->has_upper = true;
        iter->upper.assign(as_view(bounds[1].data, bounds[1].len));
      }
      if ((flags & KALAM_ITER_PREFIX) != 0) {
        // The host narrows the bounds itself; doing it here as well keeps
        // the plugin right for a host that does not.
        const std::string_view prefix = as_view(bounds[2].data, bounds[2].len);
        if (!iter->has_lower || std::string_view(iter->lower) < prefix) {
          iter->has_lower = true;
          iter->lower.assign(prefix);
        }
        auto end = kalam_plugin::prefix_successor(prefix);
        if (end && (!iter->has_upper || *end < iter->upper)) {
          iter->has_upper = true;
          iter->upper = std::move(*end);
        }
      }
    }
    std::shared_lock lock(db->mu);
    int rc = check_family(db, cf, "iter_create", status);
    if (rc != KALAM_OK) return rc;
    iter->db = db;
    iter->family = family_of(db, cf);
    // Without a snapshot: an implicit one, the data as of now.
    iter->seq = snapshot != nullptr ? snapshot->seq : db->last_seq;
    std::lock_guard readers_lock(db->readers_mu);
    iter->registration = db->readers.insert(iter->seq);
    ++db->live_iterators;
    *out_iter = iter.release();
    return KALAM_OK;
  });
}

void mem_iter_destroy(kalam_iter* iter) noexcept {
  if (iter == nullptr) return;
  kalam_db* db = iter->db;
  try {
    std::lock_guard readers_lock(db->readers_mu);
    db->readers.erase(iter->registration);
    --db->live_iterators;
  } catch (...) {
    // See mem_snapshot_release().
  }
  delete iter;  // Outside the lock: may free a dropped family's data.
}

int mem_iter_seek_first(kalam_iter* iter, kalam_status* status) noexcept {
  return move(
      iter, status, "iter_seek_first", [&](const Table& table, Position* out) {
        return forward(
            *iter,
            iter->has_lower ? table.lower_bound(iter->lower) : table.begin(),
            out);
      });
}

int mem_iter_seek_last(kalam_iter* iter, kalam_status* status) noexcept {
  return move(
      iter, status, "iter_seek_last", [&](const Table& table, Position* out) {
        return backward(
            *iter,
            iter->has_upper ? table.lower_bound(iter->upper) : table.end(),
            out);
      });
}

int mem_iter_seek(kalam_iter* iter, const void* target, size_t target_len,
                  kalam_status* status) noexcept {
  if (kalam_plugin::null_with_length(target, target_len)) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "memory: iter_seek: the target is NULL with length %zu",
                target_len);
  }
  return move(iter, status, "iter_seek",
              [&](const Table& table, Position* out) {
                std::string_view from = as_view(target, target_len);
                if (iter->has_lower && from < std::string_view(iter->lower)) {
                  from = iter->lower;
                }
                return forward(*iter, table.lower_bound(from), out);
              });
}

int mem_iter_seek_for_prev(kalam_iter* iter, const void* target,
                           size_t target_len, kalam_status* status) noexcept {
  if (kalam_plugin::null_with_length(target, target_len)) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "memory: iter_seek_for_prev: the target is NULL with length "
                "%zu",
                target_len);
  }
  return move(iter, status, "iter_seek_for_prev",
              [&](const Table& table, Position* out) {
                const std::string_view to = as_view(target, target_len);
                // The first node past the target, or past the upper bound.
                auto past =
                    iter->has_upper && to >= std::string_view(iter->upper)
                        ? table.lower_bound(iter->upper)
                        : table.upper_bound(to);
                return backward(*iter, past, out);
              });
}

int mem_iter_next(kalam_iter* iter, kalam_status* status) noexcept {
  if (iter != nullptr && iter->error == KALAM_OK && !iter->valid) {
    return KALAM_NOT_FOUND;
  }
  return move(iter, status, "iter_next", [&](const Table&, Position* out) {
    return forward(*iter, std::next(iter->at.node), out);
  });
}

int mem_iter_prev(kalam_iter* iter, kalam_status* status) noexcept {
  if (iter != nullptr && iter->error == KALAM_OK && !iter->valid) {
    return KALAM_NOT_FOUND;
  }
  return move(iter, status, "iter_prev", [&](const Table&, Position* out) {
    return backward(*iter, iter->at.node, out);
  });
}

int mem_iter_valid(const kalam_iter* iter) noexcept {
  return iter != nullptr && iter->valid ? 1 : 0;
}

int mem_iter_entry(const kalam_iter* iter, const void** key, size_t* key_len,
                   const void** value, size_t* value_len) noexcept {
  if (iter == nullptr || key == nullptr || key_len == nullptr) {
    return KALAM_INVALID_ARGUMENT;
  }
  if (!iter->valid) return KALAM_NOT_FOUND;
  *key = iter->at.key;
  *key_len = iter->at.key_len;
  if (value != nullptr) *value = iter->at.value;
  if (value_len != nullptr) *value_len = iter->at.value_len;
  return KALAM_OK;
}

int mem_iter_status(const kalam_iter* iter, kalam_status* status) noexcept {
  if (iter == nullptr) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "memory: iter_status: iter must not be NULL");
  }
  if (iter->error != KALAM_OK) return report_sticky(iter, status);
  return KALAM_OK;
}

int mem_iter_next_batch(kalam_iter* iter, uint32_t flags, size_t max_entries,
                        kalam_entry_visitor visit, void* ctx, size_t* consumed,
                        kalam_status* status) noexcept {
  size_t done = 0;
  auto finish = [&](int rc) {
    if (consumed != nullptr) *consumed = done;
    return rc;
  };
  if (iter == nullptr || visit == nullptr) {
    return finish(fail(status, KALAM_INVALID_ARGUMENT, 0,
                       "memory: iter_next_batch: iter and visit must not be "
                       "NULL"));
  }
  if ((flags & ~KALAM_BATCH_REVERSE) != 0) {
    return finish(fail(status, KALAM_INVALID_ARGUMENT, 0,
                       "memory: iter_next_batch: unknown flag bits 0x%x",
                       static_cast<unsigned>(flags)));
  }
  if (iter->error != KALAM_OK) return finish(report_sticky(iter, status));
  const bool reverse = (flags & KALAM_BATCH_REVERSE) != 0;
  try {
    // Gather up to kBatchChunk entries (plus the one to land on) under the
    // lock, then visit them without it: every gathered entry is pinned by
    // the iterator's registered sequence.
    Position chunk[kBatchChunk + 1];
    while (done < max_entries && iter->valid) {
      const size_t want = std::min(kBatchChunk, max_entries - done);
      chunk[0] = iter->at;
      size_t have = 1;
      bool ran_out = false;
      {
        std::shared_lock lock(iter->db->mu);
        while (have <= want) {
          const Position& last = chunk[have - 1];
          const bool found =
              reverse ? backward(*iter, last.node, &chunk[have])
                      : forward(*iter, std::next(last.node), &chunk[have]);
          if (!found) {
            ran_out = true;
            break;
          }
          ++have;
        }
      }
      const size_t to_visit = ran_out ? have : want;
      for (size_t i = 0; i < to_visit; ++i) {
        const Position& entry = chunk[i];
        if (visit(ctx, entry.key, entry.key_len, entry.value,
                  entry.value_len) != 0) {
          iter->at = entry;  // Refused: stays current, not consumed.
          done += i;
          return finish(KALAM_OK);
        }
      }
      done += to_visit;
      if (ran_out) {
        iter->valid = false;
      } else {
        iter->at = chunk[want];
      }
    }
    return finish(iter->valid ? KALAM_OK : KALAM_NOT_FOUND);
  } catch (const std::bad_alloc&) {
    return finish(set_sticky(iter, status, KALAM_NO_MEMORY,
                             "memory: iter_next_batch: out of memory"));
  } catch (const std::exception& e) {
    return finish(set_sticky(iter, status, KALAM_INTERNAL,
                             "memory: iter_next_batch: unexpected error: %s",
                             e.what()));
  } catch (...) {
    return finish(set_sticky(iter, status, KALAM_INTERNAL,
                             "memory: iter_next_batch: unexpected "
                             "non-standard exception"));
  }
}

// The array batch: every entry the iterator passes stays pinned by its
// registered sequence (see "Pinning" above), so out[] gets views of the map
// nodes and version buffers, never a copy. Fills at most kReadBatchMax
// entries per call, so that one call holds the shared lock for a bounded
// time (the ABI allows short fills).
int mem_iter_read_batch(kalam_iter* iter, uint32_t flags, size_t max_entries,
                        kalam_entry* out, size_t* filled,
                        kalam_status* status) noexcept {
  constexpr size_t kReadBatchMax = 4 * kBatchChunk;
  if (filled != nullptr) *filled = 0;
  if (iter == nullptr || filled == nullptr ||
      (out == nullptr && max_entries > 0)) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "memory: iter_read_batch: iter and filled must not be NULL, "
                "nor out when max_entries is above 0");
  }
  if ((flags & ~KALAM_BATCH_REVERSE) != 0) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "memory: iter_read_batch: unknown flag bits 0x%x",
                static_cast<unsigned>(flags));
  }
  if (iter->error != KALAM_OK) return report_sticky(iter, status);
  if (!iter->valid) return KALAM_NOT_FOUND;
  const bool reverse = (flags & KALAM_BATCH_REVERSE) != 0;
  const size_t want = std::min(max_entries, kReadBatchMax);
  size_t n = 0;
  {
    std::shared_lock lock(iter->db->mu);
    while (n < want) {
      const Position at = iter->at;
      out[n] = kalam_entry{at.key, at.key_len, at.value, at.value_len};
      ++n;
      const bool found = reverse
                             ? backward(*iter, at.node, &iter->at)
                             : forward(*iter, std::next(at.node), &iter->at);
      if (!found) {
        iter->valid = false;
        break;
      }
    }
  }
  *filled = n;
  return iter->valid ? KALAM_OK : KALAM_NOT_FOUND;
}

// ---- Properties -------------------------------------------------------------

int mem_get_property(kalam_db* db, kalam_cf* cf, const char* name,
                     kalam_value_visitor visit, void* ctx,
                     kalam_status* status) noexcept {
  return guarded(status, "get_property", [&]() -> int {
    if (db == nullptr || name == nullptr || visit == nullptr) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "memory: get_property: db, name and visit must not be "
                  "NULL");
    }
    const std::string_view wanted(name);
    std::string text;
    {
      std::shared_lock lock(db->mu);
      int rc = check_family(db, cf, "get_property", status);
      if (rc != KALAM_OK) return rc;
      const Family& family = *family_of(db, cf);
      if (wanted == KALAM_PROPERTY_ESTIMATE_NUM_KEYS) {
        text = std::to_string(family.totals.live_keys);
      } else if (wanted == KALAM_PROPERTY_APPROXIMATE_BYTES) {
        text = std::to_string(family.totals.live_bytes);
      } else if (wanted == KALAM_PROPERTY_STATS) {
        size_t snapshots = 0;
        size_t iterators = 0;
        {
          std::lock_guard readers_lock(db->readers_mu);
          snapshots = db->live_snapshots;
          iterators = db->live_iterators;
        }
        char buf[512];
        std::snprintf(
            buf, sizeof buf,
            "memory %s: column family '%.200s': keys=%llu bytes=%llu "
            "versions=%llu keys_with_old_versions=%llu; database: "
            "sequence=%llu column_families=%zu snapshots=%zu iterators=%zu",
            kPluginVersion, family.name.c_str(),
            static_cast<unsigned long long>(family.totals.live_keys),
            static_cast<unsigned long long>(family.totals.live_bytes),
            static_cast<unsigned long long>(family.totals.versions),
            static_cast<unsigned long long>(family.totals.garbage_keys),
            static_cast<unsigned long long>(db->last_seq),
            db->families.size() + 1, snapshots, iterators);
        text = buf;
      } else {
        return KALAM_NOT_FOUND;
      }
    }
    visit(ctx, text.data(), text.size());
    return KALAM_OK;
  });
}

// ---- The function table -----------------------------------------------------

constexpr kalam_backend_vtable kVtable = {
    .struct_size = sizeof(kalam_backend_vtable),
    .reserved0 = 0,
    .open = mem_open,
    .close = mem_close,
    .flush = mem_flush,
    .cf_open = mem_cf_open,
    .cf_drop = mem_cf_drop,
    .cf_list = mem_cf_list,
    .get = mem_get,
    .get_into = mem_get_into,
    .multi_get = mem_multi_get,
    .write = mem_write,
    .snapshot_create = mem_snapshot_create,
    .snapshot_release = mem_snapshot_release,
    .iter_create = mem_iter_create,
    .iter_destroy = mem_iter_destroy,
    .iter_seek_first = mem_iter_seek_first,
    .iter_seek_last = mem_iter_seek_last,
    .iter_seek = mem_iter_seek,
    .iter_seek_for_prev = mem_iter_seek_for_prev,
    .iter_next = mem_iter_next,
    .iter_prev = mem_iter_prev,
    .iter_valid = mem_iter_valid,
    .iter_entry = mem_iter_entry,
    .iter_status = mem_iter_status,
    .iter_next_batch = mem_iter_next_batch,
    .compact_range = nullptr,  // No KALAM_CAP_COMPACT_RANGE.
    .get_property = mem_get_property,
    .checkpoint = nullptr,  // No KALAM_CAP_CHECKPOINT.
    .iter_read_batch = mem_iter_read_batch,
    .write_conditional = mem_write_conditional,
    .read_modify_write = mem_read_modify_write,
    .get_limits = nullptr,  // No limits beyond memory.
};

}  // namespace

// ---- The entry point --------------------------------------------------------

KALAM_PLUGIN_EXPORT int kalam_plugin_entry(const kalam_host* host,
                                           kalam_plugin_info* info,
                                           kalam_status* status) noexcept {
  return guarded(status, "kalam_plugin_entry", [&] {
    const kalam_plugin::PluginValues values = {
        .name = kPluginName,
        .version = kPluginVersion,
        .format_version = kFormatVersion,
        .abi_minor = KALAM_ABI_VERSION_MINOR,
        .capabilities = kCapabilities,
        .max_key_size = 0,  // no limit beyond memory
        .max_value_size = 0,
        .vtable = &kVtable,
    };
    return kalam_plugin::plugin_entry(host, info, status, values, nullptr);
  });
}
