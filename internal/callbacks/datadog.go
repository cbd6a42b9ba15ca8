package callbacks

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"strings"
	"unicode"

	"github.com/llmgate/llmgate/internal/outcome"
)

// Datadog is LiteLLM's "datadog" callback: each request's
// StandardLoggingPayload as a log event of Datadog's logs intake
// (POST /api/v2/logs, a gzipped JSON array), as LiteLLM's DataDogLogger
// sends it.
const Datadog = "datadog"

// Datadog's intake limits as LiteLLM holds them (DD_MAX_BATCH_SIZE, and
// DD_MAX_PAYLOAD_SIZE_BYTES under the intake's 5 MB uncompressed cap), and
// the length past which LiteLLM truncates a payload's messages, response
// and error_str for loggers with size limits.
const (
	DatadogMaxBatch   = 1000
	datadogMaxPayload = 4_000_000
	datadogMaxField   = 10_000
	datadogTruncated  = "...truncated by litellm, this logger does not support large content"
)

// DatadogSettings are the datadog callback's settings: the intake URL
// (LITELLM_DD_AGENT_HOST:LITELLM_DD_AGENT_PORT, else
// https://http-intake.logs.DD_SITE, DD_BASE_URL overriding both, +
// /api/v2/logs), DD_API_KEY (secret; none for an agent that has its own)
// and the fields every event carries: DD_SOURCE, DD_SERVICE, HOSTNAME and
// the DD_ENV, DD_VERSION and POD_NAME tags.
type DatadogSettings struct {
	Events
	URL, APIKey               string
	Source, Service, Hostname string
	Env, Version, PodName     string
	BatchSize                 int
}

// DatadogTags is an event's ddtags as LiteLLM's get_datadog_tags builds
// them: the deployment's env, service, version, HOSTNAME and POD_NAME,
// then "request_tag:" each request tag and "team:" the team's alias (else
// its id), those two normalised.
func DatadogTags(d *DatadogSettings, requestTags []string, team string) string {
	var b strings.Builder
	b.WriteString("env:" + d.Env + ",service:" + d.Service + ",version:" + d.Version + ",HOSTNAME:" + d.Hostname + ",POD_NAME:" + d.PodName)
	for _, t := range requestTags {
		b.WriteString(",request_tag:" + datadogTagValue(t))
	}
	if team != "" {
		b.WriteString(",team:" + datadogTagValue(team))
	}
	return b.String()
}

// datadogTagValue is LiteLLM's normalize_datadog_tag_value: lower case,
// every character but letters, digits and "_-:./" made "_", runs of "_"
// made one, "_" trimmed from both ends.
func datadogTagValue(v string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(v) {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("_-:./", r)) {
			r = '_'
		}
		if r == '_' {
			if under {
				continue
			}
			under = true
		} else {
			under = false
		}
		b.WriteRune(r)
	}
	return strings.Trim(b.String(), "_")
}

// appendDatadogEvent appends one event of the intake's array: the try's
// StandardLoggingPayload as its message text, status "error" for a
// failure, else "info".
func appendDatadogEvent(b []byte, t *outcome.Try, s *Settings, d *DatadogSettings) []byte {
	status := "info"
	if t.Failed() {
		status = "error"
	}
	tags := requestTags(t, s)
	team := ""
	if s.TeamAlias != nil && t.TeamID != "" {
		team = s.TeamAlias(t.TeamID)
	}
	if team == "" {
		team = t.TeamID
	}
	msg := truncateStandard(appendStandard(nil, t, s))
	b = append(b, `{"ddsource":`...)
	b = appendJSONString(b, d.Source)
	b = append(b, `,"ddtags":`...)
	b = appendJSONString(b, DatadogTags(d, tags, team))
	b = append(b, `,"hostname":`...)
	b = appendJSONString(b, d.Hostname)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, string(msg))
	b = append(b, `,"service":`...)
	b = appendJSONString(b, d.Service)
	b = append(b, `,"status":"`...)
	b = append(b, status...)
	return append(b, `"}`...)
}

// truncateStandard cuts a payload's error_str past datadogMaxField
// characters as LiteLLM's truncate_standard_logging_payload_content does
// (messages and response are null or redacted here: the outcome carries
// neither).
func truncateStandard(p []byte) []byte {
	const key = `"error_str":"`
	i := bytes.Index(p, []byte(key))
	if i < 0 {
		return p
	}
	start := i + len(key)
	end := start
	for end < len(p) && p[end] != '"' {
		if p[end] == '\\' {
			end++
		}
		end++
	}
	if end-start <= datadogMaxField {
		return p
	}
	cut := start + datadogMaxField
	if j := bytes.LastIndexByte(p[cut-6:cut], '\\'); j >= 0 {
		cut -= 6 - j // never end inside an escape (\uXXXX at most)
	}
	for cut > start && p[cut]&0xc0 == 0x80 {
		cut-- // nor inside a character
	}
	return append(append(append([]byte{}, p[:cut]...), datadogTruncated...), p[end:]...)
}

// postDatadog posts a batch to the intake in chunks of at most
// DatadogMaxBatch events and datadogMaxPayload bytes before compression; a
// chunk the intake refuses as too large (413) is halved, and a single
// event it refuses is dropped (LiteLLM's DATADOG_413_ERROR).
func (m *Manager) postDatadog(ctx context.Context, batch []outcome.Try) error {
	s := m.settings.Load()
	d := s.Datadog
	if d == nil {
		return nil
	}
	var events [][]byte
	for i := range batch {
		events = append(events, appendDatadogEvent(nil, &batch[i], s, d))
	}
	for len(events) > 0 {
		n, size := 0, 2
		for n < len(events) && n < DatadogMaxBatch && (n == 0 || size+len(events[n])+1 <= datadogMaxPayload) {
			size += len(events[n]) + 1
			n++
		}
		if err := m.postDatadogChunk(ctx, d, events[:n]); err != nil {
			return err
		}
		events = events[n:]
	}
	return nil
}

func (m *Manager) postDatadogChunk(ctx context.Context, d *DatadogSettings, events [][]byte) error {
	var raw bytes.Buffer
	raw.WriteByte('[')
	for i, e := range events {
		if i > 0 {
			raw.WriteByte(',')
		}
		raw.Write(e)
	}
	raw.WriteByte(']')
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(raw.Bytes())
	_ = zw.Close()
	hdr := map[string]string{"Content-Encoding": "gzip"}
	if d.APIKey != "" {
		hdr["DD-API-KEY"] = d.APIKey
	}
	err := post(ctx, m.client, d.URL, "application/json", gz.Bytes(), hdr)
	var se *statusError
	if errors.As(err, &se) && se.status == http.StatusRequestEntityTooLarge {
		if len(events) == 1 {
			m.log.Error("datadog callback: Datadog API Error - Payload too large (batch is above 5MB uncompressed); the event is dropped")
			return nil
		}
		half := len(events) / 2
		if err := m.postDatadogChunk(ctx, d, events[:half]); err != nil {
			return err
		}
		return m.postDatadogChunk(ctx, d, events[half:])
	}
	return err
}
