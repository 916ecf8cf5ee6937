package load

import (
	"syscall"
	"time"
)

// rusage returns the CPU time (user and system) the process has used, and its peak resident
// memory in bytes.
func rusage() (time.Duration, int64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return cpu, ru.Maxrss * 1024 // Linux counts kilobytes
}
