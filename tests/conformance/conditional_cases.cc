// ABI 1.2: write_conditional() (expectations checked atomically with the
// write) and read_modify_write() (reads, the host's visitor and the write in
// one write transaction). Skipped, by capability name, for plugins that do
// not declare conditional_write / read_modify_write.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "conformance.h"

namespace kalam::conformance {
namespace {

// One expectation; `value` only for KALAM_EXPECT_VALUE.
struct Expect {
  uint32_t type;
  kalam_cf* cf;
  std::string key;
  std::string value;
};
Expect Value(kalam_cf* cf, std::string k, std::string v) {
  return {KALAM_EXPECT_VALUE, cf, std::move(k), std::move(v)};
}
Expect Absent(kalam_cf* cf, std::string k) {
  return {KALAM_EXPECT_ABSENT, cf, std::move(k), {}};
}
Expect Present(kalam_cf* cf, std::string k) {
  return {KALAM_EXPECT_PRESENT, cf, std::move(k), {}};
}

std::vector<kalam_write_op> abi_ops(const std::vector<Op>& ops) {
  std::vector<kalam_write_op> out;
  for (const Op& op : ops) {
    kalam_write_op w{};
    w.type = op.type;
    w.cf = op.cf;
    w.key = op.key.data();
    w.key_len = op.key.size();
    w.value = op.value.data();
    w.value_len = op.value.size();
    out.push_back(w);
  }
  return out;
}

// write_conditional() through the plugin's table.
int write_if(const Plugin& plugin, kalam_db* db,
             const std::vector<Expect>& expects, const std::vector<Op>& ops,
             RawStatus* status) {
  std::vector<kalam_expectation> xs;
  for (const Expect& e : expects) {
    kalam_expectation x{};
    x.type = e.type;
    x.cf = e.cf;
    x.key = e.key.data();
    x.key_len = e.key.size();
    x.value = e.value.data();
    x.value_len = e.value.size();
    xs.push_back(x);
  }
  const std::vector<kalam_write_op> w = abi_ops(ops);
  kalam_write_options options{};
  options.struct_size = sizeof options;
  options.op_stride = sizeof(kalam_write_op);
  return plugin.write_conditional()(db, &options, xs.data(), xs.size(),
                                    w.data(), w.size(), status);
}

// What a read_modify_write() visitor saw and hands back.
struct Rmw {
  std::vector<std::optional<std::string>> seen;
  int calls = 0;
  // Builds the ops from what was seen; returns non-zero to cancel.
  std::function<int(const std::vector<std::optional<std::string>>&,
                    std::vector<Op>*)>
      modify;
  std::vector<Op> ops;
  std::vector<kalam_write_op> abi;
};

int rmw(const Plugin& plugin, kalam_db* db,
        const std::vector<std::pair<kalam_cf*, std::string>>& keys, Rmw* call,
        RawStatus* status) {
  std::vector<kalam_cf*> cfs;
  std::vector<const void*> ptrs;
  std::vector<size_t> lens;
  for (const auto& [cf, key] : keys) {
    cfs.push_back(cf);
    ptrs.push_back(key.data());
    lens.push_back(key.size());
  }
  kalam_write_options options{};
  options.struct_size = sizeof options;
  options.op_stride = sizeof(kalam_write_op);
  return plugin.read_modify_write()(
      db, &options, keys.size(), cfs.data(), ptrs.data(), lens.data(),
      [](void* ctx, size_t count, const kalam_rmw_value* current,
         const kalam_write_op** ops, size_t* op_count) -> int {
        auto* c = static_cast<Rmw*>(ctx);
        ++c->calls;
        c->seen.assign(count, std::nullopt);
        for (size_t i = 0; i < count; ++i) {
          if (current[i].code == KALAM_OK) {
            c->seen[i].emplace(static_cast<const char*>(current[i].value),
                               current[i].value_len);
          } else if (current[i].code != KALAM_NOT_FOUND) {
            return 1;
          }
        }
        c->ops.clear();
        const int rc = c->modify(c->seen, &c->ops);
        if (rc != 0) return rc;
        c->abi = abi_ops(c->ops);
        *ops = c->abi.data();
        *op_count = c->abi.size();
        return 0;
      },
      call, status);
}

#define KALAM_REQUIRE_CONDITIONAL()                      \
  do {                                                   \
    KALAM_REQUIRE(KALAM_CAP_CONDITIONAL_WRITE);          \
    ASSERT_NE(plugin().write_conditional(), nullptr)     \
        << "conditional_write declared but no function"; \
  } while (0)
#define KALAM_REQUIRE_RMW()                              \
  do {                                                   \
    KALAM_REQUIRE(KALAM_CAP_READ_MODIFY_WRITE);          \
    ASSERT_NE(plugin().read_modify_write(), nullptr)     \
        << "read_modify_write declared but no function"; \
  } while (0)

TEST_P(Conformance, Conditional_EveryKindThatHoldsLetsTheWriteApply) {
  KALAM_REQUIRE_CONDITIONAL();
  ASSERT_EQ(code_name(put(nullptr, "k", "v")), code_name(KALAM_OK));
  ASSERT_EQ(code_name(put(nullptr, "empty", "")), code_name(KALAM_OK));
  RawStatus status;
  KALAM_EXPECT_CODE(
      KALAM_OK,
      write_if(plugin(), db_,
               {Value(nullptr, "k", "v"), Value(nullptr, "empty", ""),
                Absent(nullptr, "missing"), Present(nullptr, "k"),
                Present(nullptr, "empty")},
               {Put(nullptr, "x", "1"), Del(nullptr, "k")}, &status),
      status);
  EXPECT_EQ(value_of(nullptr, "x"), "1");
  EXPECT_EQ(value_of(nullptr, "k"), std::nullopt);
}

TEST_P(Conformance, Conditional_EachFailedKindIsAConflictNamingItsIndex) {
  KALAM_REQUIRE_CONDITIONAL();
  ASSERT_EQ(code_name(put(nullptr, "k", "v")), code_name(KALAM_OK));
  ASSERT_EQ(code_name(put(nullptr, "empty", "")), code_name(KALAM_OK));
  const Expect holds = Present(nullptr, "k");
  const std::vector<Expect> failing = {
      Value(nullptr, "k", "other"),   // different value
      Value(nullptr, "k", "v2"),      // longer
      Value(nullptr, "k", ""),        // empty vs "v"
      Value(nullptr, "missing", ""),  // empty value vs absent
      Value(nullptr, "empty", "x"),   // "x" vs empty
      Absent(nullptr, "k"),          Absent(nullptr, "empty"),
      Present(nullptr, "missing"),
  };
  for (size_t f = 0; f < failing.size(); ++f) {
    for (size_t at = 0; at < 3; ++at) {
      std::vector<Expect> expects(3, holds);
      expects[at] = failing[f];
      // A later failing expectation never hides an earlier one.
      if (at < 2) expects[2] = Absent(nullptr, "k");
      RawStatus status;
      status.native_code = -1;
      KALAM_EXPECT_CODE(
          KALAM_CONFLICT,
          write_if(plugin(), db_, expects, {Put(nullptr, "x", "1")}, &status),
          status)
          << "failing kind #" << f << " at index " << at;
      EXPECT_EQ(status.native_code, static_cast<int64_t>(at))
          << "native_code names the first failed expectation; kind #" << f;
      EXPECT_NE(std::string(status.message), "");
      EXPECT_EQ(value_of(nullptr, "x"), std::nullopt);
    }
  }
}

TEST_P(Conformance, Conditional_ConflictAppliesNothing) {
  KALAM_REQUIRE_CONDITIONAL();
  kalam_cf* a = cf("a");
  ASSERT_EQ(code_name(write({Put(nullptr, "k1", "1"), Put(nullptr, "k2", "2"),
                             Put(nullptr, "r1", "r"), Put(nullptr, "r2", "r"),
                             Put(a, "a1", "x")})),
            code_name(KALAM_OK));
  const KV before_default = scan(nullptr);
  const KV before_a = scan(a);
  std::vector<Op> ops = {Put(nullptr, "k1", "changed"), Del(nullptr, "k2"),
                         Put(a, "new", "n"), Del(a, "a1"),
                         Put(nullptr, "fresh", "f")};
  if (has(KALAM_CAP_DELETE_RANGE)) ops.push_back(DelRange(nullptr, "r", "s"));
  RawStatus status;
  KALAM_EXPECT_CODE(
      KALAM_CONFLICT,
      write_if(plugin(), db_, {Value(nullptr, "k1", "1"), Value(a, "a1", "y")},
               ops, &status),
      status);
  EXPECT_EQ(status.native_code, 1);
  EXPECT_EQ(scan(nullptr), before_default);
  EXPECT_EQ(scan(a), before_a);
  // The same ops apply once the expectations hold.
  KALAM_EXPECT_CODE(
      KALAM_OK,
      write_if(plugin(), db_, {Value(nullptr, "k1", "1"), Value(a, "a1", "x")},
               ops, &status),
      status);
  EXPECT_EQ(value_of(nullptr, "k1"), "changed");
  EXPECT_EQ(value_of(a, "a1"), std::nullopt);
  if (has(KALAM_CAP_DELETE_RANGE)) {
    EXPECT_EQ(value_of(nullptr, "r1"), std::nullopt);
  }
}

TEST_P(Conformance, Conditional_ExpectationsAreCheckedPerColumnFamily) {
  KALAM_REQUIRE_CONDITIONAL();
  kalam_cf* a = cf("a");
  kalam_cf* b = cf("b");
  ASSERT_EQ(code_name(put(a, "k", "in-a")), code_name(KALAM_OK));
  RawStatus status;
  // "k" exists in a only; the same key in b and in the default family is
  // absent.
  KALAM_EXPECT_CODE(
      KALAM_OK,
      write_if(plugin(), db_,
               {Value(a, "k", "in-a"), Absent(b, "k"), Absent(nullptr, "k")},
               {Put(b, "k", "in-b")}, &status),
      status);
  EXPECT_EQ(value_of(b, "k"), "in-b");
  KALAM_EXPECT_CODE(
      KALAM_CONFLICT,
      write_if(plugin(), db_, {Value(a, "k", "in-a"), Absent(b, "k")},
               {Put(nullptr, "k", "x")}, &status),
      status);
  EXPECT_EQ(status.native_code, 1);
  EXPECT_EQ(value_of(nullptr, "k"), std::nullopt);
}

TEST_P(Conformance, Conditional_NoOpsIsAPureCheckAndNoExpectationsIsAWrite) {
  KALAM_REQUIRE_CONDITIONAL();
  ASSERT_EQ(code_name(put(nullptr, "k", "v")), code_name(KALAM_OK));
  RawStatus status;
  KALAM_EXPECT_CODE(
      KALAM_OK,
      write_if(plugin(), db_, {Value(nullptr, "k", "v")}, {}, &status), status);
  KALAM_EXPECT_CODE(
      KALAM_CONFLICT,
      write_if(plugin(), db_, {Absent(nullptr, "k")}, {}, &status), status);
  KALAM_EXPECT_CODE(
      KALAM_OK, write_if(plugin(), db_, {}, {Put(nullptr, "y", "1")}, &status),
      status);
  EXPECT_EQ(value_of(nullptr, "y"), "1");
}

TEST_P(Conformance,
       Conditional_MalformedExpectationIsRefusedAndAppliesNothing) {
  KALAM_REQUIRE_CONDITIONAL();
  RawStatus status;
  for (const Expect& bad :
       {Expect{99, nullptr, "k", ""}, Absent(nullptr, "")}) {
    KALAM_EXPECT_CODE(KALAM_INVALID_ARGUMENT,
                      write_if(plugin(), db_, {Absent(nullptr, "x"), bad},
                               {Put(nullptr, "x", "1")}, &status),
                      status);
    EXPECT_EQ(value_of(nullptr, "x"), std::nullopt);
  }
}

// N threads increment one counter k times each, every increment a read and
// a write expecting what was read, retried on CONFLICT: the counter ends at
// exactly N * k (no lost update), whatever the interleaving.
TEST_P(Conformance, Conditional_ConcurrentExpectAndRetryIncrementsLoseNothing) {
  KALAM_REQUIRE_CONDITIONAL();
  KALAM_REQUIRE(KALAM_CAP_THREAD_SAFE);
  constexpr int kThreads = 4, kEach = 150;
  constexpr int kMaxAttempts = 1'000'000;  // bound: fail, never hang
  std::atomic<int> failures{0}, conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      int attempts = 0;
      for (int i = 0; i < kEach && failures == 0;) {
        if (++attempts > kMaxAttempts) {
          ++failures;
          return;
        }
        std::string old;
        RawStatus status;
        const int read = vt().get(
            db_, nullptr, nullptr, "n", 1,
            [](void* ctx, const void* v, size_t len) {
              static_cast<std::string*>(ctx)->assign(
                  static_cast<const char*>(v), len);
            },
            &old, &status);
        if (read != KALAM_OK && read != KALAM_NOT_FOUND) {
          ++failures;
          return;
        }
        const long n = read == KALAM_OK ? std::stol(old) : 0;
        const Expect expect =
            read == KALAM_OK ? Value(nullptr, "n", old) : Absent(nullptr, "n");
        const int rc =
            write_if(plugin(), db_, {expect},
                     {Put(nullptr, "n", std::to_string(n + 1))}, &status);
        if (rc == KALAM_OK) {
          ++i;
        } else if (rc == KALAM_CONFLICT || rc == KALAM_BUSY) {
          ++conflicts;
        } else {
          ADD_FAILURE() << code_name(rc) << ": " << status.text();
          ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(value_of(nullptr, "n"), std::to_string(kThreads * kEach));
  RecordProperty("conflicts", conflicts.load());
}

TEST_P(Conformance, ReadModifyWrite_VisitorSeesCurrentStateAndItsOpsApply) {
  KALAM_REQUIRE_RMW();
  kalam_cf* a = cf("a");
  ASSERT_EQ(code_name(put(nullptr, "k", "v")), code_name(KALAM_OK));
  ASSERT_EQ(code_name(put(a, "e", "")), code_name(KALAM_OK));
  Rmw call;
  call.modify = [&](const auto& seen, std::vector<Op>* ops) {
    ops->push_back(Put(nullptr, "k", *seen[0] + "+"));
    ops->push_back(Put(a, "m", seen[2] ? "was there" : "was missing"));
    ops->push_back(Del(a, "e"));
    return 0;
  };
  RawStatus status;
  KALAM_EXPECT_CODE(
      KALAM_OK,
      rmw(plugin(), db_, {{nullptr, "k"}, {a, "e"}, {a, "m"}, {a, "k"}}, &call,
          &status),
      status);
  EXPECT_EQ(call.calls, 1);
  ASSERT_EQ(call.seen.size(), 4u);
  EXPECT_EQ(call.seen[0], "v");
  EXPECT_EQ(call.seen[1], "");  // an empty value is present
  EXPECT_EQ(call.seen[2], std::nullopt);
  EXPECT_EQ(call.seen[3], std::nullopt);  // same key, other family
  EXPECT_EQ(value_of(nullptr, "k"), "v+");
  EXPECT_EQ(value_of(a, "m"), "was missing");
  EXPECT_EQ(value_of(a, "e"), std::nullopt);
}

TEST_P(Conformance, ReadModifyWrite_CancelOrInvalidOpAppliesNothing) {
  KALAM_REQUIRE_RMW();
  ASSERT_EQ(code_name(put(nullptr, "k", "v")), code_name(KALAM_OK));
  const KV before = scan(nullptr);
  Rmw cancel;
  cancel.modify = [](const auto&, std::vector<Op>* ops) {
    ops->push_back(Put(nullptr, "k", "changed"));
    return 1;
  };
  RawStatus status;
  KALAM_EXPECT_CODE(
      KALAM_OK, rmw(plugin(), db_, {{nullptr, "k"}}, &cancel, &status), status);
  EXPECT_EQ(cancel.calls, 1);
  EXPECT_EQ(scan(nullptr), before);
  Rmw invalid;
  invalid.modify = [](const auto&, std::vector<Op>* ops) {
    ops->push_back(Put(nullptr, "k", "changed"));
    ops->push_back(Put(nullptr, "", "empty key"));
    return 0;
  };
  KALAM_EXPECT_CODE(KALAM_INVALID_ARGUMENT,
                    rmw(plugin(), db_, {{nullptr, "k"}}, &invalid, &status),
                    status);
  EXPECT_EQ(scan(nullptr), before);
  // No keys: the visitor just writes.
  Rmw blind;
  blind.modify = [](const auto& seen, std::vector<Op>* ops) {
    ops->push_back(Put(nullptr, "n", std::to_string(seen.size())));
    return 0;
  };
  KALAM_EXPECT_CODE(KALAM_OK, rmw(plugin(), db_, {}, &blind, &status), status);
  EXPECT_EQ(value_of(nullptr, "n"), "0");
}

TEST_P(Conformance, ReadModifyWrite_ConcurrentIncrementsLoseNothing) {
  KALAM_REQUIRE_RMW();
  KALAM_REQUIRE(KALAM_CAP_THREAD_SAFE);
  constexpr int kThreads = 4, kEach = 150;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach && failures == 0; ++i) {
        Rmw call;
        call.modify = [](const auto& seen, std::vector<Op>* ops) {
          const long n = seen[0] ? std::stol(*seen[0]) : 0;
          ops->push_back(Put(nullptr, "n", std::to_string(n + 1)));
          return 0;
        };
        RawStatus status;
        const int rc = rmw(plugin(), db_, {{nullptr, "n"}}, &call, &status);
        if (rc != KALAM_OK || call.calls != 1) {
          ADD_FAILURE() << code_name(rc) << ": " << status.text();
          ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(value_of(nullptr, "n"), std::to_string(kThreads * kEach));
}

// Two processes, each with its own open of the same path, increment one
// counter with expect-and-retry: the counter ends at exactly 2 * k.
TEST_P(Conformance, Conditional_TwoProcessesIncrementingLoseNothing) {
  KALAM_REQUIRE_CONDITIONAL();
  KALAM_REQUIRE(KALAM_CAP_MULTI_PROCESS);
  constexpr int kEach = 100;
  close_db();
  // Each process: open, k increments (bounded attempts, bounded time),
  // close. Returns 0 on success.
  auto run = [&]() -> int {
    kalam_db* db = nullptr;
    if (open_at(db_path(), &db) != KALAM_OK) return 2;
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(120);
    int done = 0, result = 0;
    while (done < kEach) {
      if (std::chrono::steady_clock::now() > deadline) {
        result = 3;
        break;
      }
      std::string old;
      RawStatus status;
      const int read = vt().get(
          db, nullptr, nullptr, "n", 1,
          [](void* ctx, const void* v, size_t len) {
            static_cast<std::string*>(ctx)->assign(static_cast<const char*>(v),
                                                   len);
          },
          &old, &status);
      if (read != KALAM_OK && read != KALAM_NOT_FOUND) {
        result = 4;
        break;
      }
      const long n = read == KALAM_OK ? std::stol(old) : 0;
      const Expect expect =
          read == KALAM_OK ? Value(nullptr, "n", old) : Absent(nullptr, "n");
      const int rc =
          write_if(plugin(), db, {expect},
                   {Put(nullptr, "n", std::to_string(n + 1))}, &status);
      if (rc == KALAM_OK) {
        ++done;
      } else if (rc != KALAM_CONFLICT && rc != KALAM_BUSY) {
        result = 5;
        break;
      }
    }
    RawStatus status;
    if (vt().close(db, &status) != KALAM_OK && result == 0) result = 6;
    return result;
  };
  const pid_t child = fork();
  ASSERT_NE(child, -1);
  if (child == 0) _exit(run());
  const int mine = run();
  int wstatus = 0;
  ASSERT_EQ(waitpid(child, &wstatus, 0), child);
  EXPECT_EQ(mine, 0);
  ASSERT_TRUE(WIFEXITED(wstatus));
  EXPECT_EQ(WEXITSTATUS(wstatus), 0);
  reopen();
  EXPECT_EQ(value_of(nullptr, "n"), std::to_string(2 * kEach));
}

}  // namespace
}  // namespace kalam::conformance
