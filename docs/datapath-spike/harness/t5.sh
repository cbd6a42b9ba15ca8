show() { grep -iv "^date\|^server\|content-length\|^x-envoy-upstream-service-time"; }
echo "== err-only: f -> b"; curl -s -D - -o /dev/null -H 'authorization: Bearer sk-good' -d '{"model":"gpt-failfirst"}' "http://127.0.0.1:27109/v1/chat/completions" | show
for i in $(seq 10); do curl -s -o /dev/null -H 'authorization: Bearer sk-good' -d '{"model":"gpt"}' http://127.0.0.1:27109/v1/chat/completions; done
curl -s --unix-socket run/admin.sock 'http://x/stats?filter=ext_proc' | grep -E "e_dep|pipe_err" | grep -v " 0$"
