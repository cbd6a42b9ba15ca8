package keys

import "encoding/json"

// AuditTeamMembershipTable is LiteLLM's LitellmTableNames.TEAM_MEMBERSHIP_TABLE_NAME:
// the table of the rows /team/member_add, /team/member_delete and
// /team/member_update leave (D85). LiteLLM's audit log keys those rows by
// the team (object_id is the team id: its /audit filter object_team_id
// matches a membership row by object_id) with the actions created,
// deleted and updated.
const AuditTeamMembershipTable = "LiteLLM_TeamMembership"

// memberAuditRoutes are the team member routes and their actions.
var memberAuditRoutes = map[string]string{
	"team/member_add": "created", "team/member_delete": "deleted", "team/member_update": "updated",
}

// memberBefore keeps, for /team/member_delete and /team/member_update, the
// member the request names as the team holds it (its user_id, user_email
// and role, with the team_id): the row's before_value. The caller holds
// s.mu for reading.
func (ac *auditCall) memberBefore() {
	id, _ := ac.req["team_id"].(string)
	t := ac.s.teams[id]
	if t == nil || ac.name == "team/member_add" {
		ac.ids = append(ac.ids, id)
		return
	}
	uid, _ := ac.req["user_id"].(string)
	email, _ := ac.req["user_email"].(string)
	for _, m := range teamMembers(t) {
		if uid != "" && m.UserID == uid || uid == "" && email != "" && m.UserEmail == email {
			v := m.view()
			v["team_id"] = id
			if b, err := json.Marshal(withoutSecrets(v)); err == nil {
				ac.before[id] = b
			}
			break
		}
	}
	ac.ids = append(ac.ids, id)
}

// finishMember queues a member route's row: created with the request's
// fields (team_id, member, max_budget_in_team), updated with the member
// before and the request's fields, deleted with the member before and {}.
func (ac *auditCall) finishMember() {
	for _, id := range ac.ids {
		after := any(withoutSecrets(ac.req))
		if ac.name == "team/member_delete" {
			after = map[string]any{}
		}
		ac.add(memberAuditRoutes[ac.name], id, ac.before[id], after)
	}
}
