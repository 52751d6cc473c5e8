// Command goecho is the Go net peer of the network benchmark (N1-N3 of
// WORKLOADS.md), after vmbench's goecho.go: net.Listen and a goroutine per
// connection, which reads into its own buffer and writes back what it read.
//
//	goecho -listen 127.0.0.1:0           # prints: listening on 127.0.0.1:PORT
//	goecho -buf 4096                     # N3's 4 KiB buffer per connection
//	goecho -stats                        # SIGUSR1 prints "goroutines N"
//
// It serves until SIGINT or SIGTERM, then exits 0 at once, with the
// connections still open.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "the TCP address to listen on")
	bufSize := flag.Int("buf", 100<<10, "the read buffer of each connection, in bytes")
	stats := flag.Bool("stats", false, `on SIGUSR1, print "goroutines N" on stdout (runtime.NumGoroutine)`)
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("goecho: ")
	if *bufSize <= 0 {
		log.Fatalf("-buf %d: want a positive size", *bufSize)
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("listening on", ln.Addr())

	// One channel for every signal, so that a SIGUSR1 sent before a
	// SIGTERM is answered before the exit.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	if *stats {
		signal.Notify(sigs, syscall.SIGUSR1)
	}
	go accept(ln, *bufSize)
	for sig := range sigs {
		if sig == syscall.SIGUSR1 {
			fmt.Println("goroutines", runtime.NumGoroutine())
			continue
		}
		break
	}
	os.Exit(0)
}

// accept serves each connection on its own goroutine until ln is closed.
func accept(ln net.Listener, bufSize int) {
	for {
		c, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil { // EMFILE and the like: say so, and go on after a pause
			log.Print(err)
			time.Sleep(5 * time.Millisecond)
			continue
		}
		go echo(c, bufSize)
	}
}

// echo writes back what c sends until c fails or ends. TCP_NODELAY is Go's
// default.
func echo(c net.Conn, bufSize int) {
	defer c.Close()
	buf := make([]byte, bufSize)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
