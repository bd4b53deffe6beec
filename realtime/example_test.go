package realtime_test

import (
	"fmt"

	"github.com/mysharpjob/sharpjob/realtime"
)

// The signatures POST /broadcasting/auth answers, as in the Pusher
// "Authentication and authorization signatures" reference.
func ExampleSignChannel() {
	fmt.Println(realtime.SignChannel("278d425bdf160c739803", "7ad3773142a6692b25b8", "1234.1234", "private-foobar", ""))
	// Output: 278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4
}

func ExampleSignChannel_presence() {
	fmt.Println(realtime.SignChannel("278d425bdf160c739803", "7ad3773142a6692b25b8", "1234.1234", "presence-foobar",
		`{"user_id":10,"user_info":{"name":"Mr. Channels"}}`))
	// Output: 278d425bdf160c739803:31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80
}
