// One change of an atomic write that may span tables and users
// (Tables::apply): the write path of the SQL layer's transactions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace kalam::tables {

struct RowChange {
  enum class Op {
    // Stores `row` (validated as UserTableStore::put / SharedTableStore::put
    // do), replacing the row with the same primary key. Into a stream
    // table: appends `row` as an event (as StreamTableStore::append).
    kPut,
    // Deletes the row `row_id` (a row that does not exist is not an error).
    // Not for stream tables (events expire; they are not deleted).
    kDelete,
  };
  Op op = Op::kPut;
  std::string ns;
  std::string table;
  // The owner, for user tables (1 to kMaxUserIdLength bytes); empty for
  // shared tables.
  std::string user_id;
  // kPut: the row, a JSON object of the table's columns.
  nlohmann::json row;
  // kDelete: the row's id in text form (see Row::row_id).
  // kPut into a table without a primary key (or a stream table): empty
  // stores the row under a new generated id; a generated id (e.g. from
  // new_row_id()) stores it under that id, replacing the row there (an
  // update). Ignored by kPut into a table with a primary key (the key
  // column's value is the id).
  std::string row_id;
  // kPut only: the row must not exist yet — an INSERT, not an upsert. When
  // a row with this id exists (hot, or flushed to the cold tier and not
  // deleted) Tables::apply fails with ALREADY_EXISTS naming the change, and
  // nothing is applied. The check is atomic with the write: the row's lock
  // keeps other writers of this process out, and the write expects the
  // key's hot state as read (WriteBatch::expect_absent / expect_value), so
  // a writer of another process sharing the store makes it fail too.
  bool if_absent = false;
};

// A new generated row id (32 hex digits; ids are drawn in increasing order,
// so a newer id sorts after every id drawn before it in this process): the
// id a kPut into a table without a primary key would draw, for a caller
// that needs to know the id before the change is applied (the SQL layer's
// transactions read their own pending rows by it).
std::string new_row_id();

}  // namespace kalam::tables
