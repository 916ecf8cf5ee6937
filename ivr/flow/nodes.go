package flow

import (
	"fmt"
	"time"
)

// Kind is the kind of a flow node, as written after "kind:" in YAML.
type Kind string

// Node kinds.
const (
	KindPlay     Kind = "play"
	KindMenu     Kind = "menu"
	KindCollect  Kind = "collect"
	KindLookup   Kind = "lookup"
	KindVerify   Kind = "verify"
	KindBranch   Kind = "branch"
	KindSet      Kind = "set"
	KindHours    Kind = "hours"
	KindQueue    Kind = "queue"
	KindCallback Kind = "callback"
	KindRecord   Kind = "record"
	KindSurvey   Kind = "survey"
	KindTransfer Kind = "transfer"
	KindSubflow  Kind = "subflow"
	KindGoto     Kind = "goto"
	KindLanguage Kind = "language"
	KindHangup   Kind = "hangup"
	KindReturn   Kind = "return"
)

// Pos is where something was written: a file and a 1-based line.
type Pos struct {
	File string
	Line int
}

// String formats the position as file:line.
func (p Pos) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// Exit is a named way out of a node. To is the node it leads to, or nil for an
// optional exit the flow does not use (an exit the engine can take is never nil
// in a validated flow). The engine records Name in the call's IVR path.
type Exit struct {
	// Name is the exit's name: "next", "found", a menu key such as "1", "case_2", "else" …
	Name string
	// To is the node the exit leads to.
	To Node
	// Input reports whether the exit is taken only after the caller pressed a key (or spoke
	// to an agent); every cycle in a flow must contain such an exit.
	Input bool
	// Pos is where the exit was written, or where the flow's default was written.
	Pos Pos

	target   string // node id, resolved after parsing
	owner    string // id of the node the exit leaves
	required bool
}

// Node is one step of a flow. The engine switches on the concrete type: *Play, *Menu,
// *Collect, *Lookup, *Verify, *Branch, *Set, *Hours, *Queue, *Callback, *Record, *Survey,
// *Transfer, *Subflow, *Goto, *Language, *Hangup or *Return.
type Node interface {
	// ID returns the node's id, unique in its flow.
	ID() string
	// Kind returns the node's kind.
	Kind() Kind
	// Pos returns where the node was written.
	Pos() Pos
	// Description returns the node's optional description.
	Description() string
	// Exits returns the node's exits in a fixed order, wired or not.
	Exits() []*Exit
	// PromptLists returns every static prompt list of the node, for manifest checks.
	PromptLists() []Prompts
}

// header holds what every node has.
type header struct {
	id, desc string
	kind     Kind
	pos      Pos
}

// ID returns the node's id.
func (h *header) ID() string { return h.id }

// Kind returns the node's kind.
func (h *header) Kind() Kind { return h.kind }

// Pos returns where the node was written.
func (h *header) Pos() Pos { return h.pos }

// Description returns the node's description.
func (h *header) Description() string { return h.desc }

// PromptLists returns no prompt lists; kinds that play prompts override it.
func (h *header) PromptLists() []Prompts { return nil }

// ItemKind says what a prompt item plays.
type ItemKind string

// Prompt item kinds: a recorded prompt by id, a spoken value, or a prompt whose id is computed.
const (
	ItemPrompt  ItemKind = "id"     // a prompt id, e.g. bills/intro
	ItemAmount  ItemKind = "amount" // money in fen, read as 元角分
	ItemNumber  ItemKind = "number" // a cardinal, optionally with a measure word
	ItemDigits  ItemKind = "digits" // a digit string, one digit at a time
	ItemDate    ItemKind = "date"   // a date (time.Time)
	ItemMonth   ItemKind = "month"  // a year and month (time.Time), e.g. a bill's period
	ItemTime    ItemKind = "time"   // a time of day (time.Time)
	ItemDynamic ItemKind = "prompt" // an expression giving a prompt id, e.g. an item name
)

// PromptItem is one element of a prompt list.
type PromptItem struct {
	Kind ItemKind
	// ID is the prompt id of an ItemPrompt.
	ID string
	// Value is the expression of a spoken value or of a dynamic prompt id.
	Value *Expr
	// Last, for digits, reads only the last Last characters (0 reads all).
	Last int
	// Unit, for a number, is the measure word fragment that follows it (unit/ge …), or "".
	Unit string
	// Pos is where the item was written.
	Pos Pos
}

// Prompts is an ordered list of prompt items, played one after another.
type Prompts []PromptItem

// Reprompt is what a menu does when the caller presses nothing, or a key with no option.
type Reprompt struct {
	// Prompts is played before the menu's prompts are repeated.
	Prompts Prompts
	// Retries is how many times the menu is repeated before it takes on_fail.
	Retries int
}

// Assign sets a variable to the value of an expression.
type Assign struct {
	Var   *Var
	Value *Expr
}

// Play plays prompts and spoken values, then takes Next.
type Play struct {
	header
	Prompts Prompts
	// BargeIn keeps keys pressed during the prompts for the next menu or collect; when false,
	// they are discarded.
	BargeIn bool
	Next    *Exit
}

// Exits returns the node's exits.
func (n *Play) Exits() []*Exit { return []*Exit{n.Next} }

// PromptLists returns the node's static prompt lists.
func (n *Play) PromptLists() []Prompts { return []Prompts{n.Prompts} }

// Option is one choice of a menu.
type Option struct {
	// Key is the DTMF key: "0"–"9", "*" or "#".
	Key string
	// Label names the choice for people reading the flow and its graph.
	Label string
	// Set is assigned, in order, when the option is chosen.
	Set  []Assign
	Exit *Exit
}

// Menu plays prompts and waits for one key.
type Menu struct {
	header
	Prompts Prompts
	BargeIn bool
	// Options are the choices in the order written.
	Options []*Option
	// Timeout is how long the menu waits for a key after its prompts.
	Timeout time.Duration
	NoInput Reprompt
	NoMatch Reprompt
	// RepeatKey repeats the menu (default "*"); "" when the flow gave that key an option.
	RepeatKey string
	// AgentKey takes the Agent exit (default "0"); "" when the flow gave that key an option.
	AgentKey string
	// Agent is taken on AgentKey; nil when AgentKey is "".
	Agent  *Exit
	OnFail *Exit
}

// Option returns the option on key, or nil.
func (n *Menu) Option(key string) *Option {
	for _, o := range n.Options {
		if o.Key == key {
			return o
		}
	}
	return nil
}

// Exits returns the node's exits.
func (n *Menu) Exits() []*Exit {
	out := make([]*Exit, 0, len(n.Options)+2)
	for _, o := range n.Options {
		out = append(out, o.Exit)
	}
	return append(out, n.Agent, n.OnFail)
}

// PromptLists returns the node's static prompt lists.
func (n *Menu) PromptLists() []Prompts {
	return []Prompts{n.Prompts, n.NoInput.Prompts, n.NoMatch.Prompts}
}

// Collect reads a string of digits into a variable.
type Collect struct {
	header
	Prompts Prompts
	BargeIn bool
	// Into receives the validated input: a string, or an int (fen) for amount, or a date.
	Into *Var
	// Min and Max bound the number of keys.
	Min, Max int
	// Terminator ends the input early ("#" by default, "" for none).
	Terminator        string
	FirstDigitTimeout time.Duration
	InterDigitTimeout time.Duration
	OverallTimeout    time.Duration
	Validate          Validator
	// Sensitive input never reaches logs, traces or call records in clear: only its length.
	Sensitive bool
	// Personal input (a third party's mobile, an account number) is recorded by its last four
	// digits only.
	Personal bool
	// Retries is how many more tries the caller gets after a bad or missing input.
	Retries        int
	InvalidPrompts Prompts
	NoInputPrompts Prompts
	Next           *Exit
	OnFail         *Exit
}

// Exits returns the node's exits.
func (n *Collect) Exits() []*Exit { return []*Exit{n.Next, n.OnFail} }

// PromptLists returns the node's static prompt lists.
func (n *Collect) PromptLists() []Prompts {
	return []Prompts{n.Prompts, n.InvalidPrompts, n.NoInputPrompts}
}

// Arg is a named argument of a lookup.
type Arg struct {
	Name  string
	Value *Expr
}

// Lookup asks a data source and binds its result.
type Lookup struct {
	header
	Source *Source
	Args   []Arg
	// Into receives the result when Found is taken; nil when the result is not kept.
	Into *Var
	// Timeout bounds the lookup (Options.LookupTimeout, else 2 s, when the node sets none);
	// OnTimeout is taken when it expires.
	Timeout time.Duration
	// Filler is played when the lookup takes longer than FillerAfter.
	Filler      Prompts
	FillerAfter time.Duration
	Found       *Exit
	NotFound    *Exit
	// NotAllowed is nil for sources that never refuse.
	NotAllowed *Exit
	OnError    *Exit
	OnTimeout  *Exit
}

// Exits returns the node's exits.
func (n *Lookup) Exits() []*Exit {
	return []*Exit{n.Found, n.NotFound, n.NotAllowed, n.OnError, n.OnTimeout}
}

// PromptLists returns the node's static prompt lists.
func (n *Lookup) PromptLists() []Prompts { return []Prompts{n.Filler} }

// Verify performs real-name verification: an ID number and the phone-service PIN, collected
// inside the node (sensitive), Tries times at most per call.
type Verify struct {
	header
	IDPrompts      Prompts
	PINPrompts     Prompts
	InvalidPrompts Prompts
	// Tries is how many ID+PIN attempts the caller gets in this call (at most 3).
	Tries             int
	FirstDigitTimeout time.Duration
	InterDigitTimeout time.Duration
	// Into receives the verified citizen; nil when not kept.
	Into       *Var
	OK         *Exit
	Failed     *Exit
	Locked     *Exit
	NotAllowed *Exit
	OnError    *Exit
}

// Exits returns the node's exits.
func (n *Verify) Exits() []*Exit {
	return []*Exit{n.OK, n.Failed, n.Locked, n.NotAllowed, n.OnError}
}

// PromptLists returns the node's static prompt lists.
func (n *Verify) PromptLists() []Prompts {
	return []Prompts{n.IDPrompts, n.PINPrompts, n.InvalidPrompts}
}

// Case is one condition of a branch.
type Case struct {
	When *Expr
	Exit *Exit
}

// Branch takes the exit of the first case whose condition holds, else Else.
type Branch struct {
	header
	Cases []Case
	Else  *Exit
}

// Exits returns the node's exits.
func (n *Branch) Exits() []*Exit {
	out := make([]*Exit, 0, len(n.Cases)+1)
	for _, c := range n.Cases {
		out = append(out, c.Exit)
	}
	return append(out, n.Else)
}

// Set assigns variables in order, then takes Next.
type Set struct {
	header
	Vars []Assign
	Next *Exit
}

// Exits returns the node's exits.
func (n *Set) Exits() []*Exit { return []*Exit{n.Next} }

// Hours takes Open or Closed by a business-hours calendar.
type Hours struct {
	header
	Calendar string
	Open     *Exit
	Closed   *Exit
}

// Exits returns the node's exits.
func (n *Hours) Exits() []*Exit { return []*Exit{n.Open, n.Closed} }

// Queue waits in a skill queue for an agent.
type Queue struct {
	header
	// Queue is the queue id (one per skill).
	Queue    string
	Priority int
	// Prompts is played on entering the queue.
	Prompts Prompts
	// AnnounceEvery is the period of the position and estimated-wait announcements.
	AnnounceEvery time.Duration
	// MOH is the music-on-hold class.
	MOH string
	// LeaveKey leaves the queue by Leave (to leave a message or ask for a callback); "" for none.
	LeaveKey string
	// MaxWait is how long the caller waits before Overflow.
	MaxWait time.Duration
	// Answered is taken when the conversation with the agent ends and the caller is still on
	// the line (the agent hung up first), e.g. for the survey.
	Answered *Exit
	Overflow *Exit
	// Leave is nil when LeaveKey is "".
	Leave *Exit
}

// Exits returns the node's exits.
func (n *Queue) Exits() []*Exit { return []*Exit{n.Answered, n.Overflow, n.Leave} }

// PromptLists returns the node's static prompt lists.
func (n *Queue) PromptLists() []Prompts { return []Prompts{n.Prompts} }

// Callback registers a callback request.
type Callback struct {
	header
	// Number gives the number to call back (a string); the caller's number by default.
	Number *Expr
	// Queue is the queue whose agents call back.
	Queue   string
	Next    *Exit
	OnError *Exit
}

// Exits returns the node's exits.
func (n *Callback) Exits() []*Exit { return []*Exit{n.Next, n.OnError} }

// Record records a message after a beep; it becomes a work order of Category.
type Record struct {
	header
	Prompts   Prompts
	Beep      bool
	MaxLength time.Duration
	// Terminator ends the recording ("#").
	Terminator string
	Category   string
	// Next is taken when something was recorded; OnFail when the recording was empty.
	Next    *Exit
	OnFail  *Exit
	OnError *Exit
}

// Exits returns the node's exits.
func (n *Record) Exits() []*Exit { return []*Exit{n.Next, n.OnFail, n.OnError} }

// PromptLists returns the node's static prompt lists.
func (n *Record) PromptLists() []Prompts { return []Prompts{n.Prompts} }

// Survey asks for a satisfaction level on keys 1 (非常满意) to 5 (非常不满意) and stores it.
type Survey struct {
	header
	Prompts Prompts
	Timeout time.Duration
	Retries int
	// NoMatchPrompts is played after a key outside 1–5 or no key.
	NoMatchPrompts Prompts
	// FollowUpAt flags the call for a follow-up (回访) when the key is at least this level.
	FollowUpAt int
	// Into receives the level (int); nil when not kept.
	Into   *Var
	Next   *Exit
	OnFail *Exit
}

// Exits returns the node's exits.
func (n *Survey) Exits() []*Exit { return []*Exit{n.Next, n.OnFail} }

// PromptLists returns the node's static prompt lists.
func (n *Survey) PromptLists() []Prompts {
	return []Prompts{n.Prompts, n.NoMatchPrompts}
}

// Transfer hands the call to an external number or an endpoint.
type Transfer struct {
	header
	Prompts Prompts
	// Number is an external number to dial; Endpoint a channel endpoint (PJSIP/…). One is set.
	Number   string
	Endpoint string
	// Timeout is how long the far end may ring.
	Timeout time.Duration
	Failed  *Exit
}

// Exits returns the node's exits.
func (n *Transfer) Exits() []*Exit { return []*Exit{n.Failed} }

// PromptLists returns the node's static prompt lists.
func (n *Transfer) PromptLists() []Prompts { return []Prompts{n.Prompts} }

// Subflow runs another flow and continues at Next when it returns.
type Subflow struct {
	header
	Flow string
	Next *Exit
}

// Exits returns the node's exits.
func (n *Subflow) Exits() []*Exit { return []*Exit{n.Next} }

// Goto jumps to Target.
type Goto struct {
	header
	Target *Exit
}

// Exits returns the node's exits.
func (n *Goto) Exits() []*Exit { return []*Exit{n.Target} }

// Language sets the call's prompt language: Lang, or the value of From.
type Language struct {
	header
	Lang string
	From *Expr
	Next *Exit
}

// Exits returns the node's exits.
func (n *Language) Exits() []*Exit { return []*Exit{n.Next} }

// Hangup plays a goodbye and ends the call.
type Hangup struct {
	header
	Prompts Prompts
	// Outcome is recorded as the call's outcome when set (self_served, message, error …).
	Outcome string
}

// Exits returns the node's exits.
func (n *Hangup) Exits() []*Exit { return nil }

// PromptLists returns the node's static prompt lists.
func (n *Hangup) PromptLists() []Prompts { return []Prompts{n.Prompts} }

// Return ends a subflow; the calling flow continues. In a flow run at top level it ends the
// call like a hangup without a prompt.
type Return struct {
	header
}

// Exits returns the node's exits.
func (n *Return) Exits() []*Exit { return nil }

// Flow is a validated call flow. It and everything it points to must not be modified.
type Flow struct {
	Name        string
	Description string
	// File is the file the flow was read from.
	File string
	// Languages the flow's prompts must exist in.
	Languages []string
	Start     Node
	// Nodes in the order written.
	Nodes []Node
	// Vars are the declared variables followed by the built-ins.
	Vars []*Var
	// Subflows names the flows this flow calls.
	Subflows []string

	byID   map[string]Node
	varMap map[string]*Var
}

// Node returns the node with id, or nil.
func (f *Flow) Node(id string) Node { return f.byID[id] }

// Var returns the variable name, or nil.
func (f *Flow) Var(name string) *Var { return f.varMap[name] }
