package ststest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"
)

// Keys are the temporary credentials one action answers.
type Keys struct{ ID, Secret, Token string }

// Server is the fake STS; URL is its endpoint (aws_sts_endpoint).
type Server struct {
	*httptest.Server
	mu    sync.Mutex
	calls []url.Values
}

// Start serves the fake STS until the test ends; keys gives each action's
// credentials (ok false: the action is refused with 400).
func Start(t testing.TB, keys func(action string) (Keys, bool)) *Server {
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		s.mu.Lock()
		s.calls = append(s.calls, r.PostForm)
		s.mu.Unlock()
		action := r.PostForm.Get("Action")
		k, ok := keys(action)
		if !ok {
			http.Error(w, "unknown action", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<%[1]sResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><%[1]sResult><Credentials>`+
			`<AccessKeyId>%[2]s</AccessKeyId><SecretAccessKey>%[3]s</SecretAccessKey><SessionToken>%[4]s</SessionToken>`+
			`<Expiration>%[5]s</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::1:assumed-role/r/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser>`+
			`</%[1]sResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></%[1]sResponse>`,
			action, k.ID, k.Secret, k.Token, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	}))
	t.Cleanup(s.Close)
	return s
}

// Calls are the recorded calls' forms, of one action ("" for all).
func (s *Server) Calls(action string) []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []url.Values
	for _, c := range s.calls {
		if action == "" || c.Get("Action") == action {
			out = append(out, c)
		}
	}
	return out
}
