package services

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis returns the hook to add to a Redis client: each command (a
// pipeline as one call, named "pipeline") is a Redis call, failed when it
// answers an error other than redis.Nil (a missing key is an answer). The
// client's own connection set-up (HELLO, AUTH, SELECT, CLIENT …) is not
// the gateway's call and is not counted.
func (h *Hooks) Redis() redis.Hook { return redisHook{h} }

type redisHook struct{ h *Hooks }

func (redisHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		m := r.h.Metrics()
		if m == nil || setUp(cmd) {
			return next(ctx, cmd)
		}
		start := time.Now()
		err := next(ctx, cmd)
		m.redisDone(start, cmd.Name(), err)
		return err
	}
}

func (r redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		m := r.h.Metrics()
		if m == nil || len(cmds) == 0 || setUp(cmds[0]) {
			return next(ctx, cmds)
		}
		start := time.Now()
		err := next(ctx, cmds)
		m.redisDone(start, "pipeline", err)
		return err
	}
}

// setUp reports a command of the client's connection set-up.
func setUp(cmd redis.Cmder) bool {
	switch cmd.Name() {
	case "hello", "auth", "select", "client", "readonly":
		return true
	}
	return false
}

func (m *Metrics) redisDone(start time.Time, function string, err error) {
	if err == nil || errors.Is(err, redis.Nil) {
		m.Success(Redis, time.Since(start))
		return
	}
	m.Failure(Redis, redisErrorClass(err), function)
}

// redisErrorClass names a Redis failure as redis-py's exception classes
// (LiteLLM's error_class label): an error reply is a ResponseError, a
// timeout a TimeoutError, anything else (refused, reset, closed pool) a
// ConnectionError.
func redisErrorClass(err error) string {
	var reply redis.Error
	switch {
	case isTimeout(err):
		return "TimeoutError"
	case errors.Is(err, context.Canceled):
		return "CancelledError"
	case errors.As(err, &reply):
		return "ResponseError"
	}
	return "ConnectionError"
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, redis.ErrPoolTimeout) || (errors.As(err, &ne) && ne.Timeout())
}
