// kalam-crash-writer: the child process of the crash tests. It opens a
// database through the engine, prepares the column families and the user
// table crash.events, and then runs the operation stream of one cycle
// (crash_workload.h) until it is killed, reporting each step on a pipe:
//
//   open        Database::open returned OK
//   ready       families and table exist (created durably if they did not)
//   ack <i>     op i of the cycle returned OK
//   done        --max-ops ops ran and close() returned OK
//
// Each line is written with one write(2) before the next op starts, so the
// parent knows exactly which ops were acknowledged: at most the one after
// the last "ack" can have been in flight when the SIGKILL landed.
// Any error is one line on stderr and exit status 3 (the driver shows the
// writer's stderr when that happens).
//
// Usage: kalam-crash-writer --plugin FILE --path DIR --seed N --cycle N
//            --first-seq N --ack-fd FD [--max-ops N] [--option KEY=VALUE]...
#include <errno.h>
#include <kalam/config.h>
#include <kalam/database.h>
#include <kalam/plugin.h>
#include <kalam/tables/tables.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "crash_workload.h"

namespace kalam::crash {
namespace {

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "kalam-crash-writer: %s\n", message.c_str());
  std::fflush(stderr);
  std::_Exit(3);
}

struct Args {
  std::string plugin;
  std::string path;
  uint64_t seed = 0;
  uint64_t cycle = 0;
  uint64_t first_seq = 0;
  int ack_fd = -1;
  std::optional<uint64_t> max_ops;
  std::vector<BackendOption> options;
};

uint64_t parse_number(const char* flag, const char* text) {
  char* end = nullptr;
  errno = 0;
  unsigned long long value = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0') {
    fail(std::string("bad number for ") + flag + ": '" + text + "'");
  }
  return value;
}

Args parse_args(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) fail("missing value after " + flag);
    const char* value = argv[++i];
    if (flag == "--plugin") {
      args.plugin = value;
    } else if (flag == "--path") {
      args.path = value;
    } else if (flag == "--seed") {
      args.seed = parse_number("--seed", value);
    } else if (flag == "--cycle") {
      args.cycle = parse_number("--cycle", value);
    } else if (flag == "--first-seq") {
      args.first_seq = parse_number("--first-seq", value);
    } else if (flag == "--ack-fd") {
      args.ack_fd = static_cast<int>(parse_number("--ack-fd", value));
    } else if (flag == "--max-ops") {
      args.max_ops = parse_number("--max-ops", value);
    } else if (flag == "--option") {
      const char* eq = std::strchr(value, '=');
      if (eq == nullptr)
        fail(std::string("--option wants KEY=VALUE: ") + value);
      args.options.push_back({std::string(value, eq), std::string(eq + 1)});
    } else {
      fail("unknown argument " + flag);
    }
  }
  if (args.plugin.empty() || args.path.empty() || args.ack_fd < 0) {
    fail("--plugin, --path and --ack-fd are required");
  }
  return args;
}

// One line to the parent, in one write(2): it is in the pipe before the
// next op starts.
void report(int fd, const std::string& line) {
  const std::string text = line + "\n";
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      fail("cannot write to the ack pipe: " + std::string(strerror(errno)));
    done += static_cast<size_t>(n);
  }
}

void check(const Status& s, const std::string& what) {
  if (!s.ok()) fail(what + ": " + s.to_string());
}

struct Families {
  ColumnFamily single;
  std::array<ColumnFamily, 3> group;
};

ColumnFamily open_family(Database& db, std::string_view name) {
  auto cf = db.column_family(name, /*create_if_missing=*/true);
  check(cf.status(), "column family " + std::string(name));
  return *cf;
}

// The table exists (created once, durably: catalog changes are sync).
void prepare_table(tables::Tables& t) {
  Status s = t.catalog().create_namespace(kNamespace);
  if (!s.ok() && s.code() != Code::kAlreadyExists) {
    check(s, "create namespace");
  }
  auto info = t.catalog().describe_table(kNamespace, kTable);
  if (info.ok()) return;
  if (!info.status().is_not_found()) check(info.status(), "describe table");
  tables::TableSpec spec;
  spec.ns = std::string(kNamespace);
  spec.name = std::string(kTable);
  spec.kind = tables::TableKind::kUser;
  spec.schema.columns = {{"id", tables::ColumnType::kInt64, false},
                         {"seq", tables::ColumnType::kInt64, false},
                         {"note", tables::ColumnType::kString, true}};
  spec.schema.primary_key = "id";
  check(t.catalog().create_table(spec).status(), "create table");
}

Status run_op(Database& db, tables::Tables& t, const Families& f,
              const Op& op) {
  WriteOptions options;
  options.sync = op.sync;
  switch (op.kind) {
    case OpKind::kPut:
      return db.put(f.single, single_key(op.key), single_value(op), options);
    case OpKind::kDelete:
      return db.del(f.single, single_key(op.key), options);
    case OpKind::kBatchPut: {
      WriteBatch batch;
      for (int j = 0; j < kGroupWidth; ++j) {
        batch.put(f.group[group_family(j)], group_key(op.key, j),
                  group_value(op, j));
      }
      return db.write(batch, options);
    }
    case OpKind::kBatchDelete: {
      WriteBatch batch;
      if (op.by_range) {
        auto [begin, end] = group_range(op.key);
        for (const ColumnFamily& cf : f.group) {
          batch.delete_range(cf, begin, end);
        }
      } else {
        for (int j = 0; j < kGroupWidth; ++j) {
          batch.del(f.group[group_family(j)], group_key(op.key, j));
        }
      }
      return db.write(batch, options);
    }
    case OpKind::kTablePut: {
      nlohmann::json row = {{"id", op.key},
                            {"seq", static_cast<int64_t>(op.seq)},
                            {"note", op.filler}};
      return t.user()
          .put(kNamespace, kTable, user_id(op.user), row, options)
          .status();
    }
    case OpKind::kTableDelete: {
      Status s = t.user().del(kNamespace, kTable, user_id(op.user),
                              std::to_string(op.key), options);
      return s.is_not_found() ? Status::OK() : s;
    }
    case OpKind::kFlush:
      return db.flush();
    case OpKind::kTableFlush:
      return t.flush(kNamespace, kTable).status();
  }
  return Status::Internal("unknown op kind");
}

int run(const Args& args) {
  auto plugin = load_plugin_file(args.plugin);
  check(plugin.status(), "load plugin " + args.plugin);
  auto db = Database::open(*plugin, args.path, args.options);
  check(db.status(), "open " + args.path);
  report(args.ack_fd, "open");

  Families f;
  f.single = open_family(**db, kSingleFamily);
  for (size_t i = 0; i < kGroupFamilies.size(); ++i) {
    f.group[i] = open_family(**db, kGroupFamilies[i]);
  }
  auto t = tables::Tables::open(**db);
  check(t.status(), "open the table layer");
  prepare_table(**t);
  report(args.ack_fd, "ready");

  OpStream stream(args.seed, args.cycle, args.first_seq);
  for (uint64_t i = 0; !args.max_ops || i < *args.max_ops; ++i) {
    const Op op = stream.next();
    check(run_op(**db, **t, f, op),
          "op " + std::to_string(i) + " (" + op.describe() + ")");
    report(args.ack_fd, "ack " + std::to_string(i));
  }
  t->reset();
  check((*db)->close(), "close");
  report(args.ack_fd, "done");
  return 0;
}

}  // namespace
}  // namespace kalam::crash

int main(int argc, char** argv) {
  return kalam::crash::run(kalam::crash::parse_args(argc, argv));
}
