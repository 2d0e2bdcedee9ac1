package controller

import "time"

// Leader election, as the manager runs it (cmd/main.go) and as the
// benchmarks and the failover tests hold it to. The timings are
// controller-runtime's defaults, set explicitly so that what the tests
// bound is what ships: a leader renews its Lease every RetryPeriod; a
// leader that stops without releasing it (a crash, SIGKILL) is replaced
// once LeaseDuration has passed since its last renewal.
const (
	LeaderElectionID = "memcached-operator.cache.example.com"
	LeaseDuration    = 15 * time.Second
	RenewDeadline    = 10 * time.Second
	RetryPeriod      = 2 * time.Second
)
