package translator

// feedEach is the body of a provider stream's Feed once its parser has cut
// the chunk into items (SSE events or lines): each item is translated by
// each, appending to the output; an error ends the stream (done set) with
// [DONE] after what was written so far; the last chunk ends it with what end
// appends (nil: nothing) and [DONE].
func feedEach[T any](done *bool, items []T, last bool, each func(out []byte, item T) ([]byte, error), end func(out []byte) []byte) ([]byte, error) {
	var out []byte
	for _, item := range items {
		var err error
		out, err = each(out, item)
		if err != nil {
			*done = true
			return append(out, SSEDone...), err
		}
	}
	if last {
		*done = true
		if end != nil {
			out = end(out)
		}
		out = append(out, SSEDone...)
	}
	return out, nil
}
