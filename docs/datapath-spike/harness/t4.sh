show() { grep -iv "^date\|^server\|content-length\|^x-envoy-upstream-service-time"; }
echo "== als: dead -> f -> a"; curl -s -D - -o /dev/null -H 'authorization: Bearer sk-good' -d '{"model":"gpt-dead"}' "http://127.0.0.1:27104/v1/chat/completions" | show
echo "== pipe: f -> b"; curl -s -o /dev/null -w '%{http_code}\n' -H 'authorization: Bearer sk-good' -d '{"model":"gpt-failfirst"}' "http://127.0.0.1:27106/v1/chat/completions"
# exact message counts: 10 requests per listener
for p in 27101 27102 27106; do for i in $(seq 10); do curl -s -o /dev/null -H 'authorization: Bearer sk-good' -d '{"model":"gpt"}' http://127.0.0.1:$p/v1/chat/completions; done; done
curl -s --unix-socket run/admin.sock 'http://x/stats?filter=ext_proc' | grep -v " 0$" | grep -E "today|hb_static|pipe_static|cluster.x_dep_a" 
sleep 1
