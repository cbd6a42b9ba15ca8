package callbacks

import (
	"encoding/base64"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	keysvc "github.com/llmgate/llmgate/internal/keys"
)

// A team whose metadata holds its Langfuse credentials as LiteLLM stores
// them — litellm_enc:: values LiteLLM encrypted (secretbox and v3:gcm:,
// keys' testdata/litellm_callback_vars.json) under the salt key — has its
// requests sent to its project with the opened credentials (D74); under
// another salt key they do not open and are passed on as stored, as LiteLLM
// does.
func TestEncryptedCallbackVars(t *testing.T) {
	own := &receiver{status: 207}
	srv := httptest.NewServer(own)
	defer srv.Close()
	team := map[string]any{"logging": []any{map[string]any{"callback_name": "langfuse", "callback_type": "success",
		"callback_vars": map[string]any{
			"langfuse_public_key": "litellm_enc::v3:gcm:1na-vQyrpb2JUgN8UbojFUtLYgHJv3ar-qgOy4zYr9fsb8m51IYkjHXQJb3T9fZSSScWycI=",
			"langfuse_secret_key": "litellm_enc::Is9OpZBhjQ5aIH5XPYjedVhILAomM3518cmyr7u6CX6VyNzZPaAfyp5ylmrJziTT4XBtg6uMAUwmGIr5caONMQ==",
			"langfuse_host":       srv.URL}}}}
	for _, salt := range []string{"sk-fixture-salt", "another-salt"} {
		m := New(nil)
		m.Configure(Settings{BatchSize: 100, FlushInterval: time.Hour,
			Metadata:   func(string, string) (map[string]any, map[string]any) { return nil, team },
			DecryptVar: func(v string) (string, bool) { return keysvc.DecryptCallbackVar(v, salt) }})
		sink := m.Sink()
		for _, id := range []string{"a", "b"} {
			tr := sampleTry(id, 200)
			tr.TeamID = "t-enc"
			sink(tr)
		}
		m.Close()
	}
	_, hdrs := own.posts()
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("pk-lf-public-from-litellm:sk-provider-from-litellm"))
	if len(hdrs) != 2 || hdrs[0].Get("Authorization") != want {
		t.Fatalf("posts %d, first auth %q, want %q", len(hdrs), hdrs[0].Get("Authorization"), want)
	}
	if a := hdrs[1].Get("Authorization"); a == want || !strings.HasPrefix(a, "Basic ") {
		t.Errorf("another salt key: auth %q", a)
	}
}
