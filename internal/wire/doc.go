// Package wire has the protobuf wire-format appenders that llmgate's
// hand-written encoders share (the module's metadata Structs and outcome
// records in extproc, the otel callback's OTLP spans in
// internal/callbacks): one definition of a length-delimited field whose
// length is known only after its contents are written.
package wire
