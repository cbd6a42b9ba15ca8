package keys

import (
	"fmt"

	"github.com/llmgate/llmgate/internal/keystore"
)

// checkMemberModels is LiteLLM's check_team_member_model_access: a team
// key's user whose membership budget lists allowed_models may call only
// those (access groups and wildcards as for keys); an empty list leaves the
// team's models. LiteLLM answers 403 team_model_access_denied with its
// client message (the member, team and list stay in its log).
func (s *Service) checkMemberModels(teamID, userID string, models []string) *Error {
	if userID == "" {
		return nil
	}
	allowed := s.memberAllowedModels(teamID, userID)
	if len(allowed) == 0 || s.modelAllowed(allowed, models) {
		return nil
	}
	return &Error{Status: 403, Type: "team_model_access_denied", Code: "403", Param: "model",
		Message: fmt.Sprintf("The requested model '%s' is not available for this API key, or the model name is invalid. Check the models available to you and try again.", first(models))}
}

// memberAllowedModels is a team member's own model list (its budget row's).
func (s *Service) memberAllowedModels(teamID, userID string) []string {
	s.mu.RLock()
	m := s.members[keystore.MemberKey(teamID, userID)]
	s.mu.RUnlock()
	if m == nil || m.BudgetID == "" {
		return nil
	}
	if b := s.budget(m.BudgetID); b != nil {
		return b.AllowedModels
	}
	return nil
}
