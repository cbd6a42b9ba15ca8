package examples

import _ "embed"

// Default is default.yaml: offline mock deployments and no master_key.
//
//go:embed default.yaml
var Default []byte

// DefaultName is the file name to report in diagnostics about Default.
const DefaultName = "examples/default.yaml"
