#!/bin/bash
# Builds everything the dynmod spike runs into $D (default /work/dynmod_run):
# the spike harness programs (upstream, extproc, load), the Go module
# libllmgate.so, llmgate itself (for the ADS probe) and the bootstrap.
set -e
D=${D:-/work/dynmod_run}
H=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$H/../../../.." && pwd)
mkdir -p $D/{run,logs/bench,configs,bin}
(cd $ROOT/docs/datapath-spike/harness && for c in upstream extproc load; do go build -o $D/bin/$c ./cmd/$c; done)
(cd $H/.. && go build -buildmode=c-shared -o $D/bin/libllmgate.so ./module)
(cd $ROOT && go build -o $D/bin/llmgate ./cmd/llmgate)
RUN=$D/run python3 $H/gen.py > $D/configs/dynmod.yaml
cp $H/bench.sh $D/
cat > $D/run/sds_key_b.yaml <<'Y'
resources:
- "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret
  name: key_b
  generic_secret:
    secret:
      inline_string: sk-provider-b
Y
echo "ready: cd $H && ./with.sh './bench.sh -c 1 -n 700 -rounds 3'"
