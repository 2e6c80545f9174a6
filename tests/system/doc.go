// Package system holds rtbd's system tests: they build the real binaries
// and run them as processes in network namespaces made for each test (a
// bridge namespace plus one namespace per host, addresses in
// 10.213.0.0/24, VIP 10.213.0.100), then measure latency, shedding under
// overload, VRRP failover with keepalived, budgets shared across a
// failover, planned drain, restart with socket activation, reload under
// load and network partitions. They need root, ip(8), curl and keepalived
// (Debian: iproute2 curl keepalived), and skip with a message otherwise or
// under -short. Run them with
//
//	go test -count=1 -v ./tests/system/
//
// Figures are logged as one-line records, "FIGURE scenario=NAME key=value
// ...", for the README. The latency, overload and drain scenarios run as
// attempt subtests: one that fails while the hypervisor steals at least
// 0.1 CPUs is measured again, up to 3 attempts (noise_test.go); on a quiet
// machine a failure fails at once. Environment knobs:
//
//	RTBD_SYSTEM_BINDIR=DIR  test the rtbd and rtbload in DIR instead of building them
//	RTBD_SYSTEM_LOGS=1      print every process's log, not only on failure
//	RTBD_SYSTEM_NOPIN=1     do not pin rtbd and rtbload to separate CPUs
package system
