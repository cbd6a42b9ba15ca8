package modrt

import "testing"

func TestProcs(t *testing.T) {
	for _, c := range []struct {
		env       string
		cur, ncpu int
		want      int
	}{
		{"", 1, 1, 2},   // Envoy pinned to one CPU (the bench): a second P
		{"", 2, 2, 3},   // two workers, two CPUs
		{"", 4, 8, 9},   // a cgroup limit below the CPUs: workers follow the CPUs
		{"", 8, 4, 9},   // the runtime's own choice above the CPUs is kept and raised
		{"3", 3, 8, 0},  // the operator's GOMAXPROCS is kept
		{"x", 1, 1, 2},  // an invalid GOMAXPROCS is ignored, as the runtime ignores it
		{"0", 1, 2, 3},  // so is zero
		{"-2", 1, 2, 3}, // and a negative one
	} {
		if got := Procs(c.env, c.cur, c.ncpu); got != c.want {
			t.Errorf("Procs(%q, %d, %d) = %d, want %d", c.env, c.cur, c.ncpu, got, c.want)
		}
	}
}
