// Package flowtest runs call flows against the Asterisk simulator: a Harness starts a
// simulated Asterisk node, connects an engine to it over real HTTP and websocket, and places
// calls whose callers listen for prompts and press keys. It serves the engine's own tests,
// `hotline flows test` (scenario files supervisors write) and the call benchmark.
//
// # Scenario files
//
// RunScenarios (and Main, which is `hotline flows test`) reads scenario files, flows/tests/*.yaml
// by default. Each scenario is one call from a caller to the hotline, with what the caller
// does, what they must hear, and how the call must end:
//
//	scenarios:
//	  - name: 注册用户查询水费，逾期未缴
//	    caller: {citizen: water_overdue}   # or a number: caller: "02083338888"
//	    now: 2026-03-25 10:00              # optional clock, China Standard Time
//	    flow: main                         # optional: the flow the call starts in
//	    language: zh                       # optional: the language of say (zh, yue, en)
//	    backend: {fail: [latest_bill]}     # optional: sources or services that misbehave
//	    given: {wrong_pins: 4}             # optional: data arranged for this citizen
//	    agents:                            # optional: agents on duty during the call
//	      - {skills: [general], phone: answer, answer_after: 3s, talk: 20s}
//	    steps:
//	      - expect: [common/language_choice]
//	      - press: "1"
//	      - expect: [main/menu]
//	      - press: "1"
//	      - say: {amount: water_bill.amount_fen}
//	      - expect: [bills/overdue]
//	      - hangup: true
//	    end: {outcome: hangup, hung_up_by: caller}
//
// The caller is a literal number, or a seeded citizen chosen by role (see Roles: real_name,
// ordinary, water_overdue, no_applications, unregistered …). The runner picks, on the day of
// the scenario's clock, a different citizen for every scenario, so that calls running at once
// never share one. Without now, the clock is the seed's today (seed.DefaultNow, a Monday
// morning in business hours); it decides business hours and whether a bill is overdue.
//
// Steps, in order:
//   - expect: [ids] waits until these prompts are heard in this order (others may come
//     between) after what the previous expect matched.
//   - expect_seq: [ids] waits for these prompts heard one right after the other.
//   - not_heard: [ids] checks that none of these prompts was heard so far.
//   - say: {amount|number|digits|date|month: VALUE} waits for the value spoken by the rules of
//     package speech; number takes unit (ge, wei, minutes), digits takes last (keep the last
//     N). VALUE is a literal (100530, 2026-03-20) or the caller's own data, read from the
//     database: KIND_bill.amount_fen|period|due_date (the latest bill of their first account of
//     KIND water, electricity, gas or telecom), KIND_account.number,
//     social_insurance.balance_fen|monthly_contribution_fen|months_paid|last_paid_period,
//     housing_fund.balance_fen|monthly_deposit_fen|months_paid|last_deposit_period,
//     applications.count, application.case_number.
//   - press: "keys" sends DTMF (0-9 * #), gap apart (gap: 20ms; wall-clock time). Keys may hold
//     placeholders for the caller's data: {id_number} (an X keyed as *), {pin}, {wrong_pin},
//     {mobile}, {water_account} … {telecom_account}, {case_number}.
//   - wait: 2s waits (wall-clock time: flow timeouts are real, prompts are played speed times
//     faster by the simulator).
//   - hangup: true hangs up; it must be the last step.
//
// A scenario without a hangup step and without end is hung up after its last step. With end
// and no hangup, the hotline must end the call. end checks the call's record: outcome
// (self_served, hangup, message, callback, overflow, abandoned, error …), queue (the last
// queue waited in), hung_up_by (caller or hotline), follow_up (true or false), survey (the
// stored level), callback (caller or the number registered), work_order: true, agent (the
// number of the scenario's agent the caller talked to, 1 for the first) and offered (the
// agents the call was offered to, in order: [1, 2]; [] for none).
//
// agents puts agents on duty for the call, created for the scenario, logged in and available
// in the order written (so the ACD's default longest-idle pick offers the first one first).
// Each has skills (skill ids, at level 3) and a phone: answer (rings answer_after, then
// answers; default), busy (rejects the call) or noanswer (rings until the queue's ring
// timeout). An agent who answers hangs up talk after being connected, and the caller goes on
// by the queue's answered exit; without talk the agent stays until the caller hangs up.
// answer_after and talk are telephone time, like prompt lengths and the ring timeout: the
// simulator runs them speed times faster. Scenarios with agents run one at a time on engines
// that are controller instances of their own, with the ACD and its dispatcher; their agents
// are logged out after the call.
//
// backend makes named data sources (flow lookup sources: citizen_by_caller, latest_bill …) or
// services (verify_pin, request_callback, save_message, save_survey, enter_queue,
// queue_status, leave_queue) misbehave: fail (an error), slow (no answer until the caller's
// timeout), refuse (not allowed: not a real-name user) or empty (not found). given arranges
// data for the scenario's own citizen: wrong_pins: N wrong PIN attempts just before the call
// (through the data layer, so its lockout counts them), second_account: KIND (another account
// with one unpaid bill of SecondBillFen), no_last_payment: [social_insurance, housing_fund].
//
// # Runs and coverage
//
// RunScenarios starts one throwaway PostgreSQL cluster, migrates and seeds it once, publishes
// the flows, and runs the scenarios several at once over the real data layer, services and
// call log; scenarios sharing an entry flow, clock, speed and backend share one simulator and
// engine.
// From the recorded IVR paths (hotline.call_steps) it computes, per flow, the nodes entered and
// the wired exits taken (see Coverage for how subflow returns are credited). Full coverage has
// no exception: every node and every wired exit, a queue's answered exit included.
package flowtest
