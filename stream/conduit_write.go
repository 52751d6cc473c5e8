package stream

import (
	"net"
)

// The portable conduit's write side: the loop writes what the socket
// takes at once; the rest goes to a writer goroutine, or, for a polled
// socket, to the loop again on the poller's writable reports (invariant 3
// of portable).

func (p *portable) write(b []byte) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rc != nil && !p.writing && len(p.pending) == 0 && !p.dead {
		n, err := tryWrite(p.rc, b)
		if err != nil {
			p.dead, p.werr = true, err
			p.post((*writeErrReport)(p))
			return 0
		}
		b = b[n:]
		if len(b) == 0 {
			return 0
		}
	}
	p.pending = append(p.pending, b...)
	if p.pollW {
		p.armOut()
	} else {
		p.startWriter()
	}
	return p.size()
}

func (p *portable) writev(bs net.Buffers) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	idle := len(p.pending) == 0
	for _, b := range bs {
		p.pending = append(p.pending, b...)
	}
	switch {
	case len(p.pending) == 0:
	case !p.pollW:
		p.startWriter()
	case idle:
		p.flush() // otherwise a writable report is coming (invariant 3)
	}
	return p.size()
}

// size is the bytes accepted and not yet written. The caller must hold mu.
func (p *portable) size() int { return len(p.pending) - p.off + p.inflight }

func (p *portable) bufferSize() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.size()
}

func (p *portable) watchLow(low int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.low = low
	p.watch = p.size() > low
	return p.watch
}

// startWriter starts the writer goroutine unless one exists. The caller
// must hold mu.
func (p *portable) startWriter() {
	if p.writing || p.dead {
		return
	}
	p.writing = true
	p.live.Add(1)
	p.wg.Add(1)
	go p.writer()
}

// writer writes until nothing is pending and nothing is requested, then
// returns; the next write that cannot finish at once starts another.
func (p *portable) writer() {
	defer p.wg.Done()
	defer p.release()
	for {
		p.mu.Lock()
		if p.dead {
			p.writing = false
			p.mu.Unlock()
			return
		}
		if len(p.pending) == 0 {
			if p.ho != nil { // handOver: all is written, and the conn is not ours to close
				p.writing = false
				p.mu.Unlock()
				return
			}
			eof := p.eof && !p.eofDone
			p.eofDone = p.eofDone || eof
			closing := p.closing
			if !eof && !closing {
				p.writing = false
				p.mu.Unlock()
				return
			}
			p.mu.Unlock()
			if eof {
				if err := p.conn.(closeWriter).CloseWrite(); err != nil {
					p.fail(err)
					return
				}
			}
			if closing {
				p.conn.Close()
				p.mu.Lock()
				p.writing = false
				p.closed()
				p.mu.Unlock()
				return
			}
			continue
		}
		out := p.pending
		p.pending, p.spare = p.spare[:0], nil
		p.inflight = len(out)
		p.mu.Unlock()

		_, err := p.conn.Write(out)

		p.mu.Lock()
		p.inflight = 0
		if cap(out) <= maxSpare {
			p.spare = out[:0]
		}
		drained := p.watch && len(p.pending) <= p.low
		p.watch = p.watch && !drained
		dead := p.dead
		p.mu.Unlock()
		if err != nil {
			if !dead {
				p.fail(err)
			}
			return
		}
		if drained {
			p.post((*drainedReport)(p))
		}
	}
}

// fail reports a write error; nothing more is written. The writer returns
// after it.
func (p *portable) fail(err error) {
	p.mu.Lock()
	p.writing = false
	p.failed(err)
	p.mu.Unlock()
}

// failed reports a write error; nothing more is written. The caller must
// hold mu.
func (p *portable) failed(err error) {
	p.dead = true
	p.pending, p.spare, p.off = nil, nil, 0
	p.werr = err
	p.post((*writeErrReport)(p))
}

// writable is the poller's report that a polled socket may take bytes.
func (p *portable) writable() {
	p.mu.Lock()
	if p.pollW && len(p.pending) > 0 {
		p.flush()
	}
	p.mu.Unlock()
}

// flush writes a polled socket's buffer, on the loop goroutine, as far as
// the kernel takes it, then does what waits for the buffer to be written:
// the half-close of WriteEOF, the close of Close. What the kernel does not
// take waits for the next writable report (invariant 3). The caller must
// hold mu.
func (p *portable) flush() {
	if p.dead {
		return
	}
	if len(p.pending) > 0 {
		n, err := tryWrite(p.rc, p.pending[p.off:])
		if err != nil {
			p.failed(err)
			return
		}
		p.off += n
		switch rest := len(p.pending) - p.off; {
		case rest == 0:
			p.pending, p.off = p.pending[:0], 0
		case p.off >= rest: // each byte is moved at most once per byte written
			p.compact()
		}
		if p.watch && p.size() <= p.low {
			p.watch = false
			p.post((*drainedReport)(p))
		}
		if len(p.pending) > 0 {
			p.armOut()
			return
		}
		if cap(p.pending) > maxSpare {
			p.pending = nil
		}
	}
	if p.eof && !p.eofDone {
		p.eofDone = true
		if err := p.conn.(closeWriter).CloseWrite(); err != nil {
			p.failed(err)
			return
		}
	}
	if p.closing && !p.shut {
		p.unpoll()
		p.conn.Close()
		p.closed()
	}
}

// armOut asks the poller for the socket's writable reports, the first time
// a write is left over; from then on every report of the socket says
// whether it takes bytes. If the poller cannot, the write fails: the
// loop cannot wait for the socket otherwise. The caller must hold mu.
func (p *portable) armOut() {
	if p.armed {
		return
	}
	if err := p.pl.watchOut(p, p.tok); err != nil {
		p.failed(err)
		return
	}
	p.armed = true
}

// compact drops the written bytes of pending. The caller must hold mu.
func (p *portable) compact() {
	p.pending, p.off = p.pending[:copy(p.pending, p.pending[p.off:])], 0
}
