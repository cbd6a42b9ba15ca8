package keys

import (
	"cmp"
	"net/url"
	"slices"
	"strings"

	"github.com/llmgate/llmgate/internal/keystore"
)

// userSortColumns are the sort_by values LiteLLM's /user/list accepts
// (_validate_sort_params).
var userSortColumns = []string{"user_id", "user_email", "created_at", "spend", "user_alias", "user_role"}

// userList is GET /user/list as LiteLLM's get_users (D136): the filters
// role, user_ids (one: a case-insensitive substring of the user_id; more,
// comma-separated: those ids), user_email (a case-insensitive substring),
// search (user_id or user_email contains it), team (the user's teams hold
// it); sort_by one of userSortColumns with sort_order asc or desc, else
// newest first; page (from 1) and page_size (1 to 100, default 25); each
// user with its key_count.
func (s *Service) userList(q url.Values) (any, *Error) {
	page, e := queryInt(q, "page", 1, 1, 1<<30)
	if e != nil {
		return nil, e
	}
	size, e := queryInt(q, "page_size", 25, 1, 100)
	if e != nil {
		return nil, e
	}
	sortBy, order := q.Get("sort_by"), strings.ToLower(cmp.Or(q.Get("sort_order"), "asc"))
	if sortBy != "" {
		if !slices.Contains(userSortColumns, sortBy) {
			return nil, badRequest("Invalid sort column. Must be one of: " + strings.Join(userSortColumns, ", "))
		}
		if order != "asc" && order != "desc" {
			return nil, badRequest("Invalid sort order. Must be 'asc' or 'desc'")
		}
	}
	var ids []string
	for _, id := range strings.Split(q.Get("user_ids"), ",") {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	role, email, search, team := q.Get("role"), strings.ToLower(q.Get("user_email")), strings.ToLower(q.Get("search")), q.Get("team")
	has := func(s, sub string) bool { return strings.Contains(strings.ToLower(s), sub) }
	keep := func(u *keystore.User) bool {
		switch {
		case role != "" && u.UserRole != role,
			len(ids) == 1 && !has(u.UserID, strings.ToLower(ids[0])),
			len(ids) > 1 && !slices.Contains(ids, u.UserID),
			q.Has("user_email") && !has(u.UserEmail, email),
			search != "" && !has(u.UserID, search) && !has(u.UserEmail, search),
			team != "" && !slices.Contains(u.Teams, team):
			return false
		}
		return true
	}
	type row struct {
		u     *keystore.User
		spend float64
	}
	s.mu.RLock()
	rows := make([]row, 0, len(s.users))
	for id, u := range s.users {
		if keep(u) {
			rows = append(rows, row{u, s.uspnd[id]})
		}
	}
	keyCount := map[string]int{}
	for _, k := range s.keys {
		if k.UserID != "" {
			keyCount[k.UserID]++
		}
	}
	s.mu.RUnlock()
	by := func(a, b row) int {
		switch sortBy {
		case "user_id":
			return cmp.Compare(a.u.UserID, b.u.UserID)
		case "user_email":
			return cmp.Compare(a.u.UserEmail, b.u.UserEmail)
		case "spend":
			return cmp.Compare(a.spend, b.spend)
		case "user_alias":
			return cmp.Compare(a.u.UserAlias, b.u.UserAlias)
		case "user_role":
			return cmp.Compare(a.u.UserRole, b.u.UserRole)
		}
		return a.u.CreatedAt.Compare(b.u.CreatedAt)
	}
	desc := sortBy == "" || order == "desc" // (LiteLLM's default: created_at desc)
	slices.SortStableFunc(rows, func(a, b row) int {
		c := by(a, b)
		if desc {
			c = -c
		}
		return cmp.Or(c, cmp.Compare(a.u.UserID, b.u.UserID))
	})
	total := len(rows)
	lo := min((page-1)*size, total)
	out := make([]any, 0, min(size, total-lo))
	for _, r := range rows[lo:min(lo+size, total)] {
		v := userView(r.u, r.spend)
		v["key_count"] = keyCount[r.u.UserID]
		out = append(out, v)
	}
	return map[string]any{"users": out, "total": total, "page": page, "page_size": size, "total_pages": (total + size - 1) / size}, nil
}

// teamListed reports whether /team/list shows team t for its user_id and
// organization_id filters (LiteLLM's list_team: the teams whose
// members_with_roles hold the user; "default_organization" the teams
// without an organization).
func teamListed(t *keystore.Team, q url.Values) bool {
	if org := q.Get("organization_id"); org != "" {
		if org == "default_organization" && t.OrganizationID != "" || org != "default_organization" && t.OrganizationID != org {
			return false
		}
	}
	user := q.Get("user_id")
	if user == "" {
		return true
	}
	for _, m := range t.MembersWithRoles {
		if mm, ok := m.(map[string]any); ok && mm["user_id"] == user {
			return true
		}
	}
	return slices.Contains(t.Members, user)
}
