#!/bin/bash
# usage: [STREAM=1] series.sh N tag — N alternating unpinned/pinned runs, raw tables in $D/logs/bench/.
# STREAM=1 adds an SSE run at concurrency 1 (5 chunks and a usage chunk per stream).
D=${D:-/work/dynmod_run}
H=$(cd "$(dirname "$0")" && pwd)
mkdir -p $D/logs/bench
for i in $(seq 1 ${1:-3}); do
  for pin in "" 1; do
    name=${2:-run}_${i}_$([ -n "$pin" ] && echo pinned || echo unpinned)
    cmds='./bench.sh -c 1 -n 700 -rounds 3; ./bench.sh -c 64 -d 1s -rounds 2'
    [ -n "$STREAM" ] && cmds="$cmds; ./bench.sh -c 1 -n 300 -rounds 2 -stream"
    { date -u; uptime; PIN=$pin $H/with.sh "$cmds"; } > $D/logs/bench/$name.txt 2>&1
  done
done
