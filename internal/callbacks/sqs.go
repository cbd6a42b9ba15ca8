package callbacks

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/llmgate/llmgate/internal/awscreds"
	"github.com/llmgate/llmgate/internal/outcome"
)

// SQS is LiteLLM's "aws_sqs" callback: each request's StandardLoggingPayload
// as one message of an SQS queue.
const SQS = "aws_sqs"

// SQS's limits: 10 entries in a SendMessageBatch, and the batch's bodies
// at most 256 KiB in all (the quota every queue has had; larger messages
// are sent alone).
const (
	sqsMaxEntries = 10
	sqsMaxBytes   = 256 << 10
)

// SQSSettings are litellm_settings.aws_sqs_callback_params as the config
// completed them (os.environ/ references resolved, AWS_* fallbacks
// applied).
type SQSSettings struct {
	Events
	QueueURL, Region, Endpoint                                        string
	AccessKeyID, SecretAccessKey, SessionToken                        string
	RoleName, SessionName, WebIdentityToken, STSEndpoint, ProfileName string
	InsecureSkipVerify                                                bool
	// EncryptionKey (32 bytes, "" for none) and EncryptionAAD are
	// LiteLLM's application-level encryption: each body becomes
	// {"__encrypted__": true, "payload": {nonce, ciphertext, tag}},
	// AES-256-GCM.
	EncryptionKey, EncryptionAAD string
	BatchSize                    int
	FlushInterval                time.Duration
}

// sqsClient is the SDK client of one SQSSettings.
type sqsClient = sdkClient[SQSSettings, *sqs.Client]

// newSQSClient builds the SQS client of st over hc.
func newSQSClient(st *SQSSettings, hc *http.Client) *sqs.Client {
	creds := awscreds.Provider(awscreds.Settings{
		AccessKeyID: st.AccessKeyID, SecretAccessKey: st.SecretAccessKey, SessionToken: st.SessionToken,
		Region: st.Region, RoleName: st.RoleName, SessionName: st.SessionName,
		WebIdentityToken: st.WebIdentityToken, STSEndpoint: st.STSEndpoint, ProfileName: st.ProfileName,
	}, hc)
	opts := sqs.Options{Region: st.Region, Credentials: creds, HTTPClient: hc,
		Retryer: aws.NopRetryer{}} // the sender retries with back-off and counts
	if st.Endpoint != "" {
		opts.BaseEndpoint = aws.String(st.Endpoint)
	}
	return sqs.New(opts)
}

// sqsBody is a message's body: the payload, or LiteLLM's encrypted envelope
// (json.dumps' spacing).
func sqsBody(payload []byte, st *SQSSettings) (string, error) {
	if st.EncryptionKey == "" {
		return string(payload), nil
	}
	block, err := aes.NewCipher([]byte(st.EncryptionKey))
	if err != nil {
		return "", err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	var aad []byte
	if st.EncryptionAAD != "" {
		aad = []byte(st.EncryptionAAD)
	}
	sealed := gcm.Seal(nil, nonce, payload, aad)
	ct, tag := sealed[:len(sealed)-gcm.Overhead()], sealed[len(sealed)-gcm.Overhead():]
	b64 := base64.StdEncoding.EncodeToString
	return `{"__encrypted__": true, "payload": {"nonce": "` + b64(nonce) + `", "ciphertext": "` + b64(ct) + `", "tag": "` + b64(tag) + `"}}`, nil
}

// postSQS sends the batch's payloads with SendMessageBatch, ten (or
// 256 KiB) at a time. Entries SQS refuses as the sender's fault are logged
// and dropped; a batch with other failures is an error (the sender tries
// the whole batch again: a FIFO queue deduplicates by call id, a standard
// queue may then hold a message twice).
func (m *Manager) postSQS(ctx context.Context, batch []outcome.Try) error {
	s := m.settings.Load()
	st := s.SQS
	if st == nil || st.QueueURL == "" {
		return nil
	}
	cli := m.sqs.get(*st, m.client, st.InsecureSkipVerify, func(hc *http.Client) *sqs.Client { return newSQSClient(st, hc) })
	fifo := strings.HasSuffix(st.QueueURL, ".fifo")
	var entries []sqstypes.SendMessageBatchRequestEntry
	size := 0
	flush := func() error {
		if len(entries) == 0 {
			return nil
		}
		out, err := cli.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(st.QueueURL), Entries: entries})
		entries, size = entries[:0], 0
		if err != nil {
			return s3Error(err)
		}
		var retry []string
		for _, f := range out.Failed {
			if f.SenderFault {
				m.log.Error("aws_sqs callback: message refused; dropped", "code", aws.ToString(f.Code), "error", aws.ToString(f.Message))
				continue
			}
			retry = append(retry, aws.ToString(f.Code))
		}
		if len(retry) > 0 {
			return fmt.Errorf("aws_sqs: %d messages not sent (%s)", len(retry), strings.Join(retry, ", "))
		}
		return nil
	}
	for i := range batch {
		t := &batch[i]
		body, err := sqsBody(appendStandard(nil, t, s), st)
		if err != nil {
			m.log.Error("aws_sqs callback: encryption failed; the event is dropped", "error", err.Error())
			continue
		}
		if len(entries) == sqsMaxEntries || (len(entries) > 0 && size+len(body) > sqsMaxBytes) {
			if err := flush(); err != nil {
				return err
			}
		}
		e := sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(len(entries))), MessageBody: aws.String(body)}
		if fifo {
			// A FIFO queue needs a group; the call id deduplicates a retry.
			e.MessageGroupId = aws.String("litellm")
			e.MessageDeduplicationId = aws.String(sqsDedupID(t.CallID))
		}
		entries = append(entries, e)
		size += len(body)
	}
	return flush()
}

// sqsDedupID is a call id as an SQS deduplication id: at most 128
// characters of [!-~].
func sqsDedupID(id string) string {
	b := []byte(id)
	for i, c := range b {
		if c < '!' || c > '~' {
			b[i] = '_'
		}
	}
	if len(b) > 128 {
		b = b[:128]
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}
