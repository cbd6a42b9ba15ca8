package keys

// CheckKeyModel is LiteLLM's authorize_model_for_key for a route whose
// model is not in a chat body (the Files and Batches routes' model form
// field, x-litellm-model header or model-encoded id; D147): the key's
// checks (blocked, expired, its and its team's models with access groups,
// budgets) for that model, no limit counted. nil for an unknown token.
func (s *Service) CheckKeyModel(token, presented, model string) *Error {
	k, spend, ok := s.Lookup(token)
	if !ok {
		return nil
	}
	_, _, e := s.checkKey(k, spend, s.keyMaxBudget(k), Check{Token: token, Presented: presented}, []string{model}, s.now())
	return e
}
