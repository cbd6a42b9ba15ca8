// Command module is a Go Envoy dynamic module (go build -buildmode=c-shared):
// the llmgate request filter of the data-path spike, run in-process.
package main

func main() {}
