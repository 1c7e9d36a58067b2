/*
 * kalam/backend_api.h - the C ABI between the Kalam engine and a storage
 * plugin.
 *
 * This header is the whole contract. A plugin is a shared library, written in
 * C or C++, that includes only this file and exports exactly one symbol:
 * kalam_plugin_entry (see the end of this file). The engine loads it at
 * start-up because the YAML config names it.
 *
 * Conventions (read these first; every declaration below follows them)
 * --------------------------------------------------------------------
 * 1. C99, <stddef.h> and <stdint.h> only. Handles are opaque pointers
 *    (kalam_db, kalam_cf, kalam_iter, kalam_snapshot) that the plugin allocates
 *    and frees; the host never looks inside them.
 * 2. Byte strings are pointer + length. Keys and values are arbitrary bytes
 *    (0x00 and 0xFF included) ordered byte-wise, like memcmp with the shorter
 *    string first on a tie. A pointer with length 0 may be NULL.
 *    A stored key is 1 to max_key_size bytes: every plugin refuses an empty
 *    key in a write with KALAM_INVALID_ARGUMENT (some stores cannot hold
 *    one), and a get of the empty key is KALAM_NOT_FOUND. Bounds and seek
 *    targets may be empty.
 *    Names and paths are NUL-terminated UTF-8.
 * 3. Every fallible function returns an int code (KALAM_OK, ...). The
 *    numbers are stable forever. KALAM_NOT_FOUND is a result, not an error.
 * 4. Every function takes an optional, caller-owned `kalam_status *status`
 *    as its last argument. When it is non-NULL and the call fails, the plugin
 *    fills it (code, native code, message). Nothing is ever freed across the
 *    boundary: the host never frees plugin memory, the plugin never frees
 *    host memory.
 * 5. Inputs (keys, values, bounds, option strings, op arrays, option structs)
 *    are borrowed for the duration of the call only. A plugin that needs one
 *    later copies it.
 * 6. Out-parameters are written only on success (KALAM_OK). On any other
 *    code they are left untouched, never half-built. The one documented
 *    exception is `value_len` of get_into() on KALAM_BUFFER_TOO_SMALL.
 * 7. Every struct that crosses the boundary starts with `uint32_t struct_size`
 *    set by whoever allocates it to sizeof() as it was compiled. A reader uses
 *    a field only if struct_size covers it; a function pointer also only if it
 *    is non-NULL. Structs only ever grow at the end; each ABI minor version
 *    marks its group of fields with a comment.
 * 8. No exception, longjmp or signal crosses the boundary. A C++ plugin wraps
 *    every entry point in a catch-all and maps std::bad_alloc to
 *    KALAM_NO_MEMORY and anything else to KALAM_INTERNAL. A plugin does no
 *    fallible work in static initialisers.
 * 9. Threads: open() and close() are never concurrent with any other call on
 *    that database. With KALAM_CAP_THREAD_SAFE, every other database-level
 *    call (reads, writes, iterator and snapshot creation, flush, ...) may run
 *    concurrently from many threads; without it, the host serialises all calls
 *    on one database. An iterator is used by one thread at a time. A
 *    snapshot may be read at from several threads at once (the plugin
 *    serialises internally where its store needs it). Callbacks into the
 *    host (log, visitors) may arrive on any thread.
 * 10. Visitors: reads hand data to a host callback (a "visitor") together with
 *    a host `ctx` pointer. The bytes a visitor sees are valid only inside
 *    that callback; the host copies what it keeps. A visitor never calls
 *    back into the plugin for the same database. This zero-copy path is the
 *    fast one; get_into() is the copy path.
 *
 * 11. Flag words: a plugin refuses bits it does not know with
 *    KALAM_INVALID_ARGUMENT. A later minor that adds a flag says so, and a
 *    host sets it only for plugins whose abi_minor is high enough.
 * 12. Every pointer argument is required (non-NULL) unless its comment says
 *    it may be NULL; a NULL required pointer is KALAM_INVALID_ARGUMENT.
 *
 * Versioning: the host speaks one ABI major and understands minors up to some
 * maximum. A plugin built for another major, or for a minor above the host's,
 * is refused at load with a message that names the plugin file. A minor adds
 * optional function-table slots at the end (convention 7): a plugin built
 * for an older minor has a shorter table, and the host treats the slots it
 * does not cover as NULL. 1.1 added iter_read_batch().
 */
#ifndef KALAM_BACKEND_API_H
#define KALAM_BACKEND_API_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================== */
/* Version                                                                  */
/* ======================================================================== */

/** The ABI major this header describes. A different major is incompatible. */
#define KALAM_ABI_VERSION_MAJOR 1
/** The highest ABI minor this header describes. Minors only add.
 *  1.0: the first ABI. 1.1: iter_read_batch() (an optional vtable slot). */
#define KALAM_ABI_VERSION_MINOR 1

/** The one symbol every plugin exports (see kalam_plugin_entry_fn). */
#define KALAM_PLUGIN_ENTRY_SYMBOL "kalam_plugin_entry"

/* ======================================================================== */
/* Result codes (stable numbers; never reused)                              */
/* ======================================================================== */

#define KALAM_OK 0
/** The key, column family, property or entry does not exist. A result. */
#define KALAM_NOT_FOUND 1
/** A malformed argument: unknown option, key over the maximum size, unknown
 *  write op type, NULL where a pointer is required. The message says which. */
#define KALAM_INVALID_ARGUMENT 2
/** The operating system or storage library reported an I/O failure. */
#define KALAM_IO_ERROR 3
/** Stored data failed a checksum or could not be decoded. */
#define KALAM_CORRUPTION 4
/** The plugin does not implement this call or this variant of it. */
#define KALAM_NOT_SUPPORTED 5
/** A lock or resource is held elsewhere (e.g. the path is already open);
 *  retrying later may succeed. */
#define KALAM_BUSY 6
/** The disk, the map or a configured quota is full. Nothing was applied. */
#define KALAM_NO_SPACE 7
/** An allocation failed. Nothing was applied. */
#define KALAM_NO_MEMORY 8
/** Plugin and host cannot agree on an ABI version or on type sizes. */
#define KALAM_ABI_MISMATCH 9
/** A bug or an unexpected state in the plugin (e.g. a caught exception). */
#define KALAM_INTERNAL 10
/** get_into(): the caller's buffer is smaller than the value. */
#define KALAM_BUFFER_TOO_SMALL 11
/** The column family was dropped; the handle stays safe to pass in. */
#define KALAM_DROPPED 12

/** A short, static, human-readable name for a result code (never NULL). */
static inline const char *kalam_code_name(int code) {
  switch (code) {
    case KALAM_OK:
      return "OK";
    case KALAM_NOT_FOUND:
      return "NOT_FOUND";
    case KALAM_INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case KALAM_IO_ERROR:
      return "IO_ERROR";
    case KALAM_CORRUPTION:
      return "CORRUPTION";
    case KALAM_NOT_SUPPORTED:
      return "NOT_SUPPORTED";
    case KALAM_BUSY:
      return "BUSY";
    case KALAM_NO_SPACE:
      return "NO_SPACE";
    case KALAM_NO_MEMORY:
      return "NO_MEMORY";
    case KALAM_ABI_MISMATCH:
      return "ABI_MISMATCH";
    case KALAM_INTERNAL:
      return "INTERNAL";
    case KALAM_BUFFER_TOO_SMALL:
      return "BUFFER_TOO_SMALL";
    case KALAM_DROPPED:
      return "DROPPED";
    default:
      return "UNKNOWN_CODE";
  }
}

/* ======================================================================== */
/* Status: optional, caller-owned error detail                              */
/* ======================================================================== */

/** Size of kalam_status.message, NUL terminator included. */
#define KALAM_STATUS_MESSAGE_SIZE 512

/**
 * Error detail for one call. Allocated by the caller (usually on its stack),
 * struct_size set to sizeof(kalam_status). The plugin writes it only when the
 * call returns a code other than KALAM_OK and KALAM_NOT_FOUND, and only the
 * fields struct_size covers. `message` is always NUL-terminated after a write,
 * truncated if needed, and should say what failed and what to do about it.
 */
typedef struct kalam_status {
  uint32_t struct_size;
  /** The code the call returned. */
  int32_t code;
  /** errno or the storage library's own code, 0 when there is none. */
  int64_t native_code;
  char message[KALAM_STATUS_MESSAGE_SIZE];
} kalam_status;

/* ======================================================================== */
/* Capabilities: what the plugin guarantees (tested by the conformance suite)*/
/* ======================================================================== */

/** Data survives close() and a later open() of the same path. */
#define KALAM_CAP_PERSISTENT (UINT64_C(1) << 0)
/** A write with KALAM_WRITE_SYNC has reached stable storage (fsync or
 *  equivalent) when write() returns: it survives power loss. */
#define KALAM_CAP_DURABLE_SYNC (UINT64_C(1) << 1)
/** A write() is all-or-nothing, across column families, for readers and
 *  across crashes. Without it, a failed or interrupted write may be partly
 *  applied. */
#define KALAM_CAP_ATOMIC_BATCH (UINT64_C(1) << 2)
/** snapshot_create() works, and reads/iterators at a snapshot see exactly
 *  the data as of its creation. */
#define KALAM_CAP_SNAPSHOTS (UINT64_C(1) << 3)
/** iter_seek_last(), iter_prev(), iter_seek_for_prev() and reverse batches. */
#define KALAM_CAP_REVERSE_ITERATION (UINT64_C(1) << 4)
/** KALAM_OP_DELETE_RANGE is accepted by write(). */
#define KALAM_CAP_DELETE_RANGE (UINT64_C(1) << 5)
/** Database-level calls may run concurrently (see convention 9). */
#define KALAM_CAP_THREAD_SAFE (UINT64_C(1) << 6)
/** Several processes may open the same path at once. */
#define KALAM_CAP_MULTI_PROCESS (UINT64_C(1) << 7)
/** compact_range() is implemented. */
#define KALAM_CAP_COMPACT_RANGE (UINT64_C(1) << 8)
/** get_property() is implemented. */
#define KALAM_CAP_PROPERTIES (UINT64_C(1) << 9)
/** checkpoint() is implemented. */
#define KALAM_CAP_CHECKPOINT (UINT64_C(1) << 10)
/** open() honours KALAM_OPEN_READ_ONLY. */
#define KALAM_CAP_READ_ONLY_OPEN (UINT64_C(1) << 11)

/* ======================================================================== */
/* Opaque handles (allocated and freed by the plugin)                      */
/* ======================================================================== */

/** An open database. Created by open(), freed by close(). */
typedef struct kalam_db kalam_db;
/** A column family of one database. Created by cf_open(); owned by the
 *  database and valid until close(), even after cf_drop(). NULL always means
 *  the default column family ("default"), which exists in every database and
 *  cannot be dropped. */
typedef struct kalam_cf kalam_cf;
/** An iterator. Created by iter_create(), freed by iter_destroy(). */
typedef struct kalam_iter kalam_iter;
/** A consistent read view. Created by snapshot_create(), freed by
 *  snapshot_release(). */
typedef struct kalam_snapshot kalam_snapshot;

/* ======================================================================== */
/* Host services (passed to kalam_plugin_entry)                             */
/* ======================================================================== */

#define KALAM_LOG_DEBUG 0
#define KALAM_LOG_INFO 1
#define KALAM_LOG_WARN 2
#define KALAM_LOG_ERROR 3

/** Log sink. Thread-safe; may be called from any thread, at any time while
 *  the library is loaded. `message` is borrowed for the call. */
typedef void (*kalam_log_fn)(void *log_ctx, int32_t level, const char *message);

/**
 * What the host tells the plugin at load time. Owned by the host; the pointer
 * is valid only during kalam_plugin_entry(), so a plugin copies the fields it
 * needs. `log` and `log_ctx` themselves stay valid for as long as the library
 * is loaded (the host never unloads a plugin).
 */
typedef struct kalam_host {
  uint32_t struct_size;
  /** The ABI major the host speaks (KALAM_ABI_VERSION_MAJOR of its header). */
  uint32_t abi_major;
  /** The highest ABI minor the host understands. */
  uint32_t abi_max_minor;
  uint32_t reserved0;
  /** Log sink; may be NULL, in which case the plugin logs nothing. */
  kalam_log_fn log;
  void *log_ctx;
} kalam_host;

/* ======================================================================== */
/* Options and visitors                                                    */
/* ======================================================================== */

/* kalam_open_params.flags */
/** Create the data directory and an empty database if there is none. */
#define KALAM_OPEN_CREATE_IF_MISSING (UINT32_C(1) << 0)
/** Open without write access (needs KALAM_CAP_READ_ONLY_OPEN); writes then
 *  fail with KALAM_NOT_SUPPORTED. */
#define KALAM_OPEN_READ_ONLY (UINT32_C(1) << 1)

/** Parameters of open(). Owned by the host, borrowed for the call. */
typedef struct kalam_open_params {
  uint32_t struct_size;
  /** KALAM_OPEN_* bits. */
  uint32_t flags;
  /** The directory the plugin owns for this database. The plugin may create
   *  it (with KALAM_OPEN_CREATE_IF_MISSING) and keeps all its files in it. */
  const char *path;
  /** The backend's options, flattened by the host from YAML into pairs of
   *  NUL-terminated strings: nested keys joined by '.', lists by ','.
   *  option_keys[i] goes with option_values[i]. A plugin rejects any key it
   *  does not know with KALAM_INVALID_ARGUMENT and a message naming the key,
   *  and a value it cannot parse likewise. */
  const char *const *option_keys;
  const char *const *option_values;
  size_t option_count;
  /** The raw YAML text of the options subtree, or NULL. Informational. */
  const char *options_yaml;
} kalam_open_params;

/* kalam_cf open flags */
/** cf_open(): create the column family if it does not exist. */
#define KALAM_CF_CREATE_IF_MISSING (UINT32_C(1) << 0)

/** Options of a point read. Owned by the host, borrowed for the call. May be
 *  NULL, meaning: latest data, no snapshot. */
typedef struct kalam_read_options {
  uint32_t struct_size;
  uint32_t reserved0;
  /** Read as of this snapshot (needs KALAM_CAP_SNAPSHOTS), or NULL for the
   *  latest data. */
  const kalam_snapshot *snapshot;
} kalam_read_options;

/* kalam_write_options.flags */
/** Make the write durable before returning (write + fsync, or the engine's
 *  equivalent). Without it a write survives a process crash only where the
 *  plugin's README says so, and may be lost on power loss. */
#define KALAM_WRITE_SYNC (UINT32_C(1) << 0)

/** Options of write(). Owned by the host, borrowed for the call. */
typedef struct kalam_write_options {
  uint32_t struct_size;
  /** KALAM_WRITE_* bits. */
  uint32_t flags;
  /** The distance in bytes between two consecutive elements of the `ops`
   *  array: sizeof(kalam_write_op) as the host compiled it. A plugin steps
   *  through the array with kalam_write_op_at() and rejects a stride
   *  smaller than the ops it reads with KALAM_INVALID_ARGUMENT. */
  uint32_t op_stride;
  uint32_t reserved0;
} kalam_write_options;

/* kalam_write_op.type */
/** Set key to value. */
#define KALAM_OP_PUT 1
/** Remove key; removing a missing key is not an error. */
#define KALAM_OP_DELETE 2
/** Remove every key k with key <= k < value (value is the exclusive end).
 *  An empty or reversed range (end <= begin) removes nothing and is not an
 *  error. Needs KALAM_CAP_DELETE_RANGE, else the whole write fails with
 *  KALAM_NOT_SUPPORTED and nothing is applied. */
#define KALAM_OP_DELETE_RANGE 3

/**
 * One operation of a write(). The host builds an array of these; it is
 * borrowed for the call. Elements are op_stride bytes apart (see
 * kalam_write_options), which lets this struct grow in later minors.
 */
typedef struct kalam_write_op {
  /** KALAM_OP_*. */
  uint32_t type;
  /** Must be 0. */
  uint32_t reserved0;
  /** The column family; NULL for the default one. */
  kalam_cf *cf;
  /** PUT/DELETE: the key. DELETE_RANGE: the inclusive begin key. */
  const void *key;
  size_t key_len;
  /** PUT: the value. DELETE_RANGE: the exclusive end key. DELETE: unused. */
  const void *value;
  size_t value_len;
} kalam_write_op;

/** The i-th element of an op array with the given stride. */
static inline const kalam_write_op *kalam_write_op_at(const kalam_write_op *ops,
                                                      uint32_t op_stride,
                                                      size_t i) {
  return (const kalam_write_op *)(const void *)((const unsigned char *)ops +
                                                i * (size_t)op_stride);
}

/* kalam_iter_options.flags */
/** lower/lower_len is an inclusive lower bound. */
#define KALAM_ITER_LOWER_BOUND (UINT32_C(1) << 0)
/** upper/upper_len is an exclusive upper bound. */
#define KALAM_ITER_UPPER_BOUND (UINT32_C(1) << 1)
/** prefix/prefix_len: only keys starting with it. The host always narrows
 *  the lower and upper bounds to the prefix's range as well, so a plugin may
 *  treat the prefix as a hint (e.g. for prefix bloom filters) and rely on the
 *  bounds alone for correctness. */
#define KALAM_ITER_PREFIX (UINT32_C(1) << 2)
/** Hint: the iterator will mostly move backwards (iter_prev). */
#define KALAM_ITER_REVERSE (UINT32_C(1) << 3)

/** Options of iter_create(). Owned by the host, borrowed for the call: the
 *  plugin copies the bound and prefix bytes it keeps. */
typedef struct kalam_iter_options {
  uint32_t struct_size;
  /** KALAM_ITER_* bits. */
  uint32_t flags;
  /** Iterate as of this snapshot (needs KALAM_CAP_SNAPSHOTS), or NULL: the
   *  iterator then sees the data as of its creation (an implicit snapshot
   *  where the plugin has snapshots). */
  const kalam_snapshot *snapshot;
  const void *lower;
  size_t lower_len;
  const void *upper;
  size_t upper_len;
  const void *prefix;
  size_t prefix_len;
} kalam_iter_options;

/* iter_next_batch() and iter_read_batch() flags */
/** Walk backwards (iter_prev) instead of forwards. Needs
 *  KALAM_CAP_REVERSE_ITERATION, else KALAM_NOT_SUPPORTED. */
#define KALAM_BATCH_REVERSE (UINT32_C(1) << 0)

/** Receives one value (get(), get_property()). `value` is valid only during
 *  the call. */
typedef void (*kalam_value_visitor)(void *ctx, const void *value,
                                    size_t value_len);

/** Receives the result of one key of multi_get(): `code` is KALAM_OK (value
 *  valid during the call), KALAM_NOT_FOUND (value NULL) or an error code. */
typedef void (*kalam_multi_get_visitor)(void *ctx, size_t index, int code,
                                        const void *value, size_t value_len);

/** Receives one iterator entry from iter_next_batch(). Both views are valid
 *  only during the call. Return 0 to go on, non-zero to stop: the iterator
 *  then stays on this entry, which counts as not consumed. */
typedef int (*kalam_entry_visitor)(void *ctx, const void *key, size_t key_len,
                                   const void *value, size_t value_len);

/**
 * One iterator entry filled in by iter_read_batch() (ABI 1.1): views into
 * memory the plugin owns, valid until the next move of that iterator (see
 * iter_read_batch()). A key is never empty; an empty value may have a NULL
 * pointer.
 *
 * Unlike the other structs that cross the boundary, kalam_entry has no
 * struct_size: it is an element of a host-allocated array, and it is frozen
 * (it never grows; a later minor that needs more per-entry data adds a new
 * call instead).
 */
typedef struct kalam_entry {
  const void *key;
  size_t key_len;
  const void *value;
  size_t value_len;
} kalam_entry;

/** Receives one name (cf_list()). `name` is valid only during the call. */
typedef void (*kalam_name_visitor)(void *ctx, const char *name);

/* Standard property names for get_property(); plugins may add their own,
 * prefixed with their name (e.g. "rocksdb.stats"). */
/** Decimal estimate of the number of keys in the column family. */
#define KALAM_PROPERTY_ESTIMATE_NUM_KEYS "kalam.estimate-num-keys"
/** Decimal estimate of the bytes the column family occupies. */
#define KALAM_PROPERTY_APPROXIMATE_BYTES "kalam.approximate-bytes"
/** Free-form, human-readable statistics text. */
#define KALAM_PROPERTY_STATS "kalam.stats"

/* compact_range() flags */
#define KALAM_COMPACT_HAS_BEGIN (UINT32_C(1) << 0)
#define KALAM_COMPACT_HAS_END (UINT32_C(1) << 1)

/* ======================================================================== */
/* The function table                                                       */
/* ======================================================================== */

/**
 * Everything a plugin does, as function pointers. The plugin keeps it in
 * static const storage and hands out its address in kalam_plugin_info; it
 * lives as long as the library. Every pointer of the ABI 1.0 group is
 * required (non-NULL) except those marked OPTIONAL, which may be NULL when
 * the matching capability is not declared. Every pointer of a later group
 * is OPTIONAL; its comment says how the host decides to use it.
 *
 * Unless a function says otherwise it returns KALAM_OK, or
 * KALAM_INVALID_ARGUMENT (a required pointer is NULL, an argument is
 * malformed), KALAM_IO_ERROR, KALAM_CORRUPTION, KALAM_NO_MEMORY or
 * KALAM_INTERNAL, with detail in `status`.
 */
typedef struct kalam_backend_vtable {
  uint32_t struct_size;
  uint32_t reserved0;

  /* ---- ABI 1.0 ---------------------------------------------------------- */

  /* -- Database -- */

  /**
   * Opens the database at params->path and returns it in *out_db.
   * Returns KALAM_OK; KALAM_NOT_FOUND when there is no database and
   * KALAM_OPEN_CREATE_IF_MISSING is not set; KALAM_INVALID_ARGUMENT for an
   * unknown option key or an unparsable value (the message names the key);
   * KALAM_BUSY when the path is open elsewhere and the plugin cannot share
   * it; KALAM_NOT_SUPPORTED for KALAM_OPEN_READ_ONLY without the capability;
   * KALAM_IO_ERROR; KALAM_CORRUPTION; KALAM_NO_SPACE.
   * @note *out_db is owned by the plugin until close().
   */
  int (*open)(const kalam_open_params *params, kalam_db **out_db,
              kalam_status *status);

  /**
   * Makes acknowledged writes durable as flush() does, then closes the
   * database and frees it, its column family handles included.
   * REQUIRES: every iterator and snapshot of `db` was destroyed or released.
   * A plugin that can tell one is still alive returns KALAM_BUSY and leaves
   * the database open. On any other error the database is closed anyway:
   * `db` is invalid after close() whatever it returns, except KALAM_BUSY.
   */
  int (*close)(kalam_db *db, kalam_status *status);

  /**
   * Makes every write acknowledged so far, in every column family, durable
   * (as a KALAM_WRITE_SYNC write would be); LSM engines also flush their
   * memtables. `flags` must be 0. For a non-persistent plugin: KALAM_OK.
   */
  int (*flush)(kalam_db *db, uint32_t flags, kalam_status *status);

  /* -- Column families -- */

  /**
   * Looks up the column family `name` (NUL-terminated, non-empty) and returns
   * its handle in *out_cf; with KALAM_CF_CREATE_IF_MISSING creates it first.
   * Creation is durable and atomic. "default" returns NULL in *out_cf.
   * Opening the same name twice returns the same handle.
   * Returns KALAM_OK; KALAM_NOT_FOUND (missing, create flag not set).
   * @note *out_cf is owned by the database; valid until close().
   */
  int (*cf_open)(kalam_db *db, const char *name, uint32_t flags,
                 kalam_cf **out_cf, kalam_status *status);

  /**
   * Drops the column family and all its data, durably. Afterwards every
   * call through `cf` returns KALAM_DROPPED, and iterators already open on
   * it either keep their view or return KALAM_DROPPED from their next move.
   * A later cf_open() with create makes a new, empty family with a new
   * handle. Returns KALAM_OK; KALAM_DROPPED (already dropped);
   * KALAM_INVALID_ARGUMENT for NULL (the default family cannot be dropped).
   */
  int (*cf_drop)(kalam_db *db, kalam_cf *cf, kalam_status *status);

  /**
   * Calls `visit` once for each live column family name, "default" included,
   * in no particular order.
   */
  int (*cf_list)(kalam_db *db, kalam_name_visitor visit, void *ctx,
                 kalam_status *status);

  /* -- Point reads -- */

  /**
   * The zero-copy read: finds `key` in `cf` and calls `visit` exactly once
   * with its value. Returns KALAM_OK (visitor called); KALAM_NOT_FOUND
   * (visitor not called); KALAM_DROPPED; KALAM_NOT_SUPPORTED (snapshot
   * without the capability).
   */
  int (*get)(kalam_db *db, const kalam_read_options *options, kalam_cf *cf,
             const void *key, size_t key_len, kalam_value_visitor visit,
             void *ctx, kalam_status *status);

  /**
   * The copy read: copies the value of `key` into buf[0..buf_size) and its
   * length into *value_len. Returns KALAM_OK; KALAM_NOT_FOUND;
   * KALAM_BUFFER_TOO_SMALL, with *value_len set to the length needed and
   * `buf` untouched; KALAM_DROPPED.
   */
  int (*get_into)(kalam_db *db, const kalam_read_options *options, kalam_cf *cf,
                  const void *key, size_t key_len, void *buf, size_t buf_size,
                  size_t *value_len, kalam_status *status);

  /**
   * Looks up `count` keys: keys[i]/key_lens[i] in cfs[i] (`cfs` may be NULL:
   * all in the default family). Calls `visit` exactly once per index, in
   * index order, with KALAM_OK and the value, KALAM_NOT_FOUND, or that key's
   * error code. All keys are read from one consistent view.
   * Returns KALAM_OK when every key was visited (whatever each code was), or
   * an error when the call failed as a whole; the host then discards what
   * was visited.
   */
  int (*multi_get)(kalam_db *db, const kalam_read_options *options,
                   size_t count, kalam_cf *const *cfs, const void *const *keys,
                   const size_t *key_lens, kalam_multi_get_visitor visit,
                   void *ctx, kalam_status *status);

  /* -- Writes -- */

  /**
   * Applies `op_count` operations in order (a later op on the same key wins),
   * across column families, with KALAM_CAP_ATOMIC_BATCH atomically. Every op
   * is validated before anything is applied: an invalid op (unknown type,
   * empty key, key or value over the maximum size, dropped family,
   * DELETE_RANGE without the capability) makes the whole write fail and
   * applies nothing. The ends of a DELETE_RANGE may be empty.
   * op_count 0 is a successful no-op.
   * Returns KALAM_OK; KALAM_INVALID_ARGUMENT; KALAM_DROPPED;
   * KALAM_NOT_SUPPORTED; KALAM_NO_SPACE; KALAM_IO_ERROR.
   */
  int (*write)(kalam_db *db, const kalam_write_options *options,
               const kalam_write_op *ops, size_t op_count,
               kalam_status *status);

  /* -- Snapshots -- */

  /**
   * Creates a read view of the whole database (every column family) as of
   * now, in *out_snapshot. Returns KALAM_OK; KALAM_NOT_SUPPORTED without
   * KALAM_CAP_SNAPSHOTS.
   * @note *out_snapshot is owned by the plugin until snapshot_release();
   * a long-lived snapshot keeps old versions alive (the store grows).
   */
  int (*snapshot_create)(kalam_db *db, kalam_snapshot **out_snapshot,
                         kalam_status *status);

  /** Releases a snapshot. Never fails; NULL is a no-op.
   *  REQUIRES: every iterator created at it was destroyed. */
  void (*snapshot_release)(kalam_db *db, kalam_snapshot *snapshot);

  /* -- Iterators -- */

  /**
   * Creates an iterator over `cf`, restricted to the bounds in `options`
   * (may be NULL: the whole family, latest data). The iterator starts
   * unpositioned: call a seek first. Returns KALAM_OK; KALAM_DROPPED;
   * KALAM_NOT_SUPPORTED (snapshot without the capability).
   * @note *out_iter is owned by the plugin until iter_destroy().
   */
  int (*iter_create)(kalam_db *db, const kalam_iter_options *options,
                     kalam_cf *cf, kalam_iter **out_iter, kalam_status *status);

  /** Frees the iterator. Never fails; NULL is a no-op. */
  void (*iter_destroy)(kalam_iter *iter);

  /*
   * Moves. Each returns KALAM_OK when the iterator is positioned on an entry
   * inside its bounds, KALAM_NOT_FOUND when it ran out of entries (it is then
   * unpositioned; iter_valid() returns 0), or an error. A storage error is
   * sticky: the iterator stays unpositioned and every later move returns it
   * until iter_destroy(); a malformed argument (e.g. a seek target over
   * max_key_size) is not sticky. Moving an unpositioned iterator with next/prev
   * returns KALAM_NOT_FOUND. Key/value views from iter_entry() are invalidated
   * by any move. Backward moves need KALAM_CAP_REVERSE_ITERATION, else they
   * return KALAM_NOT_SUPPORTED.
   */
  /** To the first entry within the bounds. */
  int (*iter_seek_first)(kalam_iter *iter, kalam_status *status);
  /** To the last entry within the bounds. Backward. */
  int (*iter_seek_last)(kalam_iter *iter, kalam_status *status);
  /** To the first entry with key >= target (clamped to the bounds). */
  int (*iter_seek)(kalam_iter *iter, const void *target, size_t target_len,
                   kalam_status *status);
  /** To the last entry with key <= target (clamped to the bounds). Backward.*/
  int (*iter_seek_for_prev)(kalam_iter *iter, const void *target,
                            size_t target_len, kalam_status *status);
  /** To the next entry. */
  int (*iter_next)(kalam_iter *iter, kalam_status *status);
  /** To the previous entry. Backward. */
  int (*iter_prev)(kalam_iter *iter, kalam_status *status);

  /** 1 when the iterator is positioned on an entry, else 0. Never fails. */
  int (*iter_valid)(const kalam_iter *iter);

  /**
   * The current entry as views into plugin memory. Either of value/value_len
   * may be NULL when only the key is wanted. Returns KALAM_OK, or
   * KALAM_NOT_FOUND when the iterator is not positioned.
   * @note The views are valid until the next move or iter_destroy().
   */
  int (*iter_entry)(const kalam_iter *iter, const void **key, size_t *key_len,
                    const void **value, size_t *value_len);

  /** The iterator's sticky error: KALAM_OK if no move has failed, else the
   *  code of the failure, with detail in `status`. */
  int (*iter_status)(const kalam_iter *iter, kalam_status *status);

  /**
   * The batched walk. Starting with the entry the iterator is on, calls
   * `visit` for it and moves on (next, or prev with KALAM_BATCH_REVERSE),
   * until `max_entries` entries were consumed, the range ends, or the
   * visitor returns non-zero (that entry is then not consumed and the
   * iterator stays on it). *consumed (may be NULL) receives the count.
   * Exactly equivalent to iter_entry() + iter_next() in a loop.
   * Returns KALAM_OK when the iterator is still positioned, KALAM_NOT_FOUND
   * when it ran out (entries may still have been visited), or an error.
   * @note *consumed is written whatever the code, so the host can keep
   * what was visited before an error.
   * @note One visitor call per entry. A host scanning a plugin that has
   * iter_read_batch() (ABI 1.1, below) uses that instead.
   */
  int (*iter_next_batch)(kalam_iter *iter, uint32_t flags, size_t max_entries,
                         kalam_entry_visitor visit, void *ctx, size_t *consumed,
                         kalam_status *status);

  /* -- OPTIONAL (may be NULL when the capability is not declared) -- */

  /** KALAM_CAP_COMPACT_RANGE: compacts keys in [begin, end) of `cf`; a bound
   *  is used only if its KALAM_COMPACT_HAS_* flag is set. */
  int (*compact_range)(kalam_db *db, kalam_cf *cf, uint32_t flags,
                       const void *begin, size_t begin_len, const void *end,
                       size_t end_len, kalam_status *status);

  /** KALAM_CAP_PROPERTIES: calls `visit` once with the value of property
   *  `name` (KALAM_PROPERTY_* or a plugin-prefixed name) of `cf`, as text.
   *  Returns KALAM_OK; KALAM_NOT_FOUND for an unknown property;
   *  KALAM_DROPPED. */
  int (*get_property)(kalam_db *db, kalam_cf *cf, const char *name,
                      kalam_value_visitor visit, void *ctx,
                      kalam_status *status);

  /** KALAM_CAP_CHECKPOINT: writes a consistent, openable copy of the whole
   *  database into directory `path`, which must not exist yet. */
  int (*checkpoint)(kalam_db *db, const char *path, kalam_status *status);

  /* ---- ABI 1.1 ---------------------------------------------------------- */

  /*
   * How the host finds out whether a plugin has iter_read_batch(): by
   * convention 7 alone, i.e. struct_size >= KALAM_BACKEND_VTABLE_SIZE_1_1
   * and the pointer is non-NULL. There is no capability bit: the call
   * promises nothing iter_next_batch() does not, it is only a faster way to
   * the same entries. A host never reads the slot of a 1.0-sized table (a
   * plugin built against the 1.0 header), whatever abi_minor says, and uses
   * iter_next_batch() for it. A plugin that sets the slot reports abi_minor
   * 1 (or the host's maximum, if lower: a 1.0 host ignores the slot).
   */

  /**
   * OPTIONAL (may be NULL). The array batch: fills out[0..*filled) with the
   * entry the iterator is on and the ones after it (before it with
   * KALAM_BATCH_REVERSE), up to `max_entries`, and moves past them, so the
   * host walks an array instead of taking one visitor call per entry.
   * Exactly equivalent to iter_entry() + iter_next() (iter_prev()) in a loop
   * that records each entry: same entries, same final position, same codes,
   * same sticky errors, as iter_next_batch() with a visitor that never stops.
   *
   * The plugin may fill fewer than `max_entries` while entries remain (e.g.
   * to bound the memory it copies into), but fills at least one when it
   * returns KALAM_OK and max_entries > 0. Returns KALAM_OK when the
   * iterator is positioned on the entry after the last one filled (the
   * next batch starts there); KALAM_NOT_FOUND when it ran out of entries or
   * was unpositioned at the call (it is then unpositioned; entries may still
   * have been filled); or an error (the entries filled before it are
   * good). `flags`: KALAM_BATCH_REVERSE or 0.
   * `out` may be NULL only when max_entries is 0; `filled` is required.
   * @note *filled is written whatever the code (0 on an argument error), so
   * the host can use what was filled before an error.
   * @note The views in out[] stay valid until the next call that moves or
   * destroys this iterator (a seek, next, prev, iter_next_batch(),
   * iter_read_batch(), iter_destroy()), whatever other calls run on the
   * database meanwhile; iter_entry(), iter_valid() and iter_status() do not
   * invalidate them, and the views iter_entry() gives for the entry landed
   * on are valid together with them. A plugin whose library invalidates
   * its views on every step copies the entries into memory it owns per
   * iterator (reused from one call to the next); one whose views live as
   * long as the iterator (a memory map, pinned blocks) hands them out.
   * `out` is owned by the host; the plugin writes only out[0..*filled).
   */
  int (*iter_read_batch)(kalam_iter *iter, uint32_t flags, size_t max_entries,
                         kalam_entry *out, size_t *filled,
                         kalam_status *status);
} kalam_backend_vtable;

/** The struct_size of a complete ABI 1.0 function table. The host refuses a
 *  plugin whose table is smaller. */
#define KALAM_BACKEND_VTABLE_SIZE_1_0           \
  (offsetof(kalam_backend_vtable, checkpoint) + \
   sizeof(((kalam_backend_vtable *)0)->checkpoint))

/** The struct_size of a complete ABI 1.1 function table (iter_read_batch()
 *  covered). A table of at least KALAM_BACKEND_VTABLE_SIZE_1_0 bytes but
 *  less than this is a 1.0 table: it loads, without iter_read_batch(). */
#define KALAM_BACKEND_VTABLE_SIZE_1_1                \
  (offsetof(kalam_backend_vtable, iter_read_batch) + \
   sizeof(((kalam_backend_vtable *)0)->iter_read_batch))

/* ======================================================================== */
/* The entry point                                                          */
/* ======================================================================== */

/**
 * What a plugin tells the host about itself. Allocated by the host, which
 * sets struct_size; filled by the plugin in kalam_plugin_entry().
 */
typedef struct kalam_plugin_info {
  uint32_t struct_size;
  /** KALAM_ABI_VERSION_MAJOR of the header the plugin was built with. */
  uint32_t abi_major;
  /** The ABI minor the plugin speaks: the highest one it implements that is
   *  not above host->abi_max_minor. */
  uint32_t abi_minor;
  /** sizeof(void *) and sizeof(size_t) as the plugin was compiled. */
  uint32_t pointer_size;
  uint32_t size_t_size;
  /** The version of the plugin's on-disk format. The engine stamps it into
   *  the data directory and refuses a directory with a newer one. */
  uint32_t format_version;
  /** The backend name, e.g. "rocksdb": [a-z0-9_]+, equal to the <name> in
   *  the file name kalam_<name>.so. Static storage. */
  const char *name;
  /** Free-form plugin version, e.g. "1.2.0 (RocksDB 7.8.3)". Static. */
  const char *version;
  /** KALAM_CAP_* bits: what the plugin guarantees. */
  uint64_t capabilities;
  /** The largest key and value accepted, in bytes; 0 means no limit beyond
   *  memory. Larger ones are refused with KALAM_INVALID_ARGUMENT. */
  uint64_t max_key_size;
  uint64_t max_value_size;
  /** The function table, in static storage. */
  const kalam_backend_vtable *vtable;
} kalam_plugin_info;

/**
 * The one symbol a plugin exports, named KALAM_PLUGIN_ENTRY_SYMBOL:
 *
 *   int kalam_plugin_entry(const kalam_host *host, kalam_plugin_info *info,
 *                          kalam_status *status);
 *
 * The host calls it once, right after loading the library. The plugin
 * checks host->abi_major (returning KALAM_ABI_MISMATCH with a message when it
 * cannot speak it), keeps host->log/log_ctx if it logs, and fills every
 * field of `info` that info->struct_size covers. It may be called again
 * (e.g. by another host in the same process) and must give the same answers.
 * Returns KALAM_OK or KALAM_ABI_MISMATCH; no other work belongs here.
 */
typedef int (*kalam_plugin_entry_fn)(const kalam_host *host,
                                     kalam_plugin_info *info,
                                     kalam_status *status);

/** For plugin sources: declares the entry point with default visibility,
 *  C linkage and the right signature. Use as
 *  `KALAM_PLUGIN_EXPORT int kalam_plugin_entry(...) { ... }`. */
#if defined(__GNUC__) || defined(__clang__)
#define KALAM_PLUGIN_VISIBLE __attribute__((visibility("default")))
#else
#define KALAM_PLUGIN_VISIBLE
#endif
#ifdef __cplusplus
#define KALAM_PLUGIN_EXPORT extern "C" KALAM_PLUGIN_VISIBLE
#else
#define KALAM_PLUGIN_EXPORT KALAM_PLUGIN_VISIBLE
#endif

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KALAM_BACKEND_API_H */
