// kalam_disorderly.so: the memory plugin with iterators that break the
// order and bounds contract, so the engine's iterator checks
// (OpenOptions::check_iterators) can be tested. The open option `disorder`
// (taken out before the memory plugin sees the options) picks the defect for
// every iterator of that database:
//   none           a correct iterator (the default)
//   repeat         the second next()/prev() of an iterator does not move:
//                  the same key comes again
//   step_back      the second next() moves backwards instead (and the
//                  second prev() forwards): a key out of order
//   ignore_bounds  the lower/upper bounds and the prefix are dropped: keys
//                  beyond the bounds
//   seek_short     seek() lands one entry before its target, and
//                  seek_for_prev() one after
// iter_next_batch and iter_read_batch (ABI 1.1) are built from the same
// (defective) steps, so both batched walks show the same defect. Built with
// DISORDERLY_ABI_1_0 (kalam_disorderly10.so), the function table is a 1.0
// one (no iter_read_batch), so the engine takes its iter_next_batch path. The
// mode is process-wide (the last open sets it): one database at a time.
#include <kalam/backend_api.h>

#include <cstdio>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "wrapped_plugin.h"

namespace {

enum class Disorder { kNone, kRepeat, kStepBack, kIgnoreBounds, kSeekShort };

kalam_backend_vtable g_table;
const kalam_backend_vtable* g_real = nullptr;
Disorder g_disorder = Disorder::kNone;

struct WrappedIter {
  kalam_iter* real;
  int steps = 0;      // next()/prev() calls so far
  std::string arena;  // read_batch(): the last batch's entries
};

kalam_iter* real_of(const kalam_iter* it) {
  return reinterpret_cast<const WrappedIter*>(it)->real;
}
WrappedIter* wrapped(kalam_iter* it) {
  return reinterpret_cast<WrappedIter*>(it);
}

int fail(kalam_status* s, int code, const std::string& message) {
  if (s != nullptr && s->struct_size >= sizeof *s) {
    s->code = code;
    std::snprintf(s->message, sizeof s->message, "%s", message.c_str());
  }
  return code;
}

int open_db(const kalam_open_params* params, kalam_db** out, kalam_status* s) {
  if (params == nullptr) return g_real->open(params, out, s);
  std::vector<const char*> keys, values;
  Disorder disorder = Disorder::kNone;
  for (size_t i = 0; i < params->option_count; ++i) {
    if (std::strcmp(params->option_keys[i], "disorder") != 0) {
      keys.push_back(params->option_keys[i]);
      values.push_back(params->option_values[i]);
      continue;
    }
    const std::string v = params->option_values[i];
    if (v == "none") {
      disorder = Disorder::kNone;
    } else if (v == "repeat") {
      disorder = Disorder::kRepeat;
    } else if (v == "step_back") {
      disorder = Disorder::kStepBack;
    } else if (v == "ignore_bounds") {
      disorder = Disorder::kIgnoreBounds;
    } else if (v == "seek_short") {
      disorder = Disorder::kSeekShort;
    } else {
      return fail(s, KALAM_INVALID_ARGUMENT,
                  "option 'disorder': unknown value '" + v + "'");
    }
  }
  kalam_open_params real = *params;
  real.option_keys = keys.data();
  real.option_values = values.data();
  real.option_count = keys.size();
  const int rc = g_real->open(&real, out, s);
  if (rc == KALAM_OK) g_disorder = disorder;
  return rc;
}

int iter_create(kalam_db* db, const kalam_iter_options* options, kalam_cf* cf,
                kalam_iter** out, kalam_status* s) {
  kalam_iter_options altered{};
  if (options != nullptr) {
    altered = *options;
    if (g_disorder == Disorder::kIgnoreBounds) {
      altered.flags &= ~(KALAM_ITER_LOWER_BOUND | KALAM_ITER_UPPER_BOUND |
                         KALAM_ITER_PREFIX);
    }
  }
  auto* it = new (std::nothrow) WrappedIter{nullptr};
  if (it == nullptr || out == nullptr) {
    delete it;
    return fail(s, KALAM_INVALID_ARGUMENT, "iter_create: no memory or out");
  }
  const int rc = g_real->iter_create(
      db, options == nullptr ? nullptr : &altered, cf, &it->real, s);
  if (rc != KALAM_OK) {
    delete it;
    return rc;
  }
  *out = reinterpret_cast<kalam_iter*>(it);
  return KALAM_OK;
}

void iter_destroy(kalam_iter* it) {
  if (it == nullptr) return;
  g_real->iter_destroy(real_of(it));
  delete wrapped(it);
}

int seek_first(kalam_iter* it, kalam_status* s) {
  return g_real->iter_seek_first(real_of(it), s);
}
int seek_last(kalam_iter* it, kalam_status* s) {
  return g_real->iter_seek_last(real_of(it), s);
}

int seek(kalam_iter* it, const void* target, size_t len, kalam_status* s) {
  int rc = g_real->iter_seek(real_of(it), target, len, s);
  if (rc == KALAM_OK && g_disorder == Disorder::kSeekShort) {
    rc = g_real->iter_prev(real_of(it), s);
  }
  return rc;
}

int seek_for_prev(kalam_iter* it, const void* target, size_t len,
                  kalam_status* s) {
  int rc = g_real->iter_seek_for_prev(real_of(it), target, len, s);
  if (rc == KALAM_OK && g_disorder == Disorder::kSeekShort) {
    rc = g_real->iter_next(real_of(it), s);
  }
  return rc;
}

// One step in `forward` direction, broken on the second step.
int step(kalam_iter* it, bool forward, kalam_status* s) {
  const bool second = ++wrapped(it)->steps == 2;
  if (second && g_disorder == Disorder::kRepeat) {
    return g_real->iter_valid(real_of(it)) ? KALAM_OK : KALAM_NOT_FOUND;
  }
  if (second && g_disorder == Disorder::kStepBack) forward = !forward;
  return forward ? g_real->iter_next(real_of(it), s)
                 : g_real->iter_prev(real_of(it), s);
}

int next(kalam_iter* it, kalam_status* s) { return step(it, true, s); }
int prev(kalam_iter* it, kalam_status* s) { return step(it, false, s); }

int valid(const kalam_iter* it) { return g_real->iter_valid(real_of(it)); }

int entry(const kalam_iter* it, const void** k, size_t* kl, const void** v,
          size_t* vl) {
  return g_real->iter_entry(real_of(it), k, kl, v, vl);
}

int status(const kalam_iter* it, kalam_status* s) {
  return g_real->iter_status(real_of(it), s);
}

// iter_entry() + step() in a loop, as the ABI defines the batched walk.
int next_batch(kalam_iter* it, uint32_t flags, size_t max_entries,
               kalam_entry_visitor visit, void* ctx, size_t* consumed,
               kalam_status* s) {
  size_t done = 0;
  int rc = valid(it) ? KALAM_OK : KALAM_NOT_FOUND;
  while (rc == KALAM_OK && done < max_entries) {
    const void *k = nullptr, *v = nullptr;
    size_t kl = 0, vl = 0;
    rc = entry(it, &k, &kl, &v, &vl);
    if (rc != KALAM_OK) break;
    if (visit(ctx, k, kl, v, vl) != 0) break;
    ++done;
    rc = step(it, (flags & KALAM_BATCH_REVERSE) == 0, s);
  }
  if (consumed != nullptr) *consumed = done;
  return rc;
}

// iter_entry() + step() in a loop, each entry copied into the iterator's
// arena (the memory plugin's views would do, but a step of this wrapper may
// be anything).
[[maybe_unused]] int read_batch(kalam_iter* it, uint32_t flags,
                                size_t max_entries, kalam_entry* out,
                                size_t* filled, kalam_status* s) {
  if (filled == nullptr || (out == nullptr && max_entries > 0)) {
    return fail(s, KALAM_INVALID_ARGUMENT, "disorderly: read_batch: NULL");
  }
  std::string& arena = wrapped(it)->arena;
  arena.clear();
  size_t done = 0;
  int rc = valid(it) ? KALAM_OK : KALAM_NOT_FOUND;
  while (rc == KALAM_OK && done < max_entries) {
    const void *k = nullptr, *v = nullptr;
    size_t kl = 0, vl = 0;
    rc = entry(it, &k, &kl, &v, &vl);
    if (rc != KALAM_OK) break;
    out[done].key_len = kl;
    out[done].value_len = vl;
    arena.append(static_cast<const char*>(k), kl);
    arena.append(static_cast<const char*>(v), vl);
    ++done;
    rc = step(it, (flags & KALAM_BATCH_REVERSE) == 0, s);
  }
  const char* base = arena.data();
  for (size_t i = 0; i < done; ++i) {
    out[i].key = base;
    base += out[i].key_len;
    out[i].value = base;
    base += out[i].value_len;
  }
  *filled = done;
  return rc;
}

}  // namespace

KALAM_PLUGIN_EXPORT int kalam_plugin_entry(const kalam_host* host,
                                           kalam_plugin_info* info,
                                           kalam_status* status_out) {
  const int rc = kalam::test::wrapped_plugin_entry(KALAM_DISORDERLY_WRAPS, host,
                                                   info, status_out);
  if (rc != KALAM_OK || !kalam::test::info_covers_all(info)) return rc;
  g_real = info->vtable;
  std::memcpy(&g_table, g_real, sizeof g_table);
  g_table.open = open_db;
  g_table.iter_create = iter_create;
  g_table.iter_destroy = iter_destroy;
  g_table.iter_seek_first = seek_first;
  g_table.iter_seek_last = seek_last;
  g_table.iter_seek = seek;
  g_table.iter_seek_for_prev = seek_for_prev;
  g_table.iter_next = next;
  g_table.iter_prev = prev;
  g_table.iter_valid = valid;
  g_table.iter_entry = entry;
  g_table.iter_status = status;
  g_table.iter_next_batch = next_batch;
#ifdef DISORDERLY_ABI_1_0
  g_table.struct_size = KALAM_BACKEND_VTABLE_SIZE_1_0;
  g_table.iter_read_batch = nullptr;
  info->abi_minor = 0;
  info->name = "disorderly10";
#else
  g_table.iter_read_batch = read_batch;
  info->name = "disorderly";
#endif
  info->vtable = &g_table;
  return KALAM_OK;
}
