-- Indexes the supervisors' reports read by: queue entries by time and by call, accepted offers
-- by time, offers by the entry they answered, survey answers, the agents' state log and the
-- desk's call-control steps by time.

-- +goose Up
CREATE INDEX queue_entries_entered ON hotline.queue_entries (entered_at);
CREATE INDEX queue_entries_call ON hotline.queue_entries (call_id);
CREATE INDEX offers_entry ON hotline.offers (entry_id) WHERE entry_id IS NOT NULL;
CREATE INDEX offers_accepted_decided ON hotline.offers (decided_at) WHERE state = 'accepted';
CREATE INDEX survey_answers_at ON hotline.survey_answers (answered_at);
CREATE INDEX agent_state_log_at ON hotline.agent_state_log (at);
CREATE INDEX callbacks_requested ON hotline.callbacks (requested_at);
CREATE INDEX call_steps_desk ON hotline.call_steps (entered_at) WHERE flow = 'desk';

-- +goose Down
DROP INDEX hotline.call_steps_desk;
DROP INDEX hotline.callbacks_requested;
DROP INDEX hotline.agent_state_log_at;
DROP INDEX hotline.survey_answers_at;
DROP INDEX hotline.offers_accepted_decided;
DROP INDEX hotline.offers_entry;
DROP INDEX hotline.queue_entries_call;
DROP INDEX hotline.queue_entries_entered;
