// Package gateway wires the pieces of `llmgate run` together: it loads the
// config, serves xDS and ext_proc on Unix sockets, starts and supervises
// Envoy, and hot-reloads the config file (a bad config keeps the old one
// serving).
//
// It may import every room of the project. Nothing imports it but cmd/.
// It sits outside internal/ on purpose: internal/ holds only the leaves
// the rooms share (issue 9), not the program's wiring.
package gateway
