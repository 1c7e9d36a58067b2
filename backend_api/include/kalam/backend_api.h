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
 *    code they are left untouched, never half-built: a plugin does not
 *    "initialise" them (e.g. to NULL or 0) before it knows it succeeded.
 *    The documented exceptions: `value_len` of get_into() on
 *    KALAM_BUFFER_TOO_SMALL, and the counts `*consumed` of
 *    iter_next_batch() and `*filled` of iter_read_batch(), which are written
 *    whatever the code (0 on an argument error).
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
 *    KALAM_INVALID_ARGUMENT, in every flag word it is handed:
 *    kalam_open_params.flags, cf_open(), flush(), kalam_write_options.flags
 *    (write(), write_conditional(), read_modify_write()),
 *    kalam_iter_options.flags, iter_next_batch(), iter_read_batch() and
 *    compact_range(). A call refused for its flags does nothing else: it
 *    applies nothing, creates nothing and moves no iterator. (Keeping only
 *    the known bits is the mistake this rule prevents: the host would
 *    believe a flag it set was honoured.) A later minor that adds a flag
 *    says so, and a host sets it only for plugins whose abi_minor is high
 *    enough.
 * 12. Every pointer argument is required (non-NULL) unless its comment says
 *    it may be NULL; a NULL required pointer is KALAM_INVALID_ARGUMENT.
 *
 * Versioning: the host speaks one ABI major and understands minors up to some
 * maximum. A plugin built for another major, or for a minor above the host's,
 * is refused at load with a message that names the plugin file. A minor adds
 * optional function-table slots at the end (convention 7): a plugin built
 * for an older minor has a shorter table, and the host treats the slots it
 * does not cover as NULL. 1.1 added iter_read_batch(). 1.2 added
 * conditional writes (write_conditional()), the one-transaction
 * read-modify-write (read_modify_write()), per-database write limits
 * (get_limits()), the codes a remote or shared store needs (KALAM_CONFLICT
 * to KALAM_TOO_LARGE) and the capability bits that go with them.
 *
 * New codes and old hosts: a plugin returns the 1.2 codes (13 to 18) only
 * to a host whose abi_max_minor is 2 or more. For an older host it maps
 * UNAVAILABLE, TIMED_OUT, SNAPSHOT_TOO_OLD and TOO_LARGE to KALAM_IO_ERROR
 * and OUTCOME_UNKNOWN to KALAM_IO_ERROR with a message saying the write may
 * have been applied (a 1.1 host cannot tell). CONFLICT only ever comes from
 * 1.2 calls, which an older host never makes.
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
 *  1.0: the first ABI. 1.1: iter_read_batch() (an optional vtable slot).
 *  1.2: write_conditional(), read_modify_write(), get_limits(), result
 *  codes 13-18 and capability bits 12-15. */
#define KALAM_ABI_VERSION_MINOR 2

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

/* -- ABI 1.2 codes. Which call may return which is said per call below; in
 *    short: CONFLICT only from write_conditional(); OUTCOME_UNKNOWN and
 *    TOO_LARGE only from the write calls; UNAVAILABLE and TIMED_OUT from
 *    any call that reaches the store; SNAPSHOT_TOO_OLD from reads,
 *    iterator creation and moves at a snapshot. -- */

/** write_conditional(): an expectation did not hold. Nothing was applied.
 *  kalam_status.native_code holds the index (0-based, into the expectation
 *  array) of the first expectation that failed, and the message names it. */
#define KALAM_CONFLICT 13
/** No server, or no quorum of servers, could be reached. Nothing was
 *  applied (a write whose fate is unknown is KALAM_OUTCOME_UNKNOWN).
 *  Retrying later may succeed. */
#define KALAM_UNAVAILABLE 14
/** The call gave up waiting (a deadline or a lock timeout). For a write,
 *  the plugin knows nothing was applied; when it does not know, it returns
 *  KALAM_OUTCOME_UNKNOWN instead. */
#define KALAM_TIMED_OUT 15
/** A write may or may not have been applied (e.g. the connection dropped
 *  after the request was sent). The store is consistent either way: the
 *  write was applied whole or not at all. The engine never retries such a
 *  write silently: it reports it to its caller, who can read to find out. */
#define KALAM_OUTCOME_UNKNOWN 16
/** A read at a snapshot (or an iterator's implicit one) needs data the
 *  store has already compacted away. Take a new snapshot and retry. */
#define KALAM_SNAPSHOT_TOO_OLD 17
/** A write over the store's per-write limits (see get_limits()): too many
 *  ops or expectations, or too many bytes. Nothing was applied. The message
 *  names the limit. */
#define KALAM_TOO_LARGE 18

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
    case KALAM_CONFLICT:
      return "CONFLICT";
    case KALAM_UNAVAILABLE:
      return "UNAVAILABLE";
    case KALAM_TIMED_OUT:
      return "TIMED_OUT";
    case KALAM_OUTCOME_UNKNOWN:
      return "OUTCOME_UNKNOWN";
    case KALAM_SNAPSHOT_TOO_OLD:
      return "SNAPSHOT_TOO_OLD";
    case KALAM_TOO_LARGE:
      return "TOO_LARGE";
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
/** Several processes may open the same path at once. (Unchanged in 1.2:
 *  it still means exactly this. A 1.2 host treats such a store as shared,
 *  see KALAM_CAP_SHARED, because another process may be writing it.) */
#define KALAM_CAP_MULTI_PROCESS (UINT64_C(1) << 7)
/** compact_range() is implemented. */
#define KALAM_CAP_COMPACT_RANGE (UINT64_C(1) << 8)
/** get_property() is implemented. */
#define KALAM_CAP_PROPERTIES (UINT64_C(1) << 9)
/** checkpoint() is implemented. */
#define KALAM_CAP_CHECKPOINT (UINT64_C(1) << 10)
/** open() honours KALAM_OPEN_READ_ONLY. */
#define KALAM_CAP_READ_ONLY_OPEN (UINT64_C(1) << 11)

/* -- ABI 1.2 bits. A host honours them only for a plugin that reports
 *    abi_minor 2 or more and whose function table covers the 1.2 slots
 *    (struct_size >= KALAM_BACKEND_VTABLE_SIZE_1_2); for older plugins it
 *    ignores bits 12 and up. -- */

/** write_conditional() is implemented: expectations are checked atomically
 *  with the write's ops against the state just before it, natively (under
 *  the store's own write lock or transaction), so the check holds against
 *  every writer of the store, in this process or (with SHARED or
 *  MULTI_PROCESS) in others. */
#define KALAM_CAP_CONDITIONAL_WRITE (UINT64_C(1) << 12)
/** read_modify_write() is implemented: the reads and the write happen in
 *  one write transaction of the store. */
#define KALAM_CAP_READ_MODIFY_WRITE (UINT64_C(1) << 13)
/** Every call is a network round trip: the host batches writes, prefers
 *  multi_get() over repeated get(), and iter_read_batch() with large
 *  batches over single moves. Says nothing about sharing. */
#define KALAM_CAP_REMOTE (UINT64_C(1) << 14)
/** Other processes (possibly on other hosts) write the same store
 *  concurrently. The host must not rely on in-process locks for
 *  correctness: read-then-write sequences use write_conditional() or
 *  read_modify_write(). A host treats KALAM_CAP_MULTI_PROCESS the same way.
 *  A plugin that declares SHARED should declare CONDITIONAL_WRITE: without
 *  it the host refuses conditional writes (it cannot emulate them across
 *  processes). */
#define KALAM_CAP_SHARED (UINT64_C(1) << 15)

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

/* kalam_expectation.type (ABI 1.2) */
/** The key exists and its value is exactly value[0..value_len) (an empty
 *  expected value matches only an existing, empty value). */
#define KALAM_EXPECT_VALUE 1
/** The key does not exist. */
#define KALAM_EXPECT_ABSENT 2
/** The key exists, whatever its value. */
#define KALAM_EXPECT_PRESENT 3

/**
 * One expectation of write_conditional() (ABI 1.2): a fact about one key,
 * checked against the state just before the write, atomically with it.
 * The host builds an array of these; it is borrowed for the call.
 *
 * Like kalam_entry, kalam_expectation is frozen (elements are
 * sizeof(kalam_expectation) apart and it never grows). A later minor adds
 * kinds of expectation as new KALAM_EXPECT_* types (a plugin refuses a type
 * it does not know with KALAM_INVALID_ARGUMENT), never new fields.
 */
typedef struct kalam_expectation {
  /** KALAM_EXPECT_*. */
  uint32_t type;
  /** Must be 0. */
  uint32_t reserved0;
  /** The column family; NULL for the default one. */
  kalam_cf *cf;
  /** The key (1 to max_key_size bytes, like a key in a write). */
  const void *key;
  size_t key_len;
  /** KALAM_EXPECT_VALUE: the expected value. Other types: unused. */
  const void *value;
  size_t value_len;
} kalam_expectation;

/**
 * The current state of one key read by read_modify_write() (ABI 1.2),
 * handed to the host's kalam_rmw_visitor. Frozen like kalam_entry.
 */
typedef struct kalam_rmw_value {
  /** KALAM_OK: the key exists and value/value_len is its value (valid only
   *  during the visitor call; an empty value may have a NULL pointer).
   *  KALAM_NOT_FOUND: the key does not exist (value NULL, value_len 0). */
  int32_t code;
  uint32_t reserved0;
  const void *value;
  size_t value_len;
} kalam_rmw_value;

/**
 * The host's half of read_modify_write() (ABI 1.2). Called exactly once per
 * successful read phase, inside the plugin's write transaction, with the
 * current state of every key the host named: current[i] for keys[i].
 * The host decides what to write and hands it back: *ops (an op array with
 * the stride of options->op_stride) and *op_count. Both start as NULL and
 * 0; an op_count of 0 writes nothing.
 *
 * Returns 0 to apply the ops, non-zero to cancel: the plugin then rolls its
 * transaction back, applies nothing and read_modify_write() returns
 * KALAM_OK (the host knows it cancelled).
 *
 * Rules (the plugin holds its store's write lock while this runs):
 * - No re-entry: the visitor makes no call into the plugin at all, for any
 *   database of the library (LMDB allows one write transaction per
 *   environment; a call would deadlock or see the wrong state).
 * - No exception, longjmp or signal leaves it (convention 8).
 * - The `current` views are valid only during the call. The op array and
 *   every byte it points to are owned by the host and must stay valid until
 *   read_modify_write() returns; the plugin copies nothing it does not keep.
 * - It should be quick: every other writer of the store waits for it.
 */
typedef int (*kalam_rmw_visitor)(void *ctx, size_t count,
                                 const kalam_rmw_value *current,
                                 const kalam_write_op **ops, size_t *op_count);

/**
 * Per-database limits of one write (ABI 1.2), filled by get_limits().
 * Allocated by the host, which sets struct_size and zeroes the rest; the
 * plugin writes the fields struct_size covers. 0 means "no limit beyond
 * memory". A write over a limit fails with KALAM_TOO_LARGE and applies
 * nothing; the host splits bulk work to fit, and refuses (TOO_LARGE, naming
 * the limit) a promise it cannot keep within them.
 */
typedef struct kalam_limits {
  uint32_t struct_size;
  uint32_t reserved0;
  /** The most ops one write(), write_conditional() or (as returned by the
   *  visitor) read_modify_write() may carry. etcd: --max-txn-ops. */
  uint64_t max_write_ops;
  /** The most bytes one write may carry: the sum of key_len + value_len of
   *  its ops and expectations. etcd: --max-request-bytes, less framing. */
  uint64_t max_write_bytes;
  /** The most expectations one write_conditional() may carry, and keys one
   *  read_modify_write() may read. */
  uint64_t max_expectations;
} kalam_limits;

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
   * Checking this is optional (the host guarantees it, and closing under a
   * live iterator is undefined for a plugin that does not check). A plugin
   * that does check and finds one alive returns KALAM_BUSY and changes
   * nothing: the database, its iterators and its snapshots stay fully
   * usable, and a close() after they are gone succeeds. On any other error
   * the database is closed anyway: `db` is invalid after close() whatever
   * it returns, except KALAM_BUSY.
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
   * error code. All keys are read from one consistent view: as of one
   * instant (or of options->snapshot), so that no write, in particular no
   * atomic write() of several of the keys, is seen in part. A loop of
   * independent get() calls is not one view.
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
   * op_count 0 is a successful no-op, and `ops` may then be NULL.
   * Returns KALAM_OK; KALAM_INVALID_ARGUMENT; KALAM_DROPPED;
   * KALAM_NOT_SUPPORTED; KALAM_NO_SPACE; KALAM_IO_ERROR; and, from ABI
   * 1.2 on, KALAM_TOO_LARGE (over get_limits(); nothing applied),
   * KALAM_UNAVAILABLE and KALAM_TIMED_OUT (nothing applied),
   * KALAM_OUTCOME_UNKNOWN (applied whole or not at all; unknown which).
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

  /* ---- ABI 1.2 ---------------------------------------------------------- */

  /*
   * How the host finds out whether a plugin has a 1.2 slot: the plugin
   * reports abi_minor >= 2, its table's struct_size is at least
   * KALAM_BACKEND_VTABLE_SIZE_1_2, the pointer is non-NULL and, for the two
   * write calls, the capability bit is declared. A host never reads these
   * slots of a shorter table, nor honours bits 12 and up of an older plugin.
   * What a 1.2 host does where one is missing (the fallbacks) is documented
   * in engine/include/kalam/database.h and docs/writing-a-plugin.md:
   * conditional writes are emulated under an engine-wide lock (refused with
   * NOT_SUPPORTED on a SHARED or MULTI_PROCESS store), read-modify-write
   * becomes multi_get() plus a conditional write, retried on conflict, and
   * a store without get_limits() has no limits.
   *
   * Codes that may appear, in addition to the common ones listed above the
   * table: every call that reaches a remote store may also return
   * KALAM_UNAVAILABLE or KALAM_TIMED_OUT (open() included); reads (get,
   * get_into, multi_get), iter_create() and iterator moves at a snapshot may
   * return KALAM_SNAPSHOT_TOO_OLD; write() may return KALAM_TOO_LARGE and
   * KALAM_OUTCOME_UNKNOWN. A local plugin returns none of them unless its
   * README says so.
   */

  /**
   * KALAM_CAP_CONDITIONAL_WRITE. write() with expectations: checks every
   * expectation in expects[0..expect_count) (elements
   * sizeof(kalam_expectation) apart) against the state just before the
   * write and, only if all hold, applies the ops exactly as write() would,
   * atomically with the check: no other write to the store (from any thread
   * or, for a shared store, any process) falls between the check and the
   * apply. Expectations are checked in index order and the first that fails
   * decides the result. `expects` may be NULL only when expect_count is 0
   * (then it is write()). op_count 0 with expectations is a pure check.
   * Expectations and ops are validated before anything is checked (same
   * rules as write(); an expectation of unknown type, with an empty key or
   * non-zero reserved0 is KALAM_INVALID_ARGUMENT).
   * Returns KALAM_OK (all held, ops applied); KALAM_CONFLICT (one did not:
   * nothing applied, status->native_code = its index);
   * KALAM_INVALID_ARGUMENT; KALAM_DROPPED (an op's or an expectation's
   * family); KALAM_NOT_SUPPORTED; KALAM_NO_SPACE; KALAM_IO_ERROR;
   * KALAM_TOO_LARGE (nothing applied); KALAM_UNAVAILABLE and
   * KALAM_TIMED_OUT (nothing applied); KALAM_OUTCOME_UNKNOWN (applied whole
   * or not at all, the plugin cannot tell which).
   */
  int (*write_conditional)(kalam_db *db, const kalam_write_options *options,
                           const kalam_expectation *expects,
                           size_t expect_count, const kalam_write_op *ops,
                           size_t op_count, kalam_status *status);

  /**
   * KALAM_CAP_READ_MODIFY_WRITE. The one-transaction read-modify-write:
   * opens one write transaction (or takes the store's write lock), reads
   * the `count` keys keys[i]/key_lens[i] in cfs[i] (`cfs` may be NULL: all
   * in the default family), calls `visit` once with their current state,
   * validates the ops it returns as write() does, applies them and commits,
   * all without another writer in between. `options` as for write()
   * (op_stride describes the visitor's op array; KALAM_WRITE_SYNC is
   * honoured at commit; unknown flag bits are INVALID_ARGUMENT with nothing
   * applied, whether or not the visitor already ran). count may be 0 (the
   * visitor then just writes).
   * If reading fails, the visitor is not called. The visitor's rules are
   * those of kalam_rmw_visitor (no re-entry).
   * Returns KALAM_OK (ops applied, or the visitor cancelled: nothing
   * applied); KALAM_NOT_FOUND never (a missing key is a kalam_rmw_value);
   * KALAM_INVALID_ARGUMENT (a key, or an op the visitor returned: nothing
   * applied); KALAM_DROPPED; KALAM_NOT_SUPPORTED (e.g. read-only open);
   * KALAM_NO_SPACE; KALAM_IO_ERROR; KALAM_TOO_LARGE; KALAM_BUSY (the store's
   * write lock could not be had); KALAM_UNAVAILABLE; KALAM_TIMED_OUT;
   * KALAM_OUTCOME_UNKNOWN. On any code but KALAM_OK nothing was applied,
   * except KALAM_OUTCOME_UNKNOWN.
   * @note A remote store cannot hold a transaction open across the host's
   * visitor without a round trip per key; it leaves this NULL and the host
   * uses multi_get() + write_conditional() with retry instead.
   */
  int (*read_modify_write)(kalam_db *db, const kalam_write_options *options,
                           size_t count, kalam_cf *const *cfs,
                           const void *const *keys, const size_t *key_lens,
                           kalam_rmw_visitor visit, void *ctx,
                           kalam_status *status);

  /**
   * OPTIONAL (may be NULL: no limits). Fills `out` (see kalam_limits) with
   * this database's per-write limits, which hold from open() to close().
   * The host calls it once, right after open(). Returns KALAM_OK, or an
   * error (the host then fails the open).
   */
  int (*get_limits)(kalam_db *db, kalam_limits *out, kalam_status *status);
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

/** The struct_size of a complete ABI 1.2 function table (get_limits()
 *  covered). A plugin that reports abi_minor 2 hands out a table of at
 *  least this size; a shorter one is a 1.0 or 1.1 table. */
#define KALAM_BACKEND_VTABLE_SIZE_1_2           \
  (offsetof(kalam_backend_vtable, get_limits) + \
   sizeof(((kalam_backend_vtable *)0)->get_limits))

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
