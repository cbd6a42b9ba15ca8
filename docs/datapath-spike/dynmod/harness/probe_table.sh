#!/bin/bash
# The module's goroutine reads llmgate.v1.RoutingTable from `llmgate controlplane` over ADS
# (listener dynmod_tab, 29320); a config change reaches the module without an Envoy reload.
# usage: D=/work/dynmod_run ./probe_table.sh
D=${D:-/work/dynmod_run}; H=$(cd "$(dirname "$0")" && pwd)
cd $D
cat > run/llmgate.yaml <<'Y'
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o, api_base: "http://127.0.0.1:29381/v1", api_key: k}
    model_info: {id: a}
  - model_name: gpt-failfirst
    litellm_params: {model: openai/gpt-4o, api_base: "http://127.0.0.1:29383/v1", api_key: k}
    model_info: {id: f}
  - model_name: gpt-failfirst
    litellm_params: {model: openai/gpt-4o, api_base: "http://127.0.0.1:29382/v1", api_key: k}
    model_info: {id: b}
general_settings:
  master_key: sk-good
Y
bin/llmgate controlplane --config run/llmgate.yaml --listen 127.0.0.1:29390 --extproc-address 127.0.0.1:29391 \
  --host 127.0.0.1 --port 29392 > logs/controlplane.log 2>&1 & CP=$!
sleep 1.5
$H/with.sh '
q() { curl -s -i http://127.0.0.1:29320/v1/chat/completions -H "authorization: Bearer sk-good" -d "{\"model\":\"$1\"}" | grep -E "^HTTP|x-litellm-upstream-cluster|x-litellm-attempted"; }
sleep 1; echo "== table 1: gpt -> [dep_a]; gpt-failfirst -> [dep_f, dep_b]"; q gpt; q gpt-failfirst
sed -i "s/model_name: gpt$/model_name: gpt-old/" run/llmgate.yaml
python3 -c "
s=open(\"run/llmgate.yaml\").read()
s=s.replace(\"model_name: gpt-failfirst\n    litellm_params: {model: openai/gpt-4o, api_base: \\\"http://127.0.0.1:29382\",\"model_name: gpt\n    litellm_params: {model: openai/gpt-4o, api_base: \\\"http://127.0.0.1:29382\")
open(\"run/llmgate.yaml\",\"w\").write(s)"
sleep 3; echo "== table 2 (config file edited; control plane pushes; no Envoy reload): gpt -> [dep_b]; gpt-failfirst -> [dep_f]"; q gpt; q gpt-failfirst'
kill $CP; wait $CP 2>/dev/null
grep 'routing table' logs/envoy.log | sed 's/^.*\] //'
