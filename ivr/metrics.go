package ivr

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	activeDesc  = prometheus.NewDesc("hotline_ivr_calls_active", "Calls in progress in this controller.", nil, nil)
	startedDesc = prometheus.NewDesc("hotline_ivr_calls_started_total", "Calls taken by this controller.", nil, nil)
	endedDesc   = prometheus.NewDesc("hotline_ivr_calls_ended_total", "Calls ended, by outcome.", []string{"outcome"}, nil)
	runawayDesc = prometheus.NewDesc("hotline_ivr_runaway_total", "Calls ended by the node limit.", nil, nil)
	orphanDesc  = prometheus.NewDesc("hotline_ivr_orphans_total", "Channels found in Stasis without their call after a reconnect and taken over to be ended politely.", nil, nil)
)

// Collector returns a Prometheus collector of the engine's counters, for the caller to
// register.
func (e *Engine) Collector() prometheus.Collector { return engineCollector{e} }

type engineCollector struct{ e *Engine }

// latency is the histogram of the delay from a caller's key reaching the controller to the
// controller's next play request: how quickly the hotline answers a key press.
type latency struct {
	h *prometheus.HistogramVec
}

func newLatency() *latency {
	return &latency{h: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hotline_ivr_key_to_play_seconds",
		Help:    "Delay from a caller's key reaching the controller to its next prompt request, with or without a data lookup between.",
		Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"lookup"})}
}

func (l *latency) observe(d time.Duration, lookedUp bool) {
	label := "no"
	if lookedUp {
		label = "yes"
	}
	l.h.WithLabelValues(label).Observe(d.Seconds())
}

func (c engineCollector) Describe(ch chan<- *prometheus.Desc) {
	c.e.keyToPlay.h.Describe(ch)
	for _, d := range []*prometheus.Desc{activeDesc, startedDesc, endedDesc, runawayDesc, orphanDesc} {
		ch <- d
	}
}

func (c engineCollector) Collect(ch chan<- prometheus.Metric) {
	c.e.keyToPlay.h.Collect(ch)
	s := c.e.Stats()
	ch <- prometheus.MustNewConstMetric(activeDesc, prometheus.GaugeValue, float64(s.Active))
	ch <- prometheus.MustNewConstMetric(startedDesc, prometheus.CounterValue, float64(s.Started))
	ch <- prometheus.MustNewConstMetric(runawayDesc, prometheus.CounterValue, float64(s.Runaway))
	ch <- prometheus.MustNewConstMetric(orphanDesc, prometheus.CounterValue, float64(s.Orphans))
	for outcome, n := range s.ByOutcome {
		ch <- prometheus.MustNewConstMetric(endedDesc, prometheus.CounterValue, float64(n), outcome)
	}
}
