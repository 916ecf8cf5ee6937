package flow

import "slices"

// fieldType is the YAML shape of a node field.
type fieldType int

const (
	tString   fieldType = iota // a plain string
	tID                        // a name: [a-z][a-z0-9_]*
	tKey                       // a DTMF key: 0-9 * #
	tBool                      // true or false
	tInt                       // an integer
	tDuration                  // "5s", "800ms" or a number of seconds
	tPrompts                   // a list of prompt items
	tExit                      // a node id
	tExpr                      // an expression
	tEnum                      // one of enum
	tOptions                   // menu options: key → {next, label, set}
	tCases                     // branch cases: [{when, next}]
	tAssigns                   // variable → expression
	tArgs                      // argument → expression
	tReprompt                  // {prompts, retries}
)

// fieldSpec describes one field a node kind accepts.
type fieldSpec struct {
	name string
	typ  fieldType
	doc  string
	enum []string
	// input marks an exit taken only after the caller pressed a key.
	input bool
	// must marks a field every node of the kind needs (exits are needed unless defaultable).
	must bool
}

// commonFields are accepted by every node kind.
var commonFields = []fieldSpec{
	{name: "kind", typ: tEnum, doc: "the node kind"},
	{name: "description", typ: tString, doc: "what the node is for, shown in graphs"},
}

// Enumerations of field values.
var (
	languages  = []string{"zh", "yue", "en"}
	validators = []string{string(ValidateDigits), string(ValidateIDNumber), string(ValidateMobile),
		string(ValidateAmount), string(ValidateDate)}
	outcomes = []string{"self_served", "message", "callback", "transferred", "overflow", "error", "hangup"}
)

// kindSpecs lists, per kind, the fields the parser accepts besides commonFields. It is the
// single source of the parser's unknown-field check, the JSON Schema and its sync test.
var kindSpecs = map[Kind][]fieldSpec{
	KindPlay: {
		{name: "prompts", typ: tPrompts, doc: "prompts and spoken values, in order", must: true},
		{name: "barge_in", typ: tBool, doc: "a key stops the prompts (default true); false plays them in full, keeping the keys for the next input"},
		{name: "next", typ: tExit},
	},
	KindMenu: {
		{name: "prompts", typ: tPrompts, must: true},
		{name: "barge_in", typ: tBool},
		{name: "options", typ: tOptions, doc: "key → {next, label, set}; at most 5 choices", must: true},
		{name: "timeout", typ: tDuration, doc: "wait for a key after the prompts (default 5s)"},
		{name: "no_input", typ: tReprompt},
		{name: "no_match", typ: tReprompt},
		{name: "repeat_key", typ: tKey, doc: "key that repeats the menu (default *)"},
		{name: "agent_key", typ: tKey, doc: "key that takes the agent exit (default 0)"},
		{name: "agent", typ: tExit, input: true},
		{name: "on_fail", typ: tExit},
	},
	KindCollect: {
		{name: "prompts", typ: tPrompts, must: true},
		{name: "barge_in", typ: tBool},
		{name: "into", typ: tID, doc: "variable receiving the input", must: true},
		{name: "min", typ: tInt},
		{name: "max", typ: tInt},
		{name: "terminator", typ: tKey, doc: "key ending the input (default #)"},
		{name: "first_digit_timeout", typ: tDuration},
		{name: "inter_digit_timeout", typ: tDuration},
		{name: "overall_timeout", typ: tDuration},
		{name: "validate", typ: tEnum, enum: validators},
		{name: "sensitive", typ: tBool, doc: "never log or store the digits in clear (PINs, ID numbers)"},
		{name: "personal", typ: tBool, doc: "store only the last four digits (phone and account numbers)"},
		{name: "retries", typ: tInt},
		{name: "invalid_prompts", typ: tPrompts},
		{name: "no_input_prompts", typ: tPrompts},
		{name: "next", typ: tExit, input: true},
		{name: "on_fail", typ: tExit},
	},
	KindLookup: {
		{name: "source", typ: tEnum, doc: "the data source", must: true},
		{name: "args", typ: tArgs},
		{name: "into", typ: tID},
		{name: "timeout", typ: tDuration, doc: "default ivr.lookup_timeout (2s)"},
		{name: "filler", typ: tPrompts, doc: "played when the lookup is slow (default common/please_wait)"},
		{name: "filler_after", typ: tDuration, doc: "default 800ms"},
		{name: "found", typ: tExit},
		{name: "not_found", typ: tExit},
		{name: "not_allowed", typ: tExit},
		{name: "error", typ: tExit},
		{name: "on_timeout", typ: tExit, doc: "taken when the lookup times out"},
	},
	KindVerify: {
		{name: "id_prompts", typ: tPrompts},
		{name: "pin_prompts", typ: tPrompts},
		{name: "invalid_prompts", typ: tPrompts},
		{name: "tries", typ: tInt, doc: "1–3, default 3"},
		{name: "first_digit_timeout", typ: tDuration},
		{name: "inter_digit_timeout", typ: tDuration},
		{name: "into", typ: tID},
		{name: "ok", typ: tExit, input: true},
		{name: "failed", typ: tExit},
		{name: "locked", typ: tExit},
		{name: "not_allowed", typ: tExit},
		{name: "error", typ: tExit},
	},
	KindBranch: {
		{name: "cases", typ: tCases, must: true},
		{name: "else", typ: tExit},
	},
	KindSet: {
		{name: "vars", typ: tAssigns, must: true},
		{name: "next", typ: tExit},
	},
	KindHours: {
		{name: "calendar", typ: tID, must: true},
		{name: "open", typ: tExit},
		{name: "closed", typ: tExit},
	},
	KindQueue: {
		{name: "queue", typ: tID, must: true},
		{name: "priority", typ: tInt},
		{name: "prompts", typ: tPrompts},
		{name: "announce_every", typ: tDuration},
		{name: "moh", typ: tString, doc: "music-on-hold class (default \"default\")"},
		{name: "leave_key", typ: tKey},
		{name: "max_wait", typ: tDuration},
		{name: "answered", typ: tExit, input: true},
		{name: "overflow", typ: tExit},
		{name: "leave", typ: tExit, input: true},
	},
	KindCallback: {
		{name: "number", typ: tExpr, doc: "number to call back (default caller)"},
		{name: "queue", typ: tID},
		{name: "next", typ: tExit},
		{name: "error", typ: tExit},
	},
	KindRecord: {
		{name: "prompts", typ: tPrompts},
		{name: "beep", typ: tBool},
		{name: "max_length", typ: tDuration},
		{name: "terminator", typ: tKey},
		{name: "category", typ: tString, doc: "work order category"},
		{name: "next", typ: tExit, input: true},
		{name: "on_fail", typ: tExit},
		{name: "error", typ: tExit},
	},
	KindSurvey: {
		{name: "prompts", typ: tPrompts, must: true},
		{name: "timeout", typ: tDuration},
		{name: "retries", typ: tInt},
		{name: "no_match_prompts", typ: tPrompts},
		{name: "follow_up_at", typ: tInt, doc: "levels at or above this flag a follow-up (default 4)"},
		{name: "into", typ: tID},
		{name: "next", typ: tExit, input: true},
		{name: "on_fail", typ: tExit},
	},
	KindTransfer: {
		{name: "prompts", typ: tPrompts},
		{name: "number", typ: tString},
		{name: "endpoint", typ: tString},
		{name: "timeout", typ: tDuration},
		{name: "failed", typ: tExit},
	},
	KindSubflow: {
		{name: "flow", typ: tID, must: true},
		{name: "next", typ: tExit},
	},
	KindGoto: {
		{name: "target", typ: tExit},
	},
	KindLanguage: {
		{name: "set", typ: tEnum, enum: languages},
		{name: "from", typ: tExpr},
		{name: "next", typ: tExit},
	},
	KindHangup: {
		{name: "prompts", typ: tPrompts},
		{name: "outcome", typ: tEnum, enum: outcomes},
	},
	KindReturn: {},
}

// Kinds lists every node kind in a fixed order.
func Kinds() []Kind {
	return []Kind{KindPlay, KindMenu, KindCollect, KindLookup, KindVerify, KindBranch, KindSet, KindHours,
		KindQueue, KindCallback, KindRecord, KindSurvey, KindTransfer, KindSubflow, KindGoto, KindLanguage,
		KindHangup, KindReturn}
}

// KindFields returns the fields a node of kind k accepts, common fields first.
func KindFields(k Kind) []string {
	var out []string
	for _, f := range commonFields {
		out = append(out, f.name)
	}
	for _, f := range kindSpecs[k] {
		out = append(out, f.name)
	}
	return out
}

// fieldOf returns the spec of field name of kind k.
func fieldOf(k Kind, name string) (fieldSpec, bool) {
	for _, f := range commonFields {
		if f.name == name {
			return f, true
		}
	}
	i := slices.IndexFunc(kindSpecs[k], func(f fieldSpec) bool { return f.name == name })
	if i < 0 {
		return fieldSpec{}, false
	}
	return kindSpecs[k][i], true
}

// docFields are the top-level fields of a flow document.
var docFields = []fieldSpec{
	{name: "flow", typ: tID, doc: "the flow's name, as subflow nodes call it"},
	{name: "description", typ: tString},
	{name: "languages", typ: tString, doc: "languages its prompts must exist in (default zh, yue)"},
	{name: "start", typ: tExit},
	{name: "variables", typ: tString, doc: "name → type"},
	{name: "defaults", typ: tString, doc: "exit name → node id, for every node that leaves that exit unset"},
	{name: "nodes", typ: tString},
}

// defaultable lists the exits a flow's defaults may fill.
var defaultable = []string{"agent", "on_fail", "error", "on_timeout", "not_allowed", "overflow", "leave", "answered", "failed", "locked"}
