show() { grep -iv "^date\|^server\|content-length\|^x-envoy-upstream-service-time"; }
echo "== als: retry f -> b"; curl -s -D - -o /dev/null -H 'authorization: Bearer sk-good' -d '{"model":"gpt-failfirst"}' "http://127.0.0.1:27104/v1/chat/completions" | show
echo "== obs: non-stream"; curl -s -o /dev/null -w '%{http_code}\n' -H 'authorization: Bearer sk-good' -d '{"model":"gpt"}' http://127.0.0.1:27105/v1/chat/completions
echo "== obs: stream"; curl -sN -H 'authorization: Bearer sk-good' -d '{"model":"gpt","stream":true}' http://127.0.0.1:27105/v1/chat/completions | tail -3
sleep 6
