// Negotiation, open/close/reopen, options, persistence.
#include <dlfcn.h>

#include <cstddef>
#include <cstring>

#include "conformance.h"

namespace kalam::conformance {
namespace {

TEST_P(Conformance, Negotiation_InfoIsConsistent) {
  EXPECT_EQ(plugin().abi_major(), KALAM_ABI_VERSION_MAJOR);
  EXPECT_LE(plugin().abi_minor(), KALAM_ABI_VERSION_MINOR);
  EXPECT_FALSE(plugin().name().empty());
  EXPECT_FALSE(plugin().version().empty());
  EXPECT_GE(vt().struct_size, KALAM_BACKEND_VTABLE_SIZE_1_0);
  // The file is kalam_<name>.so.
  EXPECT_EQ(plugin().file().filename().string(),
            "kalam_" + plugin().name() + ".so");
  if (has(KALAM_CAP_DURABLE_SYNC)) {
    EXPECT_TRUE(has(KALAM_CAP_PERSISTENT))
        << "durable_sync without persistent makes no sense";
  }
}

// kalam_plugin_entry itself, which the engine's loader hides. The host has
// no log fields (an older host), so the log the loader handed over stays.
TEST_P(Conformance, Negotiation_EntryRefusesAnotherMajorAndFillsOnlyWhatFits) {
  void* lib = dlopen(plugin().file().c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(lib, nullptr) << dlerror();
  auto entry = reinterpret_cast<kalam_plugin_entry_fn>(
      dlsym(lib, KALAM_PLUGIN_ENTRY_SYMBOL));
  ASSERT_NE(entry, nullptr);
  kalam_host host{};
  host.struct_size = offsetof(kalam_host, log);
  host.abi_major = KALAM_ABI_VERSION_MAJOR + 1;
  host.abi_max_minor = KALAM_ABI_VERSION_MINOR;
  kalam_plugin_info info{};
  info.struct_size = sizeof info;
  RawStatus status;
  EXPECT_EQ(code_name(entry(&host, &info, &status)),
            code_name(KALAM_ABI_MISMATCH));
  EXPECT_EQ(code_name(status.code), code_name(KALAM_ABI_MISMATCH));
  EXPECT_NE(std::string(status.message).find("ABI"), std::string::npos)
      << "the refusal should say which ABI: " << status.text();
  EXPECT_EQ(info.vtable, nullptr) << "nothing is filled on failure";

  // An older, smaller info struct: nothing past its struct_size is written.
  host.abi_major = KALAM_ABI_VERSION_MAJOR;
  kalam_plugin_info small;
  std::memset(&small, 0xAB, sizeof small);
  small.struct_size = offsetof(kalam_plugin_info, name);
  EXPECT_EQ(code_name(entry(&host, &small, nullptr)), code_name(KALAM_OK));
  EXPECT_EQ(small.abi_major, static_cast<uint32_t>(KALAM_ABI_VERSION_MAJOR));
  EXPECT_EQ(small.size_t_size, sizeof(size_t));
  EXPECT_EQ(small.format_version, plugin().format_version());
  const auto* bytes = reinterpret_cast<const unsigned char*>(&small);
  for (size_t i = offsetof(kalam_plugin_info, name); i < sizeof small; ++i) {
    ASSERT_EQ(bytes[i], 0xAB) << "byte " << i << " beyond struct_size";
  }

  // Called again, it gives the same answers and the same function table.
  kalam_plugin_info a{}, b{};
  a.struct_size = b.struct_size = sizeof a;
  ASSERT_EQ(code_name(entry(&host, &a, nullptr)), code_name(KALAM_OK));
  ASSERT_EQ(code_name(entry(&host, &b, nullptr)), code_name(KALAM_OK));
  EXPECT_EQ(std::memcmp(&a, &b, sizeof a), 0);
  EXPECT_EQ(a.vtable, &vt());
}

TEST_P(Conformance, Open_UnknownOptionIsRejectedNamingTheKey) {
  kalam_db* other = nullptr;
  RawStatus status;
  const int rc = open_at(dir_ / "other", &other, KALAM_OPEN_CREATE_IF_MISSING,
                         {{"no_such_option_xyz", "1"}}, &status);
  EXPECT_EQ(code_name(rc), code_name(KALAM_INVALID_ARGUMENT));
  EXPECT_EQ(other, nullptr) << "out-parameter written on failure";
  EXPECT_NE(std::string(status.message).find("no_such_option_xyz"),
            std::string::npos)
      << "the message must name the key: " << status.text();
}

TEST_P(Conformance, Open_CloseAndReopenWork) {
  ASSERT_EQ(code_name(put(nullptr, "k", "v")), code_name(KALAM_OK));
  reopen();
  ASSERT_NE(db_, nullptr);
  EXPECT_EQ(code_name(put(nullptr, "k2", "v2")), code_name(KALAM_OK));
}

TEST_P(Conformance, Open_DataPersistsAcrossReopen) {
  KALAM_REQUIRE(KALAM_CAP_PERSISTENT);
  kalam_cf* family = cf("kept");
  ASSERT_EQ(code_name(put(nullptr, "a", "1")), code_name(KALAM_OK));
  ASSERT_EQ(code_name(put(family, "b", std::string(10000, 'x'))),
            code_name(KALAM_OK));
  ASSERT_EQ(code_name(del(nullptr, "gone")), code_name(KALAM_OK));
  ASSERT_EQ(code_name(put(nullptr, "gone", "soon")), code_name(KALAM_OK));
  ASSERT_EQ(code_name(del(nullptr, "gone")), code_name(KALAM_OK));
  reopen();
  EXPECT_EQ(value_of(nullptr, "a"), "1");
  EXPECT_EQ(value_of(cf("kept"), "b"), std::string(10000, 'x'));
  EXPECT_EQ(value_of(nullptr, "gone"), std::nullopt);
}

TEST_P(Conformance, Open_WithoutCreateOnMissingDatabaseIsNotFound) {
  KALAM_REQUIRE(KALAM_CAP_PERSISTENT);
  kalam_db* other = nullptr;
  RawStatus status;
  EXPECT_EQ(code_name(open_at(dir_ / "absent", &other, 0, {}, &status)),
            code_name(KALAM_NOT_FOUND))
      << status.text();
  EXPECT_EQ(other, nullptr);
}

TEST_P(Conformance, Open_ReadOnlySeesDataAndRefusesWrites) {
  KALAM_REQUIRE(KALAM_CAP_READ_ONLY_OPEN);
  KALAM_REQUIRE(KALAM_CAP_PERSISTENT);
  ASSERT_EQ(code_name(put(nullptr, "k", "v", true)), code_name(KALAM_OK));
  close_db();
  RawStatus status;
  ASSERT_EQ(
      code_name(open_at(db_path(), &db_, KALAM_OPEN_READ_ONLY, {}, &status)),
      code_name(KALAM_OK))
      << status.text();
  EXPECT_EQ(value_of(nullptr, "k"), "v");
  EXPECT_EQ(code_name(put(nullptr, "k", "new")),
            code_name(KALAM_NOT_SUPPORTED));
  EXPECT_EQ(value_of(nullptr, "k"), "v");
}

TEST_P(Conformance, Flush_CoversEveryFamily) {
  kalam_cf* a = cf("a");
  kalam_cf* b = cf("b");
  ASSERT_EQ(code_name(write(
                {Put(a, "k", "a"), Put(b, "k", "b"), Put(nullptr, "k", "d")})),
            code_name(KALAM_OK));
  RawStatus status;
  ASSERT_EQ(code_name(vt().flush(db_, 0, &status)), code_name(KALAM_OK))
      << status.text();
  if (!has(KALAM_CAP_PERSISTENT)) return;
  reopen();
  EXPECT_EQ(value_of(cf("a"), "k"), "a");
  EXPECT_EQ(value_of(cf("b"), "k"), "b");
  EXPECT_EQ(value_of(nullptr, "k"), "d");
}

TEST_P(Conformance, Sync_WriteIsVisibleAfterReopen) {
  KALAM_REQUIRE(KALAM_CAP_DURABLE_SYNC);
  ASSERT_EQ(code_name(put(nullptr, "durable", "yes", /*sync=*/true)),
            code_name(KALAM_OK));
  reopen();
  EXPECT_EQ(value_of(nullptr, "durable"), "yes");
}

TEST_P(Conformance, Properties_StandardNamesAnswer) {
  KALAM_REQUIRE(KALAM_CAP_PROPERTIES);
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(code_name(put(nullptr, "k" + std::to_string(i), "v")),
              code_name(KALAM_OK));
  }
  for (const char* name :
       {KALAM_PROPERTY_ESTIMATE_NUM_KEYS, KALAM_PROPERTY_APPROXIMATE_BYTES,
        KALAM_PROPERTY_STATS}) {
    std::string value;
    RawStatus status;
    const int rc = vt().get_property(
        db_, nullptr, name,
        [](void* ctx, const void* d, size_t n) {
          static_cast<std::string*>(ctx)->assign(static_cast<const char*>(d),
                                                 n);
        },
        &value, &status);
    EXPECT_EQ(code_name(rc), code_name(KALAM_OK))
        << name << ": " << status.text();
    if (std::string(name) != KALAM_PROPERTY_STATS) {
      EXPECT_FALSE(value.empty()) << name;
      EXPECT_EQ(value.find_first_not_of("0123456789"), std::string::npos)
          << name << " must be a decimal number, got '" << value << "'";
    }
  }
  RawStatus status;
  EXPECT_EQ(code_name(vt().get_property(
                db_, nullptr, "kalam.no-such-property",
                [](void*, const void*, size_t) {}, nullptr, &status)),
            code_name(KALAM_NOT_FOUND));
}

TEST_P(Conformance, Checkpoint_IsAnOpenableCopy) {
  KALAM_REQUIRE(KALAM_CAP_CHECKPOINT);
  kalam_cf* family = cf("cp");
  ASSERT_EQ(code_name(write({Put(nullptr, "k", "v"), Put(family, "f", "w")})),
            code_name(KALAM_OK));
  RawStatus status;
  const std::string target = (dir_ / "checkpoint").string();
  ASSERT_EQ(code_name(vt().checkpoint(db_, target.c_str(), &status)),
            code_name(KALAM_OK))
      << status.text();
  ASSERT_EQ(code_name(put(nullptr, "k", "after")), code_name(KALAM_OK));
  kalam_db* copy = nullptr;
  ASSERT_EQ(code_name(open_at(dir_ / "checkpoint", &copy, 0, {}, &status)),
            code_name(KALAM_OK))
      << status.text();
  std::swap(copy, db_);
  EXPECT_EQ(value_of(nullptr, "k"), "v");
  EXPECT_EQ(value_of(cf("cp"), "f"), "w");
  std::swap(copy, db_);
  EXPECT_EQ(code_name(vt().close(copy, &status)), code_name(KALAM_OK))
      << status.text();
}

TEST_P(Conformance, CompactRange_KeepsData) {
  KALAM_REQUIRE(KALAM_CAP_COMPACT_RANGE);
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(code_name(put(nullptr, "k" + std::to_string(i), "v")),
              code_name(KALAM_OK));
  }
  RawStatus status;
  EXPECT_EQ(code_name(vt().compact_range(db_, nullptr, 0, nullptr, 0, nullptr,
                                         0, &status)),
            code_name(KALAM_OK))
      << status.text();
  EXPECT_EQ(scan(nullptr).size(), 100u);
}

}  // namespace
}  // namespace kalam::conformance
