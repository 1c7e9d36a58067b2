#!/bin/sh
# Run in the directory holding cg.<backend>.out, the outputs of
#   valgrind --tool=callgrind --callgrind-out-file=cg.<backend>.out \
#     build/bench/kalam-sql-bench --rows 2000 --lookups 2000 \
#     --repetitions 1 --backends <backend>
# Prints each backend's inclusive instruction counts of the four bench loops.
for b in memory rocksdb lmdb sqlite; do
  f=cg.$b.out
  [ -f $f ] || continue
  callgrind_annotate --inclusive=yes $f 2>/dev/null |
    grep -E "sql_bench.cc:\(anonymous namespace\)::bench_(get_lookups|sql_lookups|cursor_scan|sql_scan)\(" |
    sed -E 's/^ *([0-9,]+) .*bench_([a-z_]+)\(.*/\2 \1/' | tr -d , |
    awk -v b=$b '{v[$1]=$2} END {printf "%s get=%d sql=%d ratio=%.2fx cursor=%d sqlscan=%d ratio=%.2f\n", b, v["get_lookups"], v["sql_lookups"], v["sql_lookups"]/v["get_lookups"], v["cursor_scan"], v["sql_scan"], v["cursor_scan"]/v["sql_scan"]}'
done
