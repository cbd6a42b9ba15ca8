// Package eventstream decodes and encodes AWS event stream frames
// (application/vnd.amazon.eventstream), the body of Bedrock ConverseStream.
//
// It holds the binary framing only: prelude, headers, payload and both CRC32
// checks, decoded incrementally from chunks with arbitrary boundaries. It may
// import only the standard library. No provider semantics (event names,
// JSON payloads) and no I/O belong here.
package eventstream
