show() { grep -iv "^date\|^server\|content-length\|^x-envoy-upstream-service-time"; }
echo "== lua: retry f -> b"; curl -s -D - -o /dev/null -H 'authorization: Bearer sk-good' -d '{"model":"gpt-failfirst"}' "http://127.0.0.1:27107/chat/completions?foo=1" | show
echo "== lua: a"; curl -s -D - -o /dev/null -H 'authorization: Bearer sk-good' -d '{"model":"gpt"}' http://127.0.0.1:27107/v1/chat/completions | show
echo "== config dump: secrets / keys visible?"
curl -s --unix-socket run/admin.sock 'http://x/config_dump?include_eds' > /tmp/s10dump.json
grep -o 'sk-provider-[a-z]*' /tmp/s10dump.json | sort | uniq -c
python3 - <<'PY'
import json
d=json.load(open('/tmp/s10dump.json'))
for c in d['configs']:
    t=c['@type'].split('.')[-1]
    if 'Secrets' in t:
        print(json.dumps(c, indent=1)[:1500])
PY
