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

}  // namespace
