// Package flow is the hotline's declarative call-flow language: YAML documents in flows/,
// parsed into a validated, immutable *Flow of typed nodes that the IVR engine interprets.
// A flow that is wrong never runs: Load, LoadDir and Check report every problem with
// file:line and node id ("flows/bills.yaml:42: get_bill: exit found: no node \"say_bil\"").
//
// # Documents
//
//	flow: bills                 # the name subflow nodes call it by
//	description: 账单查询
//	languages: [zh, yue]        # prompts must exist in these (default zh, yue)
//	start: find_citizen
//	variables: {citizen: citizen, kind: string, bill: bill, accounts: "[]account"}
//	defaults: {agent: to_agent, error: busy, on_timeout: busy}
//	nodes:
//	  find_citizen:
//	    kind: lookup
//	    source: citizen_by_caller
//	    args: {mobile: caller}
//	    into: citizen
//	    found: pick_kind
//	    not_found: enter_number
//
// Node ids and names are [a-z][a-z0-9_]*. Every node has a kind and explicit exits: an exit
// field names the next node. There is no fall-through; an exit left out is an error unless
// the document's defaults name a node for exits of that name (agent, on_fail, error,
// on_timeout, not_allowed, overflow, leave, answered, failed, locked).
//
// Kinds and their exits (see kindSpecs for every field, or flows/flow.schema.json):
//   - play: prompts, barge_in → next
//   - menu: prompts, options {"1": {next, label, set}}, timeout, no_input and no_match
//     {prompts, retries} → each option, agent (key 0), on_fail; * repeats. An option on 0 or *
//     replaces that function; at most 5 choices a level.
//   - collect: prompts, into, min, max, terminator, first_digit/inter_digit/overall timeouts,
//     validate (digits, id_number with * for X, mobile, amount with * as the decimal point,
//     date YYYYMMDD), sensitive (recorded as its length only), personal (its last four
//     digits only), retries → next, on_fail
//   - lookup: source, args, into, timeout (Options.LookupTimeout, else 2s), filler
//     (common/please_wait) after filler_after (800ms) → found, not_found, not_allowed (sources
//     that refuse only), error, on_timeout
//   - verify: ID number and phone PIN, tries (≤ 3), into → ok, failed, locked, not_allowed, error
//   - branch: cases [{when, next}] → case_N, else;  set: vars → next
//   - hours: calendar → open, closed
//   - queue: queue, priority, prompts, announce_every, moh, leave_key, max_wait → answered
//     (the conversation ended with the caller still there), overflow, leave (on leave_key)
//   - callback: number (default caller), queue → next, error
//   - record: prompts, beep, max_length, terminator, category → next, on_fail (nothing
//     recorded), error
//   - survey: prompts, keys 1 (非常满意) … 5 (非常不满意), follow_up_at (4), into → next, on_fail
//   - transfer: number or endpoint, timeout → failed
//   - subflow: flow → next (when the called flow returns);  goto: target
//   - language: set (zh, yue, en) or from (an expression) → next
//   - hangup: prompts, outcome;  return: back to the calling flow (at top level: hang up)
//
// Prompt lists hold prompt ids (bills/intro) and spoken values: {amount: fen}, {number: n,
// unit: ge}, {digits: s, last: 4}, {date: t}, {month: t}, {time: t}, or {prompt: expr} for an
// id computed at run time (an item name, item/1001). A key pressed during the prompts of a
// play, menu or collect stops them and is kept for the next input; with barge_in: false the
// prompts play in full (a legal notice) and the keys still wait for the next input.
//
// # Variables and expressions
//
// Expressions are expr-lang (github.com/expr-lang/expr), compiled and type-checked when the
// flow is loaded against the declared variables and the built-ins caller, called, language,
// verified and verified_citizen. Types are string, int, bool, date and the records of the
// data sources (citizen, account, bill, application, social_insurance, housing_fund, station,
// service_item) or lists of them ([]account); record fields are snake_case (bill.amount_fen).
// Built-ins belong to the call; declared variables to one run of one flow, starting at
// their zero value (Flow.NewEnv).
//
// # Checks
//
// Besides the shape of each node: dangling and missing exits, unreachable nodes, nodes from
// which no end (hangup, return, queue, transfer) can be reached, loops that never wait for a
// key (every cycle must pass an exit taken on a key press: a menu option or agent key, a
// collect's next, a verify's ok, a survey's or record's next, a queue's answered or leave),
// retries above MaxRetries, timeouts out of range, more than MaxChoices menu choices,
// duplicate keys, unknown data sources, arguments, calendars and queues, prompts missing from
// the sound manifest in a language the flow needs, subflows that do not exist or recurse.
// The engine's own guard against runaway calls (1,000 nodes) is not here.
package flow
