package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
)

// TestCallbackOfferOnTheDesk: a callback's offer is read for its agent only and only while it
// rings; once the citizen answers, the agent talking on the offer is on the call to them (and
// only that agent, only while talking on it).
func TestCallbackOfferOnTheDesk(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.exec(t, `INSERT INTO hotline.skills (id, name) VALUES ('general', '综合')`)
	f.exec(t, `INSERT INTO hotline.queues (id, name, skill_id) VALUES ('general', '综合咨询', 'general')`)
	f.exec(t, `INSERT INTO hotline.instances (id, heartbeat_at) VALUES ('live', now())`)
	agent := f.id64(t, `INSERT INTO hotline.agents (username, display_name, role, password_hash, endpoint)
		VALUES ('cb01', '回拨坐席', 'agent', 'x', 'PJSIP/1001') RETURNING id`)
	other := f.id64(t, `INSERT INTO hotline.agents (username, display_name, role, password_hash, endpoint)
		VALUES ('cb02', '另一坐席', 'agent', 'x', 'PJSIP/1002') RETURNING id`)
	offer := f.id64(t, `WITH cb AS (INSERT INTO hotline.callbacks (number, queue_id, status, agent_id)
		VALUES ('13800138000', 'general', 'assigned', $1) RETURNING id)
		INSERT INTO hotline.offers (callback_id, agent_id, queue_id, instance_id) SELECT id, $1, 'general', 'live' FROM cb
		RETURNING id`, agent)
	f.exec(t, `INSERT INTO hotline.agent_status (agent_id, state, offer_id) VALUES ($1, 'ringing', $2), ($3, 'talking', NULL)`, agent, offer, other)

	o, err := postgres.OfferedCallback(ctx, f.db, offer, agent)
	if err != nil || o.Number != "13800138000" || o.CallbackID == 0 || o.CallID != "" || o.WorkOrderID != 0 {
		t.Errorf("OfferedCallback = %+v, %v", o, err)
	}
	if _, err := postgres.OfferedCallback(ctx, f.db, offer, other); !errors.Is(err, hotline.ErrForbidden) {
		t.Errorf("another agent's: %v, want forbidden", err)
	}
	if _, err := postgres.OfferedCallback(ctx, f.db, offer+1000, agent); !errors.Is(err, hotline.ErrNotFound) {
		t.Errorf("no such offer: %v, want not found", err)
	}

	const call = "9d9d9d9d-0000-4000-8000-000000000009"
	f.exec(t, `INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at) VALUES ($1, 'node1', 'cb-leg', '13800138000', now())`, call)
	callOf := func(id int64) string {
		var c string
		if err := f.db.GetContext(ctx, &c, `SELECT COALESCE(call_id::text, '') FROM hotline.agent_status WHERE agent_id = $1`, id); err != nil {
			t.Fatal(err)
		}
		return c
	}
	// Still ringing: nothing to name.
	if err := f.store.CallbackConnected(ctx, offer, call); err != nil || callOf(agent) != "" {
		t.Errorf("while ringing: %v, call %q", err, callOf(agent))
	}
	f.exec(t, `UPDATE hotline.offers SET state = 'accepted', decided_at = now() WHERE id = $1`, offer)
	f.exec(t, `UPDATE hotline.agent_status SET state = 'talking' WHERE agent_id = $1`, agent)
	if _, err := postgres.OfferedCallback(ctx, f.db, offer, agent); !errors.Is(err, hotline.ErrConflict) {
		t.Errorf("an answered offer: %v, want a conflict", err)
	}
	if err := f.store.CallbackConnected(ctx, offer, call); err != nil || callOf(agent) != call || callOf(other) != "" {
		t.Errorf("connected: %v, agent on %q, other on %q", err, callOf(agent), callOf(other))
	}
}
