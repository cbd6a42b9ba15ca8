package keys

// TeamAlias is a team's team_alias ("" for an unknown team or one without
// an alias): the folder the s3 callback's s3_use_team_prefix puts the
// team's requests under, as LiteLLM's S3Logger takes the payload's
// user_api_key_team_alias (D74). A read under the service's lock, off the
// request path.
func (s *Service) TeamAlias(teamID string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if t := s.teams[teamID]; t != nil {
		return t.TeamAlias
	}
	return ""
}
