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
    families_ = {nullptr, db_.cf("model_a"), db_.cf("model_b")};
    models_.assign(kFamilies, Model());
    for (step_ = 0; step_ < run_.steps && !failed_; ++step_) one_step();
    snapshots_.clear();
    return trace_;
  }

 private:
  // The default family, model_a, and model_b (which is dropped and created
  // again along the way).
  static constexpr int kFamilies = 3;

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
      const int f = static_cast<int>(pick(kFamilies));
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

  // One point read through a path picked at random: the visitor get(), the
  // copy get_into() (sometimes with a buffer too small first), or a
  // multi_get() of several keys across the families.
  void do_get() {
    const Snapshot* at = nullptr;
    if (!snapshots_.empty() && pick(3) == 0)
      at = &snapshots_[pick(snapshots_.size())];
    kalam_read_options ro{};
    ro.struct_size = sizeof ro;
    ro.snapshot = at ? at->snap->get() : nullptr;
    const auto& models = at != nullptr ? at->models : models_;
    auto expected_of = [&](int f, const std::string& key) {
      std::optional<std::string> out;
      if (auto it = models[f].find(key); it != models[f].end()) {
        out = it->second;
      }
      return out;
    };
    auto text = [](const std::optional<std::string>& v) {
      return v ? hex(*v) : std::string("missing");
    };
    const size_t path = pick(3);
    if (path == 2) {
      const size_t count = 1 + pick(5);
      std::vector<int> which;
      std::vector<std::string> keys;
      std::vector<kalam_cf*> cfs;
      std::vector<const void*> ptrs;
      std::vector<size_t> lens;
      for (size_t i = 0; i < count; ++i) {
        which.push_back(static_cast<int>(pick(kFamilies)));
        keys.push_back(random_key());
        cfs.push_back(families_[which.back()]);
      }
      for (const auto& k : keys) {
        ptrs.push_back(k.data());
        lens.push_back(k.size());
      }
      struct Seen {
        std::vector<std::optional<std::string>> values;
        std::vector<size_t> order;
        bool bad_code = false;
      } seen;
      seen.values.resize(count);
      RawStatus status;
      const int rc = db_.vt().multi_get(
          db_handle(), &ro, count, cfs.data(), ptrs.data(), lens.data(),
          [](void* ctx, size_t i, int code, const void* v, size_t n) {
            auto* s = static_cast<Seen*>(ctx);
            s->order.push_back(i);
            if (i >= s->values.size()) return;
            if (code == KALAM_OK) {
              s->values[i].emplace(static_cast<const char*>(v), n);
            } else if (code != KALAM_NOT_FOUND) {
              s->bad_code = true;
            }
          },
          &seen, &status);
      if (rc != KALAM_OK || seen.bad_code) {
        return fail("multi_get returned " + status.text());
      }
      std::string trace = "multi_get";
      for (size_t i = 0; i < count; ++i) {
        if (seen.order.size() != count || seen.order[i] != i) {
          return fail("multi_get visited indices out of order or not once");
        }
        const auto expected = expected_of(which[i], keys[i]);
        if (seen.values[i] != expected) {
          return fail("multi_get " + hex(keys[i]) + " in family " +
                      std::to_string(which[i]) + ": expected " +
                      text(expected) + ", got " + text(seen.values[i]));
        }
        trace += " " + hex(keys[i]) + "=" + text(seen.values[i]);
      }
      trace_.push_back(trace);
      return;
    }
    const int f = static_cast<int>(pick(kFamilies));
    const std::string key = random_key();
    const auto expected = expected_of(f, key);
    std::optional<std::string> got;
    if (path == 0) {
      got = db_.value_of(families_[f], key, ro.snapshot);
    } else {
      // get_into(), first with a buffer of a random size (maybe too small:
      // then the length needed, and a second call with exactly that).
      std::string buffer(pick(40), 'Z');
      size_t length = 0;
      RawStatus status;
      int rc = db_.vt().get_into(db_handle(), &ro, families_[f], key.data(),
                                 key.size(), buffer.data(), buffer.size(),
                                 &length, &status);
      if (rc == KALAM_BUFFER_TOO_SMALL) {
        if (length <= buffer.size()) {
          return fail("get_into BUFFER_TOO_SMALL with length " +
                      std::to_string(length) + " for a buffer of " +
                      std::to_string(buffer.size()));
        }
        buffer.assign(length, 'Z');
        rc = db_.vt().get_into(db_handle(), &ro, families_[f], key.data(),
                               key.size(), buffer.data(), buffer.size(),
                               &length, &status);
      }
      if (rc == KALAM_OK) {
        got = buffer.substr(0, length);
      } else if (rc != KALAM_NOT_FOUND) {
        return fail("get_into returned " + status.text());
      }
    }
    if (got != expected) {
      fail(std::string(path == 0 ? "get " : "get_into ") + hex(key) +
           ": expected " + text(expected) + ", got " + text(got));
    }
    trace_.push_back("get " + hex(key) + " " + (got ? hex(*got) : "-"));
  }

  // Every read through a dropped family's old handle is DROPPED; a write
  // through it is DROPPED and applies nothing.
  void probe_dropped() {
    if (dropped_ == nullptr) return;
    const std::string key = random_key();
    std::string value;
    const int read = db_.get(dropped_, key, &value);
    const int wrote = db_.put(dropped_, key, "x");
    if (read != KALAM_DROPPED || wrote != KALAM_DROPPED) {
      fail("the dropped model_b handle gave " + code_name(read) +
           " to a get and " + code_name(wrote) + " to a put, not DROPPED");
    }
    trace_.push_back("dropped");
  }

  // Drops model_b (its data goes with it) and creates it again, empty, with
  // a new handle; the old handle is probed from then on.
  void do_drop() {
    // Snapshots from before the drop know the old family only; the model
    // has no answer for them on the new one, so they go first.
    snapshots_.clear();
    RawStatus status;
    const int rc = db_.vt().cf_drop(db_handle(), families_[2], &status);
    if (rc != KALAM_OK) return fail("cf_drop returned " + status.text());
    dropped_ = families_[2];
    models_[2].clear();
    families_[2] = db_.cf("model_b");
    trace_.push_back("drop model_b");
  }

  void do_scan() {
    const int f = static_cast<int>(pick(kFamilies));
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
    const size_t path = pick(4);
    const size_t batch = 1 + pick(9);
    const size_t stop_after = 1 + pick(6);
    KV got;
    if (path == 0) {
      got = db_.scan(families_[f], spec);
    } else if (path == 1) {
      got = db_.scan_batched(families_[f], spec, batch);
    } else if (path == 2) {
      got = scan_read_batch(families_[f], spec, batch);
    } else {
      got = scan_stopping(families_[f], spec, batch, stop_after);
    }
    if (::testing::Test::HasFailure()) return fail("a scan failed (see above)");
    if (got != expected) {
      fail("scan [" + (spec.lower ? hex(*spec.lower) : "-") + ", " +
           (spec.upper ? hex(*spec.upper) : "-") + ")" +
           (spec.reverse ? " reverse" : "") + (at ? " at snapshot" : "") +
           " by " + kScanPaths[path] + ": expected " + describe(expected) +
           ", got " + describe(got));
    }
    trace_.push_back("scan " + describe(got));
  }

  static constexpr const char* kScanPaths[] = {
      "single steps", "iter_next_batch", "iter_read_batch",
      "iter_next_batch with a visitor that stops"};

  kalam_db* db_handle() { return db_.handle(); }

  // The spec's range through iter_read_batch() (iter_next_batch() where the
  // plugin has none), `batch` entries per call; the views of each batch are
  // read only after the whole batch is filled.
  KV scan_read_batch(kalam_cf* family, const IterSpec& spec, size_t batch) {
    const auto read_batch = db_.plugin().iter_read_batch();
    if (read_batch == nullptr) return db_.scan_batched(family, spec, batch);
    KV out;
    Iter it = db_.iter(family, spec);
    if (it.get() == nullptr) return out;
    int rc = spec.reverse ? it.last() : it.first();
    std::vector<kalam_entry> entries(batch);
    for (int calls = 0; rc == KALAM_OK && calls < 100000; ++calls) {
      size_t filled = 0;
      rc = read_batch(it.get(), spec.reverse ? KALAM_BATCH_REVERSE : 0, batch,
                      entries.data(), &filled, &it.status);
      if (filled > batch || (rc == KALAM_OK && filled == 0)) {
        ADD_FAILURE() << "iter_read_batch filled " << filled << " of " << batch
                      << " with " << code_name(rc);
        return out;
      }
      for (size_t i = 0; i < filled; ++i) {
        out.emplace_back(std::string(static_cast<const char*>(entries[i].key),
                                     entries[i].key_len),
                         std::string(static_cast<const char*>(entries[i].value),
                                     entries[i].value_len));
      }
    }
    EXPECT_EQ(code_name(rc), code_name(KALAM_NOT_FOUND))
        << "iter_read_batch scan: " << it.status.text();
    return out;
  }

  // The spec's range through iter_next_batch() with a visitor that stops at
  // every `stop_after`-th entry: the refused entry stays current and is the
  // first of the next batch.
  KV scan_stopping(kalam_cf* family, const IterSpec& spec, size_t batch,
                   size_t stop_after) {
    struct Ctx {
      KV out;
      size_t seen = 0;
      size_t stop_after;
    } ctx{{}, 0, stop_after};
    Iter it = db_.iter(family, spec);
    if (it.get() == nullptr) return {};
    int rc = spec.reverse ? it.last() : it.first();
    for (int calls = 0; rc == KALAM_OK && calls < 100000; ++calls) {
      size_t consumed = 0;
      const size_t before = ctx.out.size();
      rc = db_.vt().iter_next_batch(
          it.get(), spec.reverse ? KALAM_BATCH_REVERSE : 0, batch,
          [](void* c, const void* k, size_t kl, const void* v, size_t vl) {
            auto* x = static_cast<Ctx*>(c);
            if (++x->seen % (x->stop_after + 1) == 0) return 1;  // refuse
            x->out.emplace_back(std::string(static_cast<const char*>(k), kl),
                                std::string(static_cast<const char*>(v), vl));
            return 0;
          },
          &ctx, &consumed, &it.status);
      if (consumed != ctx.out.size() - before) {
        ADD_FAILURE() << "iter_next_batch consumed " << consumed
                      << " but the visitor accepted "
                      << ctx.out.size() - before;
        return ctx.out;
      }
    }
    EXPECT_EQ(code_name(rc), code_name(KALAM_NOT_FOUND))
        << "stopping scan: " << it.status.text();
    return ctx.out;
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
    } else if (roll < 94) {
      do_drop();
    } else if (roll < 95) {
      probe_dropped();
    } else if (roll < 98) {
      if (!snapshots_.empty()) {
        snapshots_.erase(snapshots_.begin() + pick(snapshots_.size()));
        trace_.push_back("release");
      }
    } else if (can(KALAM_CAP_PERSISTENT)) {
      snapshots_.clear();
      db_.reopen();
      families_ = {nullptr, db_.cf("model_a"), db_.cf("model_b")};
      dropped_ = nullptr;
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
  kalam_cf* dropped_ = nullptr;  // model_b's last dropped handle
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
