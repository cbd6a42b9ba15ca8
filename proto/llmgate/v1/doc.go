// Package llmgatev1 holds the gateway's own protobuf messages, generated from
// llmgate.proto by `make proto` (buf). Do not edit the .pb.go by hand.
package llmgatev1
