//go:build tools

// Package tools pins Tesla's Go tools for the compat tests in tests/compat/test_tesla_control_go.py.
//
// The file is never compiled (the "tools" build tag); it makes tesla-control and tesla-http-proxy
// direct requirements of this module, so go.mod and go.sum pin vehicle-command and everything it
// needs, and
//
//	go build -o DIR/ github.com/teslamotors/vehicle-command/cmd/tesla-control \
//	    github.com/teslamotors/vehicle-command/cmd/tesla-http-proxy
//
// run from this directory builds exactly that version. Our choice: a tools.go file rather than Go
// 1.24's `tool` directive, so the Go 1.23 that vehicle-command itself asks for is enough.
package tools

import (
	_ "github.com/teslamotors/vehicle-command/cmd/tesla-control"
	_ "github.com/teslamotors/vehicle-command/cmd/tesla-http-proxy"
)
