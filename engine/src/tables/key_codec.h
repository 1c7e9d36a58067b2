// The byte layout of table-data keys in the `kalam.tables` column family.
// Internal: only the table stores (and, for table prefixes, the catalog's drop
// code) build or read these keys.
//
//   user table row:    table_id | esc(user_id) | row_key
//   shared table row:  table_id | row_key
//
//   table_id  8 bytes, big-endian (ids come from the catalog, never reused)
//   esc(s)    s with every 0x00 written as 0x00 0xFF, then 0x00 0x01
//   row_key   by the table's primary key:
//               none (generated)  16 bytes: ms since epoch | counter, both BE
//               int64             8 bytes, big-endian with the sign bit flipped
//               string            esc(value)
//
// Properties the tests check exhaustively:
//  - esc() is prefix-free: esc(a) is never a proper prefix of esc(b), so a
//    (user_id, row_id) pair cannot be read as another pair, and all keys of
//    one user lie in [user_prefix, prefix_successor(user_prefix)) — a range
//    that holds no other user's key (this is what scans and, later, flushes
//    of one user's rows rely on).
//  - Order-preserving: bytewise order of encoded keys is the lexicographic
//    order of the (user_id, row_key) tuples, bytes compared unsigned, and
//    int64 keys sort numerically.
#pragma once

#include <kalam/status.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kalam::tables::keys {

inline constexpr size_t kTableIdSize = 8;
inline constexpr size_t kGeneratedRowIdSize = 16;

// --- Components ------------------------------------------------------------

// Appends esc(bytes).
void append_escaped(std::string& out, std::string_view bytes);
// Reads one esc() component from the front of `in` into `out` (replacing
// its contents) and drops it from `in`. false, with `in` untouched, when `in`
// does not start with a well-formed component.
bool consume_escaped(std::string_view& in, std::string& out);

// consume_escaped() without a copy where it can: the decoded component as
// a view into `in` when it holds no escaped 0x00 (the common case), else
// decoded into `buffer` (its capacity reused) and viewed there. nullopt,
// with `in` untouched, when `in` does not start with a well-formed
// component.
std::optional<std::string_view> consume_escaped_view(std::string_view& in,
                                                     std::string& buffer);

void append_u64(std::string& out, uint64_t value);
bool consume_u64(std::string_view& in, uint64_t& value);
// Big-endian with the sign bit flipped: INT64_MIN encodes as 8 zero bytes.
void append_i64(std::string& out, int64_t value);
bool consume_i64(std::string_view& in, int64_t& value);

// The smallest string greater than every string that starts with `prefix`,
// or nullopt when there is none (empty or all 0xFF).
std::optional<std::string> prefix_successor(std::string_view prefix);

// --- Keys ------------------------------------------------------------------

// Every key of table `table_id` starts with this (8 bytes).
std::string table_prefix(uint64_t table_id);
// [table_prefix(id), table_end(id)) holds exactly the keys of table `id`.
// REQUIRES: table_id < UINT64_MAX.
std::string table_end(uint64_t table_id);
// table_id | esc(user_id): every key of that user's rows in that table, and
// no other key, starts with this.
std::string user_prefix(uint64_t table_id, std::string_view user_id);

// --- Row keys --------------------------------------------------------------

// How a table's rows are keyed, from its schema.
enum class RowKeyKind {
  kGenerated,  // no primary key: a 16-byte generated id
  kInt64,      // an int64 primary key column
  kString,     // a string primary key column
};

// A fresh generated row key: 8-byte BE milliseconds since the epoch, then an
// 8-byte BE per-process counter. Strictly increasing within the process, in
// the order of the calls (thread-safe), even when the wall clock goes back:
// the millisecond part never decreases. The counter starts at a random value
// below 2^62, so ids from two processes (or two runs) in the same
// millisecond do not collide either.
std::string new_generated_row_key();

// The row key of a primary-key value.
std::string int64_row_key(int64_t value);
std::string string_row_key(std::string_view value);

// Row ids in text form (what the API takes and returns) <-> row keys.
//   generated: 32 lowercase hex digits (hex of the 16 bytes; same order)
//   int64:     the decimal number ("-42")
//   string:    the string itself
// row_id_from_key() gives that canonical form; row_key_from_id() also
// takes other spellings of the same key (leading zeros and "-0" for int64,
// upper-case hex), so compare ids by their keys, never as text.
// INVALID_ARGUMENT naming the id and the expected form when it does not
// parse.
StatusOr<std::string> row_key_from_id(RowKeyKind kind, std::string_view id);
// The text id of a row key that makes up the whole of `key`; CORRUPTION when
// it is not a well-formed key of that kind.
StatusOr<std::string> row_id_from_key(RowKeyKind kind, std::string_view key);

// row_id_from_key() for scans: the id as a view, of `key` itself where the
// id is the key's bytes (string keys without 0x00), else of `buffer`
// (overwritten; its capacity reused, so no allocation once it has grown).
// nullopt when `key` is not a well-formed row key of that kind (call
// row_id_from_key() for the CORRUPTION message).
std::optional<std::string_view> row_id_view(RowKeyKind kind,
                                            std::string_view key,
                                            std::string& buffer);

// `bytes` with every byte outside printable ASCII (and '\\') written as
// \xHH, for error messages that quote user ids and row ids.
std::string printable(std::string_view bytes);

}  // namespace kalam::tables::keys
