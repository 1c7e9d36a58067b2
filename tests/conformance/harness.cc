// The raw-ABI harness (kalam_raw_harness): RawDatabase and its helpers, used
// by the conformance cases and by the per-plugin tests in tests/plugins.
#include <algorithm>
#include <cstring>

#include "conformance.h"

namespace kalam::conformance {

RawStatus::RawStatus() : kalam_status{} { struct_size = sizeof(kalam_status); }

std::string RawStatus::text() const {
  return std::string(code_name(code)) + ": " +
         std::string(message, strnlen(message, sizeof message));
}

std::string Iter::key() const {
  const void* k = nullptr;
  size_t len = 0;
  if (vt_->iter_entry(it_, &k, &len, nullptr, nullptr) != KALAM_OK) return {};
  return {static_cast<const char*>(k), len};
}

std::string Iter::value() const {
  const void *k = nullptr, *v = nullptr;
  size_t kl = 0, vl = 0;
  if (vt_->iter_entry(it_, &k, &kl, &v, &vl) != KALAM_OK) return {};
  return {static_cast<const char*>(v), vl};
}

bool RawDatabase::start(const BackendUnderTest& backend) {
  auto loaded = load_plugin_file(backend.file);
  if (!loaded.ok()) {
    ADD_FAILURE() << loaded.status();
    return false;
  }
  plugin_ = *loaded;
  options_ = backend.options;
  db_path_ = dir_ / "db";
  RawStatus status;
  const int rc =
      open_at(db_path_, &db_, KALAM_OPEN_CREATE_IF_MISSING, {}, &status);
  if (rc != KALAM_OK || db_ == nullptr) {
    ADD_FAILURE() << "open " << db_path_ << ": " << status.text();
    return false;
  }
  return true;
}

void RawDatabase::close_db() {
  if (db_ == nullptr) return;
  RawStatus status;
  const int rc = vt().close(db_, &status);
  EXPECT_EQ(code_name(rc), code_name(KALAM_OK)) << "close: " << status.text();
  if (rc != KALAM_BUSY) db_ = nullptr;
}

int RawDatabase::open_at(const std::filesystem::path& path, kalam_db** db,
                         uint32_t flags,
                         const std::map<std::string, std::string>& extra,
                         RawStatus* status) {
  std::map<std::string, std::string> options = options_;
  for (const auto& [k, v] : extra) options[k] = v;
  std::vector<const char*> keys, values;
  for (const auto& [k, v] : options) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  const std::string path_text = path.string();
  kalam_open_params params{};
  params.struct_size = sizeof params;
  params.flags = flags;
  params.path = path_text.c_str();
  params.option_keys = keys.data();
  params.option_values = values.data();
  params.option_count = keys.size();
  RawStatus local;
  return vt().open(&params, db, status != nullptr ? status : &local);
}

void RawDatabase::reopen() {
  close_db();
  ASSERT_EQ(db_, nullptr) << "close failed; cannot reopen";
  RawStatus status;
  ASSERT_EQ(code_name(open_at(db_path_, &db_, KALAM_OPEN_CREATE_IF_MISSING, {},
                              &status)),
            code_name(KALAM_OK))
      << status.text();
}

void RawDatabase::open_with(const std::map<std::string, std::string>& options,
                            uint32_t flags, const std::filesystem::path& path) {
  close_db();
  options_ = options;
  if (!path.empty()) db_path_ = path;
  RawStatus status;
  ASSERT_EQ(code_name(open_at(db_path_, &db_, flags, {}, &status)),
            code_name(KALAM_OK))
      << status.text();
}

kalam_cf* RawDatabase::existing(const std::string& name) {
  kalam_cf* family = nullptr;
  RawStatus status;
  EXPECT_EQ(code_name(vt().cf_open(db_, name.c_str(), 0, &family, &status)),
            code_name(KALAM_OK))
      << name << ": " << status.text();
  return family;
}

int RawDatabase::property(kalam_cf* family, const char* name,
                          std::string* value) {
  RawStatus status;
  return vt().get_property(
      db_, family, name,
      [](void* ctx, const void* data, size_t len) {
        static_cast<std::string*>(ctx)->assign(static_cast<const char*>(data),
                                               len);
      },
      value, &status);
}

kalam_cf* RawDatabase::cf(const std::string& name) {
  kalam_cf* handle = nullptr;
  RawStatus status;
  const int rc = vt().cf_open(db_, name.c_str(), KALAM_CF_CREATE_IF_MISSING,
                              &handle, &status);
  EXPECT_EQ(code_name(rc), code_name(KALAM_OK))
      << "cf_open(" << name << "): " << status.text();
  return handle;
}

int RawDatabase::write(const std::vector<Op>& ops, bool sync, uint32_t stride,
                       RawStatus* status) {
  // Lay the ops out `stride` bytes apart, as a host built against a later
  // header (with a larger kalam_write_op) would.
  std::vector<unsigned char> array(ops.size() * stride +
                                   sizeof(kalam_write_op));
  for (size_t i = 0; i < ops.size(); ++i) {
    kalam_write_op w{};
    w.type = ops[i].type;
    w.cf = ops[i].cf;
    w.key = ops[i].key.data();
    w.key_len = ops[i].key.size();
    w.value = ops[i].value.data();
    w.value_len = ops[i].value.size();
    std::memcpy(array.data() + i * stride, &w,
                std::min<size_t>(stride, sizeof w));
  }
  kalam_write_options options{};
  options.struct_size = sizeof options;
  options.flags = sync ? KALAM_WRITE_SYNC : 0;
  options.op_stride = stride;
  RawStatus local;
  return vt().write(db_, &options,
                    reinterpret_cast<const kalam_write_op*>(array.data()),
                    ops.size(), status != nullptr ? status : &local);
}

int RawDatabase::put(kalam_cf* family, std::string_view key,
                     std::string_view value, bool sync) {
  return write({Put(family, std::string(key), std::string(value))}, sync);
}

int RawDatabase::del(kalam_cf* family, std::string_view key) {
  return write({Del(family, std::string(key))});
}

int RawDatabase::get(kalam_cf* family, std::string_view key, std::string* value,
                     const kalam_snapshot* snapshot) {
  kalam_read_options options{};
  options.struct_size = sizeof options;
  options.snapshot = snapshot;
  RawStatus status;
  return vt().get(
      db_, &options, family, key.data(), key.size(),
      [](void* ctx, const void* data, size_t len) {
        static_cast<std::string*>(ctx)->assign(static_cast<const char*>(data),
                                               len);
      },
      value, &status);
}

std::optional<std::string> RawDatabase::value_of(
    kalam_cf* family, std::string_view key, const kalam_snapshot* snapshot) {
  std::string value;
  const int rc = get(family, key, &value, snapshot);
  if (rc == KALAM_NOT_FOUND) return std::nullopt;
  EXPECT_EQ(code_name(rc), code_name(KALAM_OK)) << "get: " << code_name(rc);
  return value;
}

Iter RawDatabase::iter(kalam_cf* family, const IterSpec& spec) {
  kalam_iter_options options{};
  options.struct_size = sizeof options;
  options.snapshot = spec.snapshot;
  if (spec.lower) {
    options.flags |= KALAM_ITER_LOWER_BOUND;
    options.lower = spec.lower->data();
    options.lower_len = spec.lower->size();
  }
  if (spec.upper) {
    options.flags |= KALAM_ITER_UPPER_BOUND;
    options.upper = spec.upper->data();
    options.upper_len = spec.upper->size();
  }
  if (spec.prefix) {
    options.flags |= KALAM_ITER_PREFIX;
    options.prefix = spec.prefix->data();
    options.prefix_len = spec.prefix->size();
  }
  if (spec.reverse) options.flags |= KALAM_ITER_REVERSE;
  kalam_iter* it = nullptr;
  RawStatus status;
  const int rc = vt().iter_create(db_, &options, family, &it, &status);
  EXPECT_EQ(code_name(rc), code_name(KALAM_OK))
      << "iter_create: " << status.text();
  EXPECT_TRUE(rc != KALAM_OK || it != nullptr);
  return Iter(&vt(), it);
}

KV RawDatabase::scan(kalam_cf* family, const IterSpec& spec) {
  KV out;
  Iter it = iter(family, spec);
  if (it.get() == nullptr) return out;
  int rc = spec.reverse ? it.last() : it.first();
  while (rc == KALAM_OK) {
    out.push_back(it.entry());
    rc = spec.reverse ? it.prev() : it.next();
  }
  EXPECT_EQ(code_name(rc), code_name(KALAM_NOT_FOUND))
      << "scan: " << it.status.text();
  return out;
}

KV RawDatabase::scan_batched(kalam_cf* family, const IterSpec& spec,
                             size_t batch) {
  KV out;
  Iter it = iter(family, spec);
  if (it.get() == nullptr) return out;
  int rc = spec.reverse ? it.last() : it.first();
  while (rc == KALAM_OK) {
    size_t consumed = 0;
    const size_t before = out.size();
    rc = vt().iter_next_batch(
        it.get(), spec.reverse ? KALAM_BATCH_REVERSE : 0, batch,
        [](void* ctx, const void* k, size_t kl, const void* v, size_t vl) {
          static_cast<KV*>(ctx)->emplace_back(
              std::string(static_cast<const char*>(k), kl),
              std::string(static_cast<const char*>(v), vl));
          return 0;
        },
        &out, &consumed, &it.status);
    EXPECT_EQ(consumed, out.size() - before);
    EXPECT_LE(consumed, batch);
    if (rc == KALAM_OK) {
      EXPECT_EQ(consumed, batch) << "a batch stopped early while positioned";
      if (consumed == 0) break;  // no progress: avoid looping forever
    }
  }
  EXPECT_EQ(code_name(rc), code_name(KALAM_NOT_FOUND))
      << "batched scan: " << it.status.text();
  return out;
}

std::unique_ptr<Snap> RawDatabase::snapshot() {
  kalam_snapshot* s = nullptr;
  RawStatus status;
  const int rc = vt().snapshot_create(db_, &s, &status);
  EXPECT_EQ(code_name(rc), code_name(KALAM_OK))
      << "snapshot_create: " << status.text();
  return std::make_unique<Snap>(&vt(), db_, s);
}

std::vector<std::string> RawDatabase::list_families() {
  std::vector<std::string> names;
  RawStatus status;
  const int rc = vt().cf_list(
      db_,
      [](void* ctx, const char* name) {
        static_cast<std::vector<std::string>*>(ctx)->emplace_back(name);
      },
      &names, &status);
  EXPECT_EQ(code_name(rc), code_name(KALAM_OK)) << "cf_list: " << status.text();
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace kalam::conformance
