show() { grep -iv "^date\|^server\|content-length\|^x-envoy-upstream-service-time"; }
echo "== nokey -> a (secret missing on first cluster)"; curl -s -i -H 'authorization: Bearer sk-good' -d '{"model":"gpt-nokey"}' http://127.0.0.1:27106/v1/chat/completions | show | head -12; echo
echo "== no key, 3 MB body, pipe: early 401?"; curl -s -o /dev/null -w "%{http_code} uploaded=%{size_upload} time=%{time_total}\n" --data-binary @/tmp/s10big.json http://127.0.0.1:27106/v1/chat/completions
echo "== bad key, 3 MB body, pipe: 401 after body"; curl -s -o /dev/null -w "%{http_code} uploaded=%{size_upload} time=%{time_total}\n" -H 'authorization: Bearer nope' --data-binary @/tmp/s10big.json http://127.0.0.1:27106/v1/chat/completions
curl -s --unix-socket run/admin.sock 'http://x/stats?filter=credential|pipe_static.ext_proc' | grep -v " 0$"
