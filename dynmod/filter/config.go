package filter

import (
	"encoding/json"
	"fmt"
)

// FilterName is the dynamic module filter's filter_name in the listener.
const FilterName = "llmgate_request"

// ModuleName is the module Envoy loads: lib<ModuleName>.so from
// $ENVOY_DYNAMIC_MODULES_SEARCH_PATH.
const ModuleName = "llmgate"

// LibraryFile is the file name of the module.
const LibraryFile = "lib" + ModuleName + ".so"

// Config is the filter_config (a google.protobuf.StringValue of JSON) of the
// module's filter in the listener.
type Config struct {
	// Marker is the value of the handled marker header (contract.ModuleHeader)
	// the module sets on a request it served, on which the listener skips the
	// ext_proc request filter. A per-process secret: a client cannot forge
	// it (the module also removes the header from every request first).
	Marker string `json:"marker"`
	// TableSocket is the gateway's Unix socket serving the module table
	// over ADS; empty: the module hands every request to ext_proc.
	TableSocket string `json:"table_socket,omitempty"`
	// OutcomeSocket is the gateway's Unix socket serving the access-log
	// service (beside ext_proc): the module sends one outcome record per
	// planned request there, and the listener has no per-request outcome
	// entry and logs only the tries that did not succeed (D54). Empty: the
	// outcome log of D44 as it is.
	OutcomeSocket string `json:"outcome_socket,omitempty"`
	// OutcomeDir is where the module copies each outcome record until the
	// gateway acknowledges it (memory-mapped files the gateway reads at its
	// next start, D63). Empty: no copy.
	OutcomeDir string `json:"outcome_dir,omitempty"`
	// UsageMetadata: an access log of the listener reads the answer's
	// usage from the dynamic metadata llmgate.usage (the JSON access log),
	// so the module writes it even when its outcome records carry the
	// usage (D87). Without an outcome socket the module always writes it
	// (the outcome log of D44 reads it).
	UsageMetadata bool `json:"usage_metadata,omitempty"`
	// NoAccessLog: the listener has no access log, the only reader of
	// llmgate.ctx's "model" and "path" on a request the module serves, so
	// the module does not write them (D105: two fewer fields in the Struct
	// Envoy parses per request). False (an older config): written.
	NoAccessLog bool `json:"no_access_log,omitempty"`
}

// ParseConfig reads a filter_config.
func ParseConfig(s string) (Config, error) {
	var c Config
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return Config{}, fmt.Errorf("filter config: %w", err)
	}
	if c.Marker == "" {
		return Config{}, fmt.Errorf("filter config: no marker")
	}
	return c, nil
}

// Encode renders a filter_config.
func (c Config) Encode() string {
	b, _ := json.Marshal(c)
	return string(b)
}

// UpstreamFilterName is the module's per-try filter_name in the router's
// upstream filters (module mode, docs/architecture.md D55); its
// filter_config is the same Config.
const UpstreamFilterName = "llmgate_upstream"
