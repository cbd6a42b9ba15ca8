package extproc

import "testing"

// TestRespStreamDone (D71): Done turns true once the stream's `data: [DONE]`
// passed, whatever the chunking and line endings, and not before (a chunk
// whose content says [DONE] is not the end).
func TestRespStreamDone(t *testing.T) {
	for _, nl := range []string{"\n", "\r\n"} {
		head := `data: {"id":"x","model":"up","choices":[{"delta":{"content":"data: [DONE]"}}],"usage":null}` + nl + nl +
			`data: {"id":"x","model":"up","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}` + nl + nl
		in := head + "data: [DONE]" + nl + nl
		p := &RespPlan{Stream: true, Entries: []RespEntry{{Model: "g"}}}
		for _, cut := range []int{1, 5, 40, len(in)} {
			st := p.NewRespStream(p.Entry(1))
			for i := 0; i < len(in); i += cut {
				if st.Done {
					t.Fatalf("cut %d: Done before [DONE] passed (at %d)", cut, i)
				}
				st.Write([]byte(in[i:min(i+cut, len(in))]))
			}
			if !st.Done || !st.Usage.HasTotal || st.Usage.Total != 10 {
				t.Errorf("cut %d, %q: Done %v, usage %+v", cut, nl, st.Done, st.Usage)
			}
		}
		// Without its blank line, [DONE] is the end only at the stream's end.
		st := p.NewRespStream(p.Entry(1))
		st.Write([]byte(head + "data: [DONE]"))
		if st.Done {
			t.Errorf("Done before the event was whole")
		}
		st.End()
		if !st.Done {
			t.Errorf("not Done after End")
		}
	}
}
