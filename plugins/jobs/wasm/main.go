// Command wasm is the jobs plugin's Wasm entry point (GOOS=wasip1 GOARCH=wasm -buildmode=c-shared).
package main

import (
	"github.com/mysharpjob/sharpjob/plugins/jobs"
	"github.com/mysharpjob/sharpjob/plugins/sdk"
)

func init() { sdk.Serve(jobs.Routes()) }

func main() {}
