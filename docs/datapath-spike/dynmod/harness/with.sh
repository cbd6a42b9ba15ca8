#!/bin/bash
# usage: with.sh 'commands' — starts upstream + ext_proc + Envoy (with the Go module),
# runs the commands, stops everything. PIN=1 pins like `make bench`: upstream and load
# on CPU 0, Envoy + ext_proc on CPU 1. This script stays Envoy's parent (Envoy 1.40
# here gets SIGTERM when its parent exits).
D=${D:-/work/dynmod_run}
cd $D
ENVOY=${ENVOY_BIN:-/work/main/.venv/lib/python3.11/site-packages/envoy/_bin/envoy}
CONF=${CONF:-configs/dynmod.yaml}
P0=; P1=
if [ -n "$PIN" ]; then P0="taskset -c 0"; P1="taskset -c 1"; fi
$P0 bin/upstream ${UPV:+-v} -ok 127.0.0.1:29381,127.0.0.1:29382 -fail 127.0.0.1:29383 > logs/upstream.log 2>&1 & UP=$!
$P1 bin/extproc -sock $D/run/extproc.sock -dump 0 > logs/extproc.log 2>&1 & EP=$!
$P1 redis-server --port 29379 --bind 127.0.0.1 --save "" --appendonly no > logs/redis.log 2>&1 & RD=$!
sleep 0.4
ENVOY_DYNAMIC_MODULES_SEARCH_PATH=$D/bin GODEBUG=${GODEBUG:-} \
  $P1 $ENVOY -c $CONF --concurrency ${CONC:-1} -l ${LOGLEVEL:-warning} --component-log-level ${CLOG:-dynamic_modules:info} \
  --use-dynamic-base-id > logs/envoy.log 2>&1 < /dev/null & EN=$!
echo "envoy=$EN,extproc=$EP,redis=$RD" > run/pids
ok=0
for i in $(seq 1 75); do
  curl -s --unix-socket run/admin.sock http://x/ready 2>/dev/null | grep -q LIVE && { ok=1; break; }
  kill -0 $EN 2>/dev/null || break
  sleep 0.2
done
rc=1
if [ $ok = 1 ]; then bash -c "$1"; rc=$?; else echo "envoy not ready"; tail -20 logs/envoy.log; fi
kill $EN; wait $EN 2>/dev/null
kill $UP $EP $RD; wait 2>/dev/null
exit $rc
