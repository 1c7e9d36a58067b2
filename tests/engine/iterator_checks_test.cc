// The engine's iterator checks (OpenOptions::check_iterators,
// storage.check_iterators): a plugin whose iterator yields keys out of order
// or beyond its bounds is reported with CORRUPTION on every iteration path
// (seeks, next, prev, next_batch both ways), and with the checks off its
// output passes through untouched. The defects come from kalam_disorderly.so
// (tests/broken_plugins/disorderly_plugin.cc), the memory plugin with broken
// iterators; correct plugins must pass with the checks on. Every case runs
// twice: on kalam_disorderly.so, whose table has the ABI 1.1
// iter_read_batch() (next_batch() fills arrays), and on
// kalam_disorderly10.so, an ABI 1.0 table (next_batch() visits through
// iter_next_batch()), so both batch paths are checked equally strictly.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <kalam/config.h>
#include <kalam/database.h>
#include <kalam/test_paths.h>

#include <string>
#include <vector>

#include "temp_dir.h"

namespace kalam {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using KV = std::vector<std::pair<std::string, std::string>>;

// "k1".."k9" in hex, for the messages.
std::string hex_of(std::string_view key) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : key) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xF];
  }
  return out;
}

// The disorderly plugin's file and backend name.
struct Disorderly {
  const char* path;
  const char* name;
};

class IteratorChecks : public ::testing::TestWithParam<Disorderly> {
 protected:
  // Opens a fresh database on the disorderly plugin with `disorder` and the
  // checks as given, holding "k1".."k9" (values "v1".."v9").
  void open(const std::string& disorder, std::optional<bool> checks) {
    db_.reset();
    auto plugin = load_plugin_file(GetParam().path);
    ASSERT_TRUE(plugin.ok()) << plugin.status();
    plugin_ = *plugin;
    // The table this case means to test: with or without iter_read_batch().
    ASSERT_EQ(plugin_->iter_read_batch() != nullptr,
              std::string(GetParam().name) == "disorderly");
    OpenOptions options;
    options.check_iterators = checks;
    auto db = Database::open(plugin_, dir_ / ("db-" + std::to_string(++n_)),
                             {{"disorder", disorder, 0}}, options);
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    for (int i = 1; i <= 9; ++i) {
      const std::string n = std::to_string(i);
      ASSERT_TRUE(db_->put({}, "k" + n, "v" + n).ok());
    }
  }

  Iterator iterator(IteratorOptions options = {}) {
    auto it = db_->new_iterator({}, options);
    EXPECT_TRUE(it.ok()) << it.status();
    return std::move(*it);
  }

  static IteratorOptions bounds(std::optional<std::string> lower,
                                std::optional<std::string> upper) {
    IteratorOptions o;
    o.lower = std::move(lower);
    o.upper = std::move(upper);
    return o;
  }

  // Every key of a forward walk with next().
  static std::vector<std::string> forward_keys(Iterator& it) {
    std::vector<std::string> keys;
    for (it.seek_to_first(); it.valid() && keys.size() < 100; it.next()) {
      keys.emplace_back(it.key());
    }
    return keys;
  }

  // Every key of batched walks of up to 4 entries in `direction`.
  static std::vector<std::string> batched_keys(Iterator& it,
                                               Iterator::Direction direction,
                                               Status* status) {
    std::vector<std::string> keys;
    if (direction == Iterator::Direction::kForward) {
      it.seek_to_first();
    } else {
      it.seek_to_last();
    }
    while (it.valid() && keys.size() < 100) {
      auto n = it.next_batch(
          4,
          [&](std::string_view k, std::string_view) {
            keys.emplace_back(k);
            return true;
          },
          direction);
      if (!n.ok()) {
        *status = n.status();
        return keys;
      }
    }
    *status = it.status();
    return keys;
  }

  // The status is a CORRUPTION naming the plugin, its file, the operation
  // and `problem`.
  static void expect_reported(const Status& status, const std::string& op,
                              const std::string& problem) {
    EXPECT_EQ(status.code(), Code::kCorruption) << status;
    EXPECT_THAT(status.message(), HasSubstr("iterator " + op));
    EXPECT_THAT(status.message(),
                HasSubstr(std::string("plugin '") + GetParam().name + "'"));
    EXPECT_THAT(status.message(),
                HasSubstr(fs::path(GetParam().path).filename().string()));
    EXPECT_THAT(status.message(), HasSubstr(problem));
  }

  std::shared_ptr<const Plugin> plugin_;
  test::TempDir dir_;
  int n_ = 0;
  std::unique_ptr<Database> db_;
};

TEST_P(IteratorChecks, CorrectIteratorPassesEveryPathWithChecksOn) {
  open("none", true);
  Iterator it = iterator();
  EXPECT_EQ(forward_keys(it).size(), 9u);
  EXPECT_TRUE(it.status().ok()) << it.status();
  std::vector<std::string> backward;
  for (it.seek_to_last(); it.valid(); it.prev())
    backward.emplace_back(it.key());
  EXPECT_EQ(backward.size(), 9u);
  EXPECT_TRUE(it.status().ok()) << it.status();
  Status s;
  EXPECT_EQ(batched_keys(it, Iterator::Direction::kForward, &s).size(), 9u);
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(batched_keys(it, Iterator::Direction::kBackward, &s).size(), 9u);
  EXPECT_TRUE(s.ok()) << s;

  Iterator bounded = iterator(bounds("k3", "k7"));
  bounded.seek("k5");
  ASSERT_TRUE(bounded.valid());
  EXPECT_EQ(bounded.key(), "k5");
  bounded.seek_for_prev("k5");
  ASSERT_TRUE(bounded.valid());
  EXPECT_EQ(bounded.key(), "k5");
  // A batch the caller stops leaves the iterator on the refused entry.
  int taken = 0;
  auto n = bounded.next_batch(
      10, [&](std::string_view, std::string_view) { return ++taken < 2; });
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 1u);
  ASSERT_TRUE(bounded.valid());
  EXPECT_EQ(bounded.key(), "k6");
  // max_entries 0 consumes nothing and stays.
  n = bounded.next_batch(
      0, [](std::string_view, std::string_view) { return true; });
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(bounded.key(), "k6");
  bounded.next();
  EXPECT_FALSE(bounded.valid());
  EXPECT_TRUE(bounded.status().ok()) << bounded.status();
}

TEST_P(IteratorChecks, RepeatedKeyOnNextAndPrevIsReported) {
  open("repeat", true);
  Iterator it = iterator();
  EXPECT_EQ(forward_keys(it), (std::vector<std::string>{"k1", "k2"}));
  EXPECT_FALSE(it.valid());
  expect_reported(it.status(), "next",
                  "returned key " + hex_of("k2") +
                      ", which does not come after the previous key " +
                      hex_of("k2"));

  Iterator back = iterator();
  back.seek_to_last();
  back.prev();
  back.prev();
  EXPECT_FALSE(back.valid());
  expect_reported(back.status(), "prev", "does not come before the previous");
}

TEST_P(IteratorChecks, KeyOutOfOrderIsReportedOnNextAndPrev) {
  open("step_back", true);
  Iterator it = iterator();
  it.seek_to_first();  // k1
  it.next();           // k2
  ASSERT_TRUE(it.valid());
  it.next();  // the plugin goes back to k1
  EXPECT_FALSE(it.valid());
  expect_reported(it.status(), "next",
                  "returned key " + hex_of("k1") +
                      ", which does not come after the previous key " +
                      hex_of("k2"));

  Iterator back = iterator();
  back.seek_to_last();  // k9
  back.prev();          // k8
  back.prev();          // the plugin goes forward to k9
  EXPECT_FALSE(back.valid());
  expect_reported(back.status(), "prev",
                  "returned key " + hex_of("k9") +
                      ", which does not come before the previous key " +
                      hex_of("k8"));
}

TEST_P(IteratorChecks, KeyOutOfOrderIsReportedInBatchesBothWays) {
  open("step_back", true);
  for (auto direction :
       {Iterator::Direction::kForward, Iterator::Direction::kBackward}) {
    Iterator it = iterator();
    Status s;
    const auto keys = batched_keys(it, direction, &s);
    EXPECT_EQ(keys.size(), 2u);
    expect_reported(s, "next_batch",
                    direction == Iterator::Direction::kForward
                        ? "does not come after the previous key"
                        : "does not come before the previous key");
    EXPECT_FALSE(it.valid());
    EXPECT_EQ(it.status().code(), Code::kCorruption);
  }
  open("repeat", true);
  Iterator it = iterator();
  Status s;
  batched_keys(it, Iterator::Direction::kForward, &s);
  expect_reported(s, "next_batch", "does not come after the previous key");
}

TEST_P(IteratorChecks, KeysBeyondTheBoundsAreReportedOnEveryPath) {
  open("ignore_bounds", true);
  {
    Iterator it = iterator(bounds("k3", "k6"));
    it.seek_to_first();  // the plugin starts at k1
    EXPECT_FALSE(it.valid());
    expect_reported(it.status(), "seek_to_first",
                    "returned key " + hex_of("k1") +
                        ", which is below the lower bound " + hex_of("k3"));
  }
  {
    Iterator it = iterator(bounds("k3", "k6"));
    it.seek_to_last();  // the plugin ends at k9
    expect_reported(it.status(), "seek_to_last",
                    "returned key " + hex_of("k9") +
                        ", which is not below the upper bound " + hex_of("k6"));
  }
  {
    Iterator it = iterator(bounds("k3", "k6"));
    it.seek("k1");  // clamped to k3 by a correct plugin
    expect_reported(it.status(), "seek", "below the lower bound");
    Iterator prev = iterator(bounds("k3", "k6"));
    prev.seek_for_prev("k9");  // clamped to k5 by a correct plugin
    expect_reported(prev.status(), "seek_for_prev",
                    "is not below the upper bound");
  }
  {
    // The walk starts inside and runs out of the bounds.
    Iterator it = iterator(bounds("k1", "k3"));
    it.seek_to_first();
    it.next();
    ASSERT_TRUE(it.valid());
    it.next();  // k3
    expect_reported(it.status(), "next", "not below the upper bound");
    Iterator back = iterator(bounds("k8", std::nullopt));
    back.seek_to_last();
    back.prev();
    ASSERT_TRUE(back.valid());
    back.prev();  // k7
    expect_reported(back.status(), "prev", "below the lower bound");
  }
  for (auto direction :
       {Iterator::Direction::kForward, Iterator::Direction::kBackward}) {
    const bool forward = direction == Iterator::Direction::kForward;
    // Batches of 4: the 4th entry visited is out of bounds.
    Iterator it = forward ? iterator(bounds(std::nullopt, "k4"))
                          : iterator(bounds("k7", std::nullopt));
    Status s;
    auto keys = batched_keys(it, direction, &s);
    EXPECT_EQ(keys.size(), 3u);  // k1..k3 or k9..k7 are fine
    expect_reported(s, "next_batch",
                    forward ? "returned key " + hex_of("k4") +
                                  ", which is not below the upper bound"
                            : "returned key " + hex_of("k6") +
                                  ", which is below the lower bound");
    // 4 entries are fine, and the batch ends on one out of bounds.
    Iterator past = forward ? iterator(bounds(std::nullopt, "k5"))
                            : iterator(bounds("k6", std::nullopt));
    keys = batched_keys(past, direction, &s);
    EXPECT_EQ(keys.size(), 4u);
    expect_reported(s, "next_batch",
                    forward ? "returned key " + hex_of("k5") +
                                  ", which is not below the upper bound"
                            : "returned key " + hex_of("k5") +
                                  ", which is below the lower bound");
  }
  {
    IteratorOptions o;
    o.prefix = "k";  // everything: then the store has a key without it
    ASSERT_TRUE(db_->put({}, "j0", "outside").ok());
    Iterator it = iterator(o);
    it.seek_to_first();
    expect_reported(it.status(), "seek_to_first", "below the lower bound");
  }
}

TEST_P(IteratorChecks, PrefixIsEnforcedThroughItsBounds) {
  // An all-0xFF prefix has no successor (no upper bound): the lower bound
  // alone keeps keys outside the prefix out.
  open("ignore_bounds", true);
  const std::string prefix("\xff\xff", 2);
  ASSERT_TRUE(db_->put({}, prefix + "a", "in").ok());
  ASSERT_TRUE(db_->put({}, std::string("\xff\x00", 2), "out").ok());
  IteratorOptions o;
  o.prefix = prefix;
  Iterator it = iterator(o);
  it.seek_to_last();  // the plugin ends at ff ff 61, inside
  ASSERT_TRUE(it.valid()) << it.status();
  it.prev();  // ff 00
  expect_reported(it.status(), "prev", "is below the lower bound ffff");
}

TEST_P(IteratorChecks, SeekLandingBeforeItsTargetIsReported) {
  open("seek_short", true);
  Iterator it = iterator();
  it.seek("k5");  // the plugin lands on k4
  expect_reported(it.status(), "seek",
                  "returned key " + hex_of("k4") +
                      ", which is before the seek target " + hex_of("k5"));
  Iterator back = iterator();
  back.seek_for_prev("k5");  // the plugin lands on k6
  expect_reported(back.status(), "seek_for_prev",
                  "returned key " + hex_of("k6") +
                      ", which is after the seek target " + hex_of("k5"));
}

TEST_P(IteratorChecks, AReportedIteratorStaysStopped) {
  open("repeat", true);
  Iterator it = iterator();
  forward_keys(it);
  ASSERT_EQ(it.status().code(), Code::kCorruption);
  const std::string first = it.status().message();
  it.seek_to_first();  // the plugin is no longer trusted
  EXPECT_FALSE(it.valid());
  it.seek("k3");
  EXPECT_FALSE(it.valid());
  auto n = it.next_batch(4, [](std::string_view, std::string_view) {
    ADD_FAILURE() << "a stopped iterator visited an entry";
    return true;
  });
  EXPECT_EQ(n.status().code(), Code::kCorruption);
  EXPECT_EQ(it.status().message(), first);
  // A new iterator starts trusted again.
  Iterator fresh = iterator();
  fresh.seek_to_first();
  EXPECT_TRUE(fresh.valid());
}

TEST_P(IteratorChecks, LongKeysAreShownTruncated) {
  open("step_back", true);
  const std::string long_key = "k1" + std::string(100, 'x');
  ASSERT_TRUE(db_->put({}, long_key, "v").ok());
  Iterator it = iterator();
  it.seek("k1");  // k1
  it.next();      // k1xxx...
  ASSERT_TRUE(it.valid());
  ASSERT_EQ(it.key(), long_key);
  it.next();  // back to k1
  EXPECT_THAT(it.status().message(),
              HasSubstr("previous key " + hex_of(long_key.substr(0, 32)) +
                        "...(102 bytes)"));
}

TEST_P(IteratorChecks, WithChecksOffThePluginsOutputPassesThrough) {
  open("repeat", false);
  Iterator it = iterator();
  EXPECT_EQ(forward_keys(it),
            (std::vector<std::string>{"k1", "k2", "k2", "k3", "k4", "k5", "k6",
                                      "k7", "k8", "k9"}));
  EXPECT_TRUE(it.status().ok()) << it.status();

  open("step_back", false);
  Iterator batched = iterator();
  Status s;
  const auto keys = batched_keys(batched, Iterator::Direction::kForward, &s);
  EXPECT_TRUE(s.ok()) << s;
  ASSERT_GE(keys.size(), 3u);
  EXPECT_EQ(keys[2], "k1");  // out of order, not caught

  open("ignore_bounds", false);
  Iterator bounded = iterator(bounds("k3", "k6"));
  EXPECT_EQ(forward_keys(bounded).size(), 9u);
  EXPECT_TRUE(bounded.status().ok()) << bounded.status();

  open("seek_short", false);
  Iterator seeking = iterator();
  seeking.seek("k5");
  ASSERT_TRUE(seeking.valid());
  EXPECT_EQ(seeking.key(), "k4");
}

TEST_P(IteratorChecks, DefaultIsOnInDebugBuildsAndOffInRelease) {
#ifdef NDEBUG
  EXPECT_FALSE(iterator_checks_default());
#else
  EXPECT_TRUE(iterator_checks_default());
#endif
  open("repeat", std::nullopt);
  Iterator it = iterator();
  forward_keys(it);
  EXPECT_EQ(it.status().code() == Code::kCorruption, iterator_checks_default())
      << it.status();
}

TEST_P(IteratorChecks, ConfigKeyTurnsChecksOnAndOpenOptionsOverride) {
  const fs::path dir =
      fs::path(KALAM_TEST_DISORDERLY_PLUGIN_PATH).parent_path();
  for (const char* value : {"true", "false"}) {
    auto config = parse_config(std::string("storage:\n"
                                           "  backend: disorderly\n"
                                           "  path: db-") +
                                   value +
                                   "\n"
                                   "  plugin_path: " +
                                   dir.string() +
                                   "\n"
                                   "  check_iterators: " +
                                   value +
                                   "\n"
                                   "  options:\n"
                                   "    disorder: repeat\n",
                               "test.yaml", dir_.path());
    ASSERT_TRUE(config.ok()) << config.status();
    const bool on = std::string(value) == "true";
    EXPECT_EQ(config->storage.check_iterators, on);
    for (std::optional<bool> override_with :
         {std::optional<bool>(), std::optional<bool>(!on)}) {
      OpenOptions options;
      options.check_iterators = override_with;
      auto db = Database::open(config->storage, options);
      ASSERT_TRUE(db.ok()) << db.status();
      ASSERT_TRUE((*db)->put({}, "a", "1").ok());
      ASSERT_TRUE((*db)->put({}, "b", "2").ok());
      ASSERT_TRUE((*db)->put({}, "c", "3").ok());
      auto it = (*db)->new_iterator({});
      ASSERT_TRUE(it.ok()) << it.status();
      forward_keys(*it);
      const bool expect_on = override_with.value_or(on);
      EXPECT_EQ(it->status().code() == Code::kCorruption, expect_on)
          << value << " " << it->status();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    BothBatchPaths, IteratorChecks,
    ::testing::Values(
        Disorderly{KALAM_TEST_DISORDERLY_PLUGIN_PATH, "disorderly"},
        Disorderly{KALAM_TEST_DISORDERLY10_PLUGIN_PATH, "disorderly10"}),
    [](const ::testing::TestParamInfo<Disorderly>& param_info) {
      return std::string(param_info.param.name) == "disorderly"
                 ? "ReadBatch"
                 : "VisitorBatch";
    });

// Correct plugins never trip the checks: binary keys (0x00, 0x7f, 0x80,
// 0xff: a signed compare would misorder them), bounds, prefixes, both
// directions and batches, on every in-tree backend.
class IteratorChecksOnRealBackends
    : public ::testing::TestWithParam<std::string> {};

TEST_P(IteratorChecksOnRealBackends, NoFalseAlarms) {
  auto plugin = load_plugin(GetParam(), {KALAM_TEST_PLUGIN_DIR});
  ASSERT_TRUE(plugin.ok()) << plugin.status();
  test::TempDir dir;
  OpenOptions options;
  options.check_iterators = true;
  auto opened = Database::open(*plugin, dir / "db", {}, options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  Database& db = **opened;
  const std::vector<std::string> keys = {std::string("\x00", 1),
                                         std::string("\x00\x00", 2),
                                         "a",
                                         "ab",
                                         "b",
                                         "\x7f",
                                         "\x80",
                                         "\x80\x01",
                                         "\xfe",
                                         "\xff",
                                         "\xff\xff",
                                         std::string("\xff\xff\x00", 3)};
  for (const auto& k : keys) ASSERT_TRUE(db.put({}, k, "v").ok());
  const bool reverse = (*plugin)->has(KALAM_CAP_REVERSE_ITERATION);

  std::vector<IteratorOptions> views(5);
  views[1].lower = "a";
  views[1].upper = "\x80\x01";
  views[2].prefix = "\xff";
  views[3].prefix = "\x80";
  views[4].lower = std::string("\x00\x00", 2);
  views[4].prefix = std::string("\x00", 1);
  for (size_t v = 0; v < views.size(); ++v) {
    SCOPED_TRACE("view " + std::to_string(v));
    auto it = db.new_iterator({}, views[v]);
    ASSERT_TRUE(it.ok()) << it.status();
    size_t forward = 0;
    for (it->seek_to_first(); it->valid(); it->next()) ++forward;
    EXPECT_TRUE(it->status().ok()) << it->status();
    EXPECT_GT(forward, 0u);
    size_t batched = 0;
    for (it->seek_to_first(); it->valid();) {
      auto n = it->next_batch(3, [&](std::string_view, std::string_view) {
        ++batched;
        return true;
      });
      ASSERT_TRUE(n.ok()) << n.status();
    }
    EXPECT_EQ(batched, forward);
    for (const auto& target : keys) {
      it->seek(target);
      EXPECT_TRUE(it->status().ok()) << it->status();
    }
    if (!reverse) continue;
    size_t backward = 0;
    for (it->seek_to_last(); it->valid(); it->prev()) ++backward;
    EXPECT_EQ(backward, forward);
    size_t batched_back = 0;
    for (it->seek_to_last(); it->valid();) {
      auto n = it->next_batch(
          3,
          [&](std::string_view, std::string_view) {
            ++batched_back;
            return true;
          },
          Iterator::Direction::kBackward);
      ASSERT_TRUE(n.ok()) << n.status();
    }
    EXPECT_EQ(batched_back, forward);
    for (const auto& target : keys) {
      it->seek_for_prev(target);
      EXPECT_TRUE(it->status().ok()) << it->status();
    }
    EXPECT_TRUE(it->status().ok()) << it->status();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Backends, IteratorChecksOnRealBackends,
    ::testing::ValuesIn(std::vector<std::string>{KALAM_TEST_PLUGIN_NAMES}),
    [](const auto& param_info) { return param_info.param; });

}  // namespace
}  // namespace kalam
