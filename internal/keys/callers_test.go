package keys

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// Keyless callers (D136): the master key's alias and a JWT's hash are
// limited by the model group's defaults, their tokens count to them, and a
// JWT's try that carries its hash still releases its team's slots.
func TestCallerLimits(t *testing.T) {
	ctx := context.Background()
	s := newService(t, embedded(t), t.TempDir())
	s.SetKeyModelDefaults(map[string]ModelLimits{"g": {RPM: 1, TPM: 5}})
	if !s.CallerLimited("g") || s.CallerLimited("other") {
		t.Fatal("CallerLimited: g should be limited, other not")
	}
	jwtCaller := JWTCaller("a.b.c")
	if !IsCaller(jwtCaller) || !IsCaller(MasterKeyAlias) || IsCaller(strings.Repeat("a", 64)) {
		t.Fatal("IsCaller: the alias and a JWT's hash are callers, a key's hash is not")
	}
	for _, caller := range []string{MasterKeyAlias, jwtCaller} {
		if rpm, tpm, ok := s.CounterLimits("keymodel:" + caller + ":g"); !ok || rpm != 1 || tpm != 5 {
			t.Errorf("CounterLimits of %s: %d %d %v, want 1 5 true (the module leases by it)", caller, rpm, tpm, ok)
		}
		if _, e := s.AuthorizeRequest(ctx, Check{Requested: "g", Group: "g", Caller: caller}); e != nil {
			t.Fatalf("%s first: %v", caller, e)
		}
		_, e := s.AuthorizeRequest(ctx, Check{Requested: "g", Group: "g", Caller: caller})
		if e == nil || e.Status != 429 || !strings.HasPrefix(e.Message, "Rate limit exceeded for model_per_key: "+caller+":g. Limit type: requests.") {
			t.Fatalf("%s second in the minute: %+v", caller, e)
		}
	}
	if st, out := s.Handle(ctx, "POST", "/team/new", []byte(`{"team_id":"tp","max_parallel_requests":1,"tpm_limit":9}`), Caller{Admin: true}); st != 200 {
		t.Fatalf("/team/new: %d %s", st, out)
	}
	if ids := s.tpmIDs(jwtCaller, "tp", "", "", "g"); !slices.Equal(ids, []string{"team:tp", keyModelCounter(jwtCaller, "g")}) {
		t.Errorf("a JWT's tpm counters %v, want its team's and its own on g", ids)
	}
	if ids := s.tpmIDs(MasterKeyAlias, "", "default_user_id", "", "g"); !slices.Equal(ids, []string{keyModelCounter(MasterKeyAlias, "g")}) {
		t.Errorf("the master key's tpm counters %v, want its own on g", ids)
	}
	g, e := s.AuthorizePrincipal(ctx, Principal{TeamID: "tp"}, Check{Models: []string{"m"}, Caller: jwtCaller})
	if e != nil || !g.Parallel {
		t.Fatalf("the team's first: %v, grant %+v", e, g)
	}
	s.EndFor(ctx, jwtCaller, g.TeamID, g.UserID) // (the try's KeyHash is the JWT's hash)
	if _, e := s.AuthorizePrincipal(ctx, Principal{TeamID: "tp"}, Check{Models: []string{"m"}, Caller: jwtCaller}); e != nil {
		t.Fatalf("the team's slot after EndFor with the JWT's hash: %v", e)
	}
}
