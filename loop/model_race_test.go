//go:build race

package loop_test

// TestSchedulerModel's size under the race detector, which makes it about
// six times slower: the same generator, a quarter of the programs (the
// normal build runs all 10,000).
const modelPrograms, modelMinOps = 2_500, 250_000

// raceDetector reports a race build: it allows 8,128 live goroutines, so
// tests that need more run only in the normal build.
const raceDetector = true
