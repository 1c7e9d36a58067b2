// plugin_support.h - helpers shared by the in-tree storage plugins (memory,
// rocksdb, lmdb, sqlite): the pieces of the backend ABI contract that every
// plugin implements the same way. Header-only, C++20, standard library only.
//
// Rules fixed here, once for every plugin:
//  - A kalam_status is written only for codes other than KALAM_OK and
//    KALAM_NOT_FOUND, and only the fields its struct_size covers. A message
//    field that struct_size covers only partly gets a message truncated to
//    the covered bytes and NUL-terminated inside them; one not covered at all
//    is left alone.
//  - Byte sizes: digits, optional spaces, then an optional case-insensitive
//    unit: B; K, KB, KiB = 1024; M, MB, MiB = 1024^2; G, GB, GiB = 1024^3;
//    T, TB, TiB = 1024^4 (binary, as database configs conventionally mean).
//    No fractions, no signs; surrounding whitespace is ignored.
#pragma once

#include <kalam/backend_api.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace kalam_plugin {

// ---- struct_size -----------------------------------------------------------

// True when a struct whose struct_size is `struct_size` covers a field that
// ends at byte `field_end` (offsetof + sizeof).
constexpr bool covers(uint32_t struct_size, size_t field_end) noexcept {
  return field_end <= struct_size;
}

}  // namespace kalam_plugin

// True when the size-prefixed struct *ptr covers `field` (convention 7).
#define KALAM_PLUGIN_COVERS(ptr, field)                        \
  ::kalam_plugin::covers(                                      \
      (ptr)->struct_size,                                      \
      offsetof(std::remove_cvref_t<decltype(*(ptr))>, field) + \
          sizeof((ptr)->field))

namespace kalam_plugin {

// ---- kalam_status ----------------------------------------------------------

// Writes code, native code and `message` into `status` (may be NULL), each
// only as far as status->struct_size covers it (see the rule at the top).
// Does nothing for KALAM_OK and KALAM_NOT_FOUND. Returns `code`.
inline int set_status(kalam_status* status, int code, int64_t native_code,
                      std::string_view message) noexcept {
  if (status == nullptr || code == KALAM_OK || code == KALAM_NOT_FOUND) {
    return code;
  }
  if (KALAM_PLUGIN_COVERS(status, code)) status->code = code;
  if (KALAM_PLUGIN_COVERS(status, native_code)) {
    status->native_code = native_code;
  }
  constexpr size_t kBegin = offsetof(kalam_status, message);
  if (status->struct_size > kBegin) {
    const size_t room =
        std::min<size_t>(status->struct_size - kBegin, sizeof status->message);
    const size_t n = std::min(message.size(), room - 1);
    if (n > 0) std::memcpy(status->message, message.data(), n);
    status->message[n] = '\0';
  }
  return code;
}

// set_status() with a vprintf-formatted message. Never allocates.
inline int vfail(kalam_status* status, int code, int64_t native_code,
                 const char* format, va_list args) noexcept {
  if (status == nullptr || code == KALAM_OK || code == KALAM_NOT_FOUND) {
    return code;
  }
  char buf[KALAM_STATUS_MESSAGE_SIZE];
  const int n = std::vsnprintf(buf, sizeof buf, format, args);
  if (n < 0) buf[0] = '\0';
  return set_status(status, code, native_code, buf);
}

// set_status() with a printf-formatted message. Never allocates.
[[gnu::format(printf, 4, 5)]] inline int fail(kalam_status* status, int code,
                                              int64_t native_code,
                                              const char* format,
                                              ...) noexcept {
  va_list args;
  va_start(args, format);
  const int rc = vfail(status, code, native_code, format, args);
  va_end(args);
  return rc;
}

// Copies a filled status into `to`, as far as `to` covers.
inline void copy_status(const kalam_status& from, kalam_status* to) noexcept {
  set_status(to, from.code, from.native_code, from.message);
}

// ---- The exception firewall (convention 8) ---------------------------------

// Runs `body` (returning an int code) and turns any exception into
// KALAM_NO_MEMORY (std::bad_alloc) or KALAM_INTERNAL, with a message
// "<plugin> <where>: ..." (`where` may be NULL).
template <typename Body>
int guarded(kalam_status* status, const char* plugin, const char* where,
            Body&& body) noexcept {
  const char* sep = where != nullptr ? " " : "";
  if (where == nullptr) where = "";
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return fail(status, KALAM_NO_MEMORY, 0,
                "%s%s%s: out of memory; nothing was applied", plugin, sep,
                where);
  } catch (const std::exception& e) {
    return fail(status, KALAM_INTERNAL, 0, "%s%s%s: unexpected exception: %s",
                plugin, sep, where, e.what());
  } catch (...) {
    return fail(status, KALAM_INTERNAL, 0,
                "%s%s%s: unexpected non-standard exception", plugin, sep,
                where);
  }
}

// ---- Bytes -----------------------------------------------------------------

// Byte-wise order: memcmp, the shorter string first on a tie. <0, 0, >0.
inline int compare_bytes(const void* a, size_t a_len, const void* b,
                         size_t b_len) noexcept {
  const size_t n = std::min(a_len, b_len);
  const int c = n == 0 ? 0 : std::memcmp(a, b, n);
  if (c != 0) return c;
  return a_len < b_len ? -1 : (a_len > b_len ? 1 : 0);
}

// True for the malformed "NULL pointer with a non-zero length".
constexpr bool null_with_length(const void* data, size_t len) noexcept {
  return data == nullptr && len > 0;
}

// ---- Expectations (ABI 1.2 write_conditional) ------------------------------

// Validates expects[0..count): known types, reserved0 == 0, a non-empty key,
// no NULL pointer with a length. KALAM_OK, or KALAM_INVALID_ARGUMENT naming
// the index ("<plugin>: write_conditional: expectation #i ...").
inline int check_expectations(const char* plugin,
                              const kalam_expectation* expects, size_t count,
                              kalam_status* status) noexcept {
  if (count > 0 && expects == nullptr) {
    return fail(status, KALAM_INVALID_ARGUMENT, 0,
                "%s: write_conditional: expects is NULL but expect_count is "
                "%zu",
                plugin, count);
  }
  for (size_t i = 0; i < count; ++i) {
    const kalam_expectation& e = expects[i];
    if (e.type != KALAM_EXPECT_VALUE && e.type != KALAM_EXPECT_ABSENT &&
        e.type != KALAM_EXPECT_PRESENT) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "%s: write_conditional: expectation #%zu has unknown type "
                  "%u; nothing was applied",
                  plugin, i, static_cast<unsigned>(e.type));
    }
    if (e.reserved0 != 0) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "%s: write_conditional: expectation #%zu has reserved0 = "
                  "%u, must be 0; nothing was applied",
                  plugin, i, static_cast<unsigned>(e.reserved0));
    }
    if (e.key_len == 0 || e.key == nullptr) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "%s: write_conditional: expectation #%zu has an empty or "
                  "NULL key; keys are 1 or more bytes; nothing was applied",
                  plugin, i);
    }
    if (e.type == KALAM_EXPECT_VALUE &&
        null_with_length(e.value, e.value_len)) {
      return fail(status, KALAM_INVALID_ARGUMENT, 0,
                  "%s: write_conditional: expectation #%zu has a NULL value "
                  "of length %zu; nothing was applied",
                  plugin, i, e.value_len);
    }
  }
  return KALAM_OK;
}

// Whether `e` holds for its key, which is `found` with value[0..len).
inline bool expectation_holds(const kalam_expectation& e, bool found,
                              const void* value, size_t len) noexcept {
  switch (e.type) {
    case KALAM_EXPECT_ABSENT:
      return !found;
    case KALAM_EXPECT_PRESENT:
      return found;
    default:  // KALAM_EXPECT_VALUE
      return found && len == e.value_len &&
             (len == 0 || std::memcmp(value, e.value, len) == 0);
  }
}

// The KALAM_CONFLICT of expectation #index: native_code = index, and a
// message naming it. Returns KALAM_CONFLICT.
inline int conflict(kalam_status* status, const char* plugin, size_t index,
                    const kalam_expectation& e) noexcept {
  const char* what = e.type == KALAM_EXPECT_ABSENT    ? "to be absent"
                     : e.type == KALAM_EXPECT_PRESENT ? "to be present"
                                                      : "to hold a value";
  return fail(status, KALAM_CONFLICT, static_cast<int64_t>(index),
              "%s: expectation #%zu (a key of %zu byte(s) expected %s) does "
              "not hold; nothing was applied",
              plugin, index, e.key_len, what);
}

// The smallest string greater than every string starting with `prefix`, or
// nullopt when there is none (empty prefix, or only 0xFF bytes).
inline std::optional<std::string> prefix_successor(std::string_view prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xFF) {
    prefix.remove_suffix(1);
  }
  if (prefix.empty()) return std::nullopt;
  std::string out(prefix);
  out.back() = static_cast<char>(static_cast<unsigned char>(out.back()) + 1);
  return out;
}

// ---- Option text -----------------------------------------------------------

// `text` without leading and trailing whitespace.
inline std::string_view trim(std::string_view text) noexcept {
  while (!text.empty() &&
         std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() &&
         std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

// ASCII case-insensitive equality.
inline bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// Parses a byte size (the rule at the top of this file). False when the text
// is malformed or the size does not fit in 64 bits.
inline bool parse_byte_size(std::string_view text, uint64_t* out) noexcept {
  text = trim(text);
  size_t digits = 0;
  uint64_t number = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    const uint64_t digit = static_cast<uint64_t>(text[digits] - '0');
    if (number > (UINT64_MAX - digit) / 10) return false;
    number = number * 10 + digit;
    ++digits;
  }
  if (digits == 0) return false;
  const std::string_view unit = trim(text.substr(digits));
  struct Unit {
    const char* name;
    int shift;
  };
  static constexpr Unit kUnits[] = {
      {"", 0},     {"b", 0},   {"k", 10},   {"kb", 10},  {"kib", 10},
      {"m", 20},   {"mb", 20}, {"mib", 20}, {"g", 30},   {"gb", 30},
      {"gib", 30}, {"t", 40},  {"tb", 40},  {"tib", 40},
  };
  for (const Unit& u : kUnits) {
    if (iequals(unit, u.name)) {
      if (u.shift != 0 && number > (UINT64_MAX >> u.shift)) return false;
      *out = number << u.shift;
      return true;
    }
  }
  return false;
}

// What is wrong with the option arrays of `params` before any key is looked
// at: arrays NULL while option_count is not 0, a NULL key or value, a key
// given twice. Returns the message (prefixed with `who`, e.g. "sqlite
// plugin"), or an empty string when the options may be read one by one.
inline std::string option_list_problem(const kalam_open_params& params,
                                       const char* who) {
  if (params.option_count > 0 &&
      (params.option_keys == nullptr || params.option_values == nullptr)) {
    return std::string(who) + ": open: option_count is " +
           std::to_string(params.option_count) +
           " but option_keys or option_values is NULL";
  }
  for (size_t i = 0; i < params.option_count; ++i) {
    if (params.option_keys[i] == nullptr ||
        params.option_values[i] == nullptr) {
      return std::string(who) + ": open: option " + std::to_string(i) +
             " has a NULL key or value";
    }
    for (size_t j = 0; j < i; ++j) {
      if (std::strcmp(params.option_keys[i], params.option_keys[j]) == 0) {
        return std::string(who) + ": option '" + params.option_keys[i] +
               "' is given twice; give it once";
      }
    }
  }
  return {};
}

// ---- The host's ABI minor -------------------------------------------------

// The ABI minor agreed with the host by the last successful plugin_entry()
// (which records it here): it decides which codes the host understands.
// Plugins are built with hidden visibility, so each plugin library has its
// own. Before any entry call: this header's minor.
inline std::atomic<uint32_t> negotiated_host_minor{KALAM_ABI_VERSION_MINOR};

inline void set_host_minor(uint32_t minor) noexcept {
  negotiated_host_minor.store(minor, std::memory_order_relaxed);
}

inline uint32_t host_minor() noexcept {
  return negotiated_host_minor.load(std::memory_order_relaxed);
}

// `code` as the host may see it (backend_api.h, "New codes and old hosts"):
// unchanged for a host that speaks ABI 1.2 or later; for an older one the
// 1.2 codes UNAVAILABLE, TIMED_OUT, OUTCOME_UNKNOWN, SNAPSHOT_TOO_OLD and
// TOO_LARGE become KALAM_IO_ERROR (CONFLICT only comes from 1.2 calls, which
// an older host never makes). The message must say, either way, whether
// anything may have been applied.
inline int code_for_host(int code) noexcept {
  if (host_minor() >= 2) return code;
  switch (code) {
    case KALAM_UNAVAILABLE:
    case KALAM_TIMED_OUT:
    case KALAM_OUTCOME_UNKNOWN:
    case KALAM_SNAPSHOT_TOO_OLD:
    case KALAM_TOO_LARGE:
      return KALAM_IO_ERROR;
    default:
      return code;
  }
}

// The code of a write whose outcome the plugin cannot know (it failed while
// committing): KALAM_OUTCOME_UNKNOWN for a host of ABI 1.2 or later,
// `old_code` (the store's own failure, e.g. KALAM_NO_SPACE) for an older
// one, whose message then says that the write may have been applied.
inline int outcome_unknown_or(int old_code) noexcept {
  return host_minor() >= 2 ? KALAM_OUTCOME_UNKNOWN : old_code;
}

// ---- kalam_plugin_entry ----------------------------------------------------

// What a plugin reports in kalam_plugin_info.
struct PluginValues {
  const char* name = nullptr;     // static storage, [a-z0-9_]+
  const char* version = nullptr;  // static storage
  uint32_t format_version = 1;
  uint32_t abi_minor = KALAM_ABI_VERSION_MINOR;  // the highest implemented
  uint64_t capabilities = 0;
  uint64_t max_key_size = 0;
  uint64_t max_value_size = 0;
  const kalam_backend_vtable* vtable = nullptr;
};

// The whole of kalam_plugin_entry() for an in-tree plugin: checks the host
// (non-NULL, abi_major covered and equal to ours: else KALAM_ABI_MISMATCH
// with a message naming `values.name`), hands the host's log sink to
// `set_log` (may be NULL) when the host struct covers it, and fills every
// field of `info` that info->struct_size covers. abi_minor is
// min(values.abi_minor, host->abi_max_minor) when the host covers
// abi_max_minor, else values.abi_minor; on success it is also recorded for
// host_minor() (the last host to call the entry decides).
inline int plugin_entry(const kalam_host* host, kalam_plugin_info* info,
                        kalam_status* status, const PluginValues& values,
                        void (*set_log)(kalam_log_fn,
                                        void*) noexcept) noexcept {
  if (host == nullptr || info == nullptr) {
    return fail(status, KALAM_ABI_MISMATCH, 0,
                "%s plugin: kalam_plugin_entry needs a host and an info "
                "struct (got NULL)",
                values.name);
  }
  if (!KALAM_PLUGIN_COVERS(host, abi_major)) {
    return fail(status, KALAM_ABI_MISMATCH, 0,
                "%s plugin: the host's kalam_host (struct_size %u) is too "
                "small to hold abi_major; the host is not a Kalam ABI host",
                values.name, static_cast<unsigned>(host->struct_size));
  }
  if (host->abi_major != KALAM_ABI_VERSION_MAJOR) {
    return fail(status, KALAM_ABI_MISMATCH, 0,
                "%s plugin: built for Kalam backend ABI %d.%d, but the host "
                "speaks ABI major %u; use a plugin built against the host's "
                "kalam/backend_api.h",
                values.name, KALAM_ABI_VERSION_MAJOR, KALAM_ABI_VERSION_MINOR,
                static_cast<unsigned>(host->abi_major));
  }
  uint32_t minor = values.abi_minor;
  if (KALAM_PLUGIN_COVERS(host, abi_max_minor)) {
    minor = std::min(minor, host->abi_max_minor);
  }
  if (set_log != nullptr && KALAM_PLUGIN_COVERS(host, log_ctx)) {
    set_log(host->log, host->log_ctx);
  }
  if (KALAM_PLUGIN_COVERS(info, abi_major)) {
    info->abi_major = KALAM_ABI_VERSION_MAJOR;
  }
  if (KALAM_PLUGIN_COVERS(info, abi_minor)) info->abi_minor = minor;
  if (KALAM_PLUGIN_COVERS(info, pointer_size)) {
    info->pointer_size = static_cast<uint32_t>(sizeof(void*));
  }
  if (KALAM_PLUGIN_COVERS(info, size_t_size)) {
    info->size_t_size = static_cast<uint32_t>(sizeof(size_t));
  }
  if (KALAM_PLUGIN_COVERS(info, format_version)) {
    info->format_version = values.format_version;
  }
  if (KALAM_PLUGIN_COVERS(info, name)) info->name = values.name;
  if (KALAM_PLUGIN_COVERS(info, version)) info->version = values.version;
  if (KALAM_PLUGIN_COVERS(info, capabilities)) {
    // Bits 12 and up are ABI 1.2's: a host that speaks less never sees them.
    info->capabilities = minor >= 2
                             ? values.capabilities
                             : values.capabilities & ((UINT64_C(1) << 12) - 1);
  }
  if (KALAM_PLUGIN_COVERS(info, max_key_size)) {
    info->max_key_size = values.max_key_size;
  }
  if (KALAM_PLUGIN_COVERS(info, max_value_size)) {
    info->max_value_size = values.max_value_size;
  }
  if (KALAM_PLUGIN_COVERS(info, vtable)) info->vtable = values.vtable;
  set_host_minor(minor);
  return KALAM_OK;
}

// iter_read_batch() for a store whose key/value views die at its next step:
// copies of the entries of one batch, in one buffer owned by the iterator and
// reused from batch to batch (so it stops allocating once it has grown). Each
// entry is copied once, straight to its place; when the buffer has to grow,
// the views already handed out in this batch are moved along with it.
//
//   EntryArena::Batch batch = arena.start(max_entries, first_entry_bytes);
//   while (...) { batch.add(out, n, key, key_len, value, value_len); ... }
class EntryArena {
 public:
  // One batch being filled. It keeps the buffer's address, size and fill in
  // locals: the copies are char stores, which may alias anything, so an
  // add() that kept them in the arena would reload them after every copy.
  // Starting the next batch (or destroying the arena) ends its views.
  class Batch {
   public:
    // Copies one entry into the buffer and points `out[n]` at the copy;
    // out[0..n) are this batch's earlier entries. May throw std::bad_alloc.
    void add(kalam_entry* out, size_t n, const void* key, size_t key_len,
             const void* value, size_t value_len) {
      const size_t need = key_len + value_len;
      if (need > capacity_ - used_) [[unlikely]] {
        arena_->grow(out, n, used_, need);
        base_ = arena_->data_.get();
        capacity_ = arena_->capacity_;
      }
      char* dst = base_ + used_;
      copy(dst, key, key_len);
      out[n].key = dst;
      out[n].key_len = key_len;
      dst += key_len;
      copy(dst, value, value_len);
      out[n].value = dst;
      out[n].value_len = value_len;
      used_ += need;
    }
    // Bytes copied so far in this batch.
    size_t used() const { return used_; }

   private:
    friend class EntryArena;
    explicit Batch(EntryArena* arena)
        : arena_(arena),
          base_(arena->data_.get()),
          capacity_(arena->capacity_) {}

    EntryArena* arena_;
    char* base_;
    size_t capacity_;
    size_t used_ = 0;
  };

  // Starts a batch (the views of the previous one die), with room for
  // `entries` entries the size of the first one, up to 64 KiB: a batch of
  // entries of about one size allocates once instead of doubling from 4 KiB
  // (each doubling also copies what it held). The cap stays under malloc's
  // mmap threshold, so a short scan that asked for a large batch does not
  // cost an mmap; larger batches grow by doubling.
  Batch start(size_t entries, size_t first_entry_bytes) {
    constexpr size_t kMaxReserve = size_t{64} << 10;
    size_t bytes = 0;
    if (__builtin_mul_overflow(entries, first_entry_bytes, &bytes) ||
        bytes > kMaxReserve) {
      bytes = kMaxReserve;
    }
    if (bytes > capacity_) {
      data_.reset(new char[bytes]);
      capacity_ = bytes;
    }
    return Batch(this);
  }

 private:
  // memcpy, with the short copies (keys, small values) done inline: two
  // overlapping fixed-size moves instead of a library call.
  static void copy(char* dst, const void* src, size_t len) {
    const char* from = static_cast<const char*>(src);
    if (len >= 8 && len <= 16) {
      std::memcpy(dst, from, 8);
      std::memcpy(dst + len - 8, from + len - 8, 8);
    } else if (len > 16 && len <= 32) {
      std::memcpy(dst, from, 16);
      std::memcpy(dst + len - 16, from + len - 16, 16);
    } else if (len > 0) {
      std::memcpy(dst, from, len);
    }
  }

  // Makes room for `need` more bytes after the `used` bytes of the batch
  // whose entries are out[0..n), moving those entries' views along.
  [[gnu::noinline]] void grow(kalam_entry* out, size_t n, size_t used,
                              size_t need) {
    const size_t capacity =
        std::max({capacity_ * 2, used + need, static_cast<size_t>(4096)});
    std::unique_ptr<char[]> bigger(new char[capacity]);
    if (used > 0) std::memcpy(bigger.get(), data_.get(), used);
    const char* old_base = data_.get();
    for (size_t i = 0; i < n; ++i) {
      out[i].key =
          bigger.get() + (static_cast<const char*>(out[i].key) - old_base);
      out[i].value =
          bigger.get() + (static_cast<const char*>(out[i].value) - old_base);
    }
    data_ = std::move(bigger);
    capacity_ = capacity;
  }

  std::unique_ptr<char[]> data_;
  size_t capacity_ = 0;
};

}  // namespace kalam_plugin
