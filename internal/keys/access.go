package keys

// modelAllowed reports whether a key's or team's model list allows one of
// the request's model names.
func (s *Service) modelAllowed(allowed, models []string) bool {
	return modelAllowedPlain(allowed, models)
}
