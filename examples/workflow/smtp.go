package main

import (
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"sync"
)

// This file is an SMTP sink: a mail server on loopback that accepts every
// message and keeps it, so the runner's failure e-mails go through a real
// net/smtp conversation without a real mail server. It speaks the part of
// RFC 5321 that net/smtp's client uses: EHLO/HELO, MAIL FROM, RCPT TO,
// DATA, RSET, NOOP and QUIT; no TLS, no AUTH.

// Mail is one message the sink received.
type Mail struct {
	From string
	To   []string
	Data string // headers and body, with "\n" line ends
}

// SMTPSink is a loopback SMTP server that records the messages it receives.
// Its methods are safe for concurrent use by multiple goroutines.
type SMTPSink struct {
	ln net.Listener
	wg sync.WaitGroup

	mu     sync.Mutex
	mail   []Mail
	conns  map[net.Conn]struct{}
	closed bool
}

// StartSMTPSink listens on 127.0.0.1 at a free port and serves until Close.
func StartSMTPSink() (*SMTPSink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &SMTPSink{ln: ln, conns: make(map[net.Conn]struct{})}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Addr returns the sink's host:port.
func (s *SMTPSink) Addr() string { return s.ln.Addr().String() }

// Messages returns a copy of the messages received so far, in order.
func (s *SMTPSink) Messages() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mail...)
}

// Close stops the sink: it closes the listener and every open connection,
// and waits for the sessions to end.
func (s *SMTPSink) Close() error {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

func (s *SMTPSink) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return // closed
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.session(c)
	}
}

// session runs one SMTP conversation.
func (s *SMTPSink) session(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	tp := textproto.NewConn(c)
	reply := func(code int, text string) error { return tp.PrintfLine("%d %s", code, text) }
	if reply(220, "localhost workflow mail sink") != nil {
		return
	}
	var m Mail
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			m = Mail{}
			err = reply(250, "localhost greets "+arg)
		case "MAIL":
			from, ok := mailPath(arg, "FROM:")
			if !ok {
				err = reply(501, "syntax: MAIL FROM:<address>")
				break
			}
			m = Mail{From: from}
			err = reply(250, "OK")
		case "RCPT":
			to, ok := mailPath(arg, "TO:")
			switch {
			case m.From == "":
				err = reply(503, "MAIL first")
			case !ok:
				err = reply(501, "syntax: RCPT TO:<address>")
			default:
				m.To = append(m.To, to)
				err = reply(250, "OK")
			}
		case "DATA":
			if len(m.To) == 0 {
				err = reply(503, "RCPT first")
				break
			}
			if err = reply(354, "end data with <CR><LF>.<CR><LF>"); err != nil {
				break
			}
			var data []byte
			if data, err = tp.ReadDotBytes(); err != nil {
				break
			}
			m.Data = string(data)
			n := s.record(m)
			m = Mail{}
			err = reply(250, fmt.Sprintf("OK: queued as %d", n))
		case "RSET":
			m = Mail{}
			err = reply(250, "OK")
		case "NOOP":
			err = reply(250, "OK")
		case "QUIT":
			reply(221, "bye")
			return
		default:
			err = reply(502, "command not implemented")
		}
		if err != nil {
			return
		}
	}
}

// record keeps m and returns its number.
func (s *SMTPSink) record(m Mail) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mail = append(s.mail, m)
	return len(s.mail)
}

// mailPath reads the address of "FROM:<a@b> PARAMS" (prefix "FROM:") or
// "TO:<a@b>".
func mailPath(arg, prefix string) (string, bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", false
	}
	rest := strings.TrimSpace(arg[len(prefix):])
	if !strings.HasPrefix(rest, "<") {
		return "", false
	}
	addr, _, ok := strings.Cut(rest[1:], ">")
	return addr, ok
}
