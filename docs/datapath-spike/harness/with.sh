#!/bin/bash
# usage: with.sh 'commands' — starts everything, runs the commands, stops everything.
# (Envoy 1.40 here gets SIGTERM when its parent exits, so this script stays its parent.)
cd /work/spike10
ENVOY=/work/main/.venv/lib/python3.11/site-packages/envoy/_bin/envoy
CONF=${CONF:-configs/spike.yaml}
taskset -c 0 bin/upstream ${UPV:+-v} > logs/upstream.log 2>&1 & UP=$!
taskset -c 1 bin/extproc -dump ${DUMP:-3} > logs/extproc.log 2>&1 & EP=$!
taskset -c 1 bin/als -dump ${DUMP_ALS:-8} > logs/als.log 2>&1 & AL=$!
sleep 0.4
taskset -c 1 $ENVOY -c $CONF --concurrency 1 -l ${LOGLEVEL:-warning} --use-dynamic-base-id > logs/envoy.log 2>&1 < /dev/null & EN=$!
echo "envoy=$EN,extproc=$EP,als=$AL" > run/pids
ok=0
for i in $(seq 1 50); do
  curl -s --unix-socket run/admin.sock http://x/ready 2>/dev/null | grep -q LIVE && { ok=1; break; }
  kill -0 $EN 2>/dev/null || break
  sleep 0.2
done
rc=1
if [ $ok = 1 ]; then bash -c "$1"; rc=$?; else echo "envoy not ready"; tail -20 logs/envoy.log; fi
kill $EN; wait $EN 2>/dev/null
kill $UP $EP $AL; wait 2>/dev/null
exit $rc
