// Package freeport finds a free TCP port on 127.0.0.1 for a local server
// (the manager's endpoints, opm serve) where fixed ports may be taken.
package freeport

import (
	"fmt"
	"net"
)

// Local is a 127.0.0.1:port address no one listens on now.
func Local() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}
