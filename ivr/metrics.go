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

	limitDesc    = prometheus.NewDesc("hotline_ivr_calls_limit", "Calls served at once (ivr.max_calls; 0: no limit) and where degradation starts (ivr.soft_calls).", []string{"kind"}, nil)
	rejectedDesc = prometheus.NewDesc("hotline_ivr_calls_rejected_total", "Calls answered with the busy apology and hung up: over ivr.max_calls, or arriving while the controller drains.", []string{"reason"}, nil)
	degradedDesc = prometheus.NewDesc("hotline_ivr_degraded_total", "Queue announcements skipped and lookups cut short because more calls than ivr.soft_calls were in progress.", nil, nil)
	busyToneDesc = prometheus.NewDesc("hotline_ivr_calls_busy_tone_total", "Calls refused (part of hotline_ivr_calls_rejected_total) hung up unanswered with the busy tone because many apologies were being spoken already.", nil, nil)
	strayDesc    = prometheus.NewDesc("hotline_ivr_stray_legs_total", "Legs left in Stasis by calls that gave up on them, hung up.", nil, nil)
	drainingDesc = prometheus.NewDesc("hotline_ivr_draining", "1 while the controller drains before stopping: new calls are refused.", nil, nil)
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

// newLookups is the histogram of how long the data sources take to answer a lookup, by source
// and by the exit the answer leads to; a lookup that outlives its node's timeout is counted when
// it ends.
func newLookups() *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hotline_ivr_lookup_seconds",
		Help:    "Time the data sources took to answer a flow's lookup, by source and by the exit it led to (found, not_found, not_allowed, on_timeout, error).",
		Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"source", "exit"})
}

func (c engineCollector) Describe(ch chan<- *prometheus.Desc) {
	c.e.keyToPlay.h.Describe(ch)
	c.e.lookups.Describe(ch)
	for _, d := range []*prometheus.Desc{activeDesc, startedDesc, endedDesc, runawayDesc, orphanDesc,
		limitDesc, rejectedDesc, busyToneDesc, degradedDesc, strayDesc, drainingDesc} {
		ch <- d
	}
}

func (c engineCollector) Collect(ch chan<- prometheus.Metric) {
	c.e.keyToPlay.h.Collect(ch)
	c.e.lookups.Collect(ch)
	s := c.e.Stats()
	ch <- prometheus.MustNewConstMetric(activeDesc, prometheus.GaugeValue, float64(s.Active))
	ch <- prometheus.MustNewConstMetric(startedDesc, prometheus.CounterValue, float64(s.Started))
	ch <- prometheus.MustNewConstMetric(runawayDesc, prometheus.CounterValue, float64(s.Runaway))
	ch <- prometheus.MustNewConstMetric(orphanDesc, prometheus.CounterValue, float64(s.Orphans))
	for outcome, n := range s.ByOutcome {
		ch <- prometheus.MustNewConstMetric(endedDesc, prometheus.CounterValue, float64(n), outcome)
	}
	l, a := c.e.Limits(), c.e.Admission()
	ch <- prometheus.MustNewConstMetric(limitDesc, prometheus.GaugeValue, float64(l.MaxCalls), "max")
	ch <- prometheus.MustNewConstMetric(limitDesc, prometheus.GaugeValue, float64(l.SoftCalls), "soft")
	ch <- prometheus.MustNewConstMetric(rejectedDesc, prometheus.CounterValue, float64(a.Rejected), "overload")
	ch <- prometheus.MustNewConstMetric(rejectedDesc, prometheus.CounterValue, float64(a.DrainRefused), "draining")
	ch <- prometheus.MustNewConstMetric(busyToneDesc, prometheus.CounterValue, float64(a.BusyTone))
	ch <- prometheus.MustNewConstMetric(degradedDesc, prometheus.CounterValue, float64(a.Degraded))
	ch <- prometheus.MustNewConstMetric(strayDesc, prometheus.CounterValue, float64(a.Strays))
	draining := 0.0
	if a.Draining {
		draining = 1
	}
	ch <- prometheus.MustNewConstMetric(drainingDesc, prometheus.GaugeValue, draining)
}
