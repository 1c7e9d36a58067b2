/* One small C plugin, compiled once per defect (tests/broken_plugins/
 * CMakeLists.txt) so the loader tests can check that each defect is refused
 * with its own message. With no defect defined it is a valid plugin whose
 * every call returns KALAM_NOT_SUPPORTED. */
#include <kalam/backend_api.h>
#include <string.h>

static int not_supported(kalam_status *status) {
  if (status != NULL && status->struct_size >= sizeof(kalam_status)) {
    status->code = KALAM_NOT_SUPPORTED;
    status->native_code = 0;
    strcpy(status->message, "the broken test plugin does nothing");
  }
  return KALAM_NOT_SUPPORTED;
}

static int p_open(const kalam_open_params *p, kalam_db **db, kalam_status *s) {
  (void)p;
  (void)db;
  return not_supported(s);
}
static int p_close(kalam_db *db, kalam_status *s) {
  (void)db;
  return not_supported(s);
}
static int p_flush(kalam_db *db, uint32_t f, kalam_status *s) {
  (void)db;
  (void)f;
  return not_supported(s);
}
static int p_cf_open(kalam_db *db, const char *n, uint32_t f, kalam_cf **cf,
                     kalam_status *s) {
  (void)db;
  (void)n;
  (void)f;
  (void)cf;
  return not_supported(s);
}
static int p_cf_drop(kalam_db *db, kalam_cf *cf, kalam_status *s) {
  (void)db;
  (void)cf;
  return not_supported(s);
}
static int p_cf_list(kalam_db *db, kalam_name_visitor v, void *c,
                     kalam_status *s) {
  (void)db;
  (void)v;
  (void)c;
  return not_supported(s);
}
static int p_get(kalam_db *db, const kalam_read_options *o, kalam_cf *cf,
                 const void *k, size_t kl, kalam_value_visitor v, void *c,
                 kalam_status *s) {
  (void)db;
  (void)o;
  (void)cf;
  (void)k;
  (void)kl;
  (void)v;
  (void)c;
  return not_supported(s);
}
static int p_get_into(kalam_db *db, const kalam_read_options *o, kalam_cf *cf,
                      const void *k, size_t kl, void *b, size_t bs, size_t *vl,
                      kalam_status *s) {
  (void)db;
  (void)o;
  (void)cf;
  (void)k;
  (void)kl;
  (void)b;
  (void)bs;
  (void)vl;
  return not_supported(s);
}
static int p_multi_get(kalam_db *db, const kalam_read_options *o, size_t n,
                       kalam_cf *const *cfs, const void *const *k,
                       const size_t *kl, kalam_multi_get_visitor v, void *c,
                       kalam_status *s) {
  (void)db;
  (void)o;
  (void)n;
  (void)cfs;
  (void)k;
  (void)kl;
  (void)v;
  (void)c;
  return not_supported(s);
}
static int p_write(kalam_db *db, const kalam_write_options *o,
                   const kalam_write_op *ops, size_t n, kalam_status *s) {
  (void)db;
  (void)o;
  (void)ops;
  (void)n;
  return not_supported(s);
}
static int p_snapshot_create(kalam_db *db, kalam_snapshot **snap,
                             kalam_status *s) {
  (void)db;
  (void)snap;
  return not_supported(s);
}
static void p_snapshot_release(kalam_db *db, kalam_snapshot *snap) {
  (void)db;
  (void)snap;
}
static int p_iter_create(kalam_db *db, const kalam_iter_options *o,
                         kalam_cf *cf, kalam_iter **it, kalam_status *s) {
  (void)db;
  (void)o;
  (void)cf;
  (void)it;
  return not_supported(s);
}
static void p_iter_destroy(kalam_iter *it) { (void)it; }
static int p_iter_move(kalam_iter *it, kalam_status *s) {
  (void)it;
  return not_supported(s);
}
static int p_iter_seek(kalam_iter *it, const void *t, size_t tl,
                       kalam_status *s) {
  (void)it;
  (void)t;
  (void)tl;
  return not_supported(s);
}
static int p_iter_valid(const kalam_iter *it) {
  (void)it;
  return 0;
}
static int p_iter_entry(const kalam_iter *it, const void **k, size_t *kl,
                        const void **v, size_t *vl) {
  (void)it;
  (void)k;
  (void)kl;
  (void)v;
  (void)vl;
  return KALAM_NOT_FOUND;
}
static int p_iter_status(const kalam_iter *it, kalam_status *s) {
  (void)it;
  (void)s;
  return KALAM_OK;
}
static int p_iter_next_batch(kalam_iter *it, uint32_t f, size_t max,
                             kalam_entry_visitor v, void *c, size_t *consumed,
                             kalam_status *s) {
  (void)it;
  (void)f;
  (void)max;
  (void)v;
  (void)c;
  if (consumed != NULL) *consumed = 0;
  return not_supported(s);
}

static const kalam_backend_vtable kTable = {
#ifdef BROKEN_SMALL_TABLE
    16,
#else
    sizeof(kalam_backend_vtable),
#endif
    0,
    p_open,
    p_close,
    p_flush,
    p_cf_open,
    p_cf_drop,
    p_cf_list,
    p_get,
    p_get_into,
    p_multi_get,
#ifdef BROKEN_NULL_FUNCTION
    NULL,
#else
    p_write,
#endif
    p_snapshot_create,
    p_snapshot_release,
    p_iter_create,
    p_iter_destroy,
    p_iter_move,
    p_iter_move,
    p_iter_seek,
    p_iter_seek,
    p_iter_move,
    p_iter_move,
    p_iter_valid,
    p_iter_entry,
    p_iter_status,
    p_iter_next_batch,
    NULL,
    NULL,
    NULL,
    NULL, /* iter_read_batch (ABI 1.1): optional */
};

#ifndef BROKEN_NAME
#define BROKEN_NAME "broken"
#endif

/* A library that crashes, or hangs, while it is loaded: a constructor runs
 * before the loader can look at anything. The hang is bounded so that a
 * stray process ends by itself; the loader's probe kills it after 5 s. */
#ifdef BROKEN_CRASH_IN_CONSTRUCTOR
#include <signal.h>
__attribute__((constructor)) static void crash_while_loading(void) {
  raise(SIGSEGV);
}
#endif
#ifdef BROKEN_HANG_IN_CONSTRUCTOR
#include <unistd.h>
__attribute__((constructor)) static void hang_while_loading(void) { sleep(60); }
#endif

/* The entry symbol as a data object: calling it would jump into data. */
#ifdef BROKEN_DATA_ENTRY
KALAM_PLUGIN_EXPORT const unsigned char kalam_plugin_entry[64] = {0};
#define ENTRY_NAME kalam_plugin_entry_unused
#endif

/* Without the entry symbol the library exports a near miss instead. */
#if defined(BROKEN_NO_ENTRY)
#define ENTRY_NAME kalam_plugin_entry_misspelt
#elif !defined(ENTRY_NAME)
#define ENTRY_NAME kalam_plugin_entry
#endif

KALAM_PLUGIN_EXPORT int ENTRY_NAME(const kalam_host *host,
                                   kalam_plugin_info *info,
                                   kalam_status *status);
KALAM_PLUGIN_EXPORT int ENTRY_NAME(const kalam_host *host,
                                   kalam_plugin_info *info,
                                   kalam_status *status) {
  (void)host;
#ifdef BROKEN_REFUSES
  if (status != NULL && status->struct_size >= sizeof(kalam_status)) {
    status->code = KALAM_ABI_MISMATCH;
    strcpy(status->message, "this plugin needs ABI major 7");
  }
  return KALAM_ABI_MISMATCH;
#else
  (void)status;
#endif
  info->abi_major = KALAM_ABI_VERSION_MAJOR;
  info->abi_minor = KALAM_ABI_VERSION_MINOR;
  info->pointer_size = (uint32_t)sizeof(void *);
  info->size_t_size = (uint32_t)sizeof(size_t);
#ifdef BROKEN_MAJOR
  info->abi_major = KALAM_ABI_VERSION_MAJOR + 1;
#endif
#ifdef BROKEN_MINOR
  info->abi_minor = KALAM_ABI_VERSION_MINOR + 99;
#endif
#ifdef BROKEN_POINTER_SIZE
  info->pointer_size = 4;
#endif
  info->format_version = 1;
  info->name = BROKEN_NAME;
  info->version = "0.0.1-broken";
  info->capabilities = 0;
  info->max_key_size = 0;
  info->max_value_size = 0;
  info->vtable = &kTable;
  return KALAM_OK;
}
