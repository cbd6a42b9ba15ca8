package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/store/pgtest"
)

// LiteLLM's GET /user/list (get_users: page_size 25 by default, 1 to 100;
// role, user_ids, user_email, search and team filters; sort_by with
// sort_order, newest first otherwise; key_count) and /team/list?user_id=
// (the teams whose members hold the user), on the embedded store and
// PostgreSQL, through the real Envoy (D136).
func TestUserTeamLists(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	pg := pgtest.Start(t)
	for _, db := range []string{"embedded", "postgres"} {
		t.Run(db, func(t *testing.T) {
			url := ""
			if db == "postgres" {
				url = pg.NewDatabase(t)
			}
			g := startGateway(t, keysConfig(fake.URL(), url))
			for _, c := range [][2]string{
				{"/user/new", `{"user_id":"ann","user_email":"Ann@Example.com"}`},
				{"/user/new", `{"user_id":"bob","user_role":"proxy_admin"}`},
				{"/user/new", `{"user_id":"cat"}`},
				{"/team/new", `{"team_id":"t-ann","members_with_roles":[{"role":"user","user_id":"ann"}]}`},
				{"/team/new", `{"team_id":"t-cat"}`},
				{"/team/member_add", `{"team_id":"t-cat","member":{"role":"user","user_id":"cat"}}`},
			} {
				if st, _, b := post(t, g.URL+c[0], master, c[1]); st != 200 {
					t.Fatalf("%s %s: %d %s", c[0], c[1], st, b)
				}
			}
			for i := 0; i < 30; i++ {
				if st, _, b := post(t, g.URL+"/user/new", master, fmt.Sprintf(`{"user_id":"many-%02d","user_email":"m%02d@example.com"}`, i, i)); st != 200 {
					t.Fatalf("/user/new: %d %s", st, b)
				}
			}
			type listed struct {
				Users []struct {
					UserID   string `json:"user_id"`
					KeyCount int    `json:"key_count"`
				} `json:"users"`
				Total, Page, PageSize, TotalPages int
			}
			list := func(q string) (listed, []string) {
				t.Helper()
				st, _, b := do(t, "GET", g.URL+"/user/list"+q, master, "")
				var l struct {
					listed
					PageSize   int `json:"page_size"`
					TotalPages int `json:"total_pages"`
				}
				if st != 200 || json.Unmarshal(b, &l) != nil {
					t.Fatalf("/user/list%s: %d %s", q, st, b)
				}
				l.listed.PageSize, l.listed.TotalPages = l.PageSize, l.TotalPages
				var ids []string
				for _, u := range l.Users {
					ids = append(ids, u.UserID)
				}
				return l.listed, ids
			}
			l, ids := list("")
			if l.Total != 33 || l.Page != 1 || l.PageSize != 25 || l.TotalPages != 2 || len(ids) != 25 || ids[0] != "many-29" {
				t.Errorf("/user/list: total %d page %d page_size %d total_pages %d, %d users from %v; want 33 1 25 2, 25 from many-29 (newest first)",
					l.Total, l.Page, l.PageSize, l.TotalPages, len(ids), ids[:min(1, len(ids))])
			}
			if l.Users[0].KeyCount != 1 {
				t.Errorf("/user/list: key_count %d, want 1 (/user/new issues a key)", l.Users[0].KeyCount)
			}
			if _, ids := list("?page=2&page_size=25"); len(ids) != 8 || ids[7] != "ann" {
				t.Errorf("/user/list page 2: %v, want the 8 oldest, ann last", ids)
			}
			for q, want := range map[string][]string{
				"?user_email=ann":                              {"ann"},
				"?search=EXAMPLE.COM&page_size=1":              {"many-29"},
				"?role=proxy_admin":                            {"bob"},
				"?team=t-cat":                                  {"cat"},
				"?user_ids=ann,cat":                            {"cat", "ann"},
				"?user_ids=many-0&sort_by=user_id":             {"many-00", "many-01", "many-02", "many-03", "many-04", "many-05", "many-06", "many-07", "many-08", "many-09"},
				"?sort_by=user_id&sort_order=desc&page_size=2": {"many-29", "many-28"},
			} {
				if _, ids := list(q); !slices.Equal(ids, want) {
					t.Errorf("/user/list%s: %v, want %v", q, ids, want)
				}
			}
			if st, _, b := do(t, "GET", g.URL+"/user/list?sort_by=password", master, ""); st != 400 {
				t.Errorf("/user/list?sort_by=password: %d %s, want 400", st, b)
			}
			if st, _, b := do(t, "GET", g.URL+"/user/list?page_size=101", master, ""); st != 422 {
				t.Errorf("/user/list?page_size=101: %d %s, want 422", st, b)
			}
			for user, want := range map[string][]string{"ann": {"t-ann"}, "cat": {"t-cat"}, "bob": nil, "": {"t-ann", "t-cat"}} {
				st, _, b := do(t, "GET", g.URL+"/team/list?user_id="+user, master, "")
				var teams []struct {
					TeamID string `json:"team_id"`
				}
				if st != 200 || json.Unmarshal(b, &teams) != nil {
					t.Fatalf("/team/list?user_id=%s: %d %s", user, st, b)
				}
				var got []string
				for _, tm := range teams {
					got = append(got, tm.TeamID)
				}
				if !slices.Equal(got, want) {
					t.Errorf("/team/list?user_id=%s: %v, want %v", user, got, want)
				}
			}
		})
	}
}
