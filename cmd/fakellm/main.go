package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "fakellm:", err)
		os.Exit(1)
	}
}

// config is what the command line asks for.
type config struct {
	addr, urlFile string
	opts          fakeprovider.Options
}

func run(args []string) error {
	cfg, err := parseFlags(args)
	if err != nil {
		return err
	}
	s := fakeprovider.New(cfg.opts)
	if err := s.Start(cfg.addr); err != nil {
		return err
	}
	defer s.Close()
	fmt.Println(s.URL())
	if cfg.urlFile != "" {
		if err := os.WriteFile(cfg.urlFile, []byte(s.URL()+"\n"), 0o644); err != nil {
			return fmt.Errorf("write url file: %w", err)
		}
	}

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
	return nil
}

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("fakellm", flag.ContinueOnError)
	var (
		addr      = fs.String("addr", "127.0.0.1:0", "listen address")
		opts      fakeprovider.Options
		keys      = fs.String("api-keys", "", "comma-separated accepted API keys (empty: any)")
		verbose   = fs.Bool("v", false, "log every request (slow; not for benchmarks)")
		noRecord  = fs.Bool("no-record", false, "do not record requests (counters still kept)")
		urlFile   = fs.String("url-file", "", "write the server URL to this file once listening")
		replySize = fs.Int("reply-size", 0, "pad or cut every reply text to this many bytes")
	)
	fs.DurationVar(&opts.Latency, "latency", 0, "base latency before the first response byte")
	fs.DurationVar(&opts.ChunkDelay, "chunk-delay", 0, "delay between stream chunks")
	fs.IntVar(&opts.StreamChunks, "stream-chunks", 10, "content chunks per streamed reply")
	fs.StringVar(&opts.Reply, "reply", "", "fixed reply text (default: echo the last user message)")
	fs.IntVar(&opts.EmbeddingDims, "embedding-dims", 8, "length of fake embedding vectors")
	fs.StringVar(&opts.AWSAccessKeyID, "aws-access-key-id", fakeprovider.DefaultAWSAccessKeyID, "access key id Bedrock requests must be signed with")
	fs.StringVar(&opts.AWSSecretAccessKey, "aws-secret-access-key", fakeprovider.DefaultAWSSecretAccessKey, "secret key Bedrock requests must be signed with")
	fs.StringVar(&opts.AWSRegion, "aws-region", fakeprovider.DefaultAWSRegion, "region Bedrock requests must be signed for")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if *keys != "" {
		opts.APIKeys = strings.Split(*keys, ",")
	}
	opts.NoRecord = *noRecord
	opts.ReplySize = *replySize
	if *verbose {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return config{addr: *addr, urlFile: *urlFile, opts: opts}, nil
}
