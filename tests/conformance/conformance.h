// The conformance suite: every behaviour of the backend ABI, checked against
// one plugin through its raw function table (so the engine's wrappers cannot
// hide a defect). Cases are TEST_P(Conformance, Subject_ExpectedBehaviour);
// conformance_test instantiates them once per in-tree plugin and the
// kalam-conformance runner once for any plugin file.
//
// A case whose capability the plugin does not declare is skipped with the
// capability's name; a declared capability is tested fully.
//
// The raw-ABI harness below (BackendUnderTest, RawStatus, Op, Iter, Snap,
// RawDatabase; harness.cc) is its own library, kalam_raw_harness, which the
// per-plugin tests in tests/plugins use too; the suite's parameterisation
// (backends(), backend_label, the Conformance fixture) is not part of it.
#pragma once

#include <gtest/gtest.h>
#include <kalam/backend_api.h>
#include <kalam/plugin.h>
#include <cstring>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "temp_dir.h"

namespace kalam::conformance {

// ---- The raw-ABI harness (harness.cc, kalam_raw_harness) --------------------

// A plugin file to test, with the options its databases are opened with.
struct BackendUnderTest {
  // Shown in every test name: letters, digits and '_' only.
  std::string label;
  std::filesystem::path file;
  std::map<std::string, std::string> options;
};

using KV = std::vector<std::pair<std::string, std::string>>;

// A result code by name ("DROPPED"), for comparisons: EXPECT_EQ on two
// std::strings compares the names and prints them when they differ (on two
// kalam_code_name() pointers it would compare and print addresses).
inline std::string code_name(int code) { return kalam_code_name(code); }

// A kalam_status ready to pass; text() for failure messages.
struct RawStatus : kalam_status {
  RawStatus();
  std::string text() const;
};

// One op for write(); `end` is the value or a delete range's end.
struct Op {
  uint32_t type;
  kalam_cf* cf;
  std::string key;
  std::string value;
};
inline Op Put(kalam_cf* cf, std::string k, std::string v) {
  return {KALAM_OP_PUT, cf, std::move(k), std::move(v)};
}
inline Op Del(kalam_cf* cf, std::string k) {
  return {KALAM_OP_DELETE, cf, std::move(k), {}};
}
inline Op DelRange(kalam_cf* cf, std::string begin, std::string end) {
  return {KALAM_OP_DELETE_RANGE, cf, std::move(begin), std::move(end)};
}

// Bounds and direction for a raw iterator.
struct IterSpec {
  std::optional<std::string> lower;
  std::optional<std::string> upper;
  std::optional<std::string> prefix;  // the caller narrows lower/upper too
  const kalam_snapshot* snapshot = nullptr;
  bool reverse = false;
};

// An iterator that is destroyed with the object.
class Iter {
 public:
  Iter(const kalam_backend_vtable* vt, kalam_iter* it) : vt_(vt), it_(it) {}
  Iter(Iter&& o) noexcept : vt_(o.vt_), it_(std::exchange(o.it_, nullptr)) {}
  Iter& operator=(Iter&&) = delete;
  ~Iter() {
    if (it_ != nullptr) vt_->iter_destroy(it_);
  }
  kalam_iter* get() const { return it_; }
  int first() { return vt_->iter_seek_first(it_, &status); }
  int last() { return vt_->iter_seek_last(it_, &status); }
  int seek(std::string_view t) {
    return vt_->iter_seek(it_, t.data(), t.size(), &status);
  }
  int seek_for_prev(std::string_view t) {
    return vt_->iter_seek_for_prev(it_, t.data(), t.size(), &status);
  }
  int next() { return vt_->iter_next(it_, &status); }
  int prev() { return vt_->iter_prev(it_, &status); }
  bool valid() const { return vt_->iter_valid(it_) != 0; }
  // The current key ("" + NOT_FOUND when unpositioned).
  std::string key() const;
  std::string value() const;
  std::pair<std::string, std::string> entry() const { return {key(), value()}; }
  RawStatus status;

 private:
  const kalam_backend_vtable* vt_;
  kalam_iter* it_;
};

// A snapshot that is released with the object.
class Snap {
 public:
  Snap(const kalam_backend_vtable* vt, kalam_db* db, kalam_snapshot* s)
      : vt_(vt), db_(db), s_(s) {}
  Snap(const Snap&) = delete;
  ~Snap() {
    if (s_ != nullptr) vt_->snapshot_release(db_, s_);
  }
  const kalam_snapshot* get() const { return s_; }

 private:
  const kalam_backend_vtable* vt_;
  kalam_db* db_;
  kalam_snapshot* s_;
};

// One database of one plugin, driven through the raw function table. The
// helpers report unexpected codes as test failures.
class RawDatabase {
 public:
  RawDatabase() = default;
  RawDatabase(const RawDatabase&) = delete;
  RawDatabase& operator=(const RawDatabase&) = delete;
  ~RawDatabase() { close_db(); }

  // Loads `backend` and opens a fresh database in a temporary directory.
  // Returns false (after reporting a failure) when that is impossible.
  bool start(const BackendUnderTest& backend);

  const Plugin& plugin() const { return *plugin_; }
  const kalam_backend_vtable& vt() const { return plugin_->vtable(); }
  bool has(uint64_t capability) const { return plugin_->has(capability); }
  const std::filesystem::path& db_path() const { return db_path_; }
  // The open database (null when closed), for calls the helpers lack.
  kalam_db* handle() const { return db_; }

  // Opens `path` with the backend's options plus `extra`; returns the code.
  int open_at(const std::filesystem::path& path, kalam_db** db,
              uint32_t flags = KALAM_OPEN_CREATE_IF_MISSING,
              const std::map<std::string, std::string>& extra = {},
              RawStatus* status = nullptr);
  // Closes db_ (expecting success) and opens db_path() again.
  void reopen();
  // Closes db_ and opens `path` (default: db_path()) with `flags` and
  // `options`, which later reopen()s use too.
  void open_with(const std::map<std::string, std::string>& options,
                 uint32_t flags = KALAM_OPEN_CREATE_IF_MISSING,
                 const std::filesystem::path& path = {});
  // Closes db_ and leaves it null.
  void close_db();

  // A family of db_, created when missing (expecting success).
  kalam_cf* cf(const std::string& name);
  // An existing family, opened without KALAM_CF_CREATE_IF_MISSING
  // (expecting success).
  kalam_cf* existing(const std::string& name);
  // get_property() of `family` into *value; returns the code.
  int property(kalam_cf* family, const char* name, std::string* value);

  int write(const std::vector<Op>& ops, bool sync = false,
            uint32_t stride = sizeof(kalam_write_op),
            RawStatus* status = nullptr);
  int put(kalam_cf* cf, std::string_view key, std::string_view value,
          bool sync = false);
  int del(kalam_cf* cf, std::string_view key);
  // Visitor read into *value.
  int get(kalam_cf* cf, std::string_view key, std::string* value,
          const kalam_snapshot* snapshot = nullptr);
  // The value, or nullopt when NOT_FOUND (other codes fail the test).
  std::optional<std::string> value_of(kalam_cf* cf, std::string_view key,
                                      const kalam_snapshot* snapshot = nullptr);

  Iter iter(kalam_cf* cf, const IterSpec& spec = {});
  // Every entry in the spec's range, by single steps (forwards, or backwards
  // when spec.reverse).
  KV scan(kalam_cf* cf, const IterSpec& spec = {});
  // The same through iter_next_batch with `batch` entries per call.
  KV scan_batched(kalam_cf* cf, const IterSpec& spec, size_t batch);
  std::unique_ptr<Snap> snapshot();
  std::vector<std::string> list_families();

 protected:
  std::shared_ptr<const Plugin> plugin_;
  std::map<std::string, std::string> options_;
  test::TempDir dir_;
  std::filesystem::path db_path_;
  kalam_db* db_ = nullptr;
};

// ---- The suite (registry.cc and the *_cases.cc files) ----------------------

// What instantiations read. Filled before ::testing::InitGoogleTest (the
// runner) or from the in-tree plugin list (conformance_test).
std::vector<BackendUnderTest>& backends();
// How gtest prints a parameter: "<label> (<file>)".
void PrintTo(const BackendUnderTest& backend, std::ostream* os);
std::string backend_label(
    const ::testing::TestParamInfo<BackendUnderTest>& info);

class Conformance : public ::testing::TestWithParam<BackendUnderTest>,
                    public RawDatabase {
 protected:
  void SetUp() override { ASSERT_TRUE(start(GetParam())); }
  void TearDown() override { close_db(); }
};

// Skips the rest of the case, naming the capability it needs.
#define KALAM_REQUIRE(capability)                                    \
  do {                                                               \
    if (!has(capability)) {                                          \
      GTEST_SKIP() << "not declared: "                               \
                   << ::kalam::capability_names(capability).front(); \
    }                                                                \
  } while (0)

// Asserts a raw call returned `expected`, printing the status text if not.
#define KALAM_EXPECT_CODE(expected, call, status) \
  EXPECT_EQ(code_name(call), code_name(expected)) << (status).text()

}  // namespace kalam::conformance
