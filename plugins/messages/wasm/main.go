// Command wasm is the messages plugin's Wasm entry point.
package main

import (
	"github.com/mysharpjob/sharpjob/plugins/messages"
	"github.com/mysharpjob/sharpjob/plugins/sdk"
)

func init() { sdk.Serve(messages.Routes()) }

func main() {}
