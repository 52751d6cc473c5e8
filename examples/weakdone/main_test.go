package main

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func Example() {
	if err := run(os.Stdout); err != nil {
		fmt.Println(err)
	}
	// Output:
	// video dialog closed and collected; downloads still running
	// dialog "report.pdf": downloaded 120000 bytes (err: <nil>)
	// level=WARN msg="weakref: done-callback skipped: its receiver was collected" future="download video.mp4<done>" receiver=*main.Dialog callback=(*Dialog).OnDownloaded
}
