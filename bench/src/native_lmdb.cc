// The native LMDB baseline: the LMDB C API with the settings the plugin
// uses (plugins/lmdb/lmdb_options.h defaults, lmdb_db.cc open):
//
//   mdb_env_set_mapsize    1 GiB (or --num's need, passed to both modes)
//   mdb_env_set_maxdbs     128
//   mdb_env_set_maxreaders 512
//   env flags              MDB_NOTLS, plus MDB_NOSYNC in the default
//                          (unsynchronised) variant = the plugin's
//                          sync_mode: nosync; the sync variant uses LMDB's
//                          default (every commit fsyncs) = sync_mode: full
//   database               the named database "default" (MDB_CREATE), as
//                          the plugin stores the default column family
//   point reads            one read transaction reused with
//                          mdb_txn_renew / mdb_txn_reset around every get
//                          (the plugin keeps its transaction live between
//                          reads until a commit: bench/README.md, Settings)
//   cursors                a read transaction of their own + a cursor
//   writes                 one write transaction per write call
//   flush and close        mdb_env_sync(env, 1)
#include <lmdb.h>

#include <memory>

#include "modes.h"
#include "plugin_store.h"
#include "runner.h"

namespace kalam_bench {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kDefaultMapSize = uint64_t{1} << 30;

void check(int rc, const char* what) {
  if (rc != MDB_SUCCESS) {
    die(std::string("lmdb ") + what + ": " + mdb_strerror(rc));
  }
}

MDB_val val(std::string_view s) {
  return {s.size(), const_cast<char*>(s.data())};
}

class NativeLmdb {
 public:
  static std::unique_ptr<NativeLmdb> open(const StoreOptions& options,
                                          const fs::path& dir) {
    auto store = std::unique_ptr<NativeLmdb>(new NativeLmdb());
    std::error_code ec;
    fs::create_directories(dir, ec);
    check(mdb_env_create(&store->env_), "env_create");
    check(mdb_env_set_mapsize(store->env_, options.lmdb_map_size
                                               ? options.lmdb_map_size
                                               : kDefaultMapSize),
          "set_mapsize");
    check(mdb_env_set_maxdbs(store->env_, 128), "set_maxdbs");
    check(mdb_env_set_maxreaders(store->env_, 512), "set_maxreaders");
    unsigned flags = MDB_NOTLS;
    if (!options.sync) flags |= MDB_NOSYNC;
    check(mdb_env_open(store->env_, dir.c_str(), flags, 0644), "env_open");
    MDB_txn* txn = nullptr;
    check(mdb_txn_begin(store->env_, nullptr, 0, &txn), "txn_begin");
    check(mdb_dbi_open(txn, "default", MDB_CREATE, &store->dbi_), "dbi_open");
    check(mdb_txn_commit(txn), "commit");
    return store;
  }

  bool persistent() const { return true; }

  void put(std::string_view key, std::string_view value, bool) {
    MDB_txn* txn = nullptr;
    check(mdb_txn_begin(env_, nullptr, 0, &txn), "txn_begin");
    MDB_val k = val(key), v = val(value);
    check(mdb_put(txn, dbi_, &k, &v, 0), "put");
    check(mdb_txn_commit(txn), "commit");
  }
  void del(std::string_view key, bool) {
    MDB_txn* txn = nullptr;
    check(mdb_txn_begin(env_, nullptr, 0, &txn), "txn_begin");
    MDB_val k = val(key);
    const int rc = mdb_del(txn, dbi_, &k, nullptr);
    if (rc != MDB_NOTFOUND) check(rc, "del");
    check(mdb_txn_commit(txn), "commit");
  }
  void write_batch(const std::string_view* keys, const std::string_view* values,
                   size_t n, bool) {
    MDB_txn* txn = nullptr;
    check(mdb_txn_begin(env_, nullptr, 0, &txn), "txn_begin");
    for (size_t i = 0; i < n; ++i) {
      MDB_val k = val(keys[i]), v = val(values[i]);
      check(mdb_put(txn, dbi_, &k, &v, 0), "put");
    }
    check(mdb_txn_commit(txn), "commit");
  }
  // YCSB F: the read and the write in one write transaction, as an LMDB
  // application would do it.
  bool read_modify_write(std::string_view key, std::string_view value,
                         Sink& sink) {
    MDB_txn* txn = nullptr;
    check(mdb_txn_begin(env_, nullptr, 0, &txn), "txn_begin");
    MDB_val k = val(key), current;
    const int rc = mdb_get(txn, dbi_, &k, &current);
    if (rc == MDB_SUCCESS) {
      sink.value({static_cast<const char*>(current.mv_data), current.mv_size});
    } else if (rc != MDB_NOTFOUND) {
      check(rc, "get");
    }
    MDB_val v = val(value);
    check(mdb_put(txn, dbi_, &k, &v, 0), "put");
    check(mdb_txn_commit(txn), "commit");
    return rc == MDB_SUCCESS;
  }
  bool get(std::string_view key, Sink& sink) {
    if (read_txn_ == nullptr) {
      check(mdb_txn_begin(env_, nullptr, MDB_RDONLY, &read_txn_), "txn_begin");
    } else {
      check(mdb_txn_renew(read_txn_), "txn_renew");
    }
    MDB_val k = val(key), v;
    const int rc = mdb_get(read_txn_, dbi_, &k, &v);
    if (rc == MDB_SUCCESS) {
      sink.value({static_cast<const char*>(v.mv_data), v.mv_size});
    }
    mdb_txn_reset(read_txn_);
    if (rc == MDB_NOTFOUND) return false;
    check(rc, "get");
    return true;
  }

  class Cursor {
   public:
    Cursor(MDB_env* env, MDB_dbi dbi) {
      check(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn_), "txn_begin");
      check(mdb_cursor_open(txn_, dbi, &cursor_), "cursor_open");
    }
    Cursor(Cursor&& other) noexcept
        : txn_(std::exchange(other.txn_, nullptr)),
          cursor_(std::exchange(other.cursor_, nullptr)),
          valid_(other.valid_),
          key_(other.key_),
          value_(other.value_) {}
    Cursor& operator=(Cursor&&) = delete;
    ~Cursor() {
      if (cursor_ != nullptr) mdb_cursor_close(cursor_);
      if (txn_ != nullptr) mdb_txn_abort(txn_);
    }
    void seek_first() {
      position(mdb_cursor_get(cursor_, &key_, &value_, MDB_FIRST));
    }
    void seek(std::string_view target) {
      key_ = val(target);
      position(mdb_cursor_get(cursor_, &key_, &value_, MDB_SET_RANGE));
    }
    size_t read(size_t n, Sink& sink) {
      size_t count = 0;
      while (count < n && valid_) {
        sink.entry({static_cast<const char*>(key_.mv_data), key_.mv_size},
                   {static_cast<const char*>(value_.mv_data), value_.mv_size});
        position(mdb_cursor_get(cursor_, &key_, &value_, MDB_NEXT));
        ++count;
      }
      return count;
    }

   private:
    void position(int rc) {
      valid_ = rc == MDB_SUCCESS;
      if (rc != MDB_NOTFOUND) check(rc, "cursor_get");
    }
    MDB_txn* txn_ = nullptr;
    MDB_cursor* cursor_ = nullptr;
    bool valid_ = false;
    MDB_val key_{0, nullptr}, value_{0, nullptr};
  };
  Cursor cursor() { return Cursor(env_, dbi_); }

  void flush() { check(mdb_env_sync(env_, 1), "env_sync"); }
  void close() {
    if (read_txn_ != nullptr) mdb_txn_abort(read_txn_);
    read_txn_ = nullptr;
    check(mdb_env_sync(env_, 1), "env_sync");
    mdb_env_close(env_);
    env_ = nullptr;
  }

 private:
  MDB_env* env_ = nullptr;
  MDB_dbi dbi_ = 0;
  MDB_txn* read_txn_ = nullptr;  // reset between reads
};

struct EnvFacts {
  unsigned psize = 0;
  size_t mapsize = 0;
  unsigned dbi_flags = 0;
};

// Opens `dir` read-only and reads what LMDB keeps about it.
EnvFacts env_facts(const fs::path& dir) {
  EnvFacts f;
  MDB_env* env = nullptr;
  check(mdb_env_create(&env), "env_create");
  check(mdb_env_set_maxdbs(env, 128), "set_maxdbs");
  check(mdb_env_open(env, dir.c_str(), MDB_RDONLY | MDB_NOTLS, 0644),
        "env_open (check)");
  MDB_stat st;
  check(mdb_env_stat(env, &st), "env_stat");
  f.psize = st.ms_psize;
  MDB_envinfo info;
  check(mdb_env_info(env, &info), "env_info");
  f.mapsize = info.me_mapsize;
  MDB_txn* txn = nullptr;
  check(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn), "txn_begin");
  MDB_dbi dbi;
  check(mdb_dbi_open(txn, "default", 0, &dbi), "dbi_open \"default\"");
  check(mdb_dbi_flags(txn, dbi, &f.dbi_flags), "dbi_flags");
  mdb_txn_abort(txn);
  mdb_env_close(env);
  return f;
}

}  // namespace

RunResult run_native_lmdb(const Config& config, const Job& job,
                          const StoreOptions& options, const fs::path& dir) {
  return run_job<NativeLmdb>(config, job, options, dir);
}

SettingsCheck check_lmdb_settings(const StoreOptions& options,
                                  const fs::path& dir) {
  NativeLmdb::open(options, dir / "native")->close();
  PluginStore::open(options, dir / "plugin")->close();
  const EnvFacts n = env_facts(dir / "native");
  const EnvFacts p = env_facts(dir / "plugin" / "store");
  SettingsCheck result;
  auto same = [&](const char* what, uint64_t a, uint64_t b) {
    if (a == b) return;
    result.ok = false;
    result.details += std::string(what) + ": native " + std::to_string(a) +
                      ", plugin " + std::to_string(b) + "; ";
  };
  same("page size", n.psize, p.psize);
  same("map size", n.mapsize, p.mapsize);
  same("flags of database \"default\"", n.dbi_flags, p.dbi_flags);
  if (result.ok) {
    result.details = "page size " + std::to_string(n.psize) + ", map size " +
                     std::to_string(n.mapsize) +
                     " and the flags of database \"default\" identical (env "
                     "flags are not stored on disk: see README)";
  }
  return result;
}

std::string lmdb_version() {
  int major = 0, minor = 0, patch = 0;
  const char* text = mdb_version(&major, &minor, &patch);
  return std::string(text) + " (header " MDB_VERSION_STRING ")";
}

std::string lmdb_settings(bool sync) {
  return std::string("mapsize 1 GiB, maxdbs 128, maxreaders 512, MDB_NOTLS") +
         (sync ? "" : " | MDB_NOSYNC") +
         ", named database \"default\", reads in one renewed/reset read "
         "transaction";
}

}  // namespace kalam_bench
