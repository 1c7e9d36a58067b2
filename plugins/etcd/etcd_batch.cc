#include "etcd_batch.h"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

namespace kalam::etcd_plugin {

std::vector<PhysicalOp> collapse(std::vector<PhysicalOp> ops) {
  // The final state of each key named by a put or delete (nullopt: deleted),
  // and every delete range; a range erases the points before it.
  std::map<std::string, std::optional<std::string>> points;
  std::vector<std::pair<std::string, std::string>> ranges;
  for (PhysicalOp& op : ops) {
    switch (op.type) {
      case PhysicalOp::kPut:
        points[std::move(op.key)] = std::move(op.value);
        break;
      case PhysicalOp::kDelete:
        points[std::move(op.key)] = std::nullopt;
        break;
      case PhysicalOp::kDeleteRange:
        if (op.value <= op.key) break;  // empty or reversed: removes nothing
        points.erase(points.lower_bound(op.key), points.lower_bound(op.value));
        ranges.emplace_back(std::move(op.key), std::move(op.value));
        break;
    }
  }
  // Merge overlapping or touching ranges.
  std::sort(ranges.begin(), ranges.end());
  std::vector<std::pair<std::string, std::string>> merged;
  for (auto& r : ranges) {
    if (!merged.empty() && r.first <= merged.back().second) {
      if (r.second > merged.back().second) merged.back().second = r.second;
    } else {
      merged.push_back(std::move(r));
    }
  }
  std::vector<PhysicalOp> out;
  for (auto& [begin, end] : merged) {
    // Split around every key put after the range (it is in `points` with a
    // value); a delete inside the range is covered by it and dropped.
    std::string from = begin;
    for (auto it = points.lower_bound(begin);
         it != points.end() && it->first < end;) {
      if (it->second.has_value()) {
        if (from < it->first) {
          out.push_back({PhysicalOp::kDeleteRange, from, it->first});
        }
        from = it->first;
        from.push_back('\0');  // the smallest key after it
        ++it;
      } else {
        it = points.erase(it);
      }
    }
    if (from < end) out.push_back({PhysicalOp::kDeleteRange, from, end});
  }
  for (auto& [key, value] : points) {
    if (value.has_value()) {
      out.push_back({PhysicalOp::kPut, key, std::move(*value)});
    } else {
      out.push_back({PhysicalOp::kDelete, key, std::string()});
    }
  }
  return out;
}

}  // namespace kalam::etcd_plugin
