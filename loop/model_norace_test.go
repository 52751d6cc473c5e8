//go:build !race

package loop_test

// TestSchedulerModel's size in a normal build: 10,000 programs, at least a
// million operations.
const modelPrograms, modelMinOps = 10_000, 1_000_000

// raceDetector reports a race build (see model_race_test.go).
const raceDetector = false
