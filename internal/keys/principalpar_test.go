package keys

import (
	"context"
	"strings"
	"testing"
)

// A JWT caller's team's and user's max_parallel_requests hold a slot each;
// EndFor with the grant's team and user gives them back (D118).
func TestPrincipalParallel(t *testing.T) {
	ctx := context.Background()
	s := newService(t, embedded(t), t.TempDir())
	for _, c := range [][2]string{{"/team/new", `{"team_id":"tp","max_parallel_requests":1}`}, {"/user/new", `{"user_id":"up","max_parallel_requests":1}`}} {
		if st, out := s.Handle(ctx, "POST", c[0], []byte(c[1]), Caller{Admin: true}); st != 200 {
			t.Fatalf("%s: %d %s", c[0], st, out)
		}
	}
	for _, p := range []Principal{{TeamID: "tp"}, {UserID: "up"}} {
		g, e := s.AuthorizePrincipal(ctx, p, Check{Models: []string{"m"}})
		if e != nil || !g.Parallel {
			t.Fatalf("%+v first: %v, grant %+v", p, e, g)
		}
		if _, e := s.AuthorizePrincipal(ctx, p, Check{Models: []string{"m"}}); e == nil || e.Status != 429 || !strings.Contains(e.Message, "max_parallel_requests") {
			t.Fatalf("%+v second while the first holds the slot: %+v", p, e)
		}
		s.EndFor(ctx, g.Token, g.TeamID, g.UserID)
		g, e = s.AuthorizePrincipal(ctx, p, Check{Models: []string{"m"}})
		if e != nil {
			t.Fatalf("%+v after EndFor: %v", p, e)
		}
		s.EndFor(ctx, g.Token, g.TeamID, g.UserID)
	}
}
