package main

/*
#include "dm.h"
*/
import "C"

import (
	"bytes"
	"strconv"
	"sync/atomic"

	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/model"
	"github.com/llmgate/llmgate/xds"
)

// tryDeployment is the deployment id of a fast try on cluster cl: the
// cluster's own deployment, or on an upstream host's cluster (module mode,
// docs/architecture.md D62) the plan's entry for the try — llmgate.ctx
// "d" (D70) (the plan's deployment ids, each ended by a newline) at the try's
// attempt number (x-envoy-attempt-count, 1 for the first try: Envoy takes
// attempt n from priority group n, D1). The bytes are Envoy's: read them
// before the next callback.
func tryDeployment(f C.uintptr_t, cl []byte) ([]byte, bool) {
	if !bytes.HasPrefix(cl, []byte(contract.HostClusterPrefix)) {
		return bytes.CutPrefix(cl, []byte(contract.DeploymentClusterPrefix))
	}
	ids, ok := getDynamicString(f, contract.ContextMetadataNamespace, contract.FastDeploymentsKey)
	if !ok {
		return nil, false
	}
	ac, ok := getHeader(f, "x-envoy-attempt-count")
	if !ok {
		return nil, false
	}
	n, err := strconv.Atoi(string(ac))
	if err != nil || n < 1 {
		return nil, false
	}
	for ; n > 1; n-- {
		i := bytes.IndexByte(ids, '\n')
		if i < 0 {
			return nil, false
		}
		ids = ids[i+1:]
	}
	i := bytes.IndexByte(ids, '\n')
	if i < 0 {
		return nil, false
	}
	return ids[:i], true
}

// manyHosts: the config applied last has deployments on the cluster of many
// hosts (xds.ManyHostsCluster, D86); only then does manyHostsTry look.
var manyHosts atomic.Bool

// noteManyHosts records whether a config applied has deployments on the
// cluster of many hosts.
func noteManyHosts(ds []*model.Deployment) {
	on := false
	for _, d := range ds {
		if d.HostAddress != "" {
			on = true
			break
		}
	}
	// (A try planned under the previous config reaches the check while
	// this one is on; a config that drops the cluster leaves it on.)
	if on {
		manyHosts.Store(true)
	}
}

// wrongHost is the answer to a try refused by manyHostsTry.
const wrongHost = `{"error":{"message":"The upstream host of this try is not its deployment's (the config changed during the request); try again","type":"service_unavailable_error","param":null,"code":"503"}}`

// manyHostsTry checks a try on the cluster of many hosts (D86): the host
// Envoy's override_host policy picked (llmgate.host "a") must be the try's
// deployment's (the plan's entry at x-envoy-attempt-count). The policy skips
// an address the cluster no longer has and takes the next one, so after a
// reload a try planned before it could go to another deployment's host;
// such a try is answered 503 here, before its path, key or body are sent.
// False when it refused the try.
func manyHostsTry(f C.uintptr_t) bool {
	if !manyHosts.Load() {
		return true
	}
	cl, ok := attrString(f, attrClusterName)
	if !ok || string(cl) != xds.ManyHostsCluster {
		return true
	}
	want := ""
	if id, ok := tryDeployment(f, cl); ok {
		if t := upTable.Load(); t != nil {
			if ue := (*t)[string(id)]; ue != nil {
				want = ue.d.HostAddress
			}
		}
	}
	got, ok := getDynamicString(f, contract.SelectedHostMetadataNamespace, contract.SelectedHostKey)
	if ok && want != "" && string(got) == want {
		return true
	}
	sendResponse(f, 503, wrongHost, "llmgate_try_host_changed")
	return false
}
