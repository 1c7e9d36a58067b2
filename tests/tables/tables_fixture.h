// The fixture of the table-layer tests that run on every backend: a TestDb
// with the table layer opened on it, plus raw views of its column families.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <kalam/tables/tables.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "test_db.h"

namespace kalam::tables {

using KV = std::vector<std::pair<std::string, std::string>>;

class TablesTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = std::make_unique<test::TestDb>(GetParam());
    open_tables();
  }

  // `options_` lets a test choose the cold store or the background worker
  // before open_tables() / reopen().
  void open_tables() {
    auto tables = Tables::open(db_->db(), options_);
    ASSERT_TRUE(tables.ok()) << tables.status();
    tables_ = std::move(*tables);
  }

  // A restart: everything closed, the same directory opened again.
  void reopen() {
    tables_.reset();
    db_->reopen();
    open_tables();
  }

  Catalog& catalog() { return tables_->catalog(); }
  UserTableStore& users() { return tables_->user(); }
  SharedTableStore& shared() { return tables_->shared(); }
  StreamTableStore& stream() { return tables_->stream(); }
  // Where the default cold store keeps segments.
  std::filesystem::path cold_dir() const { return db_->path() / "cold"; }

  // Every key and value of a column family, as stored.
  KV raw(std::string_view family, IteratorOptions options = {}) {
    KV out;
    auto cf = db_->db().column_family(family);
    EXPECT_TRUE(cf.ok()) << cf.status();
    if (!cf.ok()) return out;
    auto it = db_->db().new_iterator(*cf, options);
    EXPECT_TRUE(it.ok()) << it.status();
    if (!it.ok()) return out;
    for (it->seek_to_first(); it->valid(); it->next()) {
      out.emplace_back(it->key(), it->value());
    }
    EXPECT_TRUE(it->status().ok()) << it->status();
    return out;
  }

  // The stored rows of table `id` (its whole key range in kalam.tables).
  KV raw_table(uint64_t id) {
    IteratorOptions range;
    range.lower = table_key_prefix(id);
    range.upper = table_key_prefix(id + 1);
    return raw(kTablesFamily, range);
  }

  static std::string table_key_prefix(uint64_t id) {
    std::string out;
    for (int shift = 56; shift >= 0; shift -= 8) {
      out.push_back(static_cast<char>((id >> shift) & 0xFF));
    }
    return out;
  }

  // Creates namespace `ns` (if needed) and the table; fails the test on
  // error.
  TableInfo make_table(const std::string& ns, const std::string& name,
                       TableKind kind, Schema schema) {
    Status s = catalog().create_namespace(ns);
    EXPECT_TRUE(s.ok() || s.code() == Code::kAlreadyExists) << s;
    auto info = catalog().create_table(
        {.ns = ns, .name = name, .kind = kind, .schema = std::move(schema)});
    EXPECT_TRUE(info.ok()) << info.status();
    return info.ok() ? *info : TableInfo{};
  }

  // No background worker unless a test asks: tests decide when flushes and
  // evictions happen.
  TablesOptions options_{.background = false};
  std::unique_ptr<test::TestDb> db_;
  std::unique_ptr<Tables> tables_;
};

// Rows' (row_id, data) pairs, for comparisons.
inline std::vector<std::pair<std::string, nlohmann::json>> ids_and_data(
    const std::vector<Row>& rows) {
  std::vector<std::pair<std::string, nlohmann::json>> out;
  for (const Row& r : rows) out.emplace_back(r.row_id, r.data);
  return out;
}

// How read_views() reads a cursor through the zero-copy view path.
enum class ViewRead {
  kNextBatch,  // RowCursor::next_batch(batch)
  kNextView,   // RowCursor::next_view() (batch: set_batch_size)
  kMixed,      // next_batch, next_view and next() in turn: each row once
};

// A view visitor that appends each row to `rows` as a Row (RowView::to_row)
// and stops, keeping the status in `error`, at one that does not decode.
inline auto row_keeper(std::vector<Row>& rows, Status& error) {
  return [&rows, &error](const RowView& view) {
    auto row = view.to_row();
    if (!row.ok()) {
      error = row.status();
      return false;
    }
    rows.push_back(std::move(*row));
    return true;
  };
}

// Every row of `cursor` read as views and turned into Rows (RowView::to_row),
// so that a test can compare the view path with the Row path.
inline StatusOr<std::vector<Row>> read_views(StatusOr<RowCursor> cursor,
                                             ViewRead how, size_t batch) {
  KALAM_RETURN_IF_ERROR(cursor.status());
  std::vector<Row> rows;
  Status error;
  auto keep = row_keeper(rows, error);
  if (how == ViewRead::kNextView) cursor->set_batch_size(batch);
  for (size_t step = 0;; ++step) {
    const int kind = how == ViewRead::kNextBatch  ? 0
                     : how == ViewRead::kNextView ? 1
                                                  : static_cast<int>(step % 3);
    if (kind == 0) {
      KALAM_ASSIGN_OR_RETURN(size_t n, cursor->next_batch(batch, keep));
      KALAM_RETURN_IF_ERROR(error);
      if (n == 0) break;
    } else if (kind == 1) {
      if (!cursor->next_view()) break;
      if (!keep(cursor->view())) return error;
    } else {
      if (!cursor->next()) break;
      rows.push_back(cursor->row());
    }
  }
  KALAM_RETURN_IF_ERROR(cursor->status());
  return rows;
}

// Every row handed to a scan_with()-style visitor, as Rows.
template <typename Scan>
StatusOr<std::vector<Row>> collect_views(Scan&& scan) {
  std::vector<Row> rows;
  Status error;
  Status s = scan(row_keeper(rows, error));
  KALAM_RETURN_IF_ERROR(s);
  KALAM_RETURN_IF_ERROR(error);
  return rows;
}

}  // namespace kalam::tables
