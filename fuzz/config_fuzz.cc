// Fuzz target: the YAML config loader (kalam/config.h parse_config) on
// arbitrary text. Properties:
//  - it returns, in bounded time (libFuzzer's -timeout), never throws or
//    crashes, on junk, deep nesting, aliases and huge scalars;
//  - an error is INVALID_ARGUMENT whose message starts with the source name;
//  - an accepted config is complete: a backend, an absolute data path
//    resolved against the base directory, at least one plugin directory,
//    unique option keys, and options_yaml that parses back to the same
//    flattened options.
#include <kalam/config.h>
#include <yaml-cpp/yaml.h>

#include <set>
#include <string>

#include "fuzz_input.h"

namespace {

using kalam::fuzz::show;

// The options of `options_yaml` put back under a minimal config.
kalam::StatusOr<kalam::EngineConfig> reparse_options(
    const kalam::EngineConfig& config) {
  YAML::Node root;
  root["storage"]["backend"] = "memory";
  root["storage"]["options"] = YAML::Load(config.storage.options_yaml);
  YAML::Emitter out;
  out << root;
  return kalam::parse_config(out.c_str(), "<reparsed>", "/base");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto config = kalam::parse_config(text, "fuzz.yaml", "/base");
  if (!config.ok()) {
    FUZZ_CHECK(config.status().code() == kalam::Code::kInvalidArgument,
               "refused with %s", config.status().to_string().c_str());
    FUZZ_CHECK(config.status().message().starts_with("fuzz.yaml"),
               "error does not name the source: %s",
               config.status().message().c_str());
    return 0;
  }
  const kalam::StorageConfig& s = config->storage;
  FUZZ_CHECK(config->source == "fuzz.yaml", "source %s",
             config->source.c_str());
  FUZZ_CHECK(!s.backend.empty(), "accepted an empty backend");
  FUZZ_CHECK(s.path.is_absolute() && !s.path.empty(),
             "data path %s is not absolute", show(s.path.string()).c_str());
  FUZZ_CHECK(!s.plugin_path.empty(), "no plugin directory");
  std::set<std::string> keys;
  for (const auto& option : s.options) {
    FUZZ_CHECK(keys.insert(option.key).second,
               "option %s handed to the plugin twice",
               show(option.key).c_str());
    FUZZ_CHECK(option.line >= 1, "option %s has line %d",
               show(option.key).c_str(), option.line);
  }
  // Known yaml-cpp 0.7 bug: the double-quoted escapes \N, \_, \L and \P
  // decode to raw single bytes (0x85, 0xA0, ...), not UTF-8; its emitter then
  // writes U+FFFD or the raw byte back. The text itself is checked to be
  // UTF-8 (engine/src/config.cc); only such escapes give options that are
  // not, and for those options_yaml cannot be compared.
  bool all_utf8 = true;
  for (const auto& option : s.options) {
    all_utf8 = all_utf8 && kalam::fuzz::valid_utf8(option.key) &&
               kalam::fuzz::valid_utf8(option.value);
  }
  if (!s.options.empty() && all_utf8) {
    // What the plugin gets as YAML says the same as the flat options.
    auto again = reparse_options(*config);
    FUZZ_CHECK(again.ok(), "options_yaml %s does not parse back: %s",
               show(s.options_yaml).c_str(),
               again.status().to_string().c_str());
    FUZZ_CHECK(again->storage.options.size() == s.options.size(),
               "options_yaml %s holds %zu options, not %zu",
               show(s.options_yaml).c_str(), again->storage.options.size(),
               s.options.size());
    for (size_t i = 0; i < s.options.size(); ++i) {
      const auto& a = s.options[i];
      const auto& b = again->storage.options[i];
      FUZZ_CHECK(a.key == b.key && a.value == b.value,
                 "option %s = %s comes back from options_yaml as %s = %s",
                 show(a.key).c_str(), show(a.value).c_str(),
                 show(b.key).c_str(), show(b.value).c_str());
    }
  }
  return 0;
}
