package extproc

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
	"github.com/llmgate/llmgate/translator"
)

// TestModuleTryStreamsAsAttemptFilter (D71): the streams of Gemini, Cohere,
// Ollama and Hugging Face, which the module now translates too: the module's
// translation (usage always asked), through the fast path's response side
// (which removes the usage the client did not ask for), is byte for byte the
// attempt filter's translation with the client's include_usage, for every
// stream of the translators' golden fixtures (text, tools, length, content
// filter, errors) and every chunking; the response side reads the
// translator's usage whatever the client asked; a client that did not ask
// gets no "usage" at all.
func TestModuleTryStreamsAsAttemptFilter(t *testing.T) {
	for _, c := range []struct{ provider, dir, file string }{
		{"gemini", "gemini", "stream_text"}, {"gemini", "gemini", "stream_max_tokens"}, {"gemini", "gemini", "stream_safety"},
		{"gemini", "gemini", "stream_blocked"}, {"gemini", "gemini", "stream_error"},
		{"cohere", "cohere", "stream_text"}, {"cohere", "cohere", "stream_tools"}, {"cohere", "cohere", "stream_max_tokens"},
		{"cohere", "cohere", "stream_toxic"},
		{"ollama_chat", "ollama", "stream_chat"}, {"ollama_chat", "ollama", "stream_tools"}, {"ollama_chat", "ollama", "stream_chat_length"},
		{"huggingface", "huggingface", "stream_tgi"}, {"huggingface", "huggingface", "stream_length"}, {"huggingface", "huggingface", "stream_error"},
	} {
		events, err := os.ReadFile(filepath.Join("..", "translator", "testdata", c.dir, c.file+".stream"))
		if err != nil {
			t.Fatal(err)
		}
		tr := translator.For(c.provider)
		target := translator.Target{Provider: c.provider, Model: "m", Stream: true}
		var wantUsage translator.Usage
		for _, includeUsage := range []bool{false, true} {
			for _, step := range []int{len(events), 1, 7, 64} {
				name := fmt.Sprintf("%s/%s include_usage %v, chunks of %d", c.dir, c.file, includeUsage, step)
				rc := &llmgatev1.RequestContext{Stream: true, IncludeUsage: includeUsage, RequestedModel: "grp"}
				// The attempt filter (responseBody).
				st := tr.NewStream(translator.Chat, target)
				u, ok := st.(translator.IncludeUsageSetter)
				if !ok {
					t.Fatalf("%s: the stream does not take include_usage", name)
				}
				u.SetIncludeUsage(includeUsage)
				st = translator.ModelStream(st, "grp")
				// The module: ModuleTry, then the response side.
				mt := &ModuleTry{t: &try{rc: rc, tr: tr, ep: translator.Chat, target: target}}
				if mode, _, _ := mt.ResponseHeaders(200, false); mode != ModuleTryStream {
					t.Fatalf("mode %d", mode)
				}
				plan := &RespPlan{Stream: true, Usage: includeUsage, Entries: []RespEntry{{Model: "grp"}}}
				rs := plan.NewRespStream(&plan.Entries[0])
				var want, got []byte
				for i := 0; i < len(events); i += step {
					end := min(i+step, len(events))
					last := end == len(events)
					out, _ := st.Feed(events[i:end], last)
					want = append(want, stampChunks(out, 1700000000)...)
					m := mt.ResponseChunk(events[i:end], last)
					if o, changed := rs.Write(m); changed {
						got = append(got, o...)
					} else {
						got = append(got, m...)
					}
				}
				got = append(got, rs.End()...)
				got = bytes.ReplaceAll(got, fmt.Appendf(nil, `"created":%d`, mt.created), []byte(`"created":1700000000`))
				if !bytes.Equal(got, want) {
					t.Errorf("%s: the module's stream\n%s\nthe attempt filter's\n%s", name, got, want)
				}
				wantUsage = st.Usage()
				if (wantUsage != translator.Usage{}) && (!rs.Usage.Known() || rs.Usage.Prompt != int64(wantUsage.PromptTokens) || rs.Usage.Completion != int64(wantUsage.CompletionTokens)) {
					t.Errorf("%s: usage read %+v, the translator's %+v", name, rs.Usage, wantUsage)
				}
				if !includeUsage && bytes.Contains(got, []byte(`"usage"`)) {
					t.Errorf("%s: usage sent to a client that did not ask:\n%s", name, got)
				}
				if includeUsage && (wantUsage != translator.Usage{}) && !bytes.Contains(got, []byte(`"total_tokens"`)) {
					t.Errorf("%s: no usage for a client that asked:\n%s", name, got)
				}
			}
		}
	}
}
