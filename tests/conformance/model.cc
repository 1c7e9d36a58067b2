#include "model.h"

#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <sstream>

namespace kalam::conformance {
namespace {

using Model = std::map<std::string, std::string>;

std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string describe(const KV& entries) {
  std::string out = std::to_string(entries.size()) + ":";
  for (const auto& [k, v] : entries) out += " " + hex(k) + "=" + hex(v);
  return out;
}

class Runner {
 public:
  Runner(RawDatabase& db, const ModelRun& run)
      : db_(db), run_(run), rng_(run.seed) {}

  std::vector<std::string> go() {
    families_ = {nullptr, db_.cf("model_a")};
    models_.assign(2, Model());
    for (step_ = 0; step_ < run_.steps && !failed_; ++step_) one_step();
    snapshots_.clear();
    return trace_;
  }

 private:
  bool can(uint64_t cap) const { return (run_.capabilities & cap) != 0; }
  size_t pick(size_t n) { return rng_() % n; }

  std::string random_key() {
    // A small key space with the edges of the byte range, so keys collide,
    // share prefixes and sort across 0x00 and 0xFF.
    static const char alphabet[] = {'\x00', '\x01', 'a', 'b', '\x7f', '\xff'};
    std::string key(1 + pick(3), '\0');
    for (auto& c : key) c = alphabet[pick(sizeof alphabet)];
    return key;
  }
  std::string random_value() {
    std::string value(pick(48), '\0');
    for (auto& c : value) c = static_cast<char>(rng_());
    return value;
  }

  void fail(const std::string& what) {
    ADD_FAILURE() << "model mismatch at seed " << run_.seed << " step " << step_
                  << " (replay: KALAM_CONFORMANCE_SEED=" << run_.seed
                  << "): " << what;
    failed_ = true;
  }

  void check_write(int rc, const char* what) {
    if (rc != KALAM_OK) fail(std::string(what) + " returned " + code_name(rc));
  }

  // Applies ops to a model copy, as write() must: in order.
  static void apply(std::vector<Model>& models, const std::vector<int>& which,
                    const std::vector<Op>& ops) {
    for (size_t i = 0; i < ops.size(); ++i) {
      Model& m = models[which[i]];
      const Op& op = ops[i];
      if (op.type == KALAM_OP_PUT) {
        m[op.key] = op.value;
      } else if (op.type == KALAM_OP_DELETE) {
        m.erase(op.key);
      } else if (op.key < op.value) {
        m.erase(m.lower_bound(op.key), m.lower_bound(op.value));
      }
    }
  }

  void do_write(size_t count) {
    std::vector<Op> ops;
    std::vector<int> which;
    for (size_t i = 0; i < count; ++i) {
      const int f = static_cast<int>(pick(2));
      const size_t kind = pick(10);
      if (kind < 6) {
        ops.push_back(Put(families_[f], random_key(), random_value()));
      } else if (kind < 9 || !can(KALAM_CAP_DELETE_RANGE)) {
        ops.push_back(Del(families_[f], random_key()));
      } else {
        ops.push_back(DelRange(families_[f], random_key(), random_key()));
      }
      which.push_back(f);
    }
    check_write(db_.write(ops, pick(20) == 0), "write");
    apply(models_, which, ops);
    trace_.push_back("write " + std::to_string(count));
  }

  void do_get() {
    const int f = static_cast<int>(pick(2));
    const std::string key = random_key();
    const Snapshot* at = nullptr;
    if (!snapshots_.empty() && pick(3) == 0)
      at = &snapshots_[pick(snapshots_.size())];
    const Model& m = at != nullptr ? at->models[f] : models_[f];
    std::optional<std::string> expected;
    if (auto it = m.find(key); it != m.end()) expected = it->second;
    const auto got =
        db_.value_of(families_[f], key, at ? at->snap->get() : nullptr);
    if (got != expected) {
      fail("get " + hex(key) + ": expected " +
           (expected ? hex(*expected) : "missing") + ", got " +
           (got ? hex(*got) : "missing"));
    }
    trace_.push_back("get " + hex(key) + " " + (got ? hex(*got) : "-"));
  }

  void do_scan() {
    const int f = static_cast<int>(pick(2));
    IterSpec spec;
    if (pick(2)) spec.lower = random_key();
    if (pick(2)) spec.upper = random_key();
    spec.reverse = can(KALAM_CAP_REVERSE_ITERATION) && pick(2);
    const Snapshot* at = nullptr;
    if (!snapshots_.empty() && pick(3) == 0)
      at = &snapshots_[pick(snapshots_.size())];
    if (at != nullptr) spec.snapshot = at->snap->get();
    const Model& m = at != nullptr ? at->models[f] : models_[f];
    KV expected;
    for (const auto& [k, v] : m) {
      if (spec.lower && k < *spec.lower) continue;
      if (spec.upper && k >= *spec.upper) continue;
      expected.emplace_back(k, v);
    }
    if (spec.reverse) std::reverse(expected.begin(), expected.end());
    const KV got = pick(2) ? db_.scan(families_[f], spec)
                           : db_.scan_batched(families_[f], spec, 1 + pick(9));
    if (got != expected) {
      fail("scan [" + (spec.lower ? hex(*spec.lower) : "-") + ", " +
           (spec.upper ? hex(*spec.upper) : "-") + ")" +
           (spec.reverse ? " reverse" : "") + (at ? " at snapshot" : "") +
           ": expected " + describe(expected) + ", got " + describe(got));
    }
    trace_.push_back("scan " + describe(got));
  }

  void one_step() {
    const size_t roll = pick(100);
    if (roll < 30) {
      do_write(1);
    } else if (roll < 45) {
      do_write(1 + pick(10));
    } else if (roll < 65) {
      do_get();
    } else if (roll < 85) {
      do_scan();
    } else if (roll < 92) {
      if (can(KALAM_CAP_SNAPSHOTS) && snapshots_.size() < 3) {
        snapshots_.push_back({db_.snapshot(), models_});
        trace_.push_back("snapshot");
      }
    } else if (roll < 98) {
      if (!snapshots_.empty()) {
        snapshots_.erase(snapshots_.begin() + pick(snapshots_.size()));
        trace_.push_back("release");
      }
    } else if (can(KALAM_CAP_PERSISTENT)) {
      snapshots_.clear();
      db_.reopen();
      families_ = {nullptr, db_.cf("model_a")};
      trace_.push_back("reopen");
    }
  }

  struct Snapshot {
    std::unique_ptr<Snap> snap;
    std::vector<Model> models;
  };

  RawDatabase& db_;
  ModelRun run_;
  std::mt19937_64 rng_;
  int step_ = 0;
  bool failed_ = false;
  std::vector<kalam_cf*> families_;
  std::vector<Model> models_;
  std::vector<Snapshot> snapshots_;
  std::vector<std::string> trace_;
};

}  // namespace

std::vector<std::string> run_model(RawDatabase& db, const ModelRun& run) {
  return Runner(db, run).go();
}

std::vector<uint64_t> model_seeds() {
  if (const char* seed = std::getenv("KALAM_CONFORMANCE_SEED")) {
    return {std::strtoull(seed, nullptr, 10)};
  }
  return {1, 2, 3};
}

TEST_P(Conformance, Model_RandomOperationsMatchAStdMap) {
  const uint64_t optional = KALAM_CAP_SNAPSHOTS | KALAM_CAP_REVERSE_ITERATION |
                            KALAM_CAP_DELETE_RANGE | KALAM_CAP_PERSISTENT;
  for (uint64_t seed : model_seeds()) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    RecordProperty("seed_" + std::to_string(seed), "run");
    RawDatabase fresh;
    ASSERT_TRUE(fresh.start(GetParam()));
    run_model(fresh, {seed, 3000, plugin().capabilities() & optional});
    if (HasFailure()) return;
  }
}

}  // namespace kalam::conformance
