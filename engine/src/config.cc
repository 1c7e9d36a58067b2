// YAML → EngineConfig. Every error names the source, line, column and key.
#include <kalam/config.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

namespace kalam {
namespace {

namespace fs = std::filesystem;

// Bounds that keep a hostile file from costing unbounded time or memory.
constexpr std::uintmax_t kMaxConfigBytes = 1 << 20;
constexpr int kMaxOptionDepth = 16;
constexpr size_t kMaxOptions = 4096;
// YAML aliases let a small file describe a huge tree ("billion laughs"):
// flattening stops after this many nodes and this many bytes of option
// text, whatever the aliases expand to.
constexpr size_t kMaxOptionNodes = 65536;
constexpr size_t kMaxOptionBytes = kMaxConfigBytes;

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                         diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

class Parser {
 public:
  Parser(std::string_view source, fs::path base_dir)
      : source_(source), base_dir_(std::move(base_dir)) {}

  StatusOr<EngineConfig> parse(std::string_view text) {
    if (text.size() > kMaxConfigBytes) {
      return Status::InvalidArgument(
          source_ + ": config is " + std::to_string(text.size()) +
          " bytes; the limit is " + std::to_string(kMaxConfigBytes));
    }
    if (Status utf8 = check_utf8(text); !utf8.ok()) return utf8;
    YAML::Node root;
    std::vector<YAML::Node> documents;
    try {
      documents = YAML::LoadAll(std::string(text));
    } catch (const YAML::DeepRecursion& e) {
      return error_at(e.mark, "malformed YAML: nested too deeply (" +
                                  std::to_string(e.depth()) +
                                  " levels reached)");
    } catch (const YAML::ParserException& e) {
      return error_at(e.mark, "malformed YAML: " + e.msg);
    } catch (const YAML::Exception& e) {
      return error_at(e.mark, "malformed YAML: " + e.msg);
    }
    // A second document (after '---') would be ignored: refuse it.
    for (size_t i = 1; i < documents.size(); ++i) {
      if (!documents[i].IsNull()) {
        return error_at(documents[i].Mark(),
                        "a second YAML document starts here (after '---'); "
                        "a config is one document: remove the '---' line "
                        "and keep one 'storage:' mapping");
      }
    }
    if (!documents.empty()) root = documents[0];
    EngineConfig config;
    config.source = source_;
    if (root.IsNull()) {
      return Status::InvalidArgument(
          source_ +
          ": the config is empty; it needs at least:\n"
          "storage:\n  backend: memory");
    }
    if (!root.IsMap()) {
      return error_at(root.Mark(),
                      "the config must be a mapping with a 'storage' key");
    }
    KALAM_RETURN_IF_ERROR(
        check_keys(root, "the top level", {"storage", "tables"}));
    YAML::Node storage = root["storage"];
    if (!storage) {
      return Status::InvalidArgument(source_ +
                                     ": missing key 'storage' at the top level "
                                     "(add 'storage:' with a 'backend:')");
    }
    KALAM_RETURN_IF_ERROR(parse_storage(storage, &config.storage));
    if (YAML::Node tables = root["tables"]; tables && !tables.IsNull()) {
      KALAM_RETURN_IF_ERROR(parse_tables(tables, &config.tables));
    }
    return config;
  }

 private:
  // YAML text is Unicode; Kalam reads UTF-8 only. yaml-cpp would keep
  // invalid bytes in scalars but replace them when it writes options_yaml,
  // so the plugin would see two different values.
  Status check_utf8(std::string_view text) const {
    size_t line = 1, column = 1;
    for (size_t i = 0; i < text.size();) {
      const auto b = static_cast<unsigned char>(text[i]);
      size_t len = b < 0x80           ? 1
                   : (b >> 5) == 0x6  ? 2
                   : (b >> 4) == 0xE  ? 3
                   : (b >> 3) == 0x1E ? 4
                                      : 0;
      uint32_t cp = len == 1   ? b
                    : len == 2 ? b & 0x1F
                    : len == 3 ? b & 0x0F
                               : b & 0x07;
      for (size_t j = 1; len != 0 && j < len; ++j) {
        const auto c =
            i + j < text.size() ? static_cast<unsigned char>(text[i + j]) : 0;
        if ((c >> 6) != 0x2) len = 0;
        cp = (cp << 6) | (c & 0x3F);
      }
      static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
      if (len == 0 || cp < kMin[len] || cp > 0x10FFFF ||
          (cp >= 0xD800 && cp <= 0xDFFF)) {
        static constexpr char kHex[] = "0123456789abcdef";
        return Status::InvalidArgument(
            source_ + ":" + std::to_string(line) + ":" +
            std::to_string(column) +
            ": the config is not valid UTF-8 (byte 0x" + kHex[b >> 4] +
            kHex[b & 0xF] + ")");
      }
      if (b == '\n') {
        ++line;
        column = 0;
      }
      ++column;
      i += len;
    }
    return Status::OK();
  }

  Status error_at(const YAML::Mark& mark, const std::string& what) const {
    std::ostringstream out;
    out << source_;
    if (!mark.is_null()) out << ":" << mark.line + 1 << ":" << mark.column + 1;
    out << ": " << what;
    return Status::InvalidArgument(out.str());
  }

  // Refuses keys outside `allowed` and duplicate keys, suggesting the
  // closest allowed key.
  Status check_keys(const YAML::Node& map, const std::string& where,
                    const std::vector<std::string>& allowed) const {
    std::set<std::string> seen;
    for (const auto& entry : map) {
      if (!entry.first.IsScalar()) {
        return error_at(entry.first.Mark(),
                        "keys in " + where + " must be plain names");
      }
      const std::string key = entry.first.Scalar();
      if (!seen.insert(key).second) {
        return error_at(entry.first.Mark(),
                        "duplicate key '" + key + "' in " + where);
      }
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) {
        continue;
      }
      std::string hint;
      for (const auto& candidate : allowed) {
        if (edit_distance(key, candidate) <= 2) {
          hint = " (did you mean '" + candidate + "'?)";
          break;
        }
      }
      return error_at(entry.first.Mark(),
                      "unknown key '" + key + "' in " + where + hint +
                          "; allowed keys: " + join(allowed));
    }
    return Status::OK();
  }

  Status scalar(const YAML::Node& node, const std::string& key,
                std::string* out) const {
    if (!node.IsScalar()) {
      return error_at(
          node.Mark(),
          "key '" + key + "' must be a single value, not " + kind(node));
    }
    *out = node.Scalar();
    return Status::OK();
  }

  StatusOr<bool> boolean(const YAML::Node& node, const std::string& key) const {
    std::string text;
    KALAM_RETURN_IF_ERROR(scalar(node, key, &text));
    if (text == "true") return true;
    if (text == "false") return false;
    return error_at(
        node.Mark(),
        "key '" + key + "' must be true or false, not '" + text + "'");
  }

  static std::string kind(const YAML::Node& node) {
    if (node.IsMap()) return "a mapping";
    if (node.IsSequence()) return "a list";
    if (node.IsNull()) return "empty";
    return "a single value";
  }

  fs::path resolve(const std::string& path) const {
    fs::path p(path);
    return p.is_absolute() ? p : (base_dir_ / p).lexically_normal();
  }

  Status parse_storage(const YAML::Node& node, StorageConfig* out) {
    if (!node.IsMap()) {
      return error_at(node.Mark(),
                      "key 'storage' must be a mapping, not " + kind(node));
    }
    KALAM_RETURN_IF_ERROR(
        check_keys(node, "'storage'",
                   {"backend", "path", "plugin_path", "read_only",
                    "check_iterators", "options"}));

    YAML::Node backend = node["backend"];
    if (!backend || backend.IsNull()) {
      return error_at(node.Mark(),
                      "missing key 'backend' in 'storage' (one of memory, "
                      "rocksdb, lmdb, sqlite, or any plugin on plugin_path)");
    }
    KALAM_RETURN_IF_ERROR(scalar(backend, "storage.backend", &out->backend));
    if (out->backend.empty()) {
      return error_at(backend.Mark(), "key 'storage.backend' is empty");
    }

    std::string path = "data";
    if (YAML::Node p = node["path"]) {
      KALAM_RETURN_IF_ERROR(scalar(p, "storage.path", &path));
      if (path.empty()) {
        return error_at(p.Mark(), "key 'storage.path' is empty");
      }
    }
    out->path = resolve(path);

    if (YAML::Node dirs = node["plugin_path"]) {
      if (dirs.IsScalar()) {
        out->plugin_path.push_back(resolve(dirs.Scalar()));
      } else if (dirs.IsSequence()) {
        for (const auto& dir : dirs) {
          std::string text;
          KALAM_RETURN_IF_ERROR(scalar(dir, "storage.plugin_path[]", &text));
          out->plugin_path.push_back(resolve(text));
        }
      } else {
        return error_at(dirs.Mark(),
                        "key 'storage.plugin_path' must be a directory or a "
                        "list of directories, not " +
                            kind(dirs));
      }
    } else {
      out->plugin_path.push_back(default_plugin_dir());
    }

    if (YAML::Node ro = node["read_only"]) {
      KALAM_ASSIGN_OR_RETURN(out->read_only, boolean(ro, "storage.read_only"));
    }
    if (YAML::Node checks = node["check_iterators"]) {
      KALAM_ASSIGN_OR_RETURN(out->check_iterators,
                             boolean(checks, "storage.check_iterators"));
    }

    if (YAML::Node options = node["options"]; options && !options.IsNull()) {
      if (!options.IsMap()) {
        return error_at(options.Mark(),
                        "key 'storage.options' must be a mapping of option "
                        "names to values, not " +
                            kind(options));
      }
      KALAM_RETURN_IF_ERROR(flatten(options, "", 0, &out->options));
      YAML::Emitter emitter;
      emitter << options;
      out->options_yaml = emitter.c_str();
    }
    return Status::OK();
  }

  Status parse_tables(const YAML::Node& node, TablesConfig* out) {
    if (!node.IsMap()) {
      return error_at(node.Mark(),
                      "key 'tables' must be a mapping, not " + kind(node));
    }
    KALAM_RETURN_IF_ERROR(check_keys(node, "'tables'", {"cold_path"}));
    if (YAML::Node p = node["cold_path"]) {
      std::string path;
      KALAM_RETURN_IF_ERROR(scalar(p, "tables.cold_path", &path));
      if (path.empty()) {
        return error_at(p.Mark(), "key 'tables.cold_path' is empty");
      }
      out->cold_path = resolve(path);
    }
    return Status::OK();
  }

  // Counts `count` more nodes and `bytes` more bytes of option text against
  // the budget for storage.options.
  Status spend(const YAML::Node& at, size_t count, size_t bytes) {
    option_nodes_ += count;
    option_bytes_ += bytes;
    if (option_nodes_ > kMaxOptionNodes) {
      return error_at(at.Mark(), "storage.options has more than " +
                                     std::to_string(kMaxOptionNodes) +
                                     " nodes (counting what YAML aliases "
                                     "expand to)");
    }
    if (option_bytes_ > kMaxOptionBytes) {
      return error_at(at.Mark(), "storage.options expands to more than " +
                                     std::to_string(kMaxOptionBytes) +
                                     " bytes of option names and values "
                                     "(counting what YAML aliases expand to)");
    }
    return Status::OK();
  }

  Status flatten(const YAML::Node& map, const std::string& prefix, int depth,
                 std::vector<BackendOption>* out) {
    if (depth > kMaxOptionDepth) {
      return error_at(map.Mark(), "storage.options nests deeper than " +
                                      std::to_string(kMaxOptionDepth) +
                                      " levels");
    }
    std::set<std::string> seen;
    for (const auto& entry : map) {
      KALAM_RETURN_IF_ERROR(spend(entry.first, 1, 0));
      if (!entry.first.IsScalar()) {
        return error_at(entry.first.Mark(), "option names must be plain names");
      }
      const std::string key = prefix + entry.first.Scalar();
      if (!seen.insert(key).second) {
        return error_at(entry.first.Mark(),
                        "duplicate option 'storage.options." + key + "'");
      }
      const YAML::Node& value = entry.second;
      const int line = entry.first.Mark().line + 1;
      if (value.IsMap()) {
        KALAM_RETURN_IF_ERROR(flatten(value, key + ".", depth + 1, out));
      } else if (value.IsScalar()) {
        KALAM_RETURN_IF_ERROR(
            spend(entry.first, 0, key.size() + value.Scalar().size()));
        KALAM_RETURN_IF_ERROR(check_flat_key(entry.first, key));
        out->push_back({key, value.Scalar(), line});
      } else if (value.IsSequence()) {
        KALAM_RETURN_IF_ERROR(spend(entry.first, 0, key.size()));
        std::string joined;
        for (const auto& item : value) {
          if (!item.IsScalar()) {
            return error_at(item.Mark(), "option 'storage.options." + key +
                                             "' must be a list of values");
          }
          KALAM_RETURN_IF_ERROR(spend(item, 1, item.Scalar().size() + 1));
          joined += (joined.empty() ? "" : ",") + item.Scalar();
        }
        KALAM_RETURN_IF_ERROR(check_flat_key(entry.first, key));
        out->push_back({key, joined, line});
      } else {
        return error_at(entry.first.Mark(),
                        "option 'storage.options." + key + "' has no value");
      }
      if (out->size() > kMaxOptions) {
        return error_at(entry.first.Mark(), "storage.options has more than " +
                                                std::to_string(kMaxOptions) +
                                                " entries");
      }
    }
    return Status::OK();
  }

  // A dotted name and nested keys can spell the same option ("a.b: 1" and
  // "a: {b: 2}"); the plugin must not get it twice.
  Status check_flat_key(const YAML::Node& at, const std::string& key) {
    if (flat_keys_.insert(key).second) return Status::OK();
    return error_at(at.Mark(), "duplicate option 'storage.options." + key +
                                   "' (given both as nested keys and as a "
                                   "dotted name)");
  }

  std::string source_;
  fs::path base_dir_;
  // Every flattened option key so far.
  std::set<std::string> flat_keys_;
  // What flatten() has spent of the storage.options budget.
  size_t option_nodes_ = 0;
  size_t option_bytes_ = 0;
};

}  // namespace

StatusOr<EngineConfig> parse_config(std::string_view yaml,
                                    std::string_view source,
                                    const std::filesystem::path& base_dir) {
  try {
    return Parser(source, base_dir).parse(yaml);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string(source) +
                                   ": cannot read the config: " + e.what());
  }
}

std::filesystem::path cold_path(const EngineConfig& config) {
  return config.tables.cold_path.empty() ? config.storage.path / "cold"
                                         : config.tables.cold_path;
}

StatusOr<EngineConfig> load_config_file(const std::filesystem::path& file) {
  std::error_code ec;
  const std::string name = file.string();
  if (!fs::exists(file, ec)) {
    return Status::NotFound(name +
                            ": config file not found (pass --config FILE or "
                            "copy examples/kalam.yaml)");
  }
  if (!fs::is_regular_file(file, ec)) {
    return Status::InvalidArgument(name + ": not a regular file");
  }
  const auto size = fs::file_size(file, ec);
  if (ec) return Status::IoError(name + ": " + ec.message());
  if (size > kMaxConfigBytes) {
    return Status::InvalidArgument(
        name + ": config file is " + std::to_string(size) +
        " bytes; the limit is " + std::to_string(kMaxConfigBytes));
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status::IoError(name + ": cannot open for reading");
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) return Status::IoError(name + ": read failed");
  fs::path base = fs::absolute(file, ec).parent_path();
  return parse_config(text.str(), name, base);
}

}  // namespace kalam
