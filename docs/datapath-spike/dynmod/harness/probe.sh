#!/bin/bash
# Functional probes of the Go module (run inside with.sh, from $D).
q() { # port model [key]
  curl -s -i http://127.0.0.1:$1/v1/chat/completions ${3:+-H "authorization: Bearer $3"} -H 'content-type: application/json' \
    -d "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\",\"model\":\"nested-not-this\"}],\"model\":\"$2\"}" |
    grep -E '^HTTP|^x-echo-(path|authorization|host)|^x-litellm-(upstream-cluster|attempted-retries|model-id)|^x-llmgate|^\{"error'
}
echo "== dynmod_go: good key"; q 29317 gpt sk-good
echo "== dynmod_go: bad key (401 OpenAI JSON from the module's local reply)"; q 29317 gpt nope
echo "== dynmod_go: no key"; q 29317 gpt
echo "== dynmod_go: plan [dep_f, dep_b]: dep_f answers 500, Envoy retries on dep_b"; q 29317 gpt-failfirst sk-good
echo "== dynmod_json: the same plan"; q 29318 gpt-failfirst sk-good
echo "== dynmod_att: per-try Go upstream filter sets path/key per cluster, also on the retry"; q 29319 gpt-failfirst sk-good
echo "== dynmod_async: a hop to a goroutine and back (scheduler) before the request goes on"; q 29324 gpt-failfirst sk-good
echo "== dynmod_redis: per-request rpm counter in Redis (goroutine + scheduler hop), 5 requests"
redis-cli -p 29379 flushall > /dev/null
for i in $(seq 5); do curl -s -o /dev/null -w "%{http_code} " http://127.0.0.1:29325/v1/chat/completions -H 'authorization: Bearer sk-good' -d '{"model":"gpt"}'; done; echo
redis-cli -p 29379 --scan --pattern 'llmgate:*' | while read k; do echo "$k = $(redis-cli -p 29379 get $k), ttl $(redis-cli -p 29379 ttl $k) s"; done
echo "== dynmod_out: 20 requests, the module goroutine's summary in Envoy's log"
for i in $(seq 20); do curl -s -o /dev/null http://127.0.0.1:29321/v1/chat/completions -H 'authorization: Bearer sk-good' -d '{"model":"gpt"}'; done
sleep 2.3; curl -s -o /dev/null http://127.0.0.1:29321/v1/chat/completions -H 'authorization: Bearer sk-good' -d '{"model":"gpt"}'; sleep 0.1
grep 'outcomes:' logs/envoy.log | tail -1
echo "== 3 MB body, chunked upload"
head -c 3000000 /dev/zero | tr '\0' x | sed 's/^/{"model":"gpt","pad":"/; s/$/"}/' > run/big.json
curl -s -o /dev/null -w "%{http_code}\n" -H 'authorization: Bearer sk-good' -H 'transfer-encoding: chunked' --data-binary @run/big.json http://127.0.0.1:29317/v1/chat/completions
echo "== a Go panic inside the request hook (model \"panic\"): recovered, OpenAI 500, Envoy keeps serving"; q 29317 panic sk-good; q 29317 gpt sk-good | head -1
grep 'panic in request hook' logs/envoy.log | tail -1 | sed 's/^.*\] //'
EN=$(cut -d, -f1 run/pids | cut -d= -f2)
echo "== Envoy process: $(grep -E 'Threads' /proc/$EN/status | tr -s '\t' ' '), $(grep VmRSS /proc/$EN/status | tr -s '\t ' ' ')"
grep -E 'ABI version' logs/envoy.log
