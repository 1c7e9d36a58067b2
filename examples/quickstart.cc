// The quickstart: opens the engine from a YAML config, writes, reads,
// iterates, and says what it did and which plugin served it. The same
// program runs on every backend; only the config changes.
//
//   build/examples/kalam-quickstart --config examples/kalam.yaml
#include <kalam/config.h>
#include <kalam/database.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace {

int fail(const kalam::Status& status, const char* doing) {
  std::fprintf(stderr, "quickstart: %s failed: %s\n", doing,
               status.to_string().c_str());
  return 1;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_file = "examples/kalam.yaml";
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
      config_file = argv[++i];
    } else if (std::strcmp(argv[i], "--help") == 0) {
      std::printf("usage: %s [--config FILE]   (default: %s)\n", argv[0],
                  config_file.c_str());
      return 0;
    } else {
      std::fprintf(stderr, "usage: %s [--config FILE]\n", argv[0]);
      return 2;
    }
  }

  auto config = kalam::load_config_file(config_file);
  if (!config.ok()) return fail(config.status(), "reading the config");
  auto opened = kalam::Database::open(config->storage);
  if (!opened.ok()) return fail(opened.status(), "opening the database");
  kalam::Database& db = **opened;
  const kalam::Plugin& plugin = db.plugin();
  std::printf("Opened %s with backend '%s' (plugin %s, ABI %u.%u)\n",
              db.path().c_str(), plugin.name().c_str(),
              plugin.version().c_str(), plugin.abi_major(), plugin.abi_minor());
  std::printf("  plugin file:  %s\n", plugin.file().c_str());
  std::printf("  capabilities: %s\n",
              join(kalam::capability_names(plugin.capabilities())).c_str());

  // A column family of its own, created on first use.
  auto greetings = db.column_family("greetings", /*create_if_missing=*/true);
  if (!greetings.ok()) return fail(greetings.status(), "creating a family");

  // One atomic batch of writes.
  kalam::WriteBatch batch;
  const char* languages[][2] = {{"lang:en", "hello"},
                                {"lang:fr", "bonjour"},
                                {"lang:ja", "konnichiwa"},
                                {"lang:sw", "jambo"},
                                {"note", "not a language"}};
  for (const auto& [key, value] : languages) batch.put(*greetings, key, value);
  kalam::Status s = db.write(batch, {.sync = true});
  if (!s.ok()) return fail(s, "writing a batch");
  std::printf("Wrote a batch of %zu keys to column family 'greetings'\n",
              batch.count());

  // A point read.
  auto french = db.get(*greetings, "lang:fr");
  if (!french.ok()) return fail(french.status(), "reading lang:fr");
  std::printf("Read lang:fr = %s\n", french->c_str());

  // A prefix scan, bounds pushed down to the backend. The iterator keeps
  // the database open until it goes, so it lives in its own scope.
  {
    auto it = db.new_iterator(*greetings, {.prefix = "lang:"});
    if (!it.ok()) return fail(it.status(), "creating an iterator");
    std::printf("Scanned prefix 'lang:':\n");
    for (it->seek_to_first(); it->valid(); it->next()) {
      std::printf("  %.*s = %.*s\n", static_cast<int>(it->key().size()),
                  it->key().data(), static_cast<int>(it->value().size()),
                  it->value().data());
    }
    if (!it->status().ok()) return fail(it->status(), "scanning");
  }

  // A counter in the default family shows whether data persisted.
  uint64_t runs = 0;
  if (auto previous = db.get({}, "quickstart:runs"); previous.ok()) {
    runs = std::stoull(*previous);
  } else if (!previous.status().is_not_found()) {
    return fail(previous.status(), "reading the run counter");
  }
  s = db.put({}, "quickstart:runs", std::to_string(++runs), {.sync = true});
  if (!s.ok()) return fail(s, "updating the run counter");
  if (plugin.has(KALAM_CAP_PERSISTENT)) {
    std::printf(
        "This database has now been opened by the quickstart %llu "
        "time(s); run it again to see the count persist.\n",
        static_cast<unsigned long long>(runs));
  } else {
    std::printf(
        "Backend '%s' is not persistent: the data goes when the "
        "program exits.\n",
        plugin.name().c_str());
  }

  s = db.close();
  if (!s.ok()) return fail(s, "closing");
  std::printf("Closed cleanly.\n");
  return 0;
}
