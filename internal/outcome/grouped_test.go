package outcome

import (
	"context"
	"sync"
	"testing"
	"time"
)

// A grouped sink's events are consumed (Reached) only after its end hook:
// a source waiting on Reached (the module's acknowledgements, D63) knows the
// group's work is done. Events queued while the sink works are one group,
// ended once when the queue runs empty.
func TestGroupedSinkReachedAfterEnd(t *testing.T) {
	b := NewBus()
	defer b.Close()
	gate, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	defer once.Do(func() { close(release) }) // before Close, also on failure
	ended := make(chan int, 16)
	seen := 0
	b.RegisterGrouped("g", 64, func(Try) {
		if seen++; seen == 1 {
			<-gate // the rest of the burst queues meanwhile
		}
	}, func() {
		ended <- seen
		<-release
	})
	for i := 0; i < 10; i++ {
		b.Publish(Try{Attempt: i})
	}
	mark := b.Mark("g")
	if mark != 10 {
		t.Fatalf("mark %d, want 10", mark)
	}
	gate <- struct{}{} // first event done; the other 9 follow
	if n := <-ended; n != 10 {
		t.Fatalf("end hook after %d events, want one group of all 10", n)
	}
	if b.Reached("g", mark) || b.Reached("g", 1) {
		t.Fatal("events counted consumed before the end hook returned")
	}
	once.Do(func() { close(release) })
	deadline := time.Now().Add(5 * time.Second)
	for !b.Reached("g", mark) {
		if time.Now().After(deadline) {
			t.Fatal("events never counted consumed after the end hook")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case n := <-ended:
		t.Fatalf("a second end hook (after %d events) without new events", n)
	default:
	}
}

// A group ends after MaxGroup events even when the queue never runs empty,
// and Close ends the last group before it returns.
func TestGroupedSinkBoundedGroups(t *testing.T) {
	b := NewBus()
	gate := make(chan struct{})
	var groups []int
	n, last := 0, 0
	b.RegisterGrouped("g", 1000, func(Try) {
		if n++; n == 1 {
			<-gate
		}
	}, func() {
		groups = append(groups, n-last)
		last = n
	})
	for i := 0; i < 3*MaxGroup+5; i++ {
		b.Publish(Try{})
	}
	close(gate)
	b.Close()
	sum := 0
	for _, g := range groups {
		if g > MaxGroup {
			t.Fatalf("a group of %d events, more than %d", g, MaxGroup)
		}
		sum += g
	}
	if sum != 3*MaxGroup+5 || len(groups) < 4 {
		t.Fatalf("groups %v: want every one of %d events in groups of at most %d", groups, 3*MaxGroup+5, MaxGroup)
	}
	if st := b.Stats(); st[0].Delivered != uint64(sum) {
		t.Fatalf("delivered %d, want %d", st[0].Delivered, sum)
	}
}

// Await returns once the end hook of the group holding the mark has
// returned (D92: the attempt filter holds an answer's last bytes on it), and
// reports false when its context ends first; a sink nobody registered is
// reached at once.
func TestAwaitGroupedSink(t *testing.T) {
	b := NewBus()
	defer b.Close()
	release := make(chan struct{})
	var once sync.Once
	defer once.Do(func() { close(release) })
	b.RegisterGrouped("g", 64, func(Try) {}, func() { <-release })
	b.Publish(Try{})
	mark := b.Mark("g")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if b.Await(ctx, "g", mark) {
		t.Fatal("Await returned true while the group's end hook is held")
	}
	got := make(chan bool, 1)
	go func() { got <- b.Await(context.Background(), "g", mark) }()
	once.Do(func() { close(release) })
	if !<-got {
		t.Fatal("Await without a deadline reported false")
	}
	if !b.Reached("g", mark) || !b.Await(context.Background(), "none", 7) {
		t.Fatal("Reached false after Await, or a missing sink not reached")
	}
}
