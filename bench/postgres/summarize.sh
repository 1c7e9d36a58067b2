#!/usr/bin/env bash
# Summarises the raw lines of bench/postgres/run.sh (round, mode, workload,
# threads, ops/s, p50 µs, p99 µs, client CPU µs per unit): per workload and
# thread count, the median over the rounds of each side, and plugin/native
# of the medians (of ops/s, and of client CPU per unit).
#
#   bench/postgres/summarize.sh raw.tsv > summary.tsv
set -euo pipefail
awk -F'\t' '
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; ++i) {
      t = a[i] + 0
      for (j = i - 1; j >= 1 && a[j] + 0 > t; --j) a[j + 1] = a[j]
      a[j + 1] = t
    }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  {
    k = $3 "\t" $4
    if (!(k in seen)) { seen[k] = 1; order[++count] = k }
    ops[$2, k] = ops[$2, k] " " $5
    p50[$2, k] = p50[$2, k] " " $6
    p99[$2, k] = p99[$2, k] " " $7
    cpu[$2, k] = cpu[$2, k] " " $8
  }
  END {
    print "workload\tthreads\tnative_ops_per_s\tplugin_ops_per_s\tplugin_over_native\tnative_p50_us\tplugin_p50_us\tnative_p99_us\tplugin_p99_us\tnative_cpu_us_per_unit\tplugin_cpu_us_per_unit\tcpu_plugin_over_native"
    for (i = 1; i <= count; ++i) {
      k = order[i]
      n = median(ops["native", k]); p = median(ops["plugin", k])
      ratio = 0
      if (n > 0) ratio = p / n
      nc = median(cpu["native", k]); pc = median(cpu["plugin", k])
      cratio = 0
      if (nc > 0) cratio = pc / nc
      printf "%s\t%.0f\t%.0f\t%.3f\t%.0f\t%.0f\t%.0f\t%.0f\t%.3f\t%.3f\t%.3f\n",
             k, n, p, ratio,
             median(p50["native", k]), median(p50["plugin", k]),
             median(p99["native", k]), median(p99["plugin", k]), nc, pc, cratio
    }
  }' "$1"
