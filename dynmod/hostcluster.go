package main

/*
#include "dm.h"
*/
import "C"

import (
	"bytes"
	"strconv"

	"github.com/llmgate/llmgate/internal/contract"
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
