#!/bin/bash
# usage: series.sh N tag — N alternating unpinned/pinned runs, raw tables in $D/logs/bench/.
D=${D:-/work/dynmod_run}
H=$(cd "$(dirname "$0")" && pwd)
mkdir -p $D/logs/bench
for i in $(seq 1 ${1:-3}); do
  for pin in "" 1; do
    name=${2:-run}_${i}_$([ -n "$pin" ] && echo pinned || echo unpinned)
    { date -u; uptime; PIN=$pin $H/with.sh './bench.sh -c 1 -n 700 -rounds 3; ./bench.sh -c 64 -d 1s -rounds 2'; } > $D/logs/bench/$name.txt 2>&1
  done
done
