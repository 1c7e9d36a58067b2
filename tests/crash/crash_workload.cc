#include "crash_workload.h"

#include <charconv>
#include <cstdio>
#include <sstream>

namespace kalam::crash {

uint64_t mix_seed(uint64_t seed, uint64_t stream, uint64_t cycle) {
  Rng rng(seed ^ (stream * 0xD6E8FEB86659FD93ULL));
  uint64_t a = rng.next();
  Rng second(a ^ (cycle * 0x9E3779B97F4A7C15ULL) ^ cycle);
  return second.next();
}

std::string_view op_kind_name(OpKind kind) {
  switch (kind) {
    case OpKind::kPut:
      return "put";
    case OpKind::kDelete:
      return "delete";
    case OpKind::kBatchPut:
      return "batch-put";
    case OpKind::kBatchDelete:
      return "batch-delete";
    case OpKind::kTablePut:
      return "table-put";
    case OpKind::kTableDelete:
      return "table-delete";
    case OpKind::kFlush:
      return "flush";
    case OpKind::kTableFlush:
      return "table-flush";
  }
  return "?";
}

std::string Op::describe() const {
  std::ostringstream out;
  out << "seq " << seq << " " << op_kind_name(kind);
  switch (kind) {
    case OpKind::kPut:
    case OpKind::kDelete:
      out << " " << single_key(key);
      break;
    case OpKind::kBatchPut:
    case OpKind::kBatchDelete:
      out << " group " << key << (by_range ? " (delete_range)" : "");
      break;
    case OpKind::kTablePut:
    case OpKind::kTableDelete:
      out << " " << user_id(user) << "/" << key;
      break;
    case OpKind::kFlush:
    case OpKind::kTableFlush:
      break;
  }
  if (kind != OpKind::kFlush && kind != OpKind::kTableFlush) {
    out << (sync ? " sync" : " no-sync");
  }
  return out.str();
}

OpStream::OpStream(uint64_t seed, uint64_t cycle, uint64_t first_seq)
    : rng_(mix_seed(seed, /*stream=*/1, cycle)), seq_(first_seq) {}

Op OpStream::next() {
  // Weights out of 97.
  struct Weight {
    OpKind kind;
    uint64_t weight;
  };
  static constexpr Weight kWeights[] = {
      {OpKind::kPut, 30},      {OpKind::kDelete, 8},
      {OpKind::kBatchPut, 20}, {OpKind::kBatchDelete, 5},
      {OpKind::kTablePut, 25}, {OpKind::kTableDelete, 6},
      {OpKind::kFlush, 1},     {OpKind::kTableFlush, 2},
  };
  uint64_t total = 0;
  for (const Weight& w : kWeights) total += w.weight;
  uint64_t pick = rng_.below(total);
  Op op;
  for (const Weight& w : kWeights) {
    if (pick < w.weight) {
      op.kind = w.kind;
      break;
    }
    pick -= w.weight;
  }
  op.seq = seq_++;
  op.sync = rng_.percent(25);
  switch (op.kind) {
    case OpKind::kPut:
    case OpKind::kDelete:
      op.key = static_cast<int>(rng_.below(kSingleKeys));
      break;
    case OpKind::kBatchPut:
    case OpKind::kBatchDelete:
      op.key = static_cast<int>(rng_.below(kGroups));
      op.by_range = rng_.percent(50);
      break;
    case OpKind::kTablePut:
    case OpKind::kTableDelete:
      op.user = static_cast<int>(rng_.below(kUsers));
      op.key = static_cast<int>(rng_.below(kRowsPerUser));
      break;
    case OpKind::kFlush:
    case OpKind::kTableFlush:
      op.sync = false;
      break;
  }
  if (op.kind == OpKind::kPut || op.kind == OpKind::kBatchPut ||
      op.kind == OpKind::kTablePut) {
    // Mostly small values, some of a few hundred bytes, a few large enough
    // to need overflow pages or their own blocks.
    const uint64_t size_class = rng_.below(100);
    size_t size = size_class < 80   ? rng_.below(64)
                  : size_class < 98 ? 64 + rng_.below(960)
                                    : 4096 + rng_.below(12288);
    op.filler.resize(size);
    const bool text = op.kind == OpKind::kTablePut;
    for (char& c : op.filler) {
      c = text ? static_cast<char>('a' + rng_.below(26))
               : static_cast<char>(rng_.below(256));
    }
  }
  return op;
}

std::string single_key(int key) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "s%02d", key);
  return buf;
}

std::string single_value(const Op& op) {
  return "seq=" + std::to_string(op.seq) + " k=" + std::to_string(op.key) +
         " " + op.filler;
}

int group_family(int member) { return member < 4 ? 0 : member < 7 ? 1 : 2; }

std::string group_key(int group, int member) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "g%02d/%d", group, member);
  return buf;
}

std::string group_value(const Op& op, int member) {
  return "seq=" + std::to_string(op.seq) + " g=" + std::to_string(op.key) +
         " j=" + std::to_string(member) + " " + op.filler;
}

std::pair<std::string, std::string> group_range(int group) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "g%02d/", group);
  std::string begin = buf;
  std::string end = begin;
  end.back() = static_cast<char>(end.back() + 1);  // "g05/" -> "g050"
  return {begin, end};
}

std::string user_id(int user) { return "u" + std::to_string(user); }

std::optional<uint64_t> value_seq(std::string_view value) {
  if (value.substr(0, 4) != "seq=") return std::nullopt;
  uint64_t seq = 0;
  const char* begin = value.data() + 4;
  const char* end = value.data() + value.size();
  auto [ptr, ec] = std::from_chars(begin, end, seq);
  if (ec != std::errc() || ptr == begin) return std::nullopt;
  return seq;
}

int family_index(std::string_view name) {
  if (name == kSingleFamily) return 0;
  for (size_t i = 0; i < kGroupFamilies.size(); ++i) {
    if (name == kGroupFamilies[i]) return static_cast<int>(i) + 1;
  }
  return -1;
}

void State::apply(const Op& op) {
  switch (op.kind) {
    case OpKind::kPut:
      families[0][single_key(op.key)] = single_value(op);
      break;
    case OpKind::kDelete:
      families[0].erase(single_key(op.key));
      break;
    case OpKind::kBatchPut:
      for (int j = 0; j < kGroupWidth; ++j) {
        families[1 + group_family(j)][group_key(op.key, j)] =
            group_value(op, j);
      }
      break;
    case OpKind::kBatchDelete:
      for (int j = 0; j < kGroupWidth; ++j) {
        families[1 + group_family(j)].erase(group_key(op.key, j));
      }
      break;
    case OpKind::kTablePut:
      rows[{user_id(op.user), std::to_string(op.key)}] =
          RowValue{static_cast<int64_t>(op.seq), op.filler};
      break;
    case OpKind::kTableDelete:
      rows.erase({user_id(op.user), std::to_string(op.key)});
      break;
    case OpKind::kFlush:
    case OpKind::kTableFlush:
      break;
  }
}

namespace {

std::string shorten(std::string_view value) {
  std::string out;
  for (char c : value.substr(0, 40)) {
    out += (c >= 0x20 && c < 0x7F) ? c : '.';
  }
  if (value.size() > 40) out += "... (" + std::to_string(value.size()) + " B)";
  return out;
}

}  // namespace

std::string State::first_difference(const State& actual) const {
  for (size_t f = 0; f < families.size(); ++f) {
    const auto& want = families[f];
    const auto& got = actual.families[f];
    auto w = want.begin();
    auto g = got.begin();
    while (w != want.end() || g != got.end()) {
      const std::string family(family_name(static_cast<int>(f)));
      if (g == got.end() || (w != want.end() && w->first < g->first)) {
        return family + ": key " + w->first + " missing (expected '" +
               shorten(w->second) + "')";
      }
      if (w == want.end() || g->first < w->first) {
        return family + ": unexpected key " + g->first + " = '" +
               shorten(g->second) + "'";
      }
      if (w->second != g->second) {
        return family + ": key " + w->first + " is '" + shorten(g->second) +
               "', expected '" + shorten(w->second) + "'";
      }
      ++w;
      ++g;
    }
  }
  auto w = rows.begin();
  auto g = actual.rows.begin();
  while (w != rows.end() || g != actual.rows.end()) {
    if (g == actual.rows.end() || (w != rows.end() && w->first < g->first)) {
      return "row " + w->first.first + "/" + w->first.second +
             " missing (expected seq " + std::to_string(w->second.seq) + ")";
    }
    if (w == rows.end() || g->first < w->first) {
      return "unexpected row " + g->first.first + "/" + g->first.second +
             " with seq " + std::to_string(g->second.seq);
    }
    if (!(w->second == g->second)) {
      return "row " + w->first.first + "/" + w->first.second + " has seq " +
             std::to_string(g->second.seq) + ", expected seq " +
             std::to_string(w->second.seq) +
             (w->second.seq == g->second.seq ? " (note differs)" : "");
    }
    ++w;
    ++g;
  }
  return "";
}

}  // namespace kalam::crash
