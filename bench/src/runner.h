// The workload loops, one template for every Store type (see store.h).
//
// A run: build the plan (the operations, computed before anything is timed),
// open the store (for a workload that needs data: a copy of the template
// store the load job filled, so every run starts from the same on-disk
// state), then the timed loop, then the checks, flush and close.
//
//   ops/s        = ops / wall time of the timed loop
//   latency      = per op, for every op of workloads whose ops take
//                  microseconds (batches, seeks, YCSB E, sync writes), else
//                  for every --latency-sample'th op
//   peak RSS     = VmHWM, reset just before the timed loop
//   bytes written= /proc/self/io write_bytes from the start of the timed loop
//                  to after flush() and close()
#pragma once

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "config.h"
#include "measure.h"
#include "store.h"
#include "workload.h"

namespace kalam_bench {

namespace runner_detail {

// Counts the entries of the whole store with a cursor (for the checks).
template <class Store>
uint64_t count_entries(Store& store) {
  Sink sink;
  auto cursor = store.cursor();
  cursor.seek_first();
  uint64_t n = 0;
  while (size_t got = cursor.read(4096, sink)) n += got;
  return n;
}

void check(RunResult* r, bool condition, const std::string& what);

}  // namespace runner_detail

template <class Store>
RunResult run_job(const Config& config, const Job& job,
                  const StoreOptions& options,
                  const std::filesystem::path& dir) {
  using runner_detail::check;
  RunResult r;
  const Workload& w = job.workload;
  const uint64_t num =
      job.sync ? std::min(config.num, config.sync_num) : config.num;
  const KeyFormatter keys(config.key_size);
  const ValueSource values(config.value_size, config.seed);

  if (w.kind == WorkloadKind::kOpen) {
    std::filesystem::create_directories(dir.parent_path());
    const uint64_t t0 = now_ns();
    std::unique_ptr<Store> store = Store::open(options, dir);
    const uint64_t t1 = now_ns();
    r.open_ns = t1 - t0;
    if constexpr (requires { store->plugin_load_ns(); }) {
      r.load_plugin_ns = store->plugin_load_ns();
    }
    r.ops = 1;
    r.seconds = double(t1 - t0) / 1e9;
    r.p50_ns = r.p99_ns = double(t1 - t0);
    r.latency_samples = 1;
    r.peak_rss_kib = peak_rss_kib();
    store->close();
    r.db_bytes = disk_usage(dir);
    return r;
  }

  Plan plan = make_plan(config, w, num, job.rep);
  // A workload that needs data normally starts from a copy of the template
  // store the parent made with the load job; without one (a store that does
  // not persist, or a child run by hand) it loads in place.
  std::error_code ec;
  const bool preloaded = w.needs_load && std::filesystem::exists(dir, ec) &&
                         !std::filesystem::is_empty(dir, ec);
  std::unique_ptr<Store> store = Store::open(options, dir);

  // Scratch space for keys; batches format their keys side by side.
  const size_t max_batch = std::max(w.batch, config.load_batch);
  std::vector<char> key_space(max_batch * keys.size());
  std::vector<std::string_view> batch_keys(max_batch), batch_values(max_batch);
  char* const kb = key_space.data();

  if (w.kind == WorkloadKind::kLoad || (w.needs_load && !preloaded)) {
    const uint64_t t_load = now_ns();
    std::mt19937_64 rng(run_seed(config.seed, "load", 0));
    const std::vector<uint64_t> order = permutation(num, rng);
    for (uint64_t start = 0; start < num; start += config.load_batch) {
      const size_t n = std::min<uint64_t>(config.load_batch, num - start);
      for (size_t j = 0; j < n; ++j) {
        const uint64_t index = order[start + j];
        batch_keys[j] = keys.present(index, kb + j * keys.size());
        batch_values[j] = values.value(index);
      }
      store->write_batch(batch_keys.data(), batch_values.data(), n, false);
    }
    if (w.kind == WorkloadKind::kLoad) {
      r.ops = num;
      r.seconds = double(now_ns() - t_load) / 1e9;
      if (config.verify) {
        check(&r, runner_detail::count_entries(*store) == num,
              "the loaded store does not hold num keys");
      }
      store->flush();
      store->close();
      r.db_bytes = disk_usage(dir);
      return r;
    }
    if (store->persistent()) {
      store->close();
      store.reset();
      store = Store::open(options, dir);
    }
  }

  const bool sync = job.sync;
  const uint64_t stride = (w.time_every_op || sync) ? 1 : config.latency_sample;
  const size_t plan_size = plan.ops.size();
  LatencyRecorder latency;
  if (w.kind == WorkloadKind::kReadSeq || w.kind == WorkloadKind::kScanPrefix) {
    latency.reserve(num / config.scan_batch + 2);
  } else {
    latency.reserve(plan_size / std::max<size_t>(w.batch, 1) / stride + 2);
  }
  Sink sink;
  const std::string scan_prefix =
      w.kind == WorkloadKind::kScanPrefix ? keys.common_prefix(num) : "";
  uint64_t found = 0, entries = 0, ops = 0;
  size_t min_seek = SIZE_MAX;

  // Runs `op`, timing every `stride`-th call (a countdown, not a modulo:
  // the loop adds no division per op).
  uint64_t countdown = 1;
  auto run = [&](auto&& op) {
    if (--countdown == 0) {
      countdown = stride;
      const uint64_t t = now_ns();
      op();
      latency.add(now_ns() - t);
    } else {
      op();
    }
  };

  r.start_rss_kib = current_rss_kib();
  r.rss_reset = reset_peak_rss();
  const IoCounters io_before = read_io();
  const uint64_t t0 = now_ns();

  switch (w.kind) {
    case WorkloadKind::kFillSeq:
    case WorkloadKind::kFillRandom:
      if (w.batch <= 1) {
        for (size_t i = 0; i < plan_size; ++i) {
          const uint64_t index = plan.ops[i];
          const std::string_view key = keys.present(index, kb);
          const std::string_view value = values.value(index);
          run([&] { store->put(key, value, sync); });
        }
      } else {
        for (size_t start = 0; start < plan_size; start += w.batch) {
          const size_t n = std::min(w.batch, plan_size - start);
          for (size_t j = 0; j < n; ++j) {
            const uint64_t index = plan.ops[start + j];
            batch_keys[j] = keys.present(index, kb + j * keys.size());
            batch_values[j] = values.value(index);
          }
          run([&] {
            store->write_batch(batch_keys.data(), batch_values.data(), n, sync);
          });
        }
      }
      ops = plan_size;
      break;
    case WorkloadKind::kOverwrite:
      for (size_t i = 0; i < plan_size; ++i) {
        const uint64_t index = plan.ops[i];
        const std::string_view key = keys.present(index, kb);
        const std::string_view value = values.value(index, i + 1);
        run([&] { store->put(key, value, sync); });
      }
      ops = plan_size;
      break;
    case WorkloadKind::kReadRandom:
    case WorkloadKind::kReadMissing: {
      const bool hits = w.kind == WorkloadKind::kReadRandom;
      for (size_t i = 0; i < plan_size; ++i) {
        const uint64_t index = plan.ops[i];
        const std::string_view key =
            hits ? keys.present(index, kb) : keys.absent(index, kb);
        run([&] { found += store->get(key, sink); });
      }
      ops = plan_size;
      break;
    }
    case WorkloadKind::kReadSeq: {
      auto cursor = store->cursor();
      cursor.seek_first();
      for (;;) {
        const uint64_t t = now_ns();
        const size_t got = cursor.read(config.scan_batch, sink);
        const uint64_t dt = now_ns() - t;
        if (got == 0) break;
        latency.add(dt / got);  // per entry
        entries += got;
      }
      ops = entries;
      break;
    }
    case WorkloadKind::kScanPrefix: {
      if constexpr (requires { store->prefix_cursor(std::string_view()); }) {
        auto open_cursor = [&] {
          if constexpr (requires {
                          store->decoded_prefix_cursor(std::string_view());
                        }) {
            if (w.decoded) return store->decoded_prefix_cursor(scan_prefix);
          }
          return store->prefix_cursor(scan_prefix);
        };
        auto cursor = open_cursor();
        for (;;) {
          const uint64_t t = now_ns();
          const size_t got = cursor.read(config.scan_batch, sink);
          const uint64_t dt = now_ns() - t;
          if (got == 0) break;
          latency.add(dt / got);  // per entry
          entries += got;
        }
        ops = entries;
      } else {
        die("workload " + w.name + " needs a bounded (prefix) cursor");
      }
      break;
    }
    case WorkloadKind::kSeekRandom: {
      auto cursor = store->cursor();
      for (size_t i = 0; i < plan_size; ++i) {
        const std::string_view key = keys.present(plan.ops[i], kb);
        run([&] {
          cursor.seek(key);
          const size_t got = cursor.read(config.seek_nexts, sink);
          entries += got;
          min_seek = std::min(min_seek, got);
        });
      }
      ops = plan_size;
      break;
    }
    case WorkloadKind::kDeleteRandom:
      for (size_t i = 0; i < plan_size; ++i) {
        const std::string_view key = keys.present(plan.ops[i], kb);
        run([&] { store->del(key, sync); });
      }
      ops = plan_size;
      break;
    case WorkloadKind::kYcsbA:
    case WorkloadKind::kYcsbB:
    case WorkloadKind::kYcsbC:
    case WorkloadKind::kYcsbD:
    case WorkloadKind::kYcsbE:
    case WorkloadKind::kYcsbF:
      for (size_t i = 0; i < plan_size; ++i) {
        const uint64_t op = plan.ops[i];
        const uint64_t index = PlannedOp::index(op);
        run([&] {
          switch (PlannedOp::code(op)) {
            case PlannedOp::kRead:
              found += store->get(keys.present(index, kb), sink);
              break;
            case PlannedOp::kUpdate:
              store->put(keys.present(index, kb), values.value(index, i + 1),
                         false);
              break;
            case PlannedOp::kScan: {
              auto cursor = store->cursor();
              cursor.seek(keys.present(index, kb));
              entries += cursor.read(PlannedOp::arg(op), sink);
              break;
            }
            case PlannedOp::kInsert:
              // YCSB D inserts new keys past the loaded ones; YCSB E the
              // absent keys between them.
              store->put(w.kind == WorkloadKind::kYcsbD
                             ? keys.present(index, kb)
                             : keys.absent(index, kb),
                         values.value(index, i + 1), false);
              break;
            case PlannedOp::kReadModifyWrite: {
              const std::string_view key = keys.present(index, kb);
              // One write transaction where the store has one for it
              // (native LMDB and SQLite, the plugin mode on every
              // backend); the tables mode reads and then writes.
              if constexpr (requires {
                              store->read_modify_write(key, key, sink);
                            }) {
                found += store->read_modify_write(
                    key, values.value(index, i + 1), sink);
              } else {
                found += store->get(key, sink);
                store->put(key, values.value(index, i + 1), false);
              }
              break;
            }
          }
        });
      }
      ops = plan_size;
      break;
    case WorkloadKind::kOpen:
    case WorkloadKind::kLoad:
      break;
  }

  const uint64_t t1 = now_ns();
  r.peak_rss_kib = peak_rss_kib();
  r.ops = ops;
  r.seconds = double(t1 - t0) / 1e9;
  r.latency_samples = latency.count();
  r.p50_ns = latency.quantile(0.50);
  r.p99_ns = latency.quantile(0.99);
  r.found = found;
  r.entries = entries;
  r.checksum = sink.checksum;

  if (config.verify) {
    switch (w.kind) {
      case WorkloadKind::kFillSeq:
      case WorkloadKind::kFillRandom:
      case WorkloadKind::kOverwrite:
        check(&r, runner_detail::count_entries(*store) == num,
              "the store does not hold num keys after the workload");
        break;
      case WorkloadKind::kDeleteRandom:
        check(&r, runner_detail::count_entries(*store) == 0,
              "keys are left after deleting every key");
        break;
      case WorkloadKind::kReadRandom:
        check(&r, found == ops, "a get of a present key found nothing");
        break;
      case WorkloadKind::kReadMissing:
        check(&r, found == 0, "a get of an absent key found a value");
        break;
      case WorkloadKind::kReadSeq:
        check(&r, entries == num, "the scan did not visit num entries");
        break;
      case WorkloadKind::kScanPrefix:
        check(&r, entries == num, "the prefix scan did not visit num entries");
        break;
      case WorkloadKind::kSeekRandom:
        check(&r, plan_size == 0 || min_seek >= 1,
              "a seek to a present key found nothing");
        break;
      case WorkloadKind::kYcsbA:
      case WorkloadKind::kYcsbB:
      case WorkloadKind::kYcsbC:
      case WorkloadKind::kYcsbD:
      case WorkloadKind::kYcsbF: {
        uint64_t reads = 0;
        for (uint64_t op : plan.ops) {
          const auto code = PlannedOp::code(op);
          reads +=
              code == PlannedOp::kRead || code == PlannedOp::kReadModifyWrite;
        }
        check(&r, found == reads, "a YCSB read of a loaded key found nothing");
        break;
      }
      case WorkloadKind::kYcsbE:
        check(&r, runner_detail::count_entries(*store) >= num,
              "keys went missing during YCSB E");
        break;
      case WorkloadKind::kOpen:
      case WorkloadKind::kLoad:
        break;
    }
  }

  store->flush();
  store->close();
  store.reset();
  const IoCounters io_after = read_io();
  r.io_ok = io_before.ok && io_after.ok;
  r.write_bytes = io_after.write_bytes - io_before.write_bytes;
  r.wchar = io_after.wchar - io_before.wchar;
  r.db_bytes = disk_usage(dir);
  return r;
}

}  // namespace kalam_bench
