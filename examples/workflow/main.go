// Command workflow is the showcase of aio: a job runner in the style of a
// production pattern built on Python callbacks and asyncio. It submits jobs
// to a workflow server, polls their status with CallLater, re-queues failed
// and timed-out attempts up to a retry limit, and e-mails a notification
// for each job that fails for good, all from one event loop.
//
// Everything it talks to is embedded and listens on loopback: the workflow
// server (net/http), whose jobs succeed, fail or hang at random from -seed,
// and a mail sink (SMTP) that records the notifications. So
//
//	go run ./examples/workflow
//
// runs with no set-up, shows live progress and ends with a table of the
// jobs. -style await runs the same jobs with one task per job instead of
// callbacks; with the same -seed both styles end with the same job states.
// Ctrl-C stops the run cleanly: jobs in flight end CANCELLED.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// options are the command-line flags.
type options struct {
	jobs        int
	concurrency int
	failRate    float64
	hangRate    float64
	maxRetries  int
	timeout     time.Duration
	poll        time.Duration
	seed        uint64
	style       string
}

// defaults make a short run (about 5 s) in which retries, timeouts and
// failure notifications all happen.
var defaults = options{
	jobs:        20,
	concurrency: 4,
	failRate:    0.25,
	hangRate:    0.15,
	maxRetries:  2,
	timeout:     1500 * time.Millisecond,
	poll:        150 * time.Millisecond,
	seed:        11,
	style:       string(Callbacks),
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	_, err = run(ctx, os.Stdout, IsTerminal(os.Stdout), o)
	switch {
	case errors.Is(err, ErrInterrupted):
		fmt.Fprintln(os.Stderr, "workflow: interrupted")
		stop()
		os.Exit(130)
	case err != nil:
		fmt.Fprintln(os.Stderr, "workflow:", err)
		stop()
		os.Exit(1)
	}
}

func parseFlags(args []string, errOut io.Writer) (options, error) {
	o := defaults
	fs := flag.NewFlagSet("workflow", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.IntVar(&o.jobs, "jobs", o.jobs, "number of jobs")
	fs.IntVar(&o.concurrency, "concurrency", o.concurrency, "jobs running at once")
	fs.Float64Var(&o.failRate, "fail-rate", o.failRate, "probability that an attempt fails")
	fs.Float64Var(&o.hangRate, "hang-rate", o.hangRate, "probability that an attempt hangs (and times out)")
	fs.IntVar(&o.maxRetries, "max-retries", o.maxRetries, "re-queues of a job after its first attempt")
	fs.DurationVar(&o.timeout, "timeout", o.timeout, "how long one attempt may run")
	fs.DurationVar(&o.poll, "poll", o.poll, "interval between status checks")
	fs.Uint64Var(&o.seed, "seed", o.seed, "seed of the server's random outcomes")
	fs.StringVar(&o.style, "style", o.style, "runner style: callbacks or await")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var bad string
	switch {
	case o.jobs < 1 || o.concurrency < 1 || o.maxRetries < 0:
		bad = "-jobs and -concurrency must be at least 1, -max-retries at least 0"
	case o.failRate < 0 || o.hangRate < 0 || o.failRate+o.hangRate > 1:
		bad = "-fail-rate and -hang-rate must be at least 0 and add up to at most 1"
	case o.timeout <= 0 || o.poll <= 0:
		bad = "-timeout and -poll must be positive"
	case o.style != string(Callbacks) && o.style != string(Await):
		bad = "-style must be callbacks or await"
	}
	if bad != "" {
		fmt.Fprintln(errOut, "workflow:", bad)
		return o, errors.New(bad)
	}
	return o, nil
}

func (o options) config() Config {
	return Config{Concurrency: o.concurrency, MaxRetries: o.maxRetries, Timeout: o.timeout, Poll: o.poll}
}

// run starts the embedded workflow server and mail sink, runs the jobs,
// prints the table and the summary to w, and stops the servers. It returns
// the board of jobs and Execute's error.
func run(ctx context.Context, w io.Writer, live bool, o options) (*Board, error) {
	srv, err := StartServer(NewService(o.seed, o.failRate, o.hangRate))
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	sink, err := StartSMTPSink()
	if err != nil {
		return nil, err
	}
	defer sink.Close()
	be := NewHTTPBackend(srv.URL, Mailer{Addr: sink.Addr(), From: "runner@workflow.test", To: "oncall@workflow.test"})
	defer be.Close()

	fmt.Fprintf(w, "workflow server %s, mail sink smtp://%s\n", srv.URL, sink.Addr())
	fmt.Fprintf(w, "%d jobs, style %s, seed %d: concurrency %d, fail rate %.2f, hang rate %.2f, max retries %d, timeout %v, poll %v\n\n",
		o.jobs, o.style, o.seed, o.concurrency, o.failRate, o.hangRate, o.maxRetries, o.timeout, o.poll)

	b := NewBoard(o.jobs)
	err = Execute(ctx, Style(o.style), o.config(), be, b, NewProgress(w, live))

	fmt.Fprintln(w)
	PrintTable(w, b)
	fmt.Fprintln(w)
	PrintSummary(w, b)
	fmt.Fprintf(w, "mail sink received %s\n", count(len(sink.Messages()), "message"))
	return b, err
}
