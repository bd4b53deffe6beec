// Command wasm is the profiles plugin's Wasm entry point.
package main

import (
	"github.com/mysharpjob/sharpjob/plugins/profiles"
	"github.com/mysharpjob/sharpjob/plugins/sdk"
)

func init() { sdk.Serve(profiles.Routes()) }

func main() {}
