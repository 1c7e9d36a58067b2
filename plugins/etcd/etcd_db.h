// An open Kalam database stored under one key prefix (the namespace) of an
// etcd cluster. The ABI's kalam_db / kalam_cf / kalam_snapshot handles point
// at Database / Family / Snapshot objects.
//
// Keys under the namespace P (README.md, "Layout"):
//   P "m"                     the database marker, value kFormatMarker
//   P "n"                     the next column family id (decimal)
//   P "c" <name>              a column family: its id, 4 bytes big-endian
//   P "d" <id:4 BE> <key>     a stored key of family <id> (0: "default")
#pragma once

#include <kalam/backend_api.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "etcd_client.h"
#include "etcd_options.h"
#include "etcd_status.h"

namespace kalam::etcd_plugin {

// Keys up to 4 KiB and values up to 1 MiB: one write of one such pair fits
// etcd's default request limit (1.5 MiB) with room for the namespace.
inline constexpr uint64_t kMaxKeySize = 4096;
inline constexpr uint64_t kMaxValueSize = 1 << 20;
inline constexpr uint32_t kFormatVersion = 1;
// The value of P "m".
inline constexpr const char* kFormatMarker = "kalam-etcd 1";
// The file in the data directory that records a generated namespace.
inline constexpr const char* kNamespaceFileName = "kalam_etcd.namespace";
// Compares a write_conditional() reserves for column family guards (one per
// family the write touches): max_expectations = max_txn_ops - this.
inline constexpr uint64_t kGuardReserve = 16;

class Database;

// A column family. Owned by its Database until close(), even after drop.
struct Family {
  Database* db = nullptr;
  uint32_t id = 0;
  std::string name;
  // The create revision of its catalog key (0 for "default"): every write
  // to the family compares it, so a family dropped (and maybe re-created)
  // by another process is KALAM_DROPPED, not a write into the new one.
  int64_t catalog_revision = 0;
  std::string prefix;  // P "d" <id>
  std::string end;     // the first key after every key of the family
  std::atomic<bool> dropped{false};
};

// A kalam_snapshot: an etcd revision.
struct Snapshot {
  Database* db = nullptr;
  int64_t revision = 0;
};

class Database {
 public:
  static int open(const kalam_open_params& params,
                  std::unique_ptr<Database>* out, Error& err);
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  int close(Error& err);
  int cf_open(const char* name, uint32_t flags, kalam_cf** out, Error& err);
  int cf_drop(kalam_cf* cf, Error& err);
  int cf_list(kalam_name_visitor visit, void* ctx, Error& err);
  int get(const kalam_read_options* options, kalam_cf* cf, const void* key,
          size_t key_len, kalam_value_visitor visit, void* ctx, Error& err);
  int get_into(const kalam_read_options* options, kalam_cf* cf, const void* key,
               size_t key_len, void* buf, size_t buf_size, size_t* value_len,
               Error& err);
  int multi_get(const kalam_read_options* options, size_t count,
                kalam_cf* const* cfs, const void* const* keys,
                const size_t* key_lens, kalam_multi_get_visitor visit,
                void* ctx, Error& err);
  int write(const kalam_write_options* options,
            const kalam_expectation* expects, size_t expect_count,
            const kalam_write_op* ops, size_t op_count, Error& err);
  int snapshot_create(kalam_snapshot** out, Error& err);
  void snapshot_release(kalam_snapshot* snapshot) noexcept;
  int iter_create(const kalam_iter_options* options, kalam_cf* cf,
                  kalam_iter** out, Error& err);
  int get_limits(kalam_limits* out, Error& err);

  // For Iterator.
  Client& client() { return *client_; }
  void iterator_destroyed() noexcept { live_iterators_.fetch_sub(1); }
  // The current revision (one linearizable, or serializable, read).
  int current_revision(int64_t* out, Error& err);

 private:
  Database() = default;

  int resolve(kalam_cf* handle, Family** out, Error& err);
  int snapshot_revision(const kalam_read_options* options, int64_t* out,
                        Error& err);
  int check_key(const void* key, size_t len, const char* what,
                Error& err) const;
  // Adds a handle (families_mutex_ held, or during open()).
  Family* add_family(uint32_t id, const std::string& name,
                     int64_t catalog_revision);
  // The handle of a family read from the catalog: the one already open, or
  // a new one. Takes families_mutex_.
  Family* remember_family(uint32_t id, const std::string& name,
                          int64_t catalog_revision);
  int find_family(const std::string& name, bool create, Family** out,
                  Error& err);
  // Reads the point keys `keys` (etcd keys) at `revision` (0: now, then set
  // to the revision read) in as few calls as the txn limit allows.
  int read_points(const std::vector<std::string>& keys, int64_t* revision,
                  std::vector<const mvccpb::KeyValue*>* found,
                  std::vector<pb::TxnResponse>* holders, Error& err);
  std::string data_key(const Family& family, const void* key, size_t len) const;
  std::string catalog_key(const std::string& name) const {
    return ns_ + "c" + name;
  }

  std::string ns_;
  Options options_;
  std::unique_ptr<Client> client_;

  std::mutex families_mutex_;
  std::unordered_map<std::string, Family*> families_by_name_;
  std::vector<std::unique_ptr<Family>> families_;  // every handle, dropped too
  Family* default_family_ = nullptr;

  std::atomic<int64_t> live_iterators_{0};
  std::atomic<int64_t> live_snapshots_{0};
};

inline Database* to_database(kalam_db* db) {
  return reinterpret_cast<Database*>(db);
}
inline kalam_db* to_handle(Database* db) {
  return reinterpret_cast<kalam_db*>(db);
}

// The 4-byte big-endian id of family `id`.
std::string encode_id(uint32_t id);

}  // namespace kalam::etcd_plugin
