#!/bin/bash
# Instructions Envoy executes per request of the typical config, counted by
# valgrind's callgrind (D165): a figure that the other programs on a shared
# host do not move, where CPU time per request does by ±10 µs (D144). It
# counts, it does not time: cache misses and syscalls' kernel time are not
# in it.
#
#   bench/envoy-instructions.sh BINDIR [REQUESTS] [--stream] [--observed]
#
# --observed runs the bench's llmgate-observed config instead (the typical
# one with callbacks prometheus, otel with every request traced and
# generic_api, exporting to a local receiver that answers 200: bench/configs.go
# ObservedConfig, D177).
#
# BINDIR holds llmgate, fakellm and libllmgate.so (a `make build` bin). The
# gateway runs the typical config (bench/configs.go TypicalConfig) with the
# module, Envoy (--concurrency 1) under callgrind; 200 requests warm it up,
# then REQUESTS (default 1000, four at a time on kept-alive connections) are
# counted. Prints instructions per request and leaves the profile
# (callgrind_annotate <file>) in a temp dir it names. Needs valgrind, curl,
# go, $ENVOY_BIN. Envoy under callgrind is ≈ 50× slower: a run takes a
# minute or two.
#
# KEYS=N (D176): the keyed variant — N virtual keys issued through
# /key/generate (the embedded store; each as the bench's llmgate-keys issues
# them: the model, max_budget, metadata) and every request sent with one of
# them, so that a keyed request's instructions compare with the master key's
# (the same script without KEYS). Each key waits for the module's table
# under callgrind: N=100 takes a few minutes.
set -eu
BIN=$(cd "$1" && pwd)
N=${2:-1000}
STREAM=
OBSERVED=
for a in "${@:3}"; do
	case $a in
	--stream) STREAM=--stream ;;
	--observed) OBSERVED=1 ;;
	*) echo "unknown option $a" >&2; exit 2 ;;
	esac
done
ENVOY=${ENVOY_BIN:?set ENVOY_BIN}
D=$(mktemp -d /tmp/envoy-instr.XXXXXX)
mkdir -p "$D/data"
# The Go runtime's preemption signals trip callgrind's signal bookkeeping.
cat >"$D/envoy" <<EOW
#!/bin/bash
export GODEBUG=asyncpreemptoff=1
exec valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=$D/callgrind.out.%p --log-file=$D/valgrind.%p.log $ENVOY "\$@"
EOW
chmod +x "$D/envoy"
cat >"$D/load.go" <<'EOG'
package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

func main() {
	if os.Args[1] == "sink" {
		// The observed config's receiver: reads each body, answers 200.
		_ = http.ListenAndServe(os.Args[2], http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
		}))
		return
	}
	url := os.Args[1]
	n, _ := strconv.Atoi(os.Args[2])
	auth := os.Getenv("AUTH")
	s := ""
	if len(os.Args) > 3 && os.Args[3] == "--stream" {
		s = `,"stream":true`
	}
	body := []byte(`{"model":"bench-gpt","messages":[{"role":"system","content":"You are a helpful assistant. Answer briefly."},{"role":"user","content":"Summarise the benefits of running an LLM gateway on Envoy in one paragraph."}],"temperature":0.2,"max_tokens":256` + s + `}`)
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}, Timeout: 120 * time.Second}
	var wg sync.WaitGroup
	var mu sync.Mutex
	bad := 0
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n/4; i++ {
				req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+auth)
				req.Header.Set("Content-Type", "application/json")
				resp, err := c.Do(req)
				ok := err == nil && resp.StatusCode == 200
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if !ok {
					mu.Lock()
					bad++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if bad > 0 {
		fmt.Fprintf(os.Stderr, "%d of %d requests failed\n", bad, n/4*4)
		os.Exit(1)
	}
}
EOG
(cd "$D" && go mod init load >/dev/null 2>&1 && go build -o load .)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
FP=$(port)
GP=$(port)
SP=$(port)
SPID=
if [ -n "$OBSERVED" ]; then
	"$D/load" sink 127.0.0.1:$SP &
	SPID=$!
fi
"$BIN/fakellm" --addr 127.0.0.1:$FP --reply-size 1024 --stream-chunks 100 --chunk-delay 1ms --no-record >"$D/fakellm.log" 2>&1 &
FPID=$!
{
	echo "model_list:"
	for i in 1 2 3; do
		printf '  - model_name: bench-gpt\n    litellm_params:\n      model: openai/gpt-4o\n      api_base: http://127.0.0.1:%s/dep-%s/v1\n      api_key: sk-fake-provider-%s\n' $FP $i $i
	done
	printf 'router_settings:\n  routing_strategy: simple-shuffle\ngeneral_settings:\n  master_key: sk-llmbench-master\n'
	if [ -n "$OBSERVED" ]; then
		printf 'litellm_settings:\n  callbacks: ["prometheus", "otel", "generic_api"]\nenvironment_variables:\n'
		printf '  OTEL_EXPORTER_OTLP_ENDPOINT: http://127.0.0.1:%s\n  OTEL_EXPORTER_OTLP_PROTOCOL: http/protobuf\n  GENERIC_LOGGER_ENDPOINT: http://127.0.0.1:%s/log\n' $SP $SP
	fi
} >"$D/config.yaml"
LLMGATE_DATA_DIR=$D/data "$BIN/llmgate" run --config "$D/config.yaml" --host 127.0.0.1 --port $GP --envoy "$D/envoy" \
	--envoy-concurrency 1 --access-log=false --request-filter=module >"$D/llmgate.log" 2>&1 &
GPID=$!
EPID=
trap 'kill $GPID $FPID $SPID 2>/dev/null; sleep 3; [ -z "$EPID" ] || kill -9 $EPID 2>/dev/null; true' EXIT
URL=http://127.0.0.1:$GP/v1/chat/completions
# served AUTH TRIES: a chat completion with AUTH answered 200 within TRIES
# seconds.
served() {
	for _ in $(seq 1 "$2"); do
		code=$(curl -s -o /dev/null -w '%{http_code}' -m 20 -H "Authorization: Bearer $1" \
			-d '{"model":"bench-gpt","messages":[{"role":"user","content":"hi"}]}' $URL || true)
		[ "$code" = 200 ] && return 0
		sleep 1
	done
	return 1
}
export AUTH=sk-llmbench-master
served $AUTH 240 || { echo "the gateway did not serve (see $D)" >&2; exit 1; }
EPID=$(pgrep -f "callgrind-out-file=$D" | head -1)
if [ -n "${KEYS:-}" ]; then
	for i in $(seq 0 $((KEYS - 1))); do
		out=$(curl -s -m 120 -H 'Authorization: Bearer sk-llmbench-master' -H 'Content-Type: application/json' \
			-d "{\"key_alias\":\"bench-$i\",\"models\":[\"bench-gpt\"],\"max_budget\":1000000,\"metadata\":{\"n\":$i}}" \
			http://127.0.0.1:$GP/key/generate)
		key=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])') ||
			{ echo "/key/generate $i: $out" >&2; exit 1; }
		[ $i -ne $((KEYS / 2)) ] || AUTH=$key
	done
	served $AUTH 60 || { echo "the key is not served (see $D)" >&2; exit 1; }
fi
"$D/load" $URL 200 $STREAM
callgrind_control -i on $EPID >/dev/null 2>&1
"$D/load" $URL $N $STREAM
callgrind_control -d $EPID >/dev/null 2>&1
OUT=$(ls "$D"/callgrind.out.$EPID.* | head -1)
TOTAL=$(callgrind_annotate "$OUT" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
echo "$((TOTAL / N)) instructions per request in Envoy ($N requests${STREAM:+, streamed}${KEYS:+, a virtual key of $KEYS}); profile: $OUT"
