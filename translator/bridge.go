package translator

// chatBridge carries an endpoint that is not chat (Anthropic's Messages,
// OpenAI's Responses) to a provider through that provider's chat
// translator, as LiteLLM's adapters do: the request made a chat
// completion, the chat answer and the chat stream (its usage chunk always
// asked for and read) turned back into the endpoint's shape.
type chatBridge struct {
	inner Translator
	// toChat is the client's body as a chat completions request.
	toChat func(body []byte) ([]byte, *Error)
	// fromChat is a chat completion as the endpoint's answer.
	fromChat func(chat []byte, t Target) ([]byte, *Error)
	// stream turns the provider's chat stream into the endpoint's events.
	stream func(chat Stream, t Target) Stream
}

func (b chatBridge) Request(ep Endpoint, body []byte, t Target) (*UpstreamRequest, error) {
	chat, e := b.toChat(body)
	if e != nil {
		return nil, e
	}
	return b.inner.Request(Chat, chat, t)
}

func (b chatBridge) Response(ep Endpoint, body []byte, t Target) (*Response, error) {
	inner := t
	inner.ResponseModel = "" // the bridge writes the answer's model
	r, err := b.inner.Response(Chat, body, inner)
	if err != nil {
		return nil, err
	}
	out, e := b.fromChat(r.Body, t)
	if e != nil {
		return nil, e
	}
	return &Response{Body: out, Usage: r.Usage, FinishReason: r.FinishReason}, nil
}

func (b chatBridge) Error(status int, headers map[string]string, body []byte) *Error {
	return b.inner.Error(status, headers, body)
}

func (b chatBridge) NewStream(ep Endpoint, t Target) Stream {
	in := b.inner.NewStream(Chat, t)
	if u, ok := in.(IncludeUsageSetter); ok {
		u.SetIncludeUsage(true) // the endpoint's final event carries the usage
	}
	return b.stream(in, t)
}

// ChatBridge is an endpoint's bridge over OpenAI's chat wire format (a
// mock chat answer made the endpoint's), nil for the endpoints chat
// answers as they are.
func ChatBridge(ep Endpoint) Translator {
	switch ep {
	case Messages:
		return messagesAdapter(For("openai"))
	case Responses:
		return responsesAdapter(For("openai"))
	case GenerateContent:
		return genaiAdapter(For("openai"))
	}
	return nil
}

// innerErr is the provider's error inside a bridged chat stream, if any.
func innerErr(in Stream) *Error {
	if se, ok := in.(StreamErr); ok {
		return se.Err()
	}
	return nil
}
