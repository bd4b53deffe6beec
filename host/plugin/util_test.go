package plugin_test

import "os"

var readFile = os.ReadFile
