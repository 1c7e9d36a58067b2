// The conformance suite, once per in-tree plugin, plus the differential test
// that replays one sequence on every in-tree backend.
#include <kalam/test_paths.h>

#include "conformance.h"
#include "model.h"

namespace kalam::conformance {
namespace {

std::vector<BackendUnderTest> in_tree() {
  std::vector<BackendUnderTest> out;
  for (const std::string& name :
       std::vector<std::string>{KALAM_TEST_PLUGIN_NAMES}) {
    out.push_back({name,
                   std::filesystem::path(KALAM_TEST_PLUGIN_DIR) /
                       ("kalam_" + name + ".so"),
                   {}});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(InTree, Conformance, ::testing::ValuesIn(in_tree()),
                         backend_label);

TEST(Differential, OneSequenceGivesTheSameResultsOnEveryBackend) {
  const auto backends = in_tree();
  if (backends.size() < 2) GTEST_SKIP() << "fewer than two backends built";
  // Only behaviour every backend declares.
  uint64_t common = KALAM_CAP_SNAPSHOTS | KALAM_CAP_REVERSE_ITERATION |
                    KALAM_CAP_DELETE_RANGE;
  for (const auto& backend : backends) {
    auto plugin = load_plugin_file(backend.file);
    ASSERT_TRUE(plugin.ok()) << plugin.status();
    common &= (*plugin)->capabilities();
  }
  for (uint64_t seed : model_seeds()) {
    std::vector<std::string> reference;
    for (size_t i = 0; i < backends.size(); ++i) {
      RawDatabase fresh;
      ASSERT_TRUE(fresh.start(backends[i]));
      auto trace = run_model(fresh, {seed, 1500, common});
      ASSERT_FALSE(HasFailure()) << backends[i].label << " seed " << seed;
      if (i == 0) {
        reference = std::move(trace);
        continue;
      }
      ASSERT_EQ(trace.size(), reference.size());
      for (size_t step = 0; step < trace.size(); ++step) {
        ASSERT_EQ(trace[step], reference[step])
            << backends[i].label << " differs from " << backends[0].label
            << " at observation " << step << " (seed " << seed << ")";
      }
    }
  }
}

}  // namespace
}  // namespace kalam::conformance
