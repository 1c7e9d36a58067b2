// SharedTableStore on every backend: the same contract as user tables
// without the partition; key order for string and int64 primary keys.
#include "tables_fixture.h"

namespace kalam::tables {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class SharedTableTest : public TablesTest {};

TEST_P(SharedTableTest, StringKeysSortBytewiseAndRoundTrip) {
  TableInfo t = make_table("app", "kv", TableKind::kShared,
                           {.columns = {{"k", ColumnType::kString, false},
                                        {"v", ColumnType::kBytes, true}},
                            .primary_key = "k"});
  // Keys that are prefixes of each other and hold U+0000.
  const std::vector<std::string> keys = {
      "",  "a",       std::string("a\0", 2), std::string("a\0b", 3), "ab",
      "b", "\xc3\xa9"};
  for (auto it = keys.rbegin(); it != keys.rend(); ++it) {
    auto id = shared().put("app", "kv",
                           {{"k", *it}, {"v", base64_encode("v:" + *it)}});
    ASSERT_TRUE(id.ok()) << id.status();
    EXPECT_EQ(*id, *it);
  }
  auto rows = shared().scan("app", "kv");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ((*rows)[i].row_id, keys[i]) << i;
    EXPECT_TRUE((*rows)[i].user_id.empty());
    EXPECT_EQ(*base64_decode((*rows)[i].data["v"].get<std::string>()),
              "v:" + keys[i]);
    auto row = shared().get("app", "kv", keys[i]);
    ASSERT_TRUE(row.ok()) << row.status();
    EXPECT_EQ(row->data["k"], keys[i]);
  }
  EXPECT_EQ(raw_table(t.id).size(), keys.size());
}

TEST_P(SharedTableTest, Int64KeysSortNumerically) {
  make_table(
      "app", "nums", TableKind::kShared,
      {.columns = {{"n", ColumnType::kInt64, false}}, .primary_key = "n"});
  const std::vector<int64_t> values = {INT64_MIN, -300, -1,  0,
                                       1,         255,  256, INT64_MAX};
  for (auto it = values.rbegin(); it != values.rend(); ++it) {
    ASSERT_TRUE(shared().put("app", "nums", {{"n", *it}}).ok());
  }
  auto rows = shared().scan("app", "nums");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ((*rows)[i].row_id, std::to_string(values[i]));
    EXPECT_EQ((*rows)[i].data["n"], values[i]);
  }
  EXPECT_TRUE(shared().get("app", "nums", "-9223372036854775808").ok());
  // The same number written differently names the same row.
  EXPECT_TRUE(shared().get("app", "nums", "-0").ok());
}

TEST_P(SharedTableTest, UpdateDeleteAndErrors) {
  make_table("app", "settings", TableKind::kShared,
             {.columns = {{"name", ColumnType::kString, false},
                          {"value", ColumnType::kJson, true},
                          {"changed", ColumnType::kTimestamp, true}},
              .primary_key = "name"});
  ASSERT_TRUE(
      shared()
          .put("app", "settings", {{"name", "theme"}, {"value", "dark"}})
          .ok());
  auto updated = shared().update(
      "app", "settings", "theme",
      {{"value", {{"mode", "light"}}}, {"changed", "2024-05-01T00:00:00Z"}});
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->data["value"]["mode"], "light");
  EXPECT_EQ(updated->data["changed"], 1714521600000);

  auto wrong =
      shared().update("app", "settings", "theme", {{"changed", "tomorrow"}});
  EXPECT_THAT(wrong.status().message(),
              HasSubstr("update app.settings row 'theme': column 'changed' "
                        "expects timestamp"));

  ASSERT_TRUE(shared().del("app", "settings", "theme").ok());
  EXPECT_EQ(shared().get("app", "settings", "theme").status().code(),
            Code::kNotFound);
  EXPECT_THAT(shared().get("app", "settings", "theme").status().message(),
              HasSubstr("no row 'theme' in app.settings"));
  EXPECT_EQ(shared().del("app", "settings", "theme").code(), Code::kNotFound);
  EXPECT_TRUE(shared().scan("app", "settings")->empty());
}

TEST_P(SharedTableTest, GeneratedIdsAndPutMany) {
  make_table("app", "log", TableKind::kShared,
             {.columns = {{"msg", ColumnType::kString, false}}});
  std::vector<json> rows;
  for (int i = 0; i < 10; ++i) rows.push_back({{"msg", std::to_string(i)}});
  auto ids = shared().put_many("app", "log", rows);
  ASSERT_TRUE(ids.ok()) << ids.status();
  ASSERT_EQ(ids->size(), 10u);
  EXPECT_TRUE(std::is_sorted(ids->begin(), ids->end()));
  auto scanned = shared().scan("app", "log");
  ASSERT_TRUE(scanned.ok()) << scanned.status();
  for (size_t i = 0; i < 10; ++i) {
    EXPECT_EQ((*scanned)[i].row_id, (*ids)[i]);
    EXPECT_EQ((*scanned)[i].data["msg"], std::to_string(i));
  }
  EXPECT_EQ(shared().get("app", "log", "not-an-id").status().code(),
            Code::kInvalidArgument);
  EXPECT_TRUE(shared().put_many("app", "log", {})->empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, SharedTableTest,
                         ::testing::ValuesIn(test::all_backends()),
                         test::backend_name);

}  // namespace
}  // namespace kalam::tables
