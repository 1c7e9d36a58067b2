/*
 * kalam_template.so - a small but complete Kalam storage plugin in plain C99.
 *
 * Copy this folder to start a plugin of your own: it builds against the
 * installed <kalam/backend_api.h> alone (see CMakeLists.txt) and passes the
 * conformance runner for everything it declares:
 *
 *   kalam-conformance ./kalam_template.so
 *
 * The store: each column family is a sorted array of (key, value) copies,
 * searched with binary search. Nothing is written to disk. The plugin
 * declares atomic batches, reverse iteration, delete-range and (ABI 1.2)
 * conditional writes and read-modify-write; it is not thread-safe (the
 * engine then serialises every call, which is what makes its conditional
 * writes atomic: no other call runs between the check and the write) and
 * has no snapshots.
 * docs/writing-a-plugin.md walks through it.
 */
#include <kalam/backend_api.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Data ---------------------------------------------------------------- */

typedef struct entry {
  unsigned char *key;
  size_t key_len;
  unsigned char *value;
  size_t value_len;
} entry;

struct kalam_cf {
  char *name;
  entry *entries; /* sorted by key, byte-wise */
  size_t count;
  size_t capacity;
  int dropped;
  struct kalam_cf *next; /* every handle ever made, freed at close */
};

struct kalam_db {
  struct kalam_cf default_cf;
  struct kalam_cf *families;
  size_t max_keys; /* the one option: 0 = no limit */
  size_t total_keys;
  int live_iterators;
};

struct kalam_iter {
  kalam_db *db;
  kalam_cf *cf;
  unsigned char *lower, *upper;
  size_t lower_len, upper_len;
  int has_lower, has_upper;
  /* The current entry, copied, so the views stay valid until the next move
   * even if a write reshapes the array in between. */
  int positioned;
  unsigned char *key, *value;
  size_t key_len, value_len;
  int error;
  /* iter_read_batch() (ABI 1.1): the copies of the last batch's entries,
   * grown as needed and reused from one batch to the next. */
  unsigned char *arena;
  size_t arena_cap;
};

/* ---- Helpers --------------------------------------------------------------
 */

/* Fills `status` as far as its struct_size allows, and returns `code`. */
static int fail(kalam_status *status, int code, const char *format, ...) {
  if (status == NULL) return code;
  if (status->struct_size >= offsetof(kalam_status, code) + sizeof(int32_t)) {
    status->code = code;
  }
  if (status->struct_size >=
      offsetof(kalam_status, native_code) + sizeof(int64_t)) {
    status->native_code = 0;
  }
  if (status->struct_size >= sizeof(kalam_status)) {
    va_list args;
    va_start(args, format);
    vsnprintf(status->message, sizeof status->message, format, args);
    va_end(args);
  }
  return code;
}

static int compare(const void *a, size_t a_len, const void *b, size_t b_len) {
  const size_t n = a_len < b_len ? a_len : b_len;
  const int c = n == 0 ? 0 : memcmp(a, b, n);
  if (c != 0) return c;
  return a_len < b_len ? -1 : a_len > b_len ? 1 : 0;
}

/* The index of the first entry with key >= `key`. */
static size_t lower_bound(const kalam_cf *cf, const void *key, size_t len) {
  size_t lo = 0, hi = cf->count;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (compare(cf->entries[mid].key, cf->entries[mid].key_len, key, len) < 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

/* 1 when entry i of cf has exactly this key. */
static int key_at(const kalam_cf *cf, size_t i, const void *key, size_t len) {
  return i < cf->count &&
         compare(cf->entries[i].key, cf->entries[i].key_len, key, len) == 0;
}

static unsigned char *copy_bytes(const void *data, size_t len) {
  unsigned char *out = (unsigned char *)malloc(len == 0 ? 1 : len);
  if (out != NULL && len != 0) memcpy(out, data, len);
  return out;
}

static kalam_cf *family(kalam_db *db, kalam_cf *cf) {
  return cf == NULL ? &db->default_cf : cf;
}

static void free_entries(kalam_cf *cf) {
  size_t i;
  for (i = 0; i < cf->count; ++i) {
    free(cf->entries[i].key);
    free(cf->entries[i].value);
  }
  free(cf->entries);
  cf->entries = NULL;
  cf->count = cf->capacity = 0;
}

/* ---- Database ------------------------------------------------------------ */

static int t_open(const kalam_open_params *params, kalam_db **out_db,
                  kalam_status *status) {
  kalam_db *db;
  size_t max_keys = 0, i;
  if (params == NULL || out_db == NULL) {
    return fail(status, KALAM_INVALID_ARGUMENT, "open: NULL argument");
  }
  if (params->flags & ~(KALAM_OPEN_CREATE_IF_MISSING)) {
    return fail(status, KALAM_INVALID_ARGUMENT,
                "open: unsupported flags 0x%x (read-only open is not offered)",
                (unsigned)params->flags);
  }
  for (i = 0; i < params->option_count; ++i) {
    const char *key = params->option_keys[i];
    const char *value = params->option_values[i];
    if (strcmp(key, "max_keys") == 0) {
      char *end = NULL;
      const unsigned long long n = strtoull(value, &end, 10);
      if (*value == '\0' || *value == '-' || end == NULL || *end != '\0') {
        return fail(status, KALAM_INVALID_ARGUMENT,
                    "option 'max_keys' must be a whole number, not '%s'",
                    value);
      }
      max_keys = (size_t)n;
    } else {
      return fail(status, KALAM_INVALID_ARGUMENT,
                  "unknown option '%s'; the template plugin takes only "
                  "'max_keys'",
                  key);
    }
  }
  db = (kalam_db *)calloc(1, sizeof *db);
  if (db == NULL) return fail(status, KALAM_NO_MEMORY, "open: out of memory");
  db->max_keys = max_keys;
  *out_db = db;
  return KALAM_OK;
}

static int t_close(kalam_db *db, kalam_status *status) {
  kalam_cf *cf, *next;
  if (db == NULL) return fail(status, KALAM_INVALID_ARGUMENT, "close: NULL");
  if (db->live_iterators > 0) {
    return fail(status, KALAM_BUSY, "close: %d iterator(s) still open",
                db->live_iterators);
  }
  free_entries(&db->default_cf);
  for (cf = db->families; cf != NULL; cf = next) {
    next = cf->next;
    free_entries(cf);
    free(cf->name);
    free(cf);
  }
  free(db);
  return KALAM_OK;
}

static int t_flush(kalam_db *db, uint32_t flags, kalam_status *status) {
  if (db == NULL || flags != 0) {
    return fail(status, KALAM_INVALID_ARGUMENT, "flush: bad arguments");
  }
  return KALAM_OK; /* nothing to make durable: the store is in memory */
}

/* ---- Column families ----------------------------------------------------- */

static int t_cf_open(kalam_db *db, const char *name, uint32_t flags,
                     kalam_cf **out_cf, kalam_status *status) {
  kalam_cf *cf;
  if (db == NULL || name == NULL || out_cf == NULL || name[0] == '\0' ||
      (flags & ~KALAM_CF_CREATE_IF_MISSING)) {
    return fail(status, KALAM_INVALID_ARGUMENT, "cf_open: bad arguments");
  }
  if (strcmp(name, "default") == 0) {
    *out_cf = NULL;
    return KALAM_OK;
  }
  for (cf = db->families; cf != NULL; cf = cf->next) {
    if (!cf->dropped && strcmp(cf->name, name) == 0) {
      *out_cf = cf;
      return KALAM_OK;
    }
  }
  if (!(flags & KALAM_CF_CREATE_IF_MISSING)) return KALAM_NOT_FOUND;
  cf = (kalam_cf *)calloc(1, sizeof *cf);
  if (cf != NULL) cf->name = (char *)copy_bytes(name, strlen(name) + 1);
  if (cf == NULL || cf->name == NULL) {
    free(cf);
    return fail(status, KALAM_NO_MEMORY, "cf_open: out of memory");
  }
  cf->next = db->families;
  db->families = cf;
  *out_cf = cf;
  return KALAM_OK;
}

static int t_cf_drop(kalam_db *db, kalam_cf *cf, kalam_status *status) {
  if (db == NULL || cf == NULL) {
    return fail(status, KALAM_INVALID_ARGUMENT,
                "cf_drop: the default column family cannot be dropped");
  }
  if (cf->dropped) {
    return fail(status, KALAM_DROPPED, "column family '%s' was dropped",
                cf->name);
  }
  db->total_keys -= cf->count;
  free_entries(cf);
  cf->dropped = 1;
  return KALAM_OK;
}

static int t_cf_list(kalam_db *db, kalam_name_visitor visit, void *ctx,
                     kalam_status *status) {
  kalam_cf *cf;
  if (db == NULL || visit == NULL) {
    return fail(status, KALAM_INVALID_ARGUMENT, "cf_list: NULL argument");
  }
  visit(ctx, "default");
  for (cf = db->families; cf != NULL; cf = cf->next) {
    if (!cf->dropped) visit(ctx, cf->name);
  }
  return KALAM_OK;
}

/* ---- Point reads --------------------------------------------------------- */

/* Finds `key`; returns KALAM_OK with *found set, KALAM_NOT_FOUND, or an
 * error. Snapshots are not offered, so a read option with one is refused. */
static int lookup(kalam_db *db, const kalam_read_options *options, kalam_cf *cf,
                  const void *key, size_t key_len, const entry **found,
                  kalam_status *status) {
  size_t i;
  if (db == NULL || (key == NULL && key_len != 0)) {
    return fail(status, KALAM_INVALID_ARGUMENT, "get: NULL argument");
  }
  if (options != NULL && options->snapshot != NULL) {
    return fail(status, KALAM_NOT_SUPPORTED, "snapshots are not supported");
  }
  cf = family(db, cf);
  if (cf->dropped) {
    return fail(status, KALAM_DROPPED, "column family '%s' was dropped",
                cf->name);
  }
  i = lower_bound(cf, key, key_len);
  if (!key_at(cf, i, key, key_len)) return KALAM_NOT_FOUND;
  *found = &cf->entries[i];
  return KALAM_OK;
}

static int t_get(kalam_db *db, const kalam_read_options *options, kalam_cf *cf,
                 const void *key, size_t key_len, kalam_value_visitor visit,
                 void *ctx, kalam_status *status) {
  const entry *e = NULL;
  int rc;
  if (visit == NULL) {
    return fail(status, KALAM_INVALID_ARGUMENT, "get: NULL visitor");
  }
  rc = lookup(db, options, cf, key, key_len, &e, status);
  if (rc == KALAM_OK) visit(ctx, e->value, e->value_len);
  return rc;
}

static int t_get_into(kalam_db *db, const kalam_read_options *options,
                      kalam_cf *cf, const void *key, size_t key_len, void *buf,
                      size_t buf_size, size_t *value_len,
                      kalam_status *status) {
  const entry *e = NULL;
  int rc;
  if (value_len == NULL || (buf == NULL && buf_size != 0)) {
    return fail(status, KALAM_INVALID_ARGUMENT, "get_into: NULL argument");
  }
  rc = lookup(db, options, cf, key, key_len, &e, status);
  if (rc != KALAM_OK) return rc;
  *value_len = e->value_len;
  if (e->value_len > buf_size) {
    return fail(status, KALAM_BUFFER_TOO_SMALL,
                "value is %zu bytes; the buffer holds %zu", e->value_len,
                buf_size);
  }
  if (e->value_len != 0) memcpy(buf, e->value, e->value_len);
  return KALAM_OK;
}

static int t_multi_get(kalam_db *db, const kalam_read_options *options,
                       size_t count, kalam_cf *const *cfs,
                       const void *const *keys, const size_t *key_lens,
                       kalam_multi_get_visitor visit, void *ctx,
                       kalam_status *status) {
  size_t i;
  if (db == NULL || visit == NULL ||
      (count != 0 && (keys == NULL || key_lens == NULL))) {
    return fail(status, KALAM_INVALID_ARGUMENT, "multi_get: NULL argument");
  }
  for (i = 0; i < count; ++i) {
    const entry *e = NULL;
    const int rc = lookup(db, options, cfs != NULL ? cfs[i] : NULL, keys[i],
                          key_lens[i], &e, NULL);
    if (rc == KALAM_OK) {
      visit(ctx, i, rc, e->value, e->value_len);
    } else {
      visit(ctx, i, rc, NULL, 0);
    }
  }
  return KALAM_OK;
}

/* ---- Writes -------------------------------------------------------------- */

/* A write is atomic because it happens in two phases: phase 1 checks every
 * op and allocates everything the write needs (copies, array room); only if
 * all of that succeeded does phase 2 apply the ops, and phase 2 cannot fail.
 */
/* Phase 1a of a write: checks the options and every op; counts the puts. */
static int check_ops(kalam_db *db, const kalam_write_options *options,
                     const kalam_write_op *ops, size_t op_count, size_t *puts,
                     kalam_status *status) {
  size_t i;
  *puts = 0;
  if (db == NULL || options == NULL || (ops == NULL && op_count != 0)) {
    return fail(status, KALAM_INVALID_ARGUMENT, "write: NULL argument");
  }
  if (options->op_stride < sizeof(kalam_write_op) ||
      (options->flags & ~KALAM_WRITE_SYNC)) {
    return fail(status, KALAM_INVALID_ARGUMENT,
                "write: op_stride %u is smaller than kalam_write_op, or "
                "unknown flags",
                (unsigned)options->op_stride);
  }
  for (i = 0; i < op_count; ++i) {
    const kalam_write_op *op = kalam_write_op_at(ops, options->op_stride, i);
    const kalam_cf *cf = family(db, op->cf);
    if (cf->dropped) {
      return fail(status, KALAM_DROPPED,
                  "op %zu: column family '%s' was dropped", i, cf->name);
    }
    if (op->type != KALAM_OP_PUT && op->type != KALAM_OP_DELETE &&
        op->type != KALAM_OP_DELETE_RANGE) {
      return fail(status, KALAM_INVALID_ARGUMENT, "op %zu: unknown type %u", i,
                  (unsigned)op->type);
    }
    if (op->type != KALAM_OP_DELETE_RANGE && op->key_len == 0) {
      return fail(status, KALAM_INVALID_ARGUMENT, "op %zu: empty key", i);
    }
    if ((op->key == NULL && op->key_len != 0) ||
        (op->value == NULL && op->value_len != 0)) {
      return fail(status, KALAM_INVALID_ARGUMENT, "op %zu: NULL bytes", i);
    }
    if (op->type == KALAM_OP_PUT) ++*puts;
  }
  return KALAM_OK;
}

static int t_write(kalam_db *db, const kalam_write_options *options,
                   const kalam_write_op *ops, size_t op_count,
                   kalam_status *status) {
  unsigned char **copies = NULL; /* key and value copy per op */
  size_t i, puts = 0;
  int rc = check_ops(db, options, ops, op_count, &puts, status);
  if (rc != KALAM_OK) return rc;
  if (db->max_keys != 0 && db->total_keys + puts > db->max_keys) {
    return fail(status, KALAM_NO_SPACE,
                "the write could grow the store past max_keys=%zu; raise the "
                "'max_keys' option",
                db->max_keys);
  }
  /* Phase 1b: allocate copies and room for every insert. */
  copies = (unsigned char **)calloc(op_count * 2 + 1, sizeof *copies);
  if (copies == NULL) return fail(status, KALAM_NO_MEMORY, "out of memory");
  for (i = 0; i < op_count && rc == KALAM_OK; ++i) {
    const kalam_write_op *op = kalam_write_op_at(ops, options->op_stride, i);
    kalam_cf *cf = family(db, op->cf);
    if (op->type != KALAM_OP_PUT) continue;
    copies[2 * i] = copy_bytes(op->key, op->key_len);
    copies[2 * i + 1] = copy_bytes(op->value, op->value_len);
    if (copies[2 * i] == NULL || copies[2 * i + 1] == NULL)
      rc = KALAM_NO_MEMORY;
    if (rc == KALAM_OK && cf->count + puts > cf->capacity) {
      const size_t want = (cf->count + puts) * 2;
      entry *grown = (entry *)realloc(cf->entries, want * sizeof *grown);
      if (grown == NULL) {
        rc = KALAM_NO_MEMORY;
      } else {
        cf->entries = grown;
        cf->capacity = want;
      }
    }
  }
  if (rc != KALAM_OK) {
    for (i = 0; i < op_count * 2; ++i) free(copies[i]);
    free(copies);
    return fail(status, rc, "write: out of memory; nothing was applied");
  }
  /* Phase 2: apply in order; nothing here can fail. */
  for (i = 0; i < op_count; ++i) {
    const kalam_write_op *op = kalam_write_op_at(ops, options->op_stride, i);
    kalam_cf *cf = family(db, op->cf);
    const size_t at = lower_bound(cf, op->key, op->key_len);
    if (op->type == KALAM_OP_PUT) {
      if (key_at(cf, at, op->key, op->key_len)) {
        free(copies[2 * i]);
        free(cf->entries[at].value);
      } else {
        memmove(&cf->entries[at + 1], &cf->entries[at],
                (cf->count - at) * sizeof(entry));
        cf->entries[at].key = copies[2 * i];
        cf->entries[at].key_len = op->key_len;
        ++cf->count;
        ++db->total_keys;
      }
      cf->entries[at].value = copies[2 * i + 1];
      cf->entries[at].value_len = op->value_len;
    } else {
      /* DELETE removes [key, key]; DELETE_RANGE removes [key, value). */
      size_t end = at, j;
      if (op->type == KALAM_OP_DELETE) {
        end = key_at(cf, at, op->key, op->key_len) ? at + 1 : at;
      } else if (compare(op->key, op->key_len, op->value, op->value_len) < 0) {
        end = lower_bound(cf, op->value, op->value_len);
      }
      if (end > at) { /* an empty range touches nothing (entries may be NULL) */
        for (j = at; j < end; ++j) {
          free(cf->entries[j].key);
          free(cf->entries[j].value);
        }
        memmove(&cf->entries[at], &cf->entries[end],
                (cf->count - end) * sizeof(entry));
        cf->count -= end - at;
        db->total_keys -= end - at;
      }
    }
  }
  free(copies);
  return KALAM_OK;
}

/* ---- ABI 1.2: conditional writes and read-modify-write --------------------
 */

/* The plugin is not thread-safe, so the host serialises every call on the
 * database: nothing runs between the checks below and t_write(). A
 * thread-safe plugin does the same under its write lock or inside its
 * write transaction. */
static int t_write_conditional(kalam_db *db, const kalam_write_options *options,
                               const kalam_expectation *expects,
                               size_t expect_count, const kalam_write_op *ops,
                               size_t op_count, kalam_status *status) {
  size_t i, puts = 0;
  int rc;
  if (expects == NULL && expect_count != 0) {
    return fail(status, KALAM_INVALID_ARGUMENT, "expects: NULL argument");
  }
  /* Validate everything before checking anything. */
  for (i = 0; i < expect_count; ++i) {
    const kalam_expectation *e = &expects[i];
    if ((e->type != KALAM_EXPECT_VALUE && e->type != KALAM_EXPECT_ABSENT &&
         e->type != KALAM_EXPECT_PRESENT) ||
        e->reserved0 != 0 || e->key == NULL || e->key_len == 0 ||
        (e->value == NULL && e->value_len != 0)) {
      return fail(status, KALAM_INVALID_ARGUMENT,
                  "expectation %zu: unknown type, non-zero reserved0, empty "
                  "key or NULL bytes; nothing was applied",
                  i);
    }
  }
  rc = check_ops(db, options, ops, op_count, &puts, status);
  if (rc != KALAM_OK) return rc;
  /* Check in index order; the first that fails decides. */
  for (i = 0; i < expect_count; ++i) {
    const kalam_expectation *e = &expects[i];
    const entry *found = NULL;
    int holds;
    rc = lookup(db, NULL, e->cf, e->key, e->key_len, &found, status);
    if (rc != KALAM_OK && rc != KALAM_NOT_FOUND) return rc;
    if (e->type == KALAM_EXPECT_ABSENT) {
      holds = rc == KALAM_NOT_FOUND;
    } else if (e->type == KALAM_EXPECT_PRESENT) {
      holds = rc == KALAM_OK;
    } else {
      holds = rc == KALAM_OK && compare(found->value, found->value_len,
                                        e->value, e->value_len) == 0;
    }
    if (!holds) {
      fail(status, KALAM_CONFLICT,
           "expectation %zu does not hold; nothing was applied", i);
      /* native_code names the first failed expectation. */
      if (status != NULL &&
          status->struct_size >=
              offsetof(kalam_status, native_code) + sizeof(int64_t)) {
        status->native_code = (int64_t)i;
      }
      return KALAM_CONFLICT;
    }
  }
  return t_write(db, options, ops, op_count, status);
}

/* Reads the keys, hands them to the host's visitor and applies what it
 * returns. The views handed out point into the entries array, which nothing
 * changes while the visitor runs (it must not call back into the plugin). */
static int t_read_modify_write(kalam_db *db, const kalam_write_options *options,
                               size_t count, kalam_cf *const *cfs,
                               const void *const *keys, const size_t *key_lens,
                               kalam_rmw_visitor visit, void *ctx,
                               kalam_status *status) {
  kalam_rmw_value *current;
  const kalam_write_op *ops = NULL;
  size_t i, op_count = 0;
  int rc = KALAM_OK;
  if (db == NULL || options == NULL || visit == NULL ||
      (count != 0 && (keys == NULL || key_lens == NULL))) {
    return fail(status, KALAM_INVALID_ARGUMENT,
                "read_modify_write: NULL argument");
  }
  current = (kalam_rmw_value *)calloc(count + 1, sizeof *current);
  if (current == NULL) return fail(status, KALAM_NO_MEMORY, "out of memory");
  for (i = 0; i < count && rc == KALAM_OK; ++i) {
    const entry *found = NULL;
    if (keys[i] == NULL || key_lens[i] == 0) {
      rc = fail(status, KALAM_INVALID_ARGUMENT, "key %zu is empty", i);
      break;
    }
    rc = lookup(db, NULL, cfs != NULL ? cfs[i] : NULL, keys[i], key_lens[i],
                &found, status);
    current[i].code = rc;
    if (rc == KALAM_OK) {
      current[i].value = found->value;
      current[i].value_len = found->value_len;
    } else if (rc == KALAM_NOT_FOUND) {
      rc = KALAM_OK;
    }
  }
  if (rc == KALAM_OK && visit(ctx, count, current, &ops, &op_count) == 0 &&
      op_count != 0) {
    rc = t_write(db, options, ops, op_count, status);
  }
  free(current);
  return rc;
}

/* ---- Snapshots: not offered ---------------------------------------------- */

static int t_snapshot_create(kalam_db *db, kalam_snapshot **out,
                             kalam_status *status) {
  (void)db;
  (void)out;
  return fail(status, KALAM_NOT_SUPPORTED,
              "the template plugin has no snapshots");
}

static void t_snapshot_release(kalam_db *db, kalam_snapshot *snapshot) {
  (void)db;
  (void)snapshot;
}

/* ---- Iterators ----------------------------------------------------------- */

static int t_iter_create(kalam_db *db, const kalam_iter_options *options,
                         kalam_cf *cf, kalam_iter **out, kalam_status *status) {
  kalam_iter *it;
  const uint32_t known = KALAM_ITER_LOWER_BOUND | KALAM_ITER_UPPER_BOUND |
                         KALAM_ITER_PREFIX | KALAM_ITER_REVERSE;
  if (db == NULL || out == NULL) {
    return fail(status, KALAM_INVALID_ARGUMENT, "iter_create: NULL argument");
  }
  if (options != NULL && options->snapshot != NULL) {
    return fail(status, KALAM_NOT_SUPPORTED, "snapshots are not supported");
  }
  if (options != NULL && (options->flags & ~known)) {
    return fail(status, KALAM_INVALID_ARGUMENT, "iter_create: unknown flags");
  }
  if (family(db, cf)->dropped) {
    return fail(status, KALAM_DROPPED, "column family '%s' was dropped",
                cf->name);
  }
  it = (kalam_iter *)calloc(1, sizeof *it);
  if (it == NULL) return fail(status, KALAM_NO_MEMORY, "out of memory");
  it->db = db;
  it->cf = family(db, cf);
  /* The prefix is only a hint: the host has narrowed the bounds to it. */
  if (options != NULL && (options->flags & KALAM_ITER_LOWER_BOUND)) {
    it->has_lower = 1;
    it->lower_len = options->lower_len;
    it->lower = copy_bytes(options->lower, options->lower_len);
  }
  if (options != NULL && (options->flags & KALAM_ITER_UPPER_BOUND)) {
    it->has_upper = 1;
    it->upper_len = options->upper_len;
    it->upper = copy_bytes(options->upper, options->upper_len);
  }
  if ((it->has_lower && it->lower == NULL) ||
      (it->has_upper && it->upper == NULL)) {
    free(it->lower);
    free(it);
    return fail(status, KALAM_NO_MEMORY, "out of memory");
  }
  ++db->live_iterators;
  *out = it;
  return KALAM_OK;
}

static void t_iter_destroy(kalam_iter *it) {
  if (it == NULL) return;
  --it->db->live_iterators;
  free(it->lower);
  free(it->upper);
  free(it->key);
  free(it->value);
  free(it->arena);
  free(it);
}

/* Positions the iterator on entry `i` (SIZE_MAX or past the end: nowhere),
 * checking the bounds. Returns the move's result code. */
static int land(kalam_iter *it, size_t i, kalam_status *status) {
  const kalam_cf *cf = it->cf;
  const entry *e;
  it->positioned = 0;
  if (it->error != KALAM_OK) return it->error;
  if (cf->dropped) {
    it->error = KALAM_DROPPED;
    return fail(status, KALAM_DROPPED, "column family was dropped");
  }
  if (i >= cf->count) return KALAM_NOT_FOUND;
  e = &cf->entries[i];
  if (it->has_lower &&
      compare(e->key, e->key_len, it->lower, it->lower_len) < 0) {
    return KALAM_NOT_FOUND;
  }
  if (it->has_upper &&
      compare(e->key, e->key_len, it->upper, it->upper_len) >= 0) {
    return KALAM_NOT_FOUND;
  }
  free(it->key);
  free(it->value);
  it->key = copy_bytes(e->key, e->key_len);
  it->value = copy_bytes(e->value, e->value_len);
  if (it->key == NULL || it->value == NULL) {
    it->error = KALAM_NO_MEMORY;
    return fail(status, KALAM_NO_MEMORY, "out of memory");
  }
  it->key_len = e->key_len;
  it->value_len = e->value_len;
  it->positioned = 1;
  return KALAM_OK;
}

/* The index of the last entry with key < `key` (SIZE_MAX when none). */
static size_t before(const kalam_cf *cf, const void *key, size_t len) {
  return lower_bound(cf, key, len) - 1; /* wraps to SIZE_MAX at 0 */
}

static int t_iter_seek(kalam_iter *it, const void *target, size_t len,
                       kalam_status *status) {
  if (it == NULL || (target == NULL && len != 0)) {
    return fail(status, KALAM_INVALID_ARGUMENT, "iter_seek: NULL argument");
  }
  if (it->has_lower && compare(target, len, it->lower, it->lower_len) < 0) {
    target = it->lower;
    len = it->lower_len;
  }
  return land(it, lower_bound(it->cf, target, len), status);
}

static int t_iter_seek_first(kalam_iter *it, kalam_status *status) {
  return t_iter_seek(it, "", 0, status);
}

static int t_iter_seek_for_prev(kalam_iter *it, const void *target, size_t len,
                                kalam_status *status) {
  size_t i;
  if (it == NULL || (target == NULL && len != 0)) {
    return fail(status, KALAM_INVALID_ARGUMENT, "iter_seek_for_prev: NULL");
  }
  if (it->has_upper && compare(target, len, it->upper, it->upper_len) >= 0) {
    i = before(it->cf, it->upper, it->upper_len);
  } else {
    i = lower_bound(it->cf, target, len);
    if (!key_at(it->cf, i, target, len)) --i; /* wraps to SIZE_MAX at 0 */
  }
  return land(it, i, status);
}

static int t_iter_seek_last(kalam_iter *it, kalam_status *status) {
  if (it == NULL) return fail(status, KALAM_INVALID_ARGUMENT, "NULL iterator");
  if (it->has_upper)
    return land(it, before(it->cf, it->upper, it->upper_len), status);
  return land(it, it->cf->count - 1, status);
}

static int t_iter_next(kalam_iter *it, kalam_status *status) {
  size_t i;
  if (it == NULL) return fail(status, KALAM_INVALID_ARGUMENT, "NULL iterator");
  if (it->error != KALAM_OK) return it->error;
  if (!it->positioned) return KALAM_NOT_FOUND;
  i = lower_bound(it->cf, it->key, it->key_len);
  if (key_at(it->cf, i, it->key, it->key_len)) ++i;
  return land(it, i, status);
}

static int t_iter_prev(kalam_iter *it, kalam_status *status) {
  if (it == NULL) return fail(status, KALAM_INVALID_ARGUMENT, "NULL iterator");
  if (it->error != KALAM_OK) return it->error;
  if (!it->positioned) return KALAM_NOT_FOUND;
  return land(it, before(it->cf, it->key, it->key_len), status);
}

static int t_iter_valid(const kalam_iter *it) {
  return it != NULL && it->positioned;
}

static int t_iter_entry(const kalam_iter *it, const void **key, size_t *key_len,
                        const void **value, size_t *value_len) {
  if (it == NULL || !it->positioned) return KALAM_NOT_FOUND;
  if (key != NULL) *key = it->key;
  if (key_len != NULL) *key_len = it->key_len;
  if (value != NULL) *value = it->value;
  if (value_len != NULL) *value_len = it->value_len;
  return KALAM_OK;
}

static int t_iter_status(const kalam_iter *it, kalam_status *status) {
  if (it == NULL) return fail(status, KALAM_INVALID_ARGUMENT, "NULL iterator");
  if (it->error != KALAM_OK) {
    return fail(status, it->error, "the iterator failed earlier");
  }
  return KALAM_OK;
}

static int t_iter_next_batch(kalam_iter *it, uint32_t flags, size_t max,
                             kalam_entry_visitor visit, void *ctx,
                             size_t *consumed, kalam_status *status) {
  size_t n = 0;
  int rc = KALAM_OK;
  if (consumed != NULL) *consumed = 0;
  if (it == NULL || visit == NULL || (flags & ~KALAM_BATCH_REVERSE)) {
    return fail(status, KALAM_INVALID_ARGUMENT, "iter_next_batch: bad args");
  }
  if (it->error != KALAM_OK) return it->error;
  if (!it->positioned) return KALAM_NOT_FOUND;
  while (n < max && rc == KALAM_OK) {
    if (visit(ctx, it->key, it->key_len, it->value, it->value_len) != 0) break;
    ++n;
    rc = (flags & KALAM_BATCH_REVERSE) ? t_iter_prev(it, status)
                                       : t_iter_next(it, status);
  }
  if (consumed != NULL) *consumed = n;
  return rc;
}

/* ABI 1.1: the array batch. The iterator's own copy of the current entry
 * is replaced at every move, so each entry is copied into the per-iterator
 * arena first: its views then stay valid until the next move, as the ABI
 * asks. The arena holds the offsets while it grows (realloc may move it);
 * they become pointers at the end. */
static int t_iter_read_batch(kalam_iter *it, uint32_t flags, size_t max,
                             kalam_entry *out, size_t *filled,
                             kalam_status *status) {
  size_t n = 0, used = 0, i;
  int rc = KALAM_OK;
  if (filled != NULL) *filled = 0;
  if (it == NULL || filled == NULL || (out == NULL && max > 0) ||
      (flags & ~KALAM_BATCH_REVERSE)) {
    return fail(status, KALAM_INVALID_ARGUMENT, "iter_read_batch: bad args");
  }
  if (it->error != KALAM_OK) {
    return fail(status, it->error, "the iterator failed earlier");
  }
  if (!it->positioned) return KALAM_NOT_FOUND;
  while (n < max && rc == KALAM_OK) {
    const size_t need = used + it->key_len + it->value_len;
    if (need > it->arena_cap) {
      size_t cap = it->arena_cap ? it->arena_cap : 4096;
      unsigned char *grown;
      while (cap < need) cap *= 2;
      grown = (unsigned char *)realloc(it->arena, cap);
      if (grown == NULL) {
        /* Sticky, like a failed copy in land(); the entries so far are
         * good. */
        it->error = KALAM_NO_MEMORY;
        it->positioned = 0;
        rc = fail(status, KALAM_NO_MEMORY, "iter_read_batch: out of memory");
        break;
      }
      it->arena = grown;
      it->arena_cap = cap;
    }
    memcpy(it->arena + used, it->key, it->key_len);
    if (it->value_len > 0) {
      memcpy(it->arena + used + it->key_len, it->value, it->value_len);
    }
    out[n].key_len = it->key_len;
    out[n].value_len = it->value_len;
    used = need;
    ++n;
    rc = (flags & KALAM_BATCH_REVERSE) ? t_iter_prev(it, status)
                                       : t_iter_next(it, status);
  }
  used = 0;
  for (i = 0; i < n; ++i) {
    out[i].key = it->arena + used;
    used += out[i].key_len;
    out[i].value = it->arena + used;
    used += out[i].value_len;
  }
  *filled = n;
  return rc;
}

/* ---- The entry point ----------------------------------------------------- */

static const kalam_backend_vtable kTable = {
    sizeof(kalam_backend_vtable), 0, t_open, t_close, t_flush, t_cf_open,
    t_cf_drop, t_cf_list, t_get, t_get_into, t_multi_get, t_write,
    t_snapshot_create, t_snapshot_release, t_iter_create, t_iter_destroy,
    t_iter_seek_first, t_iter_seek_last, t_iter_seek, t_iter_seek_for_prev,
    t_iter_next, t_iter_prev, t_iter_valid, t_iter_entry, t_iter_status,
    t_iter_next_batch,
    NULL, /* compact_range: KALAM_CAP_COMPACT_RANGE not declared */
    NULL, /* get_property: KALAM_CAP_PROPERTIES not declared */
    NULL, /* checkpoint: KALAM_CAP_CHECKPOINT not declared */
    /* ABI 1.1 */
    t_iter_read_batch,
    /* ABI 1.2 */
    t_write_conditional, t_read_modify_write,
    NULL, /* get_limits: no per-write limits */
};

KALAM_PLUGIN_EXPORT int kalam_plugin_entry(const kalam_host *host,
                                           kalam_plugin_info *info,
                                           kalam_status *status);

KALAM_PLUGIN_EXPORT int kalam_plugin_entry(const kalam_host *host,
                                           kalam_plugin_info *info,
                                           kalam_status *status) {
  kalam_plugin_info mine;
  uint32_t host_size, size;
  if (host == NULL || info == NULL) {
    return fail(status, KALAM_INVALID_ARGUMENT, "NULL host or info");
  }
  if (host->abi_major != KALAM_ABI_VERSION_MAJOR) {
    return fail(status, KALAM_ABI_MISMATCH,
                "the template plugin speaks ABI %d.x, the host %u.x",
                KALAM_ABI_VERSION_MAJOR, (unsigned)host->abi_major);
  }
  memset(&mine, 0, sizeof mine);
  mine.abi_major = KALAM_ABI_VERSION_MAJOR;
  /* The highest minor this plugin implements (1.1: iter_read_batch; 1.2:
   * write_conditional, read_modify_write); a host that understands less
   * ignores the slots it does not know. */
  mine.abi_minor = 2;
  if (mine.abi_minor > host->abi_max_minor)
    mine.abi_minor = host->abi_max_minor;
  mine.pointer_size = (uint32_t)sizeof(void *);
  mine.size_t_size = (uint32_t)sizeof(size_t);
  mine.format_version = 1;
  mine.name = "template";
  mine.version = "1.0.0";
  mine.capabilities = KALAM_CAP_ATOMIC_BATCH | KALAM_CAP_REVERSE_ITERATION |
                      KALAM_CAP_DELETE_RANGE;
  /* ABI 1.2 bits mean nothing to an older host: declare them only to a 1.2
   * one. */
  if (mine.abi_minor >= 2) {
    mine.capabilities |=
        KALAM_CAP_CONDITIONAL_WRITE | KALAM_CAP_READ_MODIFY_WRITE;
  }
  mine.max_key_size = 0;
  mine.max_value_size = 0;
  mine.vtable = &kTable;
  /* Fill only what the host's struct has room for (it may be older). */
  host_size = info->struct_size;
  size = host_size < sizeof mine ? host_size : (uint32_t)sizeof mine;
  memcpy(info, &mine, size);
  info->struct_size = host_size;
  return KALAM_OK;
}
