// A database whose every part matters to a whole-database copy: hot rows,
// flushed rows, rows updated and deleted after a flush (hot values and
// tombstones over cold rows), deletion records in segments, two users, a
// shared and a stream table. Used by the cold tier tests of the engine and
// of the CLI.
#pragma once

#include <gtest/gtest.h>
#include <kalam/tables/tables.h>

#include <string>

namespace kalam::test {

// Fills `tables` (an empty catalog) with namespace `app`: user table
// `notes` (id int64 key, title) with rows of alice and bob, flushed twice;
// shared table `config` (generated ids), flushed once; stream table
// `clicks`. Afterwards alice has 12 rows (ids 1-12 without 3, plus 40) and
// bob 11 (without 6); the cold tier holds 5 segments in 3 partitions.
inline void fill_with_cold_tier(tables::Tables& tables) {
  using namespace kalam::tables;
  Catalog& catalog = tables.catalog();
  ASSERT_TRUE(catalog.create_namespace("app").ok());
  Schema notes{.columns = {{"id", ColumnType::kInt64, false},
                           {"title", ColumnType::kString}},
               .primary_key = "id"};
  ASSERT_TRUE(catalog
                  .create_table({.ns = "app",
                                 .name = "notes",
                                 .kind = TableKind::kUser,
                                 .schema = notes})
                  .ok());
  ASSERT_TRUE(catalog
                  .create_table(
                      {.ns = "app",
                       .name = "config",
                       .kind = TableKind::kShared,
                       .schema = {.columns = {{"value", ColumnType::kString}}}})
                  .ok());
  ASSERT_TRUE(
      catalog
          .create_table({.ns = "app",
                         .name = "clicks",
                         .kind = TableKind::kStream,
                         .schema = {.columns = {{"page", ColumnType::kString}}},
                         .options = {.max_rows = 100}})
          .ok());
  for (int i = 1; i <= 12; ++i) {
    for (const char* user : {"alice", "bob"}) {
      ASSERT_TRUE(tables.user()
                      .put("app", "notes", user,
                           {{"id", i},
                            {"title",
                             std::string(user) + " note " + std::to_string(i)}})
                      .ok());
    }
    ASSERT_TRUE(tables.shared()
                    .put("app", "config", {{"value", "v" + std::to_string(i)}})
                    .ok());
  }
  ASSERT_TRUE(tables.stream().append("app", "clicks", {{"page", "/a"}}).ok());
  ASSERT_TRUE(tables.flush("app", "notes").ok());
  ASSERT_TRUE(tables.flush("app", "config").ok());
  // Deletions carried into a second segment.
  ASSERT_TRUE(tables.user().del("app", "notes", "alice", "3").ok());
  ASSERT_TRUE(
      tables.user()
          .update("app", "notes", "bob", "4", {{"title", "bob changed 4"}})
          .ok());
  ASSERT_TRUE(tables.flush("app", "notes").ok());
  // Hot changes to flushed rows: an update, a tombstone, new rows.
  ASSERT_TRUE(tables.user()
                  .update("app", "notes", "alice", "5",
                          {{"title", "updated after flush"}})
                  .ok());
  ASSERT_TRUE(tables.user().del("app", "notes", "bob", "6").ok());
  ASSERT_TRUE(tables.user()
                  .put("app", "notes", "alice", {{"id", 40}, {"title", "hot"}})
                  .ok());
  auto shared = tables.shared().scan("app", "config");
  ASSERT_TRUE(shared.ok() && shared->size() == 12);
  ASSERT_TRUE(tables.shared().del("app", "config", (*shared)[0].row_id).ok());
  ASSERT_TRUE(
      tables.shared()
          .update("app", "config", (*shared)[1].row_id, {{"value", "changed"}})
          .ok());
  ASSERT_TRUE(tables.stream().append("app", "clicks", {{"page", "/b"}}).ok());
}

}  // namespace kalam::test
