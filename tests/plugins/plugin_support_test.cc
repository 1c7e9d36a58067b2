// plugins/common/plugin_support.h: the helpers every in-tree plugin shares.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "plugin_support.h"

namespace {

kalam_open_params params_with(const char** keys, const char** values,
                              size_t count) {
  kalam_open_params params;
  std::memset(&params, 0, sizeof params);
  params.struct_size = sizeof params;
  params.option_keys = keys;
  params.option_values = values;
  params.option_count = count;
  return params;
}

TEST(OptionListProblem, NoneForDistinctKeys) {
  const char* keys[] = {"a", "b"};
  const char* values[] = {"1", "2"};
  EXPECT_EQ(kalam_plugin::option_list_problem(params_with(keys, values, 2),
                                              "x plugin"),
            "");
  EXPECT_EQ(kalam_plugin::option_list_problem(params_with(nullptr, nullptr, 0),
                                              "x plugin"),
            "");
}

TEST(OptionListProblem, NamesWhatIsWrong) {
  const char* keys[] = {"a", "b", "a"};
  const char* values[] = {"1", "2", "3"};
  EXPECT_EQ(kalam_plugin::option_list_problem(params_with(keys, values, 3),
                                              "x plugin"),
            "x plugin: option 'a' is given twice; give it once");
  const char* null_value[] = {"1", nullptr};
  EXPECT_EQ(kalam_plugin::option_list_problem(params_with(keys, null_value, 2),
                                              "x plugin"),
            "x plugin: open: option 1 has a NULL key or value");
  EXPECT_EQ(kalam_plugin::option_list_problem(params_with(nullptr, values, 1),
                                              "x plugin"),
            "x plugin: open: option_count is 1 but option_keys or "
            "option_values is NULL");
}

// The ABI minor the host agreed to decides which codes it may see
// (backend_api.h, "New codes and old hosts").
TEST(HostMinor, ABelow12HostGetsTheOldCodes) {
  kalam_plugin::set_host_minor(1);
  EXPECT_EQ(kalam_plugin::code_for_host(KALAM_OUTCOME_UNKNOWN), KALAM_IO_ERROR);
  EXPECT_EQ(kalam_plugin::code_for_host(KALAM_UNAVAILABLE), KALAM_IO_ERROR);
  EXPECT_EQ(kalam_plugin::code_for_host(KALAM_TIMED_OUT), KALAM_IO_ERROR);
  EXPECT_EQ(kalam_plugin::code_for_host(KALAM_SNAPSHOT_TOO_OLD),
            KALAM_IO_ERROR);
  EXPECT_EQ(kalam_plugin::code_for_host(KALAM_TOO_LARGE), KALAM_IO_ERROR);
  EXPECT_EQ(kalam_plugin::code_for_host(KALAM_NO_SPACE), KALAM_NO_SPACE);
  EXPECT_EQ(kalam_plugin::outcome_unknown_or(KALAM_NO_SPACE), KALAM_NO_SPACE);

  kalam_plugin::set_host_minor(2);
  EXPECT_EQ(kalam_plugin::code_for_host(KALAM_OUTCOME_UNKNOWN),
            KALAM_OUTCOME_UNKNOWN);
  EXPECT_EQ(kalam_plugin::code_for_host(KALAM_TOO_LARGE), KALAM_TOO_LARGE);
  EXPECT_EQ(kalam_plugin::outcome_unknown_or(KALAM_NO_SPACE),
            KALAM_OUTCOME_UNKNOWN);
}

TEST(HostMinor, PluginEntryRecordsTheAgreedMinor) {
  const kalam_plugin::PluginValues values = {.name = "test", .version = "1"};
  kalam_host host{};
  host.struct_size = sizeof host;
  host.abi_major = KALAM_ABI_VERSION_MAJOR;
  kalam_plugin_info info{};
  info.struct_size = sizeof info;
  for (uint32_t minor : {1u, 0u, 2u}) {
    host.abi_max_minor = minor;
    ASSERT_EQ(
        kalam_plugin::plugin_entry(&host, &info, nullptr, values, nullptr),
        KALAM_OK);
    EXPECT_EQ(info.abi_minor, minor);
    EXPECT_EQ(kalam_plugin::host_minor(), minor);
  }
}

}  // namespace
