// One change of an atomic write that may span tables and users
// (Tables::apply): the write path of the SQL layer's transactions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace kalam::tables {

struct RowChange {
  enum class Op {
    // Stores `row` (validated as UserTableStore::put / SharedTableStore::put
    // do), replacing the row with the same primary key.
    kPut,
    // Deletes the row `row_id` (a row that does not exist is not an error).
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
  // kPut into a table without a primary key: empty stores the row under a
  // new generated id; a generated id stores it under that id, replacing the
  // row there (an update). Ignored by kPut into a table with a primary key
  // (the key column's value is the id).
  std::string row_id;
};

}  // namespace kalam::tables
