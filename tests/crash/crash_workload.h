// The crash tests' workload, shared by the writer (crash_writer.cc, the child
// process that is killed) and the driver (crash_test.cc, the parent that
// verifies): both generate the same operation stream from (seed, cycle), so
// the parent knows what write number i of a cycle was from nothing but the
// acknowledgement "ack i" the writer sent after it returned.
//
// What the writes look like, so damage is visible:
//  - single puts and deletes on `crash.single`, keys s00..s63, each value
//    starting with "seq=<n> " (n = the op's global sequence number);
//  - batches over one of 16 groups: ten keys g<gg>/<j>, four in `crash.a`,
//    three in `crash.b`, three in `crash.c`, all put with the same seq (or
//    all deleted, by deletes or by delete_range), so a group whose keys do
//    not all carry one seq is a partially applied batch;
//  - rows of the user table crash.events (id int64 primary key, seq int64,
//    note string) for users u0..u3, put or deleted through UserTableStore.
// The key space is bounded, so the database stays small however many cycles
// run on it; sequence numbers only grow, so every value is distinguishable.
//
// The generator uses its own splitmix64, not <random>'s distributions, so a
// seed replays the same operations with any standard library.
#pragma once

#include <kalam/database.h>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace kalam::crash {

inline constexpr std::string_view kSingleFamily = "crash.single";
inline constexpr std::array<std::string_view, 3> kGroupFamilies = {
    "crash.a", "crash.b", "crash.c"};
inline constexpr int kSingleKeys = 64;
inline constexpr int kGroups = 16;
// Keys written by one group batch: members 0-3 in crash.a, 4-6 in crash.b,
// 7-9 in crash.c.
inline constexpr int kGroupWidth = 10;
inline constexpr std::string_view kNamespace = "crash";
inline constexpr std::string_view kTable = "events";
inline constexpr int kUsers = 4;
inline constexpr int kRowsPerUser = 24;

// A small, fast, portable generator (splitmix64).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); REQUIRES: n > 0.
  uint64_t below(uint64_t n) { return next() % n; }
  // True with probability percent/100.
  bool percent(unsigned percent) { return below(100) < percent; }

 private:
  uint64_t state_;
};

// Mixes a seed with a stream id and a cycle number into one generator seed.
uint64_t mix_seed(uint64_t seed, uint64_t stream, uint64_t cycle);

enum class OpKind {
  kPut,          // single put on crash.single
  kDelete,       // single delete on crash.single
  kBatchPut,     // one batch: the ten keys of a group, one seq
  kBatchDelete,  // one batch: the ten keys of a group gone
  kTablePut,     // UserTableStore::put of one row
  kTableDelete,  // UserTableStore::del of one row (absent is fine)
  kFlush,        // Database::flush(): changes no data
  // Table flush (hot rows to cold segments): changes no row — the driver's
  // row comparison proves a kill during a flush loses or duplicates none.
  kTableFlush,
};

std::string_view op_kind_name(OpKind kind);

struct Op {
  OpKind kind = OpKind::kPut;
  // Global sequence number: counts every op ever issued on this database.
  uint64_t seq = 0;
  // WriteOptions::sync.
  bool sync = false;
  // kPut/kDelete: the key index; batches: the group; table ops: the row id.
  int key = 0;
  // Table ops: the user index.
  int user = 0;
  // kBatchDelete: by delete_range (per family) instead of ten deletes.
  bool by_range = false;
  // Payload appended to values (binary for key/value ops, text for rows).
  std::string filler;

  // Whether the backend had to make this op durable before acknowledging
  // it (a sync write, or a flush, which makes every earlier write durable).
  bool durable() const { return sync || kind == OpKind::kFlush; }
  std::string describe() const;
};

// The operations of one cycle, in order: op i has seq first_seq + i.
class OpStream {
 public:
  OpStream(uint64_t seed, uint64_t cycle, uint64_t first_seq);
  Op next();

 private:
  Rng rng_;
  uint64_t seq_;
};

// Keys and values, as the writer stores them and the verifier expects them.
std::string single_key(int key);
std::string single_value(const Op& op);
// The family (index into kGroupFamilies) and key of member j of a group.
int group_family(int member);
std::string group_key(int group, int member);
std::string group_value(const Op& op, int member);
// [begin, end) covering exactly the group's keys in any of its families.
std::pair<std::string, std::string> group_range(int group);
std::string user_id(int user);
// The sequence number a stored value starts with ("seq=<n> "), if any.
std::optional<uint64_t> value_seq(std::string_view value);

// What a read of the database must return: the key/value families and the
// rows of crash.events. Built by applying ops in order.
struct State {
  // Index 0: crash.single; 1..3: crash.a, crash.b, crash.c.
  std::array<std::map<std::string, std::string>, 4> families;
  struct RowValue {
    int64_t seq = 0;
    std::string note;
    friend bool operator==(const RowValue&, const RowValue&) = default;
  };
  // (user id, row id in text) -> row.
  std::map<std::pair<std::string, std::string>, RowValue> rows;

  void apply(const Op& op);
  // The first difference from `actual` in words ("" when equal), with this
  // state as the expectation.
  std::string first_difference(const State& actual) const;
  friend bool operator==(const State&, const State&) = default;
};

// The index into State::families of a family name, or -1.
int family_index(std::string_view name);
inline std::string_view family_name(int index) {
  return index == 0 ? kSingleFamily : kGroupFamilies[index - 1];
}

}  // namespace kalam::crash
