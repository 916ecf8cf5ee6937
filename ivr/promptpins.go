package ivr

import (
	"context"
	"sync"
)

// PromptPins says which revisions of the prompts changed in the desk a published flow
// version plays: a version pins the revisions current when it was published, so a changed
// prompt reaches callers when a flow using it is published again, and a call keeps hearing
// what its version plays. *postgres.PromptFiles implements it.
type PromptPins interface {
	// PromptPins returns, by "lang/id", the sound name (relative to the language directory,
	// without ".wav") a version plays instead of the prompt's shipped file; version 0, a
	// draft's, plays the newest revisions. The files exist when it returns.
	PromptPins(ctx context.Context, versionID int64) (map[string]string, error)
}

// pinCache keeps the pins of each published version, which never change.
type pinCache struct {
	mu        sync.Mutex
	byVersion map[int64]map[string]string
}

// promptPins returns the pins of the flow the call is in; nil (the shipped files) when the
// engine has no PromptPins or they cannot be read now (asked again next time).
func (c *call) promptPins() map[string]string {
	src := c.e.cfg.PromptPins
	if src == nil || c.flows == nil {
		return nil
	}
	name := c.e.cfg.Entry
	if len(c.stack) > 0 {
		name = c.top().flow.Name
	}
	version := c.flows.versions[name]
	cache := &c.e.pins
	if version != 0 {
		cache.mu.Lock()
		pins, ok := cache.byVersion[version]
		cache.mu.Unlock()
		if ok {
			return pins
		}
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.e.cfg.StoreTimeout)
	defer cancel()
	pins, err := src.PromptPins(ctx, version)
	if err != nil {
		c.log.Warn("prompt revisions of the flow version; playing the shipped prompts", "flow", name, "err", err)
		return nil
	}
	if version != 0 {
		cache.mu.Lock()
		if cache.byVersion == nil {
			cache.byVersion = map[int64]map[string]string{}
		}
		cache.byVersion[version] = pins
		cache.mu.Unlock()
	}
	return pins
}
