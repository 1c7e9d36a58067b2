// Fuzz target: the table layer's key codec (engine/src/tables/key_codec.h).
// Beyond "no crash", it checks the properties the table layer relies on:
//  - esc() round-trips and its decoder is canonical (only esc(x) decodes);
//  - esc() is prefix-free, so one (user, row) pair never reads as another;
//  - encoding preserves order: bytes of (user_id, row_key) tuples and int64
//    values compare as the values do;
//  - keys of one user lie in [user_prefix, prefix_successor(user_prefix)),
//    inside [table_prefix, table_end), and in no other user's range;
//  - row ids <-> row keys is a bijection on well-formed input, and malformed
//    keys are refused with CORRUPTION, never misread;
//  - the scans' copy-free decoders (consume_escaped_view, row_id_view)
//    agree with the owning ones on every input.
#include <string>
#include <string_view>

#include "fuzz_input.h"
#include "key_codec.h"

namespace {

using kalam::fuzz::Input;
using kalam::fuzz::show;
using kalam::fuzz::sign;
namespace keys = kalam::tables::keys;

std::string esc(std::string_view s) {
  std::string out;
  keys::append_escaped(out, s);
  return out;
}

void check_escape_round_trip(const std::string& s) {
  const std::string e = esc(s);
  std::string_view in = e;
  std::string decoded = "junk";
  FUZZ_CHECK(keys::consume_escaped(in, decoded), "esc(%s) does not decode",
             show(s).c_str());
  FUZZ_CHECK(decoded == s && in.empty(), "esc(%s) decodes to %s",
             show(s).c_str(), show(decoded).c_str());
  // Followed by more bytes, it consumes exactly its own encoding.
  const std::string more = e + "tail";
  std::string_view in2 = more;
  FUZZ_CHECK(
      keys::consume_escaped(in2, decoded) && decoded == s && in2 == "tail",
      "esc(%s) followed by bytes decodes wrongly", show(s).c_str());
}

// consume_escaped() on arbitrary bytes: either refuses and leaves the input
// untouched, or decodes x where the consumed bytes are exactly esc(x).
void check_decoder_is_canonical(const std::string& raw) {
  std::string_view in = raw;
  std::string decoded = "sentinel";
  // consume_escaped_view() decodes the same, or refuses the same.
  std::string_view view_in = raw;
  std::string buffer;
  auto view = keys::consume_escaped_view(view_in, buffer);
  std::string_view copy_in = raw;
  std::string copied;
  const bool copy_ok = keys::consume_escaped(copy_in, copied);
  FUZZ_CHECK(view.has_value() == copy_ok &&
                 (!view || (*view == copied && view_in == copy_in)) &&
                 (view || view_in.size() == raw.size()),
             "consume_escaped_view and consume_escaped disagree on %s",
             show(raw).c_str());
  if (keys::consume_escaped(in, decoded)) {
    const size_t used = raw.size() - in.size();
    FUZZ_CHECK(raw.substr(0, used) == esc(decoded),
               "%s decodes to %s but is not its encoding", show(raw).c_str(),
               show(decoded).c_str());
  } else {
    FUZZ_CHECK(in.size() == raw.size() && decoded == "sentinel",
               "a refused decode of %s changed its arguments",
               show(raw).c_str());
  }
}

void check_pair(const std::string& a, const std::string& b) {
  const std::string ea = esc(a), eb = esc(b);
  // Order preserving.
  FUZZ_CHECK(sign(a, b) == sign(ea, eb), "order of %s, %s not preserved",
             show(a).c_str(), show(b).c_str());
  // Prefix-free.
  if (a != b) {
    FUZZ_CHECK(!eb.starts_with(ea) && !ea.starts_with(eb),
               "esc(%s) and esc(%s): one is a prefix of the other",
               show(a).c_str(), show(b).c_str());
  }
}

void check_tuples(uint64_t table, const std::string& u1, const std::string& r1,
                  const std::string& u2, const std::string& r2) {
  const std::string k1 =
      keys::user_prefix(table, u1) + keys::string_row_key(r1);
  const std::string k2 =
      keys::user_prefix(table, u2) + keys::string_row_key(r2);
  const int tuple_order = u1 != u2 ? sign(u1, u2) : sign(r1, r2);
  FUZZ_CHECK(sign(k1, k2) == tuple_order,
             "(%s, %s) vs (%s, %s): key order %d, tuple order %d",
             show(u1).c_str(), show(r1).c_str(), show(u2).c_str(),
             show(r2).c_str(), sign(k1, k2), tuple_order);

  // The user's range holds the key, and the other user's range does not.
  const std::string p1 = keys::user_prefix(table, u1);
  const auto end1 = keys::prefix_successor(p1);
  FUZZ_CHECK(k1.starts_with(p1) && (!end1 || k1 < *end1),
             "key of user %s outside its range", show(u1).c_str());
  if (u1 != u2) {
    FUZZ_CHECK(!k2.starts_with(p1) && (k2 < p1 || (end1 && k2 >= *end1)),
               "key of user %s inside the range of user %s", show(u2).c_str(),
               show(u1).c_str());
  }
  // The whole table lies in [table_prefix, table_end).
  if (table != UINT64_MAX) {
    FUZZ_CHECK(k1 >= keys::table_prefix(table) && k1 < keys::table_end(table),
               "key of table %llu outside the table's range",
               static_cast<unsigned long long>(table));
  }
  // Decoding the key gives the tuple back.
  std::string_view in = k1;
  uint64_t t = 0;
  std::string user, row;
  FUZZ_CHECK(keys::consume_u64(in, t) && t == table &&
                 keys::consume_escaped(in, user) && user == u1,
             "user key does not decode");
  auto id = keys::row_id_from_key(keys::RowKeyKind::kString, in);
  FUZZ_CHECK(id.ok() && *id == r1, "string row key does not decode");
}

void check_int64(int64_t a, int64_t b) {
  const std::string ka = keys::int64_row_key(a), kb = keys::int64_row_key(b);
  FUZZ_CHECK(ka.size() == 8 && kb.size() == 8, "int64 key is not 8 bytes");
  FUZZ_CHECK(sign(a, b) == sign(ka, kb), "int64 order of %lld, %lld lost",
             static_cast<long long>(a), static_cast<long long>(b));
  auto id = keys::row_id_from_key(keys::RowKeyKind::kInt64, ka);
  FUZZ_CHECK(id.ok() && *id == std::to_string(a), "int64 key of %lld decodes",
             static_cast<long long>(a));
  auto key = keys::row_key_from_id(keys::RowKeyKind::kInt64, *id);
  FUZZ_CHECK(key.ok() && *key == ka, "int64 id %s does not encode back",
             id->c_str());
}

// Arbitrary bytes as a row key / row id of each kind.
void check_untrusted(const std::string& raw) {
  for (auto kind : {keys::RowKeyKind::kGenerated, keys::RowKeyKind::kInt64,
                    keys::RowKeyKind::kString}) {
    // A key read from storage: decodes to an id that encodes back to it, or
    // is refused as corruption.
    auto id = keys::row_id_from_key(kind, raw);
    // The scans' copy-free decoder accepts exactly the same keys and reads
    // the same id.
    std::string buffer = "junk";
    auto view = keys::row_id_view(kind, raw, buffer);
    FUZZ_CHECK(view.has_value() == id.ok() && (!view || *view == *id),
               "row_id_view and row_id_from_key disagree on key %s (kind %d)",
               show(raw).c_str(), static_cast<int>(kind));
    if (id.ok()) {
      auto key = keys::row_key_from_id(kind, *id);
      FUZZ_CHECK(key.ok() && *key == raw,
                 "key %s (kind %d) decodes to id %s that does not encode back",
                 show(raw).c_str(), static_cast<int>(kind), show(*id).c_str());
    } else {
      FUZZ_CHECK(id.status().code() == kalam::Code::kCorruption,
                 "malformed key %s refused with %s", show(raw).c_str(),
                 id.status().to_string().c_str());
    }
    // An id from the API: encodes to a key that decodes to an id naming
    // the same key, or is refused as an invalid argument.
    auto key = keys::row_key_from_id(kind, raw);
    if (key.ok()) {
      auto back = keys::row_id_from_key(kind, *key);
      FUZZ_CHECK(back.ok(), "key of id %s does not decode", show(raw).c_str());
      auto again = keys::row_key_from_id(kind, *back);
      FUZZ_CHECK(again.ok() && *again == *key,
                 "id %s and its canonical form %s name different keys",
                 show(raw).c_str(), show(*back).c_str());
    } else {
      FUZZ_CHECK(key.status().code() == kalam::Code::kInvalidArgument,
                 "bad id %s refused with %s", show(raw).c_str(),
                 key.status().to_string().c_str());
    }
  }
  const std::string text = keys::printable(raw);
  for (char c : text) {
    FUZZ_CHECK(c >= 0x20 && c < 0x7F, "printable(%s) holds byte %d",
               show(raw).c_str(), c);
  }
}

void check_successor(const std::string& prefix, const std::string& suffix) {
  const auto next = keys::prefix_successor(prefix);
  bool all_ff = true;
  for (char c : prefix) all_ff = all_ff && static_cast<uint8_t>(c) == 0xFF;
  if (!next) {
    FUZZ_CHECK(all_ff, "no successor for %s", show(prefix).c_str());
    return;
  }
  FUZZ_CHECK(!all_ff && *next > prefix && !next->starts_with(prefix) &&
                 prefix + suffix < *next,
             "successor %s of %s is wrong (suffix %s)", show(*next).c_str(),
             show(prefix).c_str(), show(suffix).c_str());
  // It is the smallest such string: everything below it either starts with
  // the prefix or is below the prefix. Its immediate predecessor in the
  // order (drop a trailing byte or decrement the last one) fails that.
  std::string below = *next;
  auto& last = reinterpret_cast<unsigned char&>(below.back());
  --last;
  FUZZ_CHECK(below.size() <= prefix.size() && prefix.starts_with(below),
             "successor %s of %s skips strings", show(*next).c_str(),
             show(prefix).c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  const std::string whole(reinterpret_cast<const char*>(data), size);
  check_untrusted(whole);
  check_decoder_is_canonical(whole);

  const uint64_t table = in.u64();
  const std::string u1 = in.bytes(12), r1 = in.bytes(12);
  const bool same_user = in.flag();
  const std::string u2 = same_user ? u1 : in.bytes(12);
  const std::string r2 = in.bytes(12);
  check_escape_round_trip(u1);
  check_escape_round_trip(r1);
  check_pair(u1, u2);
  check_pair(r1, r2);
  check_tuples(table, u1, r1, u2, r2);
  check_int64(static_cast<int64_t>(in.u64()), static_cast<int64_t>(in.u64()));
  check_successor(in.bytes(8), in.bytes(8));
  check_untrusted(in.bytes(40));
  return 0;
}
