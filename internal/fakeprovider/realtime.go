package fakeprovider

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// The Realtime API (OpenAI's /v1/realtime, Azure's /openai/realtime and
// /openai/v1/realtime): a WebSocket speaking OpenAI's event wire. The
// handshake needs the key (Authorization: Bearer, or Azure's api-key);
// the fake then sends session.created naming the query's model (Azure:
// its deployment), and answers session.update with session.updated,
// conversation.item.create with conversation.item.created, and
// response.create with response.created, an audio delta of
// RealtimeAudioBytes, a text delta echoing the last item's text, and
// response.done carrying RealtimeUsage. Compression is accepted when the
// client offers it (as OpenAI does).

// RealtimeUsage is the usage of every response.done the fake sends.
var RealtimeUsage = map[string]any{
	"total_tokens": 180, "input_tokens": 120, "output_tokens": 60,
	"input_token_details":  map[string]any{"cached_tokens": 20, "text_tokens": 80, "audio_tokens": 40},
	"output_token_details": map[string]any{"text_tokens": 15, "audio_tokens": 45},
}

// RealtimeAudioBytes is the size of the audio (before base64) of each
// response's audio delta.
const RealtimeAudioBytes = 96 << 10

// isRealtime reports whether r is a realtime WebSocket handshake.
func isRealtime(r *http.Request) bool {
	p := r.URL.Path
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket") &&
		(p == "/v1/realtime" || p == "/openai/realtime" || p == "/openai/v1/realtime")
}

func (s *Server) serveRealtime(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("api-key")
	if key == "" {
		key = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	if !s.keyOK(key) || key == "" && len(s.opts.APIKeys) > 0 {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]any{
			"message": "Incorrect API key provided.", "type": "invalid_request_error", "code": "invalid_api_key", "param": nil}})
		return
	}
	model := r.URL.Query().Get("model")
	if r.URL.Path == "/openai/realtime" {
		model = r.URL.Query().Get("deployment")
	}
	if model == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{
			"message": "Missing required parameter: 'model'.", "type": "invalid_request_error", "code": "missing_model", "param": nil}})
		return
	}
	beta := strings.Contains(r.Header.Get("OpenAI-Beta"), "realtime=v1")
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionContextTakeover})
	if err != nil {
		return
	}
	defer conn.CloseNow()
	conn.SetReadLimit(64 << 20) // above any gateway bound: the e2e tests see what passes
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Minute)
	defer cancel()
	n := 0
	id := func(p string) string {
		n++
		return p + strings.Repeat("0", 4) + string(rune('a'+n%26)) + time.Now().Format("150405.000000")
	}
	send := func(v map[string]any) error {
		v["event_id"] = id("event_")
		b, _ := json.Marshal(v)
		return conn.Write(ctx, websocket.MessageText, b)
	}
	session := map[string]any{"id": id("sess_"), "object": "realtime.session", "model": model,
		"modalities": []string{"text", "audio"}, "voice": "alloy"}
	if err := send(map[string]any{"type": "session.created", "session": session}); err != nil {
		return
	}
	lastText := ""
	for {
		typ, b, err := conn.Read(ctx)
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			continue
		}
		var ev struct {
			Type    string         `json:"type"`
			Session map[string]any `json:"session"`
			Item    struct {
				Content []struct {
					Text string `json:"text"`
				} `json:"content"`
			} `json:"item"`
		}
		if json.Unmarshal(b, &ev) != nil {
			_ = send(map[string]any{"type": "error", "error": map[string]any{"type": "invalid_request_error", "code": "invalid_json", "message": "The server could not parse the event"}})
			continue
		}
		switch ev.Type {
		case "session.update":
			for k, v := range ev.Session {
				session[k] = v
			}
			err = send(map[string]any{"type": "session.updated", "session": session})
		case "conversation.item.create":
			for _, c := range ev.Item.Content {
				lastText = c.Text
			}
			var item map[string]any
			var raw struct {
				Item map[string]any `json:"item"`
			}
			if json.Unmarshal(b, &raw) == nil {
				item = raw.Item
			}
			item["id"] = id("item_")
			err = send(map[string]any{"type": "conversation.item.created", "item": item})
		case "response.create":
			rid := id("resp_")
			err = send(map[string]any{"type": "response.created", "response": map[string]any{"id": rid, "object": "realtime.response", "status": "in_progress"}})
			audio := base64.StdEncoding.EncodeToString(make([]byte, RealtimeAudioBytes))
			if err == nil {
				err = send(map[string]any{"type": "response.output_audio.delta", "response_id": rid, "delta": audio})
			}
			textType := "response.output_text.delta"
			if beta {
				textType = "response.text.delta"
			}
			if err == nil {
				err = send(map[string]any{"type": textType, "response_id": rid, "delta": "echo: " + lastText})
			}
			if err == nil {
				err = send(map[string]any{"type": "response.done", "response": map[string]any{"id": rid, "object": "realtime.response",
					"status": "completed", "output": []any{}, "usage": RealtimeUsage}})
			}
		default:
			err = send(map[string]any{"type": "error", "error": map[string]any{"type": "invalid_request_error", "code": "unknown_event",
				"message": "Invalid value: '" + ev.Type + "'."}})
		}
		if err != nil {
			return
		}
	}
}
