// The fault sweep over engine and table-layer scenarios (see fault_sweep.h).
// The inner backend is KALAM_FAULTY_INNER (ctest registers the suite twice:
// on memory, and on a persistent backend with a reopen after every run).
#include <gtest/gtest.h>
#include <kalam/tables/tables.h>

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "fault_sweep.h"

namespace kalam::faults {
namespace {

using tables::Catalog;
using tables::ColumnType;
using tables::DropNamespaceOptions;
using tables::TableKind;
using tables::Tables;
using tables::TableSpec;

// Opens column family `name`, creating it; retried (later steps need it).
bool open_family(Database& db, Ctx& ctx, KvModel& model,
                 const std::string& name, ColumnFamily* out) {
  return ctx.retry("create column family " + name, [&] {
    auto cf = db.column_family(name, /*create_if_missing=*/true);
    if (!ctx.ok(cf, "create column family " + name)) return false;
    model.create(name);
    *out = *cf;
    return true;
  });
}

// ---- Database::put / del / get / multi_get
// -----------------------------------

class PutScenario : public Scenario {
 public:
  void run(Database& db, Ctx& ctx) override {
    ColumnFamily def, a;
    if (!open_family(db, ctx, model_, "a", &a)) return;
    for (int i = 0; i < 4; ++i) {
      const std::string key = "k" + std::to_string(i);
      for (auto* cf : {&def, &a}) {
        const std::string name = cf->is_default() ? "default" : "a";
        const std::string value = name + "-v" + std::to_string(i);
        if (ctx.ok(db.put(*cf, key, value, {.sync = i % 2 == 0}), "put")) {
          model_.put(name, key, value);
        }
      }
    }
    if (ctx.ok(db.del(a, "k1"), "del")) model_.del("a", "k1");
    if (ctx.ok(db.put(def, "k0", "overwritten"), "put")) {
      model_.put("default", "k0", "overwritten");
    }
    // Reads answer from what was acknowledged, or fail cleanly.
    for (const char* key : {"k0", "k1", "k9"}) {
      auto value = db.get(a, key);
      if (value.status().code() == Code::kNotFound) {
        EXPECT_EQ(model_.contents("a").count(key), 0u) << key;
      } else if (ctx.ok(value, "get")) {
        const auto& want = model_.contents("a");
        ASSERT_EQ(want.count(key), 1u) << "read a key never acknowledged";
        EXPECT_EQ(*value, want.at(key)) << key;
      }
    }
    const std::array<std::string_view, 3> keys = {"k0", "k2", "zz"};
    auto values = db.multi_get(def, keys);
    if (ctx.ok(values, "multi_get")) {
      for (size_t i = 0; i < keys.size(); ++i) {
        const auto& want = model_.contents("default");
        auto it = want.find(std::string(keys[i]));
        EXPECT_EQ((*values)[i].has_value(), it != want.end()) << keys[i];
        if (it != want.end() && (*values)[i]) {
          EXPECT_EQ(*(*values)[i], it->second);
        }
      }
    }
  }
  void verify(Database& db) override { model_.verify(db); }

 private:
  KvModel model_;
};

// ---- WriteBatch across column families
// ---------------------------------------

class BatchScenario : public Scenario {
 public:
  void run(Database& db, Ctx& ctx) override {
    ColumnFamily def, a, b;
    if (!open_family(db, ctx, model_, "a", &a)) return;
    if (!open_family(db, ctx, model_, "b", &b)) return;
    for (int round = 0; round < 4; ++round) {
      // Ten keys over three families carrying the round number: a batch
      // is all or nothing, so the model applies it only when acknowledged.
      WriteBatch batch;
      std::vector<std::tuple<std::string, std::string, std::string>> puts;
      for (int i = 0; i < 10; ++i) {
        const ColumnFamily& cf = i % 3 == 0 ? def : (i % 3 == 1 ? a : b);
        const std::string name =
            i % 3 == 0 ? "default" : (i % 3 == 1 ? "a" : "b");
        const std::string key = "key" + std::to_string(i);
        const std::string value = "round" + std::to_string(round);
        batch.put(cf, key, value);
        puts.emplace_back(name, key, value);
      }
      if (round == 2) batch.del(a, "key1");
      if (round == 3) batch.delete_range(b, "key0", "key5");
      if (ctx.ok(db.write(batch, {.sync = round % 2 == 1}), "write batch")) {
        for (const auto& [cf, key, value] : puts) model_.put(cf, key, value);
        if (round == 2) model_.del("a", "key1");
        if (round == 3) {
          std::vector<std::string> gone;
          for (const auto& [key, _] : model_.contents("b")) {
            if (key >= "key0" && key < "key5") gone.push_back(key);
          }
          for (const auto& key : gone) model_.del("b", key);
        }
      }
    }
  }
  void verify(Database& db) override { model_.verify(db); }

 private:
  KvModel model_;
};

// ---- Column family create and drop
// ---------------------------------------------

class FamilyScenario : public Scenario {
 public:
  void run(Database& db, Ctx& ctx) override {
    ColumnFamily a;
    if (!open_family(db, ctx, model_, "a", &a)) return;
    if (ctx.ok(db.put(a, "x", "1"), "put")) model_.put("a", "x", "1");
    // Not retried: a failed create leaves no family.
    auto b = db.column_family("b", true);
    if (ctx.ok(b, "create column family b")) model_.create("b");
    // A failed drop leaves the family and its data.
    if (ctx.ok(db.drop_column_family(a), "drop column family a")) {
      model_.drop("a");
    }
    auto listed = db.list_column_families();
    if (ctx.ok(listed, "list column families")) {
      EXPECT_EQ(std::count(listed->begin(), listed->end(), "a"),
                model_.has("a") ? 1 : 0);
    }
    // Create it again: empty if the drop was acknowledged, else as it was.
    ColumnFamily again;
    if (!open_family(db, ctx, model_, "a", &again)) return;
    if (ctx.ok(db.put(again, "y", "2"), "put")) model_.put("a", "y", "2");
  }
  void verify(Database& db) override { model_.verify(db); }

 private:
  KvModel model_;
};

using Entries = std::vector<std::pair<std::string, std::string>>;

// ---- Iterators, snapshots, next_batch
// -------------------------------------------

class IterateScenario : public Scenario {
 public:
  void run(Database& db, Ctx& ctx) override {
    ColumnFamily a;
    if (!open_family(db, ctx, model_, "a", &a)) return;
    if (!ctx.retry("load", [&] {
          WriteBatch batch;
          for (int i = 0; i < 6; ++i) {
            batch.put(a, "p" + std::to_string(i), std::to_string(i));
          }
          batch.put(a, "q0", "q");
          if (!ctx.ok(db.write(batch), "write")) return false;
          for (int i = 0; i < 6; ++i) {
            model_.put("a", "p" + std::to_string(i), std::to_string(i));
          }
          model_.put("a", "q0", "q");
          return true;
        })) {
      return;
    }
    const auto& all = model_.contents("a");
    // A full forward scan: what it returns is a prefix of the data, and all
    // of it unless it failed.
    scan(ctx, db, a, {}, false, Entries(all.begin(), all.end()));
    // Backward over a prefix.
    Entries p(all.begin(), std::prev(all.end()));
    std::reverse(p.begin(), p.end());
    scan(ctx, db, a, {.prefix = "p"}, true, p);
    // At a snapshot, after a later write.
    auto snapshot = db.snapshot();
    if (!ctx.ok(snapshot, "snapshot")) return;
    const Entries before(all.begin(), all.end());
    if (ctx.ok(db.put(a, "p9", "late"), "put")) model_.put("a", "p9", "late");
    scan(ctx, db, a, {.snapshot = &*snapshot}, false, before);
    // Seek, then batches.
    auto it = db.new_iterator(a);
    if (!ctx.ok(it, "new_iterator")) return;
    it->seek("p3");
    if (!ctx.ok(it->status(), "seek")) return;
    ASSERT_TRUE(it->valid());
    EXPECT_EQ(it->key(), "p3");
    std::vector<std::string> keys;
    auto consumed =
        it->next_batch(3, [&](std::string_view k, std::string_view) {
          keys.emplace_back(k);
          return true;
        });
    if (!ctx.ok(consumed, "next_batch")) return;
    EXPECT_EQ(keys, (std::vector<std::string>{"p3", "p4", "p5"}));
  }
  void verify(Database& db) override { model_.verify(db); }

 private:
  void scan(Ctx& ctx, Database& db, const ColumnFamily& cf,
            IteratorOptions options, bool backward, const Entries& want) {
    options.reverse = backward;
    auto it = db.new_iterator(cf, options);
    if (!ctx.ok(it, "new_iterator")) return;
    std::vector<std::pair<std::string, std::string>> got;
    if (backward) {
      for (it->seek_to_last(); it->valid(); it->prev()) {
        got.emplace_back(it->key(), it->value());
      }
    } else {
      for (it->seek_to_first(); it->valid(); it->next()) {
        got.emplace_back(it->key(), it->value());
      }
    }
    ASSERT_LE(got.size(), want.size());
    EXPECT_TRUE(std::equal(got.begin(), got.end(), want.begin()))
        << "an iterator returned entries that are not the data";
    if (ctx.ok(it->status(), "iterate")) {
      EXPECT_EQ(got, want);
    }
  }

  KvModel model_;
};

// ---- Table layer: catalog
// ---------------------------------------------------------

tables::Schema notes_schema() {
  return {.columns = {{"id", ColumnType::kString, false},
                      {"title", ColumnType::kString, true},
                      {"n", ColumnType::kInt64, true}},
          .primary_key = "id"};
}

bool open_tables(Database& db, Ctx& ctx, std::unique_ptr<Tables>* out) {
  return ctx.retry("open the table layer", [&] {
    // No background worker: its calls would make the call count vary.
    auto t = Tables::open(db, {.background = false});
    if (!ctx.ok(t, "open the table layer")) return false;
    *out = std::move(*t);
    return true;
  });
}

// Creates namespace "app" and the table `spec` describes, each retried once
// after an injected failure. False when the disk died first.
bool create_app_table(Tables& t, Ctx& ctx, const tables::TableSpec& spec) {
  return ctx.retry("create_namespace", [&] {
    return ctx.ok(t.catalog().create_namespace("app"), "create_namespace");
  }) && ctx.retry("create_table", [&] {
    return ctx.ok(t.catalog().create_table(spec), "create_table");
  });
}

// Namespaces and tables, as acknowledged; checked through the catalog API.
struct CatalogModel {
  std::map<std::string, std::set<std::string>> namespaces;

  void verify(Database& db) const {
    auto t = Tables::open(db, {.background = false});
    ASSERT_TRUE(t.ok()) << t.status();
    auto listed = (*t)->catalog().list_namespaces();
    ASSERT_TRUE(listed.ok()) << listed.status();
    std::vector<std::string> names;
    for (const auto& ns : *listed) names.push_back(ns.name);
    std::vector<std::string> want;
    for (const auto& [ns, _] : namespaces) want.push_back(ns);
    EXPECT_EQ(names, want) << "namespaces differ from the model";
    for (const auto& [ns, tables] : namespaces) {
      auto list = (*t)->catalog().list_tables(ns);
      ASSERT_TRUE(list.ok()) << list.status();
      std::set<std::string> got;
      for (const auto& info : *list) got.insert(info.name);
      EXPECT_EQ(got, tables) << "tables of " << ns << " differ";
    }
  }
};

class CatalogScenario : public Scenario {
 public:
  void run(Database& db, Ctx& ctx) override {
    std::unique_ptr<Tables> t;
    if (!open_tables(db, ctx, &t)) return;
    Catalog& catalog = t->catalog();
    for (const char* ns : {"app", "tmp"}) {
      if (ctx.ok(catalog.create_namespace(ns), "create_namespace")) {
        model_.namespaces[ns];
      }
    }
    if (model_.namespaces.count("app")) {
      for (const char* name : {"notes", "scratch"}) {
        TableSpec spec{.ns = "app",
                       .name = name,
                       .kind = TableKind::kUser,
                       .schema = notes_schema()};
        if (ctx.ok(catalog.create_table(spec), "create_table")) {
          model_.namespaces["app"].insert(name);
        }
      }
      if (model_.namespaces["app"].count("scratch") &&
          ctx.ok(catalog.drop_table("app", "scratch"), "drop_table")) {
        model_.namespaces["app"].erase("scratch");
      }
    }
    if (model_.namespaces.count("tmp") &&
        ctx.ok(catalog.drop_namespace("tmp"), "drop_namespace")) {
      model_.namespaces.erase("tmp");
    }
    // A describe answers from what was acknowledged, or fails cleanly.
    auto described = catalog.describe_table("app", "notes");
    if (described.status().code() == Code::kNotFound) {
      EXPECT_FALSE(model_.namespaces.count("app") &&
                   model_.namespaces["app"].count("notes"));
    } else if (ctx.ok(described, "describe_table")) {
      EXPECT_TRUE(model_.namespaces["app"].count("notes"));
    }
  }
  void verify(Database& db) override { model_.verify(db); }

 private:
  CatalogModel model_;
};

// ---- Table layer: UserTableStore put / update / del
// ------------------------------

class UserRowsScenario : public Scenario {
 public:
  void run(Database& db, Ctx& ctx) override {
    std::unique_ptr<Tables> t;
    if (!open_tables(db, ctx, &t)) return;
    if (!create_app_table(*t, ctx,
                          {.ns = "app",
                           .name = "notes",
                           .kind = TableKind::kUser,
                           .schema = notes_schema()})) {
      return;
    }
    created_ = true;
    auto& users = t->user();
    for (const char* user : {"alice", "bob"}) {
      for (int i = 0; i < 3; ++i) {
        nlohmann::json row = {{"id", "r" + std::to_string(i)},
                              {"title", std::string(user) + " note"},
                              {"n", i}};
        if (ctx.ok(users.put("app", "notes", user, row), "put")) {
          rows_[{user, "r" + std::to_string(i)}] = row;
        }
      }
    }
    const std::pair<std::string, std::string> target = {"alice", "r1"};
    auto updated =
        users.update("app", "notes", "alice", "r1", {{"title", "edited"}});
    if (!rows_.count(target)) {
      // The row was never acknowledged: NOT_FOUND, or a clean failure.
      if (updated.status().code() != Code::kNotFound) {
        EXPECT_FALSE(ctx.ok(updated, "update")) << "updated a missing row";
      }
    } else if (ctx.ok(updated, "update")) {
      rows_[target]["title"] = "edited";
      EXPECT_EQ(updated->data, rows_[target]);
    }
    const std::pair<std::string, std::string> gone = {"bob", "r0"};
    Status deleted = users.del("app", "notes", "bob", "r0");
    if (!rows_.count(gone)) {
      if (deleted.code() != Code::kNotFound) {
        EXPECT_FALSE(ctx.ok(deleted, "del")) << "deleted a missing row";
      }
    } else if (ctx.ok(deleted, "del")) {
      rows_.erase(gone);
    }
    // Another user's rows are never visible, and reads see what was
    // acknowledged.
    auto scanned = users.scan("app", "notes", "bob");
    if (ctx.ok(scanned, "scan")) {
      for (const auto& row : *scanned) {
        EXPECT_EQ(row.user_id, "bob");
        EXPECT_EQ(row.data, rows_.at({"bob", row.row_id}));
      }
    }
  }

  void verify(Database& db) override {
    auto t = Tables::open(db, {.background = false});
    ASSERT_TRUE(t.ok()) << t.status();
    if (!created_) return;  // the sweep stopped before the table existed
    auto all = (*t)->user().scan_all("app", "notes");
    ASSERT_TRUE(all.ok()) << all.status();
    std::map<std::pair<std::string, std::string>, nlohmann::json> found;
    for (const auto& row : *all) found[{row.user_id, row.row_id}] = row.data;
    EXPECT_EQ(found, rows_) << "rows differ from the model";
  }

 private:
  bool created_ = false;
  std::map<std::pair<std::string, std::string>, nlohmann::json> rows_;
};

// ---- Table layer: flush to cold storage
// ------------------------------------------------------------------

// A failed flush, at whatever call, changes no row: the rows read the same
// (hot, cold or both) before and after, and the next flush moves them.
class FlushScenario : public Scenario {
 public:
  void run(Database& db, Ctx& ctx) override {
    std::unique_ptr<Tables> t;
    if (!open_tables(db, ctx, &t)) return;
    created_ = create_app_table(*t, ctx,
                                {.ns = "app",
                                 .name = "notes",
                                 .kind = TableKind::kUser,
                                 .schema = notes_schema()});
    if (!created_) return;
    auto& users = t->user();
    auto put = [&](const std::string& user, int i, const std::string& title) {
      nlohmann::json row = {
          {"id", "r" + std::to_string(i)}, {"title", title}, {"n", i}};
      if (ctx.ok(users.put("app", "notes", user, row), "put")) {
        rows_[{user, "r" + std::to_string(i)}] = row;
      }
    };
    for (const char* user : {"alice", "bob"}) {
      for (int i = 0; i < 2; ++i) put(user, i, std::string(user) + " note");
    }
    (void)ctx.ok(t->flush("app", "notes"), "first flush");
    put("alice", 0, "edited after the flush");
    const std::pair<std::string, std::string> gone = {"bob", "r1"};
    Status deleted = users.del("app", "notes", "bob", "r1");
    if (!rows_.count(gone)) {
      if (deleted.code() != Code::kNotFound) {
        EXPECT_FALSE(ctx.ok(deleted, "del")) << "deleted a missing row";
      }
    } else if (ctx.ok(deleted, "del")) {
      rows_.erase(gone);
    }
    (void)ctx.ok(t->flush("app", "notes"), "second flush");
    auto all = users.scan_all("app", "notes");
    if (ctx.ok(all, "scan_all")) {
      EXPECT_EQ(found(*all), rows_);
    }
  }

  void verify(Database& db) override {
    auto t = Tables::open(db, {.background = false});
    ASSERT_TRUE(t.ok()) << t.status();
    if (!created_) return;
    auto all = (*t)->user().scan_all("app", "notes");
    ASSERT_TRUE(all.ok()) << all.status();
    EXPECT_EQ(found(*all), rows_) << "rows differ from the model";
    // And a clean flush afterwards still reads the same.
    ASSERT_TRUE((*t)->flush("app", "notes").ok());
    all = (*t)->user().scan_all("app", "notes");
    ASSERT_TRUE(all.ok()) << all.status();
    EXPECT_EQ(found(*all), rows_) << "rows differ after a clean flush";
  }

 private:
  static std::map<std::pair<std::string, std::string>, nlohmann::json> found(
      const std::vector<tables::Row>& rows) {
    std::map<std::pair<std::string, std::string>, nlohmann::json> out;
    for (const auto& row : rows) {
      EXPECT_TRUE(
          out.emplace(std::make_pair(row.user_id, row.row_id), row.data).second)
          << "row " << row.user_id << "/" << row.row_id << " read twice";
    }
    return out;
  }

  bool created_ = false;
  std::map<std::pair<std::string, std::string>, nlohmann::json> rows_;
};

// ---- Table layer: stream eviction
// ------------------------------------------------------------------

// A failed eviction (or append) leaves exactly the newest max_rows of the
// acknowledged events readable, in order.
class StreamEvictionScenario : public Scenario {
 public:
  void run(Database& db, Ctx& ctx) override {
    std::unique_ptr<Tables> t;
    if (!open_tables(db, ctx, &t)) return;
    created_ = create_app_table(
        *t, ctx,
        {.ns = "app",
         .name = "events",
         .kind = TableKind::kStream,
         .schema = {.columns = {{"n", ColumnType::kInt64, false}}},
         .options = {.max_rows = kKeep}});
    if (!created_) return;
    for (int64_t n = 1; n <= 5; ++n) {
      if (ctx.ok(t->stream().append("app", "events", {{"n", n}}), "append")) {
        acked_.push_back(n);
      }
    }
    (void)ctx.ok(t->stream().evict("app", "events"), "evict");
    if (ctx.ok(t->stream().append("app", "events", {{"n", 6}}), "append")) {
      acked_.push_back(6);
    }
    (void)ctx.ok(t->stream().evict("app", "events"), "evict");
  }

  void verify(Database& db) override {
    auto t = Tables::open(db, {.background = false});
    ASSERT_TRUE(t.ok()) << t.status();
    if (!created_) return;
    auto live = (*t)->stream().scan("app", "events");
    ASSERT_TRUE(live.ok()) << live.status();
    std::vector<int64_t> expected(
        acked_.size() > kKeep ? acked_.end() - kKeep : acked_.begin(),
        acked_.end());
    std::vector<int64_t> got;
    for (const auto& row : *live) got.push_back(row.data["n"].get<int64_t>());
    EXPECT_EQ(got, expected) << "live events differ from the model";
  }

 private:
  static constexpr uint64_t kKeep = 3;
  bool created_ = false;
  std::vector<int64_t> acked_;
};

// ---- The list
// ------------------------------------------------------------------

template <typename T>
NamedScenario scenario(std::string name) {
  return {std::move(name), [] { return std::make_unique<T>(); }};
}

std::vector<NamedScenario> all_scenarios() {
  return {
      scenario<PutScenario>("put"),
      scenario<BatchScenario>("batch"),
      scenario<FamilyScenario>("column_families"),
      scenario<IterateScenario>("iterate"),
      scenario<CatalogScenario>("catalog"),
      scenario<UserRowsScenario>("user_rows"),
      scenario<FlushScenario>("flush"),
      scenario<StreamEvictionScenario>("stream_eviction"),
  };
}

class FaultSweep : public ::testing::TestWithParam<NamedScenario> {};

TEST_P(FaultSweep, EveryCallFailsCleanly) {
  Sweep sweep;
  EXPECT_EQ(sweep.persistent(), inner_backend() != "memory");
  sweep.sweep(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Scenarios, FaultSweep,
                         ::testing::ValuesIn(all_scenarios()),
                         [](const auto& param) { return param.param.name; });

// Each fail_code reaches the caller as its own code.
TEST(FaultCodes, EachInjectedCodeReachesTheCaller) {
  Sweep sweep;
  const std::pair<const char*, Code> codes[] = {
      {"io_error", Code::kIoError},
      {"no_space", Code::kNoSpace},
      {"busy", Code::kBusy},
      {"corruption", Code::kCorruption},
  };
  for (const auto& [name, code] : codes) {
    SCOPED_TRACE(name);
    test::TempDir dir;
    // Call 0 is open, call 1 the put.
    auto db = sweep.open(dir / "db", Fault::call(1).with_code(name, code));
    ASSERT_TRUE(db.ok()) << db.status();
    Status s = (*db)->put(ColumnFamily(), "k", "v");
    EXPECT_EQ(s.code(), code) << s;
    EXPECT_NE(s.message().find(std::string("injected ") +
                               std::string(code_name(code))),
              std::string::npos)
        << s;
    EXPECT_TRUE((*db)->put(ColumnFamily(), "k", "v").ok());
    auto value = (*db)->get(ColumnFamily(), "k");
    ASSERT_TRUE(value.ok()) << value.status();
    EXPECT_EQ(*value, "v");
    EXPECT_TRUE((*db)->close().ok());
  }
}

// fail_kind narrows what is counted and failed: "every write fails".
TEST(FaultKinds, FailKindCountsOnlyThoseCalls) {
  test::TempDir dir;
  auto options = Fault::none().options();
  options.push_back({"fail_kind", "write"});
  options.push_back({"fail_from", "1"});
  auto db = Database::open(
      load_plugin("faulty", {KALAM_TEST_PLUGIN_DIR}).value(), dir / "db",
      options);  // call 0: open (not a write, so not counted)
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE((*db)->put(ColumnFamily(), "a", "1").ok());  // write #0
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ((*db)->put(ColumnFamily(), "b", "2").code(), Code::kIoError);
    auto value = (*db)->get(ColumnFamily(), "a");  // reads are not counted
    ASSERT_TRUE(value.ok()) << value.status();
  }
  EXPECT_EQ(Sweep::property(**db, "faulty.calls"), 4u);
  EXPECT_EQ(Sweep::property(**db, "faulty.injected"), 3u);
  EXPECT_TRUE((*db)->close().ok());
}

// Bad options are refused at open with a message naming the option.
TEST(FaultOptions, BadOptionsAreRefused) {
  auto plugin = load_plugin("faulty", {KALAM_TEST_PLUGIN_DIR});
  ASSERT_TRUE(plugin.ok()) << plugin.status();
  const std::vector<std::pair<BackendOption, std::string>> cases = {
      {{"inner", "../memory"}, "not a plugin name"},
      {{"inner", "a/b"}, "not a plugin name"},
      {{"inner", "Memory"}, "not a plugin name"},
      {{"inner", "faulty"}, "not a plugin name"},
      {{"inner", "nosuch"}, "cannot load inner backend 'nosuch'"},
      {{"fail_call", "x"}, "fail_call"},
      {{"fail_from", "-1"}, "fail_from"},
      {{"fail_kind", "write,nosuch"}, "'nosuch'"},
      {{"fail_code", "oops"}, "fail_code"},
      {{"colour", "red"}, "unknown option 'colour'"},
      {{"inner.colour", "red"}, "colour"},  // the inner plugin refuses it
  };
  for (const auto& [option, message] : cases) {
    SCOPED_TRACE(option.key + "=" + option.value);
    test::TempDir dir;
    auto db = Database::open(*plugin, dir / "db", {option});
    ASSERT_FALSE(db.ok());
    EXPECT_EQ(db.status().code(), Code::kInvalidArgument) << db.status();
    EXPECT_NE(db.status().message().find(message), std::string::npos)
        << db.status();
  }
}

// The wrapper declares exactly its inner plugin's capabilities and limits.
TEST(FaultPlugin, DeclaresTheInnerCapabilities) {
  auto faulty = load_plugin("faulty", {KALAM_TEST_PLUGIN_DIR});
  auto inner = load_plugin(inner_backend(), {KALAM_TEST_PLUGIN_DIR});
  ASSERT_TRUE(faulty.ok()) << faulty.status();
  ASSERT_TRUE(inner.ok()) << inner.status();
  EXPECT_EQ((*faulty)->name(), "faulty");
  EXPECT_EQ((*faulty)->capabilities(), (*inner)->capabilities());
  EXPECT_EQ((*faulty)->max_key_size(), (*inner)->max_key_size());
  EXPECT_EQ((*faulty)->max_value_size(), (*inner)->max_value_size());
  EXPECT_EQ((*faulty)->format_version(), (*inner)->format_version());
}

}  // namespace
}  // namespace kalam::faults
