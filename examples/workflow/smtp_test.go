package main

import (
	"context"
	"io"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func startSink(t *testing.T) *SMTPSink {
	t.Helper()
	sink, err := StartSMTPSink()
	require.NoError(t, err)
	t.Cleanup(func() { sink.Close() })
	return sink
}

func TestSinkReceivesSendMail(t *testing.T) {
	sink := startSink(t)
	msg := "Subject: hello\r\n\r\nline one\r\n.line starting with a dot\r\n"
	err := smtp.SendMail(sink.Addr(), nil, "a@example.test", []string{"b@example.test", "c@example.test"}, []byte(msg))
	require.NoError(t, err)

	got := sink.Messages()
	require.Len(t, got, 1)
	assert.Equal(t, "a@example.test", got[0].From)
	assert.Equal(t, []string{"b@example.test", "c@example.test"}, got[0].To)
	assert.Equal(t, "Subject: hello\n\nline one\n.line starting with a dot\n", got[0].Data)
}

func TestMailerSendsTheNotice(t *testing.T) {
	sink := startSink(t)
	m := Mailer{Addr: sink.Addr(), From: "runner@workflow.test", To: "oncall@workflow.test"}
	n := Notice{JobID: "job-07", RemoteID: "wf-0031", Attempts: 3, Message: "timed out after 1.5s", At: time.Now()}
	require.NoError(t, m.Send(t.Context(), n))

	got := sink.Messages()
	require.Len(t, got, 1)
	assert.Equal(t, "runner@workflow.test", got[0].From)
	assert.Equal(t, []string{"oncall@workflow.test"}, got[0].To)
	msg, err := mail.ReadMessage(strings.NewReader(got[0].Data))
	require.NoError(t, err)
	assert.Equal(t, "[workflow] job-07 failed after 3 attempts", msg.Header.Get("Subject"))
	body, err := io.ReadAll(msg.Body)
	require.NoError(t, err)
	assert.Contains(t, string(body), "wf-0031")
	assert.Contains(t, string(body), "timed out after 1.5s")
}

func TestSinkEnforcesTheCommandOrder(t *testing.T) {
	sink := startSink(t)
	c, err := textproto.Dial("tcp", sink.Addr())
	require.NoError(t, err)
	defer c.Close()
	steps := []struct {
		cmd  string
		code int
	}{
		{"", 220}, // greeting
		{"EHLO tester", 250},
		{"DATA", 503},
		{"RCPT TO:<b@example.test>", 503},
		{"MAIL FROM:a@example.test", 501},
		{"MAIL FROM:<a@example.test>", 250},
		{"RCPT TO:<b@example.test>", 250},
		{"VRFY b", 502},
		{"RSET", 250},
		{"DATA", 503},
		{"NOOP", 250},
		{"QUIT", 221},
	}
	for _, s := range steps {
		if s.cmd != "" {
			require.NoError(t, c.PrintfLine("%s", s.cmd))
		}
		_, _, err := c.ReadResponse(s.code)
		assert.NoError(t, err, s.cmd)
	}
	assert.Empty(t, sink.Messages())
}

func TestSinkCloseEndsOpenSessions(t *testing.T) {
	sink, err := StartSMTPSink()
	require.NoError(t, err)
	c, err := textproto.Dial("tcp", sink.Addr())
	require.NoError(t, err)
	defer c.Close()
	_, _, err = c.ReadResponse(220)
	require.NoError(t, err)

	require.NoError(t, sink.Close()) // returns although a client is connected
	_, err = c.ReadLine()
	assert.Error(t, err, "the session was closed")
}

func TestMailerGivesUpWhenCancelled(t *testing.T) {
	// A server that accepts and then says nothing: net/smtp waits for its
	// greeting until the context is cancelled.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c
		}
	}()

	ctx, cancel := context.WithCancel(t.Context())
	sent := make(chan error, 1)
	go func() {
		sent <- Mailer{Addr: ln.Addr().String(), From: "a@x.test", To: "b@x.test"}.Send(ctx, Notice{JobID: "job-01"})
	}()
	conn := <-accepted
	defer conn.Close()
	cancel()
	assert.Error(t, <-sent)
}
