#!/bin/bash
# Instructions per op, native against plugin (issue 21): callgrind totals of
# two runs with different op counts on copies of the same loaded store, so
# setup cancels out. Whole process: use only for stores without background
# threads (LMDB, SQLite). Example:
#   callgrind.sh build/bench/kalam-bench build/plugins sqlite 1000 20000 ycsb-a ycsb-c
# usage: cg.sh <bench binary> <plugin dir> <backend> <value size> <num> <workloads...>
# Prints per-op instruction counts (difference of two op counts) native vs plugin.
set -u
BIN=$1; PD=$2; B=$3; VS=$4; NUM=$5; shift 5
W=${TMPDIR:-/tmp}/kalam-cg-$B-$VS-$$; rm -rf $W; mkdir -p $W
for m in native plugin; do
  $BIN --num $NUM --value-size $VS --plugin-dir $PD --child-job $B,$m,load,0,0 --child-result $W/load.res --child-dir $W/tpl-$m >/dev/null 2>&1 || echo "load failed $m"
done
for w in "$@"; do
  if [ "$w" = ycsb-e ]; then F=--ycsb-e-ops; N1=200; N2=400; else F=--ycsb-ops; N1=2000; N2=4000; fi
  line="$B $VS $w"
  for m in native plugin; do
    declare -A tot
    for n in $N1 $N2; do
      rm -rf $W/run; cp -a $W/tpl-$m $W/run
      valgrind --tool=callgrind --callgrind-out-file=$W/cg.out $BIN --num $NUM --value-size $VS $F $n --plugin-dir $PD --child-job $B,$m,$w,0,0 --child-result $W/r.res --child-dir $W/run > /dev/null 2> $W/vg.err
      tot[$n]=$(callgrind_annotate $W/cg.out 2>/dev/null | grep -m1 "PROGRAM TOTALS" | awk '{gsub(",","",$1); print $1}')
    done
    per=$(( (${tot[$N2]} - ${tot[$N1]}) / ($N2 - $N1) ))
    line="$line $m=$per"
    eval "per_$m=$per"
  done
  echo "$line ratio(native/plugin)=$(python3 -c "print(round($per_native/$per_plugin,3))")"
done
rm -rf $W
