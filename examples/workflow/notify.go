package main

import (
	"context"
	"fmt"
	"net"
	"net/smtp"
	"strings"
	"time"
)

// This file sends the failure notification: an e-mail through net/smtp.
// Sending mail blocks (a TCP dial and a dozen round trips), so the runners
// never call it on the loop goroutine: they hand it to the loop's executor
// with loop.RunInExecutor (or loop.ToThread in a task), and the loop carries
// on polling other jobs meanwhile. The result comes back to the loop as a
// future; the runner counts it there.

// Notice is what a failure notification says about a job.
type Notice struct {
	JobID    string
	RemoteID string
	Attempts int
	Message  string
	At       time.Time
}

// newNotice describes j, which has just failed for good.
func newNotice(j *Job) Notice {
	return Notice{JobID: j.ID, RemoteID: j.RemoteID, Attempts: j.Attempts, Message: j.Message, At: j.History[len(j.History)-1].At}
}

// Mailer sends notices as e-mails to one SMTP server.
type Mailer struct {
	Addr string // host:port of the SMTP server
	From string
	To   string
}

// Send delivers n as an e-mail. It blocks until the server has accepted the
// message; cancelling ctx aborts the conversation (the connection is closed
// under net/smtp, whose calls then fail).
func (m Mailer) Send(ctx context.Context, n Notice) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", m.Addr)
	if err != nil {
		return err
	}
	// net/smtp has no context: closing the connection is how to interrupt it.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	host, _, _ := net.SplitHostPort(m.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if err := c.Hello("workflow-runner"); err != nil {
		return err
	}
	if err := c.Mail(m.From); err != nil {
		return err
	}
	if err := c.Rcpt(m.To); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(m.compose(n)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// compose writes the message: headers, a blank line, the body, CRLF line
// ends as RFC 5322 wants.
func (m Mailer) compose(n Notice) []byte {
	lines := []string{
		"From: " + m.From,
		"To: " + m.To,
		fmt.Sprintf("Subject: [workflow] %s failed after %s", n.JobID, count(n.Attempts, "attempt")),
		"Date: " + n.At.Format(time.RFC1123Z),
		"Content-Type: text/plain; charset=utf-8",
		"",
		fmt.Sprintf("Job %s failed and will not be retried.", n.JobID),
		"",
		"Attempts:  " + fmt.Sprint(n.Attempts),
		"Remote id: " + n.RemoteID,
		"Reason:    " + n.Message,
		"",
	}
	return []byte(strings.Join(lines, "\r\n"))
}
