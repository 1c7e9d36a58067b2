// Fuzz target: the plugin option flattener (storage.options -> flat
// key/value strings, engine/src/config.cc). The input bytes build an options
// tree (nested maps, lists, scalars, nulls, keys that contain dots, shared
// alias nodes); it is emitted as YAML under a valid config and parsed by
// parse_config(). The result must equal an independent flattening of the
// same tree: nested keys joined with '.', lists joined with ',', document
// order, and a refusal exactly when the tree is not expressible as unique
// flat keys (a key reached twice, a non-scalar list item, a missing value)
// or exceeds the documented bounds (16 levels, 4096 options).
#include <kalam/config.h>
#include <yaml-cpp/yaml.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "fuzz_input.h"

namespace {

using kalam::fuzz::Input;
using kalam::fuzz::show;

constexpr int kMaxDepth = 16;         // config.cc kMaxOptionDepth
constexpr size_t kMaxOptions = 4096;  // config.cc kMaxOptions

const char* const kKeys[] = {"a", "b", "c",  "a.b",   "b.c", "x.y.z",
                             "",  ".", "a.", "cache", "0",   "-"};

// Text from UTF-8 pieces (YAML is Unicode; configs that are not UTF-8 are
// refused before flattening, which the config target covers).
std::string text(Input& in, unsigned max_pieces) {
  static const char* const kPieces[] = {"a",
                                        "b",
                                        "Z",
                                        "0",
                                        "7",
                                        ".",
                                        ",",
                                        " ",
                                        "-",
                                        ":",
                                        "#",
                                        "'",
                                        "\"",
                                        "[",
                                        "{",
                                        "&",
                                        "*",
                                        "!",
                                        "\t",
                                        "\n",
                                        "\x01",
                                        "\xc3\xa9",
                                        "\xe2\x82\xac",
                                        "\xf0\x9f\x98\x80",
                                        "true",
                                        "null",
                                        "~",
                                        "0x1F"};
  std::string out;
  const unsigned n = in.pick(max_pieces + 1);
  for (unsigned i = 0; i < n; ++i) {
    out += kPieces[in.pick(sizeof kPieces / sizeof kPieces[0])];
  }
  return out;
}

std::string pick_key(Input& in) {
  if (in.pick(4) == 0) return text(in, 3);
  return kKeys[in.pick(sizeof kKeys / sizeof kKeys[0])];
}

YAML::Node scalar(Input& in) {
  switch (in.pick(4)) {
    case 0:
      return YAML::Node(std::to_string(in.byte()));
    case 1:
      return YAML::Node(in.flag() ? "true" : "64MiB");
    default:
      return YAML::Node(text(in, 4));
  }
}

YAML::Node build(Input& in, int depth, std::vector<YAML::Node>& made) {
  YAML::Node map(YAML::NodeType::Map);
  const unsigned entries = in.pick(5);
  for (unsigned i = 0; i < entries && !in.empty(); ++i) {
    const std::string key = pick_key(in);
    YAML::Node value;
    switch (in.pick(8)) {
      case 0:
      case 1:
        if (depth < kMaxDepth + 2) {
          value = build(in, depth + 1, made);
          break;
        }
        [[fallthrough]];
      case 2: {
        value = YAML::Node(YAML::NodeType::Sequence);
        const unsigned items = in.pick(4);
        for (unsigned j = 0; j < items; ++j) value.push_back(scalar(in));
        if (in.pick(8) == 0) value.push_back(YAML::Node(YAML::NodeType::Map));
        break;
      }
      case 3:
        if (!made.empty()) {  // the same node again: an alias in the text
          value = made[in.pick(static_cast<unsigned>(made.size()))];
          break;
        }
        [[fallthrough]];
      case 4:
        if (in.pick(4) == 0) {
          value = YAML::Node(YAML::NodeType::Null);
          break;
        }
        [[fallthrough]];
      default:
        value = scalar(in);
    }
    map[key] = value;
    made.push_back(value);
  }
  return map;
}

struct Flat {
  bool ok = true;
  std::vector<std::pair<std::string, std::string>> options;
  std::set<std::string> keys;
};

void reference(const YAML::Node& map, const std::string& prefix, int depth,
               Flat& out) {
  if (!out.ok) return;
  if (depth > kMaxDepth) {
    out.ok = false;
    return;
  }
  for (const auto& entry : map) {
    if (!out.ok) return;
    if (!entry.first.IsScalar()) {
      out.ok = false;
      return;
    }
    const std::string key = prefix + entry.first.Scalar();
    const YAML::Node& value = entry.second;
    if (value.IsMap()) {
      // A nested key "a: {b: 1}" and a literal key "a.b" both give the flat
      // key "a.b": the uniqueness check below covers nested keys too.
      reference(value, key + ".", depth + 1, out);
      continue;
    }
    std::string flat;
    if (value.IsScalar()) {
      flat = value.Scalar();
    } else if (value.IsSequence()) {
      for (const auto& item : value) {
        if (!item.IsScalar()) {
          out.ok = false;
          return;
        }
        flat += (flat.empty() ? "" : ",") + item.Scalar();
      }
    } else {
      out.ok = false;
      return;
    }
    if (!out.keys.insert(key).second) {
      out.ok = false;
      return;
    }
    out.options.emplace_back(key, flat);
    if (out.options.size() > kMaxOptions) {
      out.ok = false;
      return;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  std::vector<YAML::Node> made;
  YAML::Node options = build(in, 0, made);
  YAML::Node root;
  root["storage"]["backend"] = "memory";
  root["storage"]["options"] = options;
  YAML::Emitter emitter;
  emitter << root;
  const std::string text = emitter.c_str();

  // The reference flattens the tree as the engine will read it back (the
  // emitter may normalise scalars); text yaml-cpp cannot read back is the
  // emitter's problem, not the flattener's.
  YAML::Node reread;
  try {
    reread = YAML::Load(text);
  } catch (const YAML::Exception&) {
    return 0;
  }
  Flat expected;
  const YAML::Node reread_options = reread["storage"]["options"];
  if (reread_options.IsMap()) reference(reread_options, "", 0, expected);

  auto config = kalam::parse_config(text, "options.yaml", "/base");
  if (!reread_options.IsMap() || reread_options.size() == 0) {
    // "options: {}" is an empty map; nothing to flatten.
    if (config.ok()) {
      FUZZ_CHECK(config->storage.options.empty(), "options from nothing");
    }
    return 0;
  }
  // The engine also bounds what aliases expand to (nodes and bytes); a
  // refusal that names such a bound is not a disagreement.
  if (!config.ok() && expected.ok &&
      config.status().message().find("(counting what YAML aliases expand "
                                     "to)") != std::string::npos) {
    return 0;
  }
  FUZZ_CHECK(
      config.ok() == expected.ok, "flattener %s what the reference %s: %s\n%s",
      config.ok() ? "accepts" : "refuses", expected.ok ? "accepts" : "refuses",
      config.ok() ? "" : config.status().to_string().c_str(), text.c_str());
  if (!config.ok()) {
    FUZZ_CHECK(config.status().code() == kalam::Code::kInvalidArgument &&
                   config.status().message().starts_with("options.yaml"),
               "refused with %s", config.status().to_string().c_str());
    return 0;
  }
  const auto& got = config->storage.options;
  FUZZ_CHECK(got.size() == expected.options.size(),
             "%zu options, expected %zu:\n%s", got.size(),
             expected.options.size(), text.c_str());
  for (size_t i = 0; i < got.size(); ++i) {
    FUZZ_CHECK(got[i].key == expected.options[i].first &&
                   got[i].value == expected.options[i].second,
               "option %zu is %s = %s, expected %s = %s", i,
               show(got[i].key).c_str(), show(got[i].value).c_str(),
               show(expected.options[i].first).c_str(),
               show(expected.options[i].second).c_str());
  }
  return 0;
}
