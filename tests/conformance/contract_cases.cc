// Clauses of backend_api.h that the traceability map (docs/conformance-map.md)
// found without a case failing a plugin that breaks them: out-parameters
// untouched on failure (convention 6, checked from a sentinel, not from
// NULL), unknown flag bits refused by every call that takes a flag word
// (convention 11), multi_get's one consistent view, NULL handles to the
// release calls, and get_limits().
#include <atomic>
#include <chrono>
#include <cstddef>
#include <thread>

#include "conformance.h"

namespace kalam::conformance {
namespace {

// A flag bit no minor of the ABI defines (yet): what a newer host might set.
constexpr uint32_t kUnknownFlag = UINT32_C(1) << 30;

// Handles no plugin returns: out-parameters start as these, so a plugin that
// writes NULL (or anything) there before failing is seen.
template <typename T>
T* sentinel() {
  return reinterpret_cast<T*>(static_cast<uintptr_t>(0x5A5A5A50));
}

void keep_value(void* ctx, const void* value, size_t len) {
  static_cast<std::string*>(ctx)->assign(static_cast<const char*>(value), len);
}

TEST_P(Conformance, OutParams_HandlesAreUntouchedOnFailure) {
  RawStatus status;
  // open(): NOT_FOUND (no database, no create flag; persistent plugins
  // only, a memory store has nothing to find) and INVALID_ARGUMENT.
  kalam_db* other = sentinel<kalam_db>();
  if (has(KALAM_CAP_PERSISTENT)) {
    EXPECT_EQ(code_name(open_at(dir_ / "absent", &other, 0, {}, &status)),
              code_name(KALAM_NOT_FOUND));
    EXPECT_EQ(other, sentinel<kalam_db>())
        << "open() wrote *out_db on NOT_FOUND";
  }
  EXPECT_EQ(
      code_name(open_at(dir_ / "bad", &other, KALAM_OPEN_CREATE_IF_MISSING,
                        {{"kalam_no_such_option", "1"}}, &status)),
      code_name(KALAM_INVALID_ARGUMENT));
  EXPECT_EQ(other, sentinel<kalam_db>())
      << "open() wrote *out_db on INVALID_ARGUMENT";

  // cf_open(): NOT_FOUND and INVALID_ARGUMENT.
  kalam_cf* family = sentinel<kalam_cf>();
  EXPECT_EQ(code_name(vt().cf_open(db_, "missing", 0, &family, &status)),
            code_name(KALAM_NOT_FOUND));
  EXPECT_EQ(family, sentinel<kalam_cf>())
      << "cf_open() wrote *out_cf on NOT_FOUND";
  EXPECT_EQ(code_name(vt().cf_open(db_, "", KALAM_CF_CREATE_IF_MISSING, &family,
                                   &status)),
            code_name(KALAM_INVALID_ARGUMENT));
  EXPECT_EQ(family, sentinel<kalam_cf>())
      << "cf_open() wrote *out_cf on INVALID_ARGUMENT";

  // iter_create(): DROPPED.
  kalam_cf* doomed = cf("doomed");
  ASSERT_EQ(code_name(vt().cf_drop(db_, doomed, &status)), code_name(KALAM_OK));
  kalam_iter_options options{};
  options.struct_size = sizeof options;
  kalam_iter* it = sentinel<kalam_iter>();
  EXPECT_EQ(code_name(vt().iter_create(db_, &options, doomed, &it, &status)),
            code_name(KALAM_DROPPED));
  EXPECT_EQ(it, sentinel<kalam_iter>())
      << "iter_create() wrote *out_iter on DROPPED";

  // snapshot_create(): NOT_SUPPORTED without the capability.
  if (!has(KALAM_CAP_SNAPSHOTS)) {
    kalam_snapshot* snap = sentinel<kalam_snapshot>();
    EXPECT_EQ(code_name(vt().snapshot_create(db_, &snap, &status)),
              code_name(KALAM_NOT_SUPPORTED));
    EXPECT_EQ(snap, sentinel<kalam_snapshot>())
        << "snapshot_create() wrote *out_snapshot on NOT_SUPPORTED";
  }
}

TEST_P(Conformance, OutParams_ReadOutputsAreUntouchedOnFailure) {
  ASSERT_EQ(code_name(put(nullptr, "k", "value")), code_name(KALAM_OK));
  RawStatus status;
  // get_into(): NOT_FOUND and DROPPED leave the length and the buffer alone;
  // BUFFER_TOO_SMALL writes the length only (the one documented exception).
  char buffer[4] = {'Z', 'Z', 'Z', 'Z'};
  size_t length = 777;
  EXPECT_EQ(code_name(vt().get_into(db_, nullptr, nullptr, "absent", 6, buffer,
                                    sizeof buffer, &length, &status)),
            code_name(KALAM_NOT_FOUND));
  EXPECT_EQ(length, 777u) << "get_into() wrote *value_len on NOT_FOUND";
  kalam_cf* doomed = cf("doomed");
  ASSERT_EQ(code_name(put(doomed, "k", "v")), code_name(KALAM_OK));
  ASSERT_EQ(code_name(vt().cf_drop(db_, doomed, &status)), code_name(KALAM_OK));
  EXPECT_EQ(code_name(vt().get_into(db_, nullptr, doomed, "k", 1, buffer,
                                    sizeof buffer, &length, &status)),
            code_name(KALAM_DROPPED));
  EXPECT_EQ(length, 777u) << "get_into() wrote *value_len on DROPPED";
  EXPECT_EQ(code_name(vt().get_into(db_, nullptr, nullptr, "k", 1, buffer,
                                    sizeof buffer, &length, &status)),
            code_name(KALAM_BUFFER_TOO_SMALL));
  EXPECT_EQ(length, 5u) << "BUFFER_TOO_SMALL sets the length needed";
  EXPECT_EQ(std::string(buffer, sizeof buffer), "ZZZZ")
      << "get_into() wrote into the buffer on BUFFER_TOO_SMALL";

  // get(): the visitor is not called on NOT_FOUND or DROPPED.
  std::string seen = "untouched";
  EXPECT_EQ(code_name(vt().get(db_, nullptr, nullptr, "absent", 6, keep_value,
                               &seen, &status)),
            code_name(KALAM_NOT_FOUND));
  EXPECT_EQ(code_name(vt().get(db_, nullptr, doomed, "k", 1, keep_value, &seen,
                               &status)),
            code_name(KALAM_DROPPED));
  EXPECT_EQ(seen, "untouched") << "get() called its visitor on a failure";

  // iter_entry(): NOT_FOUND when unpositioned leaves all four views alone.
  Iter it = iter(nullptr);
  const void* key = &seen;
  const void* value = &seen;
  size_t key_len = 777, value_len = 777;
  EXPECT_EQ(
      code_name(vt().iter_entry(it.get(), &key, &key_len, &value, &value_len)),
      code_name(KALAM_NOT_FOUND));
  EXPECT_TRUE(key == &seen && value == &seen && key_len == 777 &&
              value_len == 777)
      << "iter_entry() wrote its views while unpositioned";

  // get_property(): an unknown property calls no visitor.
  if (has(KALAM_CAP_PROPERTIES) && vt().get_property != nullptr) {
    EXPECT_EQ(code_name(vt().get_property(db_, nullptr, "kalam.no-such-thing",
                                          keep_value, &seen, &status)),
              code_name(KALAM_NOT_FOUND));
    EXPECT_EQ(seen, "untouched")
        << "get_property() called its visitor for an unknown property";
  }
}

// Convention 11: every flag word refuses bits it does not know, so a host
// from a later minor learns that the flag was not honoured instead of
// silently losing it. Each call is checked on its own; a write refused this
// way applies nothing.
TEST_P(Conformance, Flags_UnknownBitsAreRefusedByEveryCall) {
  RawStatus status;
  // open()
  kalam_db* other = sentinel<kalam_db>();
  EXPECT_EQ(code_name(open_at(dir_ / "flags", &other,
                              KALAM_OPEN_CREATE_IF_MISSING | kUnknownFlag, {},
                              &status)),
            code_name(KALAM_INVALID_ARGUMENT))
      << "open() accepted unknown flag bits";
  if (other != sentinel<kalam_db>() && other != nullptr) {
    vt().close(other, nullptr);
  }
  // cf_open(): refused, and the family is not created.
  kalam_cf* family = nullptr;
  EXPECT_EQ(code_name(vt().cf_open(db_, "flagged",
                                   KALAM_CF_CREATE_IF_MISSING | kUnknownFlag,
                                   &family, &status)),
            code_name(KALAM_INVALID_ARGUMENT))
      << "cf_open() accepted unknown flag bits";
  EXPECT_EQ(code_name(vt().cf_open(db_, "flagged", 0, &family, &status)),
            code_name(KALAM_NOT_FOUND))
      << "cf_open() with unknown flag bits created the family";
  // flush()
  EXPECT_EQ(code_name(vt().flush(db_, kUnknownFlag, &status)),
            code_name(KALAM_INVALID_ARGUMENT))
      << "flush() accepted unknown flag bits";
  // write(): refused, nothing applied.
  kalam_write_op op{};
  op.type = KALAM_OP_PUT;
  op.key = "w";
  op.key_len = 1;
  op.value = "1";
  op.value_len = 1;
  kalam_write_options wo{};
  wo.struct_size = sizeof wo;
  wo.op_stride = sizeof op;
  wo.flags = kUnknownFlag;
  EXPECT_EQ(code_name(vt().write(db_, &wo, &op, 1, &status)),
            code_name(KALAM_INVALID_ARGUMENT))
      << "write() accepted unknown flag bits";
  EXPECT_EQ(value_of(nullptr, "w"), std::nullopt)
      << "a write refused for its flags applied its op";
  // iter_create()
  kalam_iter_options io{};
  io.struct_size = sizeof io;
  io.flags = kUnknownFlag;
  kalam_iter* raw = nullptr;
  const int created = vt().iter_create(db_, &io, nullptr, &raw, &status);
  EXPECT_EQ(code_name(created), code_name(KALAM_INVALID_ARGUMENT))
      << "iter_create() accepted unknown flag bits";
  if (created == KALAM_OK) vt().iter_destroy(raw);
  // iter_next_batch() and iter_read_batch(): refused, *consumed / *filled 0.
  ASSERT_EQ(code_name(put(nullptr, "a", "1")), code_name(KALAM_OK));
  Iter it = iter(nullptr);
  ASSERT_EQ(code_name(it.first()), code_name(KALAM_OK));
  size_t consumed = 777;
  EXPECT_EQ(
      code_name(vt().iter_next_batch(
          it.get(), kUnknownFlag, 10,
          [](void*, const void*, size_t, const void*, size_t) { return 0; },
          nullptr, &consumed, &it.status)),
      code_name(KALAM_INVALID_ARGUMENT))
      << "iter_next_batch() accepted unknown flag bits";
  EXPECT_EQ(consumed, 0u) << "*consumed is written whatever the code";
  if (plugin().iter_read_batch() != nullptr) {
    kalam_entry out[4];
    size_t filled = 777;
    EXPECT_EQ(code_name(plugin().iter_read_batch()(it.get(), kUnknownFlag, 4,
                                                   out, &filled, &it.status)),
              code_name(KALAM_INVALID_ARGUMENT))
        << "iter_read_batch() accepted unknown flag bits";
    EXPECT_EQ(filled, 0u) << "*filled is 0 on an argument error";
  }
  EXPECT_EQ(it.key(), "a") << "a refused batch moved the iterator";
  // compact_range()
  if (has(KALAM_CAP_COMPACT_RANGE) && vt().compact_range != nullptr) {
    EXPECT_EQ(code_name(vt().compact_range(db_, nullptr, kUnknownFlag, nullptr,
                                           0, nullptr, 0, &status)),
              code_name(KALAM_INVALID_ARGUMENT))
        << "compact_range() accepted unknown flag bits";
  }
  // write_conditional() and read_modify_write(): refused, nothing applied,
  // the visitor never called.
  if (plugin().write_conditional() != nullptr) {
    EXPECT_EQ(code_name(plugin().write_conditional()(db_, &wo, nullptr, 0, &op,
                                                     1, &status)),
              code_name(KALAM_INVALID_ARGUMENT))
        << "write_conditional() accepted unknown flag bits";
    EXPECT_EQ(value_of(nullptr, "w"), std::nullopt);
  }
  if (plugin().read_modify_write() != nullptr) {
    // The visitor (if the plugin calls it before looking at the flags)
    // asks for a put, which must not be applied.
    kalam_write_op rmw_op = op;
    rmw_op.key = "r";
    EXPECT_EQ(code_name(plugin().read_modify_write()(
                  db_, &wo, 0, nullptr, nullptr, nullptr,
                  [](void* ctx, size_t, const kalam_rmw_value*,
                     const kalam_write_op** ops, size_t* count) {
                    *ops = static_cast<const kalam_write_op*>(ctx);
                    *count = 1;
                    return 0;
                  },
                  &rmw_op, &status)),
              code_name(KALAM_INVALID_ARGUMENT))
        << "read_modify_write() accepted unknown flag bits";
    EXPECT_EQ(value_of(nullptr, "r"), std::nullopt)
        << "a read_modify_write refused for its flags applied its op";
  }
}

// multi_get reads every key from one consistent view: while another thread
// rewrites all the keys together in atomic writes (every key the same
// generation number), no multi_get sees two generations at once.
TEST_P(Conformance, Read_MultiGetIsOneViewUnderAnAtomicWriter) {
  KALAM_REQUIRE(KALAM_CAP_THREAD_SAFE);
  KALAM_REQUIRE(KALAM_CAP_ATOMIC_BATCH);
  constexpr int kKeys = 12;
  kalam_cf* other = cf("other");
  std::vector<std::string> keys;
  std::vector<kalam_cf*> cfs;
  for (int i = 0; i < kKeys; ++i) {
    keys.push_back("key" + std::to_string(i));
    cfs.push_back(i % 2 == 0 ? nullptr : other);  // across families too
  }
  auto generation = [&](int n) {
    std::vector<Op> ops;
    for (int i = 0; i < kKeys; ++i) {
      ops.push_back(Put(cfs[i], keys[i], std::to_string(n)));
    }
    return ops;
  };
  ASSERT_EQ(code_name(write(generation(0))), code_name(KALAM_OK));

  // Bounded in time and count: a correct plugin passes after the time, a
  // plugin that reads key by key fails as soon as a write falls between two
  // of its reads (in practice within milliseconds).
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  std::atomic<bool> stop{false};
  std::atomic<int> writer_failures{0};
  std::thread writer([&] {
    for (int n = 1; n < 1'000'000 && !stop; ++n) {
      RawStatus status;
      const std::vector<Op> ops = generation(n);
      std::vector<kalam_write_op> abi;
      for (const Op& op : ops) {
        kalam_write_op w{};
        w.type = op.type;
        w.cf = op.cf;
        w.key = op.key.data();
        w.key_len = op.key.size();
        w.value = op.value.data();
        w.value_len = op.value.size();
        abi.push_back(w);
      }
      kalam_write_options wo{};
      wo.struct_size = sizeof wo;
      wo.op_stride = sizeof(kalam_write_op);
      if (vt().write(db_, &wo, abi.data(), abi.size(), &status) != KALAM_OK) {
        ++writer_failures;
        return;
      }
    }
  });
  std::vector<const void*> ptrs;
  std::vector<size_t> lens;
  for (const auto& k : keys) {
    ptrs.push_back(k.data());
    lens.push_back(k.size());
  }
  std::string mixed;
  int reads = 0;
  for (; reads < 200'000 && std::chrono::steady_clock::now() < until; ++reads) {
    std::vector<std::string> seen(kKeys);
    RawStatus status;
    const int rc = vt().multi_get(
        db_, nullptr, kKeys, cfs.data(), ptrs.data(), lens.data(),
        [](void* ctx, size_t i, int code, const void* v, size_t n) {
          auto& out = *static_cast<std::vector<std::string>*>(ctx);
          out[i] = code == KALAM_OK
                       ? std::string(static_cast<const char*>(v), n)
                       : "<" + code_name(code) + ">";
        },
        &seen, &status);
    if (rc != KALAM_OK) {
      mixed = "multi_get returned " + status.text();
      break;
    }
    for (int i = 1; i < kKeys && mixed.empty(); ++i) {
      if (seen[i] != seen[0]) {
        mixed = "key0 (default family) had generation " + seen[0] + " but " +
                keys[i] + " (" + (i % 2 ? "other" : "default") +
                " family) had " + seen[i];
      }
    }
    if (!mixed.empty()) break;
  }
  stop = true;
  writer.join();
  EXPECT_EQ(writer_failures, 0);
  EXPECT_EQ(mixed, "") << "multi_get mixed two atomic writes after " << reads
                       << " reads: it is not one consistent view";
}

// kalam_status is written only when the call returns a code other than OK
// and NOT_FOUND: a success or a miss leaves every byte as the host set it.
TEST_P(Conformance, Status_UntouchedOnSuccessAndNotFound) {
  kalam_status status;
  std::memset(&status, 0x5A, sizeof status);
  status.struct_size = sizeof status;
  auto untouched = [&status] {
    return status.code == 0x5A5A5A5A &&
           status.native_code == 0x5A5A5A5A5A5A5A5A &&
           static_cast<unsigned char>(status.message[0]) == 0x5A;
  };
  kalam_write_op op{};
  op.type = KALAM_OP_PUT;
  op.key = "k";
  op.key_len = 1;
  op.value = "v";
  op.value_len = 1;
  kalam_write_options wo{};
  wo.struct_size = sizeof wo;
  wo.op_stride = sizeof op;
  EXPECT_EQ(code_name(vt().write(db_, &wo, &op, 1, &status)),
            code_name(KALAM_OK));
  EXPECT_TRUE(untouched()) << "write() wrote the status on OK";
  std::string value;
  EXPECT_EQ(code_name(vt().get(db_, nullptr, nullptr, "k", 1, keep_value,
                               &value, &status)),
            code_name(KALAM_OK));
  EXPECT_TRUE(untouched()) << "get() wrote the status on OK";
  EXPECT_EQ(code_name(vt().get(db_, nullptr, nullptr, "absent", 6, keep_value,
                               &value, &status)),
            code_name(KALAM_NOT_FOUND));
  EXPECT_TRUE(untouched()) << "get() wrote the status on NOT_FOUND";
  char buffer[8];
  size_t length = 0;
  EXPECT_EQ(code_name(vt().get_into(db_, nullptr, nullptr, "absent", 6, buffer,
                                    sizeof buffer, &length, &status)),
            code_name(KALAM_NOT_FOUND));
  EXPECT_TRUE(untouched()) << "get_into() wrote the status on NOT_FOUND";
  kalam_cf* family = nullptr;
  EXPECT_EQ(code_name(vt().cf_open(db_, "missing", 0, &family, &status)),
            code_name(KALAM_NOT_FOUND));
  EXPECT_TRUE(untouched()) << "cf_open() wrote the status on NOT_FOUND";
  Iter it = iter(nullptr);
  EXPECT_EQ(code_name(vt().iter_seek(it.get(), "z", 1, &status)),
            code_name(KALAM_NOT_FOUND));
  EXPECT_TRUE(untouched()) << "iter_seek() wrote the status on NOT_FOUND";
}

// Convention 5: iter_create()'s bounds are borrowed for the call; a plugin
// that keeps them copies them. The host's bound bytes are overwritten right
// after the call, and the iterator must still honour the original bounds.
TEST_P(Conformance, Iterator_BoundsAreCopiedAtCreation) {
  for (const char* k : {"a", "b", "c", "d", "e"}) {
    ASSERT_EQ(code_name(put(nullptr, k, k)), code_name(KALAM_OK));
  }
  std::string lower = "b", upper = "d";
  kalam_iter_options options{};
  options.struct_size = sizeof options;
  options.flags = KALAM_ITER_LOWER_BOUND | KALAM_ITER_UPPER_BOUND;
  options.lower = lower.data();
  options.lower_len = lower.size();
  options.upper = upper.data();
  options.upper_len = upper.size();
  kalam_iter* raw = nullptr;
  RawStatus status;
  ASSERT_EQ(code_name(vt().iter_create(db_, &options, nullptr, &raw, &status)),
            code_name(KALAM_OK))
      << status.text();
  Iter it(&vt(), raw);
  lower[0] = 'z';  // the host reuses its buffers
  upper[0] = '\0';
  KV seen;
  for (int rc = it.first(); rc == KALAM_OK; rc = it.next()) {
    seen.push_back(it.entry());
  }
  EXPECT_EQ(seen, (KV{{"b", "b"}, {"c", "c"}}))
      << "the iterator read its bounds from the host's memory after "
         "iter_create() returned";
}

// Convention 2: bounds, seek targets and DELETE_RANGE ends may be empty; an
// empty lower bound is the whole range, an empty upper bound the empty one.
TEST_P(Conformance, Iterator_EmptyBoundsAndRangeEndsAreAllowed) {
  for (const char* k : {"a", "b", "c"}) {
    ASSERT_EQ(code_name(put(nullptr, k, k)), code_name(KALAM_OK));
  }
  EXPECT_EQ(scan(nullptr, {.lower = ""}).size(), 3u)
      << "an empty lower bound excludes nothing";
  EXPECT_EQ(scan(nullptr, {.upper = ""}), KV{})
      << "an empty (exclusive) upper bound excludes everything";
  if (!has(KALAM_CAP_DELETE_RANGE)) return;
  // ["", "b") removes "a"; ["b", "") is reversed and removes nothing.
  ASSERT_EQ(code_name(write({DelRange(nullptr, "", "b")})),
            code_name(KALAM_OK));
  ASSERT_EQ(code_name(write({DelRange(nullptr, "b", "")})),
            code_name(KALAM_OK));
  EXPECT_EQ(scan(nullptr), (KV{{"b", "b"}, {"c", "c"}}));
}

// Convention 2: a pointer with length 0 may be NULL: a put of an empty
// value, a seek to the empty target and a get of the empty key, all with
// NULL pointers.
TEST_P(Conformance, Point_NullPointersWithLengthZeroAreAllowed) {
  kalam_write_op op{};
  op.type = KALAM_OP_PUT;
  op.key = "k";
  op.key_len = 1;
  op.value = nullptr;
  op.value_len = 0;
  kalam_write_options wo{};
  wo.struct_size = sizeof wo;
  wo.op_stride = sizeof op;
  RawStatus status;
  ASSERT_EQ(code_name(vt().write(db_, &wo, &op, 1, &status)),
            code_name(KALAM_OK))
      << status.text();
  EXPECT_EQ(value_of(nullptr, "k"), "") << "an empty value, not a missing key";
  std::string value;
  EXPECT_EQ(code_name(vt().get(db_, nullptr, nullptr, nullptr, 0, keep_value,
                               &value, &status)),
            code_name(KALAM_NOT_FOUND));
  Iter it = iter(nullptr);
  EXPECT_EQ(code_name(vt().iter_seek(it.get(), nullptr, 0, &it.status)),
            code_name(KALAM_OK));
  EXPECT_EQ(it.key(), "k");
}

// Convention 9: a snapshot may be read at from several threads at once
// while others write; every read sees the snapshot's data.
TEST_P(Conformance, Snapshot_ReadFromManyThreadsAtOnce) {
  KALAM_REQUIRE(KALAM_CAP_SNAPSHOTS);
  KALAM_REQUIRE(KALAM_CAP_THREAD_SAFE);
  constexpr int kKeys = 8, kThreads = 4, kRounds = 200;
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_EQ(code_name(put(nullptr, "k" + std::to_string(i), "old")),
              code_name(KALAM_OK));
  }
  auto snap = snapshot();
  ASSERT_NE(snap->get(), nullptr);
  std::atomic<int> wrong{0};
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int n = 0; n < 100'000 && !stop; ++n) {
      kalam_write_op op{};
      const std::string key = "k" + std::to_string(n % kKeys);
      const std::string value = "new" + std::to_string(n);
      op.type = KALAM_OP_PUT;
      op.key = key.data();
      op.key_len = key.size();
      op.value = value.data();
      op.value_len = value.size();
      kalam_write_options wo{};
      wo.struct_size = sizeof wo;
      wo.op_stride = sizeof op;
      if (vt().write(db_, &wo, &op, 1, nullptr) != KALAM_OK) ++wrong;
    }
  });
  std::vector<std::thread> readers;
  for (int t = 0; t < kThreads; ++t) {
    readers.emplace_back([&] {
      kalam_read_options ro{};
      ro.struct_size = sizeof ro;
      ro.snapshot = snap->get();
      for (int r = 0; r < kRounds && wrong == 0; ++r) {
        for (int i = 0; i < kKeys; ++i) {
          const std::string key = "k" + std::to_string(i);
          std::string value;
          const int rc = vt().get(db_, &ro, nullptr, key.data(), key.size(),
                                  keep_value, &value, nullptr);
          if (rc != KALAM_OK || value != "old") ++wrong;
        }
      }
    });
  }
  for (auto& t : readers) t.join();
  stop = true;
  writer.join();
  EXPECT_EQ(wrong, 0) << "reads at one snapshot from " << kThreads
                      << " threads saw something other than its data";
}

TEST_P(Conformance, Misuse_ReleasingNullIsANoOp) {
  vt().iter_destroy(nullptr);
  vt().snapshot_release(db_, nullptr);
  EXPECT_EQ(code_name(put(nullptr, "k", "v")), code_name(KALAM_OK))
      << "the database still works";
}

// get_limits() (ABI 1.2): writes only the fields its struct_size covers, and
// a write over a reported op limit is TOO_LARGE and applies nothing, while
// a write at the limit goes through.
TEST_P(Conformance, Limits_AreWrittenAsFarAsTheirSizeAndEnforced) {
  if (plugin().get_limits() == nullptr) {
    GTEST_SKIP() << "no get_limits(): the plugin has no per-write limits";
  }
  RawStatus status;
  struct Guarded {
    kalam_limits limits;
    char canary[8];
  } guarded;
  std::memset(&guarded, 0x5A, sizeof guarded);
  // A host that knows only max_write_ops: it zeroes what it knows (a plugin
  // may leave a field at 0, "no limit"); beyond that is not its memory.
  guarded.limits.struct_size = offsetof(kalam_limits, max_write_bytes);
  guarded.limits.reserved0 = 0;
  guarded.limits.max_write_ops = 0;
  ASSERT_EQ(code_name(plugin().get_limits()(db_, &guarded.limits, &status)),
            code_name(KALAM_OK))
      << status.text();
  EXPECT_EQ(guarded.limits.max_write_bytes, 0x5A5A5A5A5A5A5A5Au)
      << "get_limits() wrote max_write_bytes beyond struct_size";
  EXPECT_EQ(guarded.limits.max_expectations, 0x5A5A5A5A5A5A5A5Au)
      << "get_limits() wrote max_expectations beyond struct_size";
  EXPECT_EQ(guarded.canary[0], 0x5A);

  kalam_limits limits{};
  limits.struct_size = sizeof limits;
  ASSERT_EQ(code_name(plugin().get_limits()(db_, &limits, &status)),
            code_name(KALAM_OK))
      << status.text();
  EXPECT_EQ(limits.max_write_ops, guarded.limits.max_write_ops)
      << "the limits hold from open() to close()";
  if (limits.max_write_ops == 0 || limits.max_write_ops > 10000) return;
  std::vector<Op> ops;
  for (uint64_t i = 0; i < limits.max_write_ops; ++i) {
    ops.push_back(Put(nullptr, "op" + std::to_string(i), "v"));
  }
  EXPECT_EQ(code_name(write(ops, false, sizeof(kalam_write_op), &status)),
            code_name(KALAM_OK))
      << "a write of exactly max_write_ops (" << limits.max_write_ops
      << ") ops is within the limit: " << status.text();
  ops.push_back(Put(nullptr, "over", "v"));
  EXPECT_EQ(code_name(write(ops, false, sizeof(kalam_write_op), &status)),
            code_name(KALAM_TOO_LARGE));
  EXPECT_EQ(value_of(nullptr, "over"), std::nullopt)
      << "a TOO_LARGE write applied nothing";
}

}  // namespace
}  // namespace kalam::conformance
