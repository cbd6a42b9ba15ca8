// Package fakeqdrant is the tests' Qdrant: an in-memory vector store on
// 127.0.0.1 speaking the part of Qdrant's REST API the qdrant-semantic
// response cache uses — a collection's exists, get, create and delete, the
// points' upsert, delete and search (cosine, with a payload match filter) —
// with Qdrant's JSON envelopes ({"result", "status": "ok", "time"}) and
// error bodies ({"status": {"error"}}), the api-key header checked when one
// is set. Every request is recorded ("METHOD path").
package fakeqdrant
