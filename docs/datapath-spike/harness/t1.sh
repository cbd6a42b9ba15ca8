H='-H authorization:Bearer_sk-good'
show() { grep -iv "^date\|^server\|content-length\|^x-envoy-upstream-service-time"; }
for p in 27100 27101 27102 27103 27106; do echo "== 200? port $p"; curl -sS -D - -o /dev/null -H 'authorization: Bearer sk-good' -H 'content-type: application/json' -d '{"model":"gpt","messages":[]}' http://127.0.0.1:$p/v1/chat/completions | show; done
for p in 27103 27106; do
echo "== bad key, port $p"; curl -s -i -H 'authorization: Bearer nope' -d '{"model":"gpt"}' http://127.0.0.1:$p/v1/chat/completions | show; echo
echo "== no key, port $p";  curl -s -i -d '{"model":"gpt"}' http://127.0.0.1:$p/v1/chat/completions | show; echo
done
echo "== retry pipe (dep_f then dep_b)";  curl -s -D - -o /dev/null -H 'authorization: Bearer sk-good' -d '{"model":"gpt-failfirst"}' http://127.0.0.1:27106/chat/completions | show
echo "== retry today";  curl -s -D - -o /dev/null -H 'authorization: Bearer sk-good' -d '{"model":"gpt-failfirst"}' http://127.0.0.1:27101/chat/completions | show
python3 -c "import json;print(json.dumps({'model':'gpt','messages':[{'role':'user','content':'x'*3000000}]}))" > /tmp/s10big.json
echo "== 3 MB body pipe"; curl -s -D - -o /dev/null -H 'authorization: Bearer sk-good' --data-binary @/tmp/s10big.json http://127.0.0.1:27106/v1/chat/completions | show
echo "== 3 MB body pipe, chunked upload"; curl -s -D - -o /dev/null -H 'transfer-encoding: chunked' -H 'authorization: Bearer sk-good' --data-binary @/tmp/s10big.json http://127.0.0.1:27106/v1/chat/completions | show
