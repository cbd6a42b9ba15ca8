package extproc

import (
	"testing"
)

func TestCheckKeys(t *testing.T) {
	for _, c := range []struct {
		body string
		ok   bool
	}{
		{`{"model":"a","messages":[]}`, true},
		{`{"model":"a","metadata":{"model":"x","Model":"y"}}`, true}, // nested keys are the provider's business
		{`{"model":"a","model":"b"}`, false},
		{`{"MODEL":"a"}`, false},
		{`{"Model":"a","model":"b"}`, false},
		{`{"mod\u0065l":"a"}`, false},
		{`{"model":"a","temperature":1,"Temperature":2}`, false},
		{`{"model":"a","stream":true,"stream":false}`, false},
		{`{"model":"a","Num_Retries":3}`, false},
		{`{"model":"a","User":"x"}`, true}, // a key the gateway does not read, once
	} {
		if e := checkKeys([]byte(c.body)); (e == nil) != c.ok {
			t.Errorf("checkKeys(%s) = %v, want ok=%v", c.body, e, c.ok)
		} else if e != nil && e.Status != 400 {
			t.Errorf("checkKeys(%s): status %d", c.body, e.Status)
		}
	}
}

func TestBoundKnobs(t *testing.T) {
	st := stateWith(t, "model_list:\n  - model_name: m\n    litellm_params: {model: openai/gpt-4o}\nrouter_settings: {num_retries: 3, timeout: 30, stream_timeout: 60}\n")
	for _, c := range []struct {
		retries, wantRetries int
		timeout, wantTimeout float64
	}{
		{1000000, 10, 1e15, 60},
		{5, 5, 45, 45},
		{-3, 0, 0.5, 0.5},
	} {
		r, tm := c.retries, c.timeout
		f := requestFields{NumRetries: &r, Timeout: &tm}
		st.boundKnobs(&f)
		if *f.NumRetries != c.wantRetries || *f.Timeout != c.wantTimeout {
			t.Errorf("num_retries %d, timeout %g → %d, %g; want %d, %g", c.retries, c.timeout, *f.NumRetries, *f.Timeout, c.wantRetries, c.wantTimeout)
		}
	}
	big := stateWith(t, "model_list:\n  - model_name: m\n    litellm_params: {model: openai/gpt-4o}\nrouter_settings: {num_retries: 20}\n")
	r := 50
	f := requestFields{NumRetries: &r}
	big.boundKnobs(&f)
	if *f.NumRetries != 20 {
		t.Errorf("a config allowing 20 retries bounds the client at %d", *f.NumRetries)
	}
}
