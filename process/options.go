package process

// Redirect says what one of the child's standard streams is connected to.
type Redirect uint8

const (
	// Pipe connects the stream to a pipe that the Process exposes as a
	// stream: Stdin as a *stream.Writer, Stdout and Stderr as a
	// *stream.Reader (asyncio's subprocess.PIPE).
	Pipe Redirect = iota + 1
	// Inherit gives the child this program's own stream (asyncio's None).
	Inherit
	// Discard connects the stream to the null device (asyncio's
	// subprocess.DEVNULL).
	Discard
)

// String names the redirect.
func (r Redirect) String() string {
	switch r {
	case Pipe:
		return "Pipe"
	case Inherit:
		return "Inherit"
	case Discard:
		return "Discard"
	}
	return "Redirect(?)"
}

// Option configures Start.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	stdin, stdout, stderr Redirect
	dir                   string
	env                   []string
}

func newConfig(opts []Option) config {
	c := config{stdin: Pipe, stdout: Pipe, stderr: Inherit}
	for _, o := range opts {
		o.apply(&c)
	}
	return c
}

// WithStdin sets what the child's standard input is (default Pipe). It
// panics if r is not Pipe, Inherit or Discard; so do WithStdout and
// WithStderr.
func WithStdin(r Redirect) Option {
	check("WithStdin", r)
	return optionFunc(func(c *config) { c.stdin = r })
}

// WithStdout sets what the child's standard output is (default Pipe).
func WithStdout(r Redirect) Option {
	check("WithStdout", r)
	return optionFunc(func(c *config) { c.stdout = r })
}

// WithStderr sets what the child's standard error is (default Inherit).
func WithStderr(r Redirect) Option {
	check("WithStderr", r)
	return optionFunc(func(c *config) { c.stderr = r })
}

// WithDir sets the child's working directory (asyncio's cwd); by default
// it is this program's.
func WithDir(dir string) Option { return optionFunc(func(c *config) { c.dir = dir }) }

// WithEnv sets the child's environment, as "KEY=value" strings (asyncio's
// env); by default the child gets this program's environment (exec.Cmd's
// Env).
func WithEnv(env []string) Option { return optionFunc(func(c *config) { c.env = env }) }

// check panics if r is not one of Pipe, Inherit and Discard.
func check(op string, r Redirect) {
	if r < Pipe || r > Discard {
		panic("process: " + op + ": invalid Redirect")
	}
}
