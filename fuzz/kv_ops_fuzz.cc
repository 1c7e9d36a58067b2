// Fuzz target: operation sequences on a Database (kalam/database.h) served by
// the memory plugin, or by the same plugin with delete_range, snapshots and
// thread safety hidden and an ABI 1.0 function table (tests/broken_plugins
// "reduced"), so the engine's fallbacks (the iter_next_batch scan included)
// run too. Every step is checked against a model (one std::map per
// column family, copies of them for snapshots):
//   puts, deletes, delete_range, batches across families (all or nothing,
//   later ops win), gets, multi_gets, snapshots and reads at them, iterators
//   with bounds and prefixes moved in both directions and by next_batch,
//   writes while an iterator is open, dropping and re-creating a family and
//   using the dropped handle, flush, close with a snapshot alive.
// The first input byte picks the plugin; then each op is a byte and its
// arguments. Keys come from a 6-byte alphabet (0x00 and 0xFF included) so
// sequences collide often.
#include <kalam/database.h>
#include <kalam/plugin.h>
#include <kalam/test_paths.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fuzz_input.h"
#include "temp_dir.h"

namespace {

using kalam::Code;
using kalam::Database;
using kalam::fuzz::Input;
using kalam::fuzz::show;
using Model = std::map<std::string, std::string>;

constexpr size_t kSlots = 3;  // default, "one", "two" (dropped and re-made)
const char* const kSlotNames[kSlots] = {"default", "one", "two"};

std::shared_ptr<const kalam::Plugin> load(const char* file) {
  auto plugin = kalam::load_plugin_file(file);
  FUZZ_CHECK(plugin.ok(), "cannot load %s: %s", file,
             plugin.status().to_string().c_str());
  return *plugin;
}

// One directory for the whole process (the memory plugin writes nothing to
// it), removed at exit.
const kalam::test::TempDir& temp_dir() {
  static const kalam::test::TempDir dir;
  return dir;
}

std::string key(Input& in) {
  static constexpr char kAlphabet[] = {'\x00', 'a', 'b', 'c', '\x7f', '\xff'};
  std::string k;
  const unsigned len = in.pick(4);
  for (unsigned i = 0; i < len; ++i) k.push_back(kAlphabet[in.pick(6)]);
  return k;
}

// KALAM_FUZZ_TRACE=1 prints every operation to stderr (to read a failing
// input: fuzz_kv_ops_replay FILE).
bool tracing() {
  static const bool on = std::getenv("KALAM_FUZZ_TRACE") != nullptr;
  return on;
}
#define TRACE(...)                               \
  do {                                           \
    if (tracing()) {                             \
      std::fprintf(stderr, "  op %d: ", steps_); \
      std::fprintf(stderr, __VA_ARGS__);         \
      std::fprintf(stderr, "\n");                \
    }                                            \
  } while (0)

#define CHECK_OK(status, what)                                          \
  FUZZ_CHECK((status).ok(), "%s failed: %s", std::string(what).c_str(), \
             (status).to_string().c_str())

class Run {
 public:
  Run(std::shared_ptr<const kalam::Plugin> plugin, Input& in)
      : plugin_(std::move(plugin)), in_(in) {
    const auto path = temp_dir() / "db";
    auto db = Database::open(plugin_, path, {});
    FUZZ_CHECK(db.ok(), "open: %s", db.status().to_string().c_str());
    db_ = std::move(*db);
    snapshots_ok_ = plugin_->has(KALAM_CAP_SNAPSHOTS);
    for (size_t slot = 1; slot < kSlots; ++slot) {
      auto cf = db_->column_family(kSlotNames[slot], true);
      CHECK_OK(cf.status(), "create family");
      cf_[slot] = *cf;
      exists_[slot] = true;
    }
  }

  void go() {
    while (!in_.empty() && steps_ < 300) {
      ++steps_;
      switch (in_.pick(14)) {
        case 0:
        case 1:
          put();
          break;
        case 2:
          del();
          break;
        case 3:
        case 4:
          batch();
          break;
        case 5:
          get();
          break;
        case 6:
          multi_get();
          break;
        case 7:
          take_snapshot();
          break;
        case 8:
          if (!snaps_.empty()) snaps_.erase(snaps_.begin() + pick_snap());
          break;
        case 9:
        case 10:
          iterate();
          break;
        case 11:
          drop_or_create();
          break;
        case 12:
          CHECK_OK(db_->flush(), "flush");
          list_families();
          break;
        case 13:
          stale_use();
          break;
      }
    }
    for (size_t slot = 0; slot < kSlots; ++slot) {
      if (exists_[slot]) full_scan(slot);
    }
    if (!snaps_.empty()) {
      FUZZ_CHECK(db_->close().code() == Code::kBusy,
                 "close with a snapshot alive is not BUSY");
      snaps_.clear();
    }
    CHECK_OK(db_->close(), "close");
  }

 private:
  struct Snap {
    kalam::Snapshot snapshot;
    std::array<Model, kSlots> model;
  };

  size_t pick_slot() {
    size_t slot = in_.pick(kSlots);
    return exists_[slot] ? slot : 0;
  }
  size_t pick_snap() { return in_.pick(static_cast<unsigned>(snaps_.size())); }
  const kalam::ColumnFamily& family(size_t slot) const { return cf_[slot]; }

  void put() {
    const size_t slot = pick_slot();
    const std::string k = key(in_), v = in_.bytes(8);
    kalam::Status s = db_->put(family(slot), k, v);
    TRACE("put %s %s = %s: %s", kSlotNames[slot], show(k).c_str(),
          show(v).c_str(), s.to_string().c_str());
    if (k.empty()) {
      FUZZ_CHECK(s.code() == Code::kInvalidArgument, "put of the empty key: %s",
                 s.to_string().c_str());
      return;
    }
    CHECK_OK(s, "put " + show(k));
    model_[slot][k] = v;
  }

  void del() {
    const size_t slot = pick_slot();
    const std::string k = key(in_);
    kalam::Status s = db_->del(family(slot), k);
    TRACE("del %s %s: %s", kSlotNames[slot], show(k).c_str(),
          s.to_string().c_str());
    if (k.empty()) {
      FUZZ_CHECK(s.code() == Code::kInvalidArgument,
                 "delete of the empty key: %s", s.to_string().c_str());
      return;
    }
    CHECK_OK(s, "delete " + show(k));
    model_[slot].erase(k);
  }

  void batch() {
    kalam::WriteBatch batch;
    auto expected = model_;
    bool valid = true;
    bool stale = false;
    const unsigned n = in_.pick(7);
    for (unsigned i = 0; i < n; ++i) {
      size_t slot = pick_slot();
      const kalam::ColumnFamily* cf = &family(slot);
      if (stale_ && in_.pick(16) == 0) {  // a dropped family: all fails
        cf = &*stale_;
        stale = true;
      }
      const std::string k = key(in_);
      switch (in_.pick(3)) {
        case 0: {
          const std::string v = in_.bytes(8);
          TRACE("  batch put %s %s = %s", kSlotNames[slot], show(k).c_str(),
                show(v).c_str());
          batch.put(*cf, k, v);
          if (k.empty()) valid = false;
          expected[slot][k] = v;
          break;
        }
        case 1:
          TRACE("  batch del %s %s", kSlotNames[slot], show(k).c_str());
          batch.del(*cf, k);
          if (k.empty()) valid = false;
          expected[slot].erase(k);
          break;
        case 2: {
          const std::string end = key(in_);
          TRACE("  batch delete_range %s [%s, %s)", kSlotNames[slot],
                show(k).c_str(), show(end).c_str());
          batch.delete_range(*cf, k, end);
          if (k < end) {
            auto& m = expected[slot];
            m.erase(m.lower_bound(k), m.lower_bound(end));
          }
          break;
        }
      }
    }
    kalam::Status s = db_->write(batch);
    TRACE("batch of %u%s: %s", n, stale ? " (dropped family)" : "",
          s.to_string().c_str());
    if (stale) {
      FUZZ_CHECK(s.code() == Code::kDropped, "batch with a dropped family: %s",
                 s.to_string().c_str());
    } else if (!valid) {
      FUZZ_CHECK(s.code() == Code::kInvalidArgument,
                 "batch with an empty key: %s", s.to_string().c_str());
    } else {
      CHECK_OK(s, "batch of " + std::to_string(n));
      model_ = std::move(expected);
    }
  }

  const Model& view(const Snap* snap, size_t slot) const {
    return snap != nullptr ? snap->model[slot] : model_[slot];
  }

  void get() {
    const size_t slot = pick_slot();
    const Snap* snap = nullptr;
    if (!snaps_.empty() && in_.flag()) snap = &snaps_[pick_snap()];
    const std::string k = key(in_);
    kalam::ReadOptions ro;
    if (snap != nullptr) ro.snapshot = &snap->snapshot;
    auto got = db_->get(family(slot), k, ro);
    const Model& m = view(snap, slot);
    auto it = m.find(k);
    if (it == m.end()) {
      FUZZ_CHECK(got.status().code() == Code::kNotFound,
                 "get %s in %s: expected NOT_FOUND, got %s", show(k).c_str(),
                 kSlotNames[slot], got.status().to_string().c_str());
    } else {
      FUZZ_CHECK(
          got.ok() && *got == it->second, "get %s in %s%s: expected %s, got %s",
          show(k).c_str(), kSlotNames[slot], snap ? " at a snapshot" : "",
          show(it->second).c_str(),
          got.ok() ? show(*got).c_str() : got.status().to_string().c_str());
    }
    // get_into: the copy path, with a buffer that may be too small.
    std::string buffer(in_.pick(10), '\0');
    auto len = db_->get_into(family(slot), k, buffer, ro);
    if (it == m.end()) {
      FUZZ_CHECK(len.status().code() == Code::kNotFound, "get_into %s: %s",
                 show(k).c_str(), len.status().to_string().c_str());
    } else if (it->second.size() > buffer.size()) {
      FUZZ_CHECK(len.status().code() == Code::kBufferTooSmall,
                 "get_into %s with a small buffer: %s", show(k).c_str(),
                 len.status().to_string().c_str());
    } else {
      FUZZ_CHECK(len.ok() && buffer.substr(0, *len) == it->second,
                 "get_into %s", show(k).c_str());
    }
  }

  void multi_get() {
    const size_t slot = pick_slot();
    const Snap* snap = nullptr;
    if (!snaps_.empty() && in_.flag()) snap = &snaps_[pick_snap()];
    std::vector<std::string> keys(in_.pick(5));
    for (auto& k : keys) k = key(in_);
    std::vector<std::string_view> views(keys.begin(), keys.end());
    kalam::ReadOptions ro;
    if (snap != nullptr) ro.snapshot = &snap->snapshot;
    auto got = db_->multi_get(family(slot), views, ro);
    CHECK_OK(got.status(), "multi_get");
    FUZZ_CHECK(got->size() == keys.size(), "multi_get returned %zu of %zu",
               got->size(), keys.size());
    const Model& m = view(snap, slot);
    for (size_t i = 0; i < keys.size(); ++i) {
      auto it = m.find(keys[i]);
      const std::optional<std::string> want =
          it == m.end() ? std::nullopt : std::optional(it->second);
      FUZZ_CHECK((*got)[i] == want, "multi_get %s in %s", show(keys[i]).c_str(),
                 kSlotNames[slot]);
    }
  }

  void take_snapshot() {
    auto snap = db_->snapshot();
    if (!snapshots_ok_) {
      FUZZ_CHECK(snap.status().code() == Code::kNotSupported,
                 "snapshot without the capability: %s",
                 snap.status().to_string().c_str());
      return;
    }
    CHECK_OK(snap.status(), "snapshot");
    if (snaps_.size() >= 4) snaps_.erase(snaps_.begin());
    snaps_.push_back({*snap, model_});
  }

  void iterate() {
    const size_t slot = pick_slot();
    const Snap* snap = nullptr;
    if (!snaps_.empty() && in_.flag()) snap = &snaps_[pick_snap()];
    kalam::IteratorOptions options;
    if (in_.flag()) options.lower = key(in_);
    if (in_.flag()) options.upper = key(in_);
    if (in_.pick(4) == 0) options.prefix = key(in_);
    options.reverse = in_.flag();
    if (snap != nullptr) options.snapshot = &snap->snapshot;
    auto created = db_->new_iterator(family(slot), options);
    TRACE("iterator on %s lower %s upper %s prefix %s%s", kSlotNames[slot],
          options.lower ? show(*options.lower).c_str() : "-",
          options.upper ? show(*options.upper).c_str() : "-",
          options.prefix ? show(*options.prefix).c_str() : "-",
          snap ? " at a snapshot" : "");
    CHECK_OK(created.status(), "new_iterator");
    kalam::Iterator it = std::move(*created);

    // The entries the iterator must show, in order.
    std::vector<std::pair<std::string, std::string>> want;
    for (const auto& [k, v] : view(snap, slot)) {
      if (options.lower && k < *options.lower) continue;
      if (options.upper && k >= *options.upper) continue;
      if (options.prefix && !k.starts_with(*options.prefix)) continue;
      want.emplace_back(k, v);
    }
    // Where a backend has snapshots, an iterator reads as of its creation:
    // writes made while it is open are not seen.
    if (snap == nullptr && snapshots_ok_ && in_.pick(3) == 0) {
      const unsigned writes = 1 + in_.pick(3);
      for (unsigned i = 0; i < writes; ++i) {
        if (in_.flag()) {
          put_to(slot);
        } else {
          const std::string k = key(in_);
          if (!k.empty()) {
            CHECK_OK(db_->del(family(slot), k), "delete");
            model_[slot].erase(k);
          }
        }
      }
    }

    // The expected position: an index into want, or want.size() = invalid.
    size_t pos = want.size();
    const unsigned moves = 1 + in_.pick(12);
    for (unsigned i = 0; i < moves; ++i) {
      const char* what = "";
      switch (in_.pick(8)) {
        case 0:
          what = "seek_to_first";
          it.seek_to_first();
          pos = 0;
          break;
        case 1:
          what = "seek_to_last";
          it.seek_to_last();
          pos = want.empty() ? 0 : want.size() - 1;
          break;
        case 2: {
          what = "seek";
          const std::string t = key(in_);
          TRACE("  seek %s", show(t).c_str());
          it.seek(t);
          pos = std::lower_bound(want.begin(), want.end(), t,
                                 [](const auto& e, const std::string& x) {
                                   return e.first < x;
                                 }) -
                want.begin();
          break;
        }
        case 3: {
          what = "seek_for_prev";
          const std::string t = key(in_);
          TRACE("  seek_for_prev %s", show(t).c_str());
          it.seek_for_prev(t);
          const size_t after =
              std::upper_bound(want.begin(), want.end(), t,
                               [](const std::string& x, const auto& e) {
                                 return x < e.first;
                               }) -
              want.begin();
          pos = after == 0 ? want.size() : after - 1;
          break;
        }
        case 4:
        case 5:
          if (!it.valid()) continue;
          what = "next";
          it.next();
          ++pos;
          break;
        case 6:
          if (!it.valid()) continue;
          what = "prev";
          it.prev();
          pos = pos == 0 ? want.size() : pos - 1;
          break;
        case 7: {
          if (!it.valid()) continue;
          what = "next_batch";
          const bool forward = in_.flag();
          const size_t max = 1 + in_.pick(5);
          const size_t stop_after = in_.pick(7);
          size_t seen = 0;
          auto consumed = it.next_batch(
              max,
              [&](std::string_view k, std::string_view v) {
                if (seen == stop_after) return false;
                const size_t at = forward ? pos + seen : pos - seen;
                FUZZ_CHECK(at < want.size() && k == want[at].first &&
                               v == want[at].second,
                           "next_batch entry %zu is %s", seen, show(k).c_str());
                ++seen;
                return true;
              },
              forward ? kalam::Iterator::Direction::kForward
                      : kalam::Iterator::Direction::kBackward);
          CHECK_OK(consumed.status(), "next_batch");
          FUZZ_CHECK(*consumed == seen, "next_batch consumed %zu, visited %zu",
                     *consumed, seen);
          if (forward) {
            pos += seen;
          } else {
            pos = seen > pos ? want.size() : pos - seen;
          }
          break;
        }
      }
      if (pos > want.size()) pos = want.size();
      TRACE("  %s -> %s", what,
            it.valid() ? show(it.key()).c_str() : "(not valid)");
      CHECK_OK(it.status(), std::string("iterator ") + what);
      const bool valid = pos < want.size();
      FUZZ_CHECK(it.valid() == valid,
                 "after %s in %s: valid() is %d, expected %d (at %s)", what,
                 kSlotNames[slot], it.valid(), valid,
                 valid ? show(want[pos].first).c_str() : "the end");
      if (valid) {
        FUZZ_CHECK(
            it.key() == want[pos].first && it.value() == want[pos].second,
            "after %s in %s: at %s = %s, expected %s = %s", what,
            kSlotNames[slot], show(it.key()).c_str(), show(it.value()).c_str(),
            show(want[pos].first).c_str(), show(want[pos].second).c_str());
      }
    }
  }

  void put_to(size_t slot) {
    const std::string k = key(in_), v = in_.bytes(8);
    if (k.empty()) return;
    CHECK_OK(db_->put(family(slot), k, v), "put");
    model_[slot][k] = v;
  }

  void drop_or_create() {
    constexpr size_t slot = 2;
    TRACE("%s family two", exists_[slot] ? "drop" : "open");
    if (exists_[slot]) {
      CHECK_OK(db_->drop_column_family(cf_[slot]), "drop family");
      stale_ = cf_[slot];
      cf_[slot] = kalam::ColumnFamily();
      exists_[slot] = false;
      model_[slot].clear();
      // A family created again later is a new family: at a snapshot taken
      // now it holds nothing (the dropped one's rows are not its rows).
      for (Snap& snap : snaps_) snap.model[slot].clear();
    } else {
      auto cf = db_->column_family(kSlotNames[slot], in_.flag());
      if (!cf.ok()) {
        FUZZ_CHECK(cf.status().code() == Code::kNotFound,
                   "opening a dropped family: %s",
                   cf.status().to_string().c_str());
        return;
      }
      cf_[slot] = *cf;
      exists_[slot] = true;
    }
  }

  void stale_use() {
    if (!stale_) return;
    const std::string k = key(in_);
    FUZZ_CHECK(db_->put(*stale_, "k", "v").code() == Code::kDropped,
               "put to a dropped family");
    FUZZ_CHECK(db_->get(*stale_, k).status().code() == Code::kDropped,
               "get from a dropped family");
    FUZZ_CHECK(db_->new_iterator(*stale_).status().code() == Code::kDropped,
               "iterator over a dropped family");
  }

  void list_families() {
    auto names = db_->list_column_families();
    CHECK_OK(names.status(), "list families");
    std::vector<std::string> want;
    for (size_t slot = 0; slot < kSlots; ++slot) {
      if (exists_[slot]) want.push_back(kSlotNames[slot]);
    }
    std::sort(want.begin(), want.end());
    FUZZ_CHECK(*names == want, "list_column_families is wrong");
  }

  void full_scan(size_t slot) {
    auto created = db_->new_iterator(family(slot));
    CHECK_OK(created.status(), "new_iterator");
    auto& it = *created;
    auto m = model_[slot].begin();
    for (it.seek_to_first(); it.valid(); it.next(), ++m) {
      FUZZ_CHECK(m != model_[slot].end() && it.key() == m->first &&
                     it.value() == m->second,
                 "final scan of %s: at %s", kSlotNames[slot],
                 show(it.key()).c_str());
    }
    CHECK_OK(it.status(), "final scan");
    FUZZ_CHECK(m == model_[slot].end(), "final scan of %s ends early at %s",
               kSlotNames[slot], show(m->first).c_str());
  }

  std::shared_ptr<const kalam::Plugin> plugin_;
  Input& in_;
  std::unique_ptr<Database> db_;
  bool snapshots_ok_ = false;
  std::array<kalam::ColumnFamily, kSlots> cf_;
  std::array<bool, kSlots> exists_{true, false, false};
  std::array<Model, kSlots> model_;
  std::optional<kalam::ColumnFamily> stale_;
  std::vector<Snap> snaps_;
  int steps_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto memory = load(KALAM_TEST_PLUGIN_MEMORY_PATH);
  static const auto reduced = load(KALAM_TEST_REDUCED_PLUGIN_PATH);
  Input in(data, size);
  Run run(in.flag() ? reduced : memory, in);
  run.go();
  return 0;
}
