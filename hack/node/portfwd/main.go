// Command portfwd gives the real node's network namespace the host's
// loopback services it needs, at the same addresses: the API server and the
// local registries listen on 127.0.0.1 of the host, which inside the node's
// own network namespace is the node's loopback. For each ADDR it listens on
// ADDR inside the namespace NETNS and forwards every connection to ADDR on
// the host, so the node's kubeconfigs, image references and registry TLS
// names stay exactly the host's. It runs inside the node's PID namespace
// and ends with the node.
//
// usage: portfwd NETNS ADDR...   (NETNS: a network namespace file, e.g. /proc/PID/ns/net)
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: portfwd NETNS ADDR...")
		os.Exit(2)
	}
	listeners, err := listenIn(os.Args[1], os.Args[2:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "portfwd:", err)
		os.Exit(1)
	}
	var wg sync.WaitGroup
	for i, l := range listeners {
		wg.Add(1)
		go func(l net.Listener, addr string) {
			defer wg.Done()
			serve(l, addr)
		}(l, os.Args[2+i])
	}
	fmt.Println("portfwd: forwarding", os.Args[2:], "from", os.Args[1])
	wg.Wait()
}

// listenIn opens a listener on each address inside the network namespace
// netns, from a thread that enters it and comes back: the sockets stay in
// that namespace, every other thread (the dials) in the host's.
func listenIn(netns string, addrs []string) ([]net.Listener, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	host, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return nil, err
	}
	defer host.Close()
	node, err := os.Open(netns)
	if err != nil {
		return nil, err
	}
	defer node.Close()
	if err := unix.Setns(int(node.Fd()), unix.CLONE_NEWNET); err != nil {
		return nil, fmt.Errorf("enter %s: %w", netns, err)
	}
	var out []net.Listener
	for _, a := range addrs {
		l, err := net.Listen("tcp", a)
		if err != nil {
			return nil, fmt.Errorf("listen on %s in %s: %w", a, netns, err)
		}
		out = append(out, l)
	}
	// The locked thread must come back to the host's namespace before it
	// serves anything else; if it cannot, the forwarder must not run.
	if err := unix.Setns(int(host.Fd()), unix.CLONE_NEWNET); err != nil {
		return nil, fmt.Errorf("return to the host's network namespace: %w", err)
	}
	return out, nil
}

func serve(l net.Listener, addr string) {
	for {
		in, err := l.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, "portfwd: accept:", err)
			return
		}
		go forward(in, addr)
	}
}

func forward(in net.Conn, addr string) {
	defer in.Close()
	out, err := net.Dial("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "portfwd: dial %s: %v\n", addr, err)
		return
	}
	defer out.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(out, in); closeWrite(out); done <- struct{}{} }()
	go func() { _, _ = io.Copy(in, out); closeWrite(in); done <- struct{}{} }()
	<-done
	<-done
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}
