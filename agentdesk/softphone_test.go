package agentdesk_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	neturl "net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/bcrypt"

	"github.com/foshan-hotline/hotline/agentdesk"
	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
	"github.com/foshan-hotline/hotline/sipua"
	"github.com/foshan-hotline/hotline/sipua/siptest"
	"github.com/foshan-hotline/hotline/sipua/softphone"
)

// phones gives every agent of the test a softphone line registered as their endpoint's
// number (PJSIP/1001 → 1001) at a test SIP server, as cmd/hotline does from the database.
type phones struct {
	*softphone.Lines
	db *sqlx.DB
}

func (p phones) Online(ctx context.Context, agentID int64) error {
	var endpoint string
	if err := p.db.GetContext(ctx, &endpoint, `SELECT endpoint FROM hotline.agents WHERE id = $1`, agentID); err != nil {
		return err
	}
	_, user, _ := strings.Cut(endpoint, "/")
	return p.Lines.Online(agentID, softphone.Account{User: user, Password: "pw-" + user})
}

// softphoneDesk is a desk whose agents' phones are softphones registered at a test SIP server.
func softphoneDesk(t testing.TB) (*siptest.Server, *softphone.Lines) {
	srv, err := siptest.Start(context.Background(), siptest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	lines, err := softphone.New(softphone.Options{Registrar: "sip:" + srv.Addr("udp")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lines.Close)
	return srv, lines
}

// audioSocket opens c's softphone websocket.
func (c *client) audioSocket(t testing.TB) (*websocket.Conn, error) {
	hdr := http.Header{}
	for _, ck := range c.http.Jar.Cookies(mustParse(c.d.t, c.base)) {
		hdr.Add("Cookie", ck.Name+"="+ck.Value)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(c.base, "http")+"/api/agent/softphone",
		&websocket.DialOptions{HTTPHeader: hdr})
	return conn, err
}

func pcmBytes(pcm []int16) []byte {
	b := make([]byte, 2*len(pcm))
	for i, v := range pcm {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	return b
}

func pcmOf(b []byte) []int16 {
	pcm := make([]int16, len(b)/2)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return pcm
}

// goertzel returns the share of pcm's energy at freq Hz.
func goertzel(pcm []int16, freq float64) float64 {
	k := 2 * math.Cos(2*math.Pi*freq/sipua.SampleRate)
	var s1, s2, total float64
	for _, v := range pcm {
		x := float64(v)
		s1, s2 = x+k*s1-s2, s1
		total += x * x
	}
	if total == 0 {
		return 0
	}
	return 2 * (s1*s1 + s2*s2 - k*s1*s2) / (float64(len(pcm)) * total)
}

type pcmKeeper struct {
	mu  sync.Mutex
	pcm []int16
}

func (k *pcmKeeper) Write(pcm []int16) error {
	k.mu.Lock()
	k.pcm = append(k.pcm, pcm...)
	k.mu.Unlock()
	return nil
}

// An agent with a softphone logs in: their line registers; over the audio websocket the desk
// sees it ring, the agent talks with the caller both ways, a refresh (a new socket)
// re-attaches to the call in progress; logging out removes the registration.
func TestSoftphoneThroughTheDesk(t *testing.T) {
	d := newDesk(t)
	srv, lines := softphoneDesk(t)
	d.srv = d.newServer(d.states, func(o *agentdesk.Options) { o.Phones = phones{Lines: lines, db: d.db} })
	d.web.Config.Handler = d.srv.Handler()

	// Without a line: 404 with the reason.
	sup := d.login("admin")
	if _, err := sup.audioSocket(t); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("audio socket of a user without a softphone: %v", err)
	}

	agent := d.login("agent01")
	line := lines.Line(d.ids["agent01"])
	if line == nil {
		t.Fatal("no line after login")
	}
	conn, err := agent.audioSocket(t)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	states := make(chan string, 32)
	var heard pcmKeeper
	go func() {
		for {
			typ, b, err := conn.Read(ctx)
			if err != nil {
				return
			}
			if typ == websocket.MessageBinary {
				heard.Write(pcmOf(b))
				continue
			}
			var m struct {
				Status softphone.Status `json:"status"`
			}
			json.Unmarshal(b, &m)
			states <- m.Status.State
		}
	}()
	waitState := func(want string) {
		t.Helper()
		for {
			select {
			case s := <-states:
				if s == want {
					return
				}
			case <-ctx.Done():
				t.Fatalf("the desk was never told %s", want)
			}
		}
	}
	waitState(softphone.Idle)
	contact, ok := srv.Registered("1001")
	if !ok {
		t.Fatal("agent01's softphone is not registered")
	}

	caller, err := sipua.New(ctx, sipua.Config{From: "12345", Audio: siptest.Tone(440, 4*time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()
	script, _ := sipua.ParseScript("wait:prompt 4s; listen 1500ms; hangup")
	var callerHeard pcmKeeper
	done := make(chan *sipua.Report, 1)
	go func() {
		rep, _ := caller.Call(ctx, strings.Trim(contact, "<>"), script, sipua.CallOptions{Record: &callerHeard})
		done <- rep
	}()
	waitState(softphone.Ringing)
	// The ACD's offer of that call to agent01: the desk's answer button answers the softphone.
	d.exec(`INSERT INTO hotline.skills (id, name) VALUES ('general', '综合')`)
	d.exec(`INSERT INTO hotline.queues (id, name, skill_id) VALUES ('general', '综合咨询', 'general')`)
	const callID = "00000000-0000-4000-8000-0000000000aa"
	d.exec(`INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at) VALUES ($1, 'ast1', 'c1', '12345', now())`, callID)
	d.exec(`INSERT INTO hotline.offers (call_id, agent_id, queue_id, state) VALUES ($1, $2, 'general', 'pending')`, callID, d.ids["agent01"])
	if status, body := agent.do("POST", "/api/calls/"+callID+"/control", `{"action":"answer"}`); status != http.StatusOK {
		t.Fatalf("answer from the desk: %d %s", status, body)
	}
	waitState(softphone.Talking)
	if status, body := agent.do("POST", "/api/calls/"+callID+"/control", `{"action":"answer"}`); status != http.StatusConflict {
		t.Errorf("answering again: %d %s, want 409", status, body)
	}

	// The microphone: 1000 Hz, a frame every 20 ms; halfway, the page is refreshed.
	mic := siptest.Tone(1000, 3*time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := 0; i+softphone.FrameSamples <= len(mic); i += softphone.FrameSamples {
		<-tick.C
		if i == len(mic)/2/softphone.FrameSamples*softphone.FrameSamples {
			conn.Close(websocket.StatusGoingAway, "refresh")
			if conn, err = agent.audioSocket(t); err != nil {
				t.Fatal(err)
			}
			defer conn.CloseNow()
			if line.Status().State != softphone.Talking {
				t.Fatalf("the call did not survive the refresh: %+v", line.Status())
			}
		}
		if err := conn.Write(ctx, websocket.MessageBinary, pcmBytes(mic[i:i+softphone.FrameSamples])); err != nil {
			t.Fatal(err)
		}
	}
	rep := <-done
	if rep == nil || !rep.OK {
		t.Fatalf("the call: %+v", rep)
	}
	if p := goertzel(callerHeard.pcm, 1000); p < 0.5 {
		t.Errorf("the caller heard the agent's microphone at %.2f of the energy", p)
	}
	heard.mu.Lock()
	got := slices.Clone(heard.pcm)
	heard.mu.Unlock()
	if p := goertzel(got, 440); p < 0.5 || len(got) < 4000 {
		t.Errorf("the desk heard the caller at %.2f of the energy, %d samples", p, len(got))
	}

	// A browser sending anything but whole frames is closed with 1003.
	conn2, err := agent.audioSocket(t)
	if err != nil {
		t.Fatal(err)
	}
	conn2.Write(ctx, websocket.MessageText, []byte("hello"))
	if _, _, err := conn2.Read(ctx); websocket.CloseStatus(err) != websocket.StatusUnsupportedData {
		// the first message may be the status; read until the close
		for err == nil {
			_, _, err = conn2.Read(ctx)
		}
		if websocket.CloseStatus(err) != websocket.StatusUnsupportedData {
			t.Errorf("text on the audio socket: %v, want close 1003", err)
		}
	}

	if status, body := agent.do("POST", "/api/logout", ""); status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", status, body)
	}
	if _, ok := srv.Registered("1001"); ok {
		t.Error("still registered after logout")
	}
	if lines.Line(d.ids["agent01"]) != nil {
		t.Error("the line outlived the logout")
	}
}

// BenchmarkSoftphoneBridge measures the delay the softphone bridge adds with 20 agents
// talking at once, over real SIP, RTP and websockets on loopback: down, from the caller's RTP
// sender handing a frame over to the frame arriving at the agent's websocket client; up,
// from the client sending a frame to the caller's RTP receiver getting it (this includes
// waiting for the next 20 ms packet). Markers are loud frames among silence, five a second
// each way per agent, for five seconds. Run it with -benchtime=1x.
func BenchmarkSoftphoneBridge(b *testing.B) {
	const agents = 20
	const run = 5 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url := pgtest.URL(b)
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	hash, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	for i := range agents {
		db.MustExec(`INSERT INTO hotline.agents (username, display_name, role, password_hash, endpoint)
			VALUES ($1, $1, 'agent', $2, $3)`, fmt.Sprintf("sp%02d", i), string(hash), fmt.Sprintf("PJSIP/%d", 2001+i))
	}
	sipSrv, lines := softphoneDesk(b)
	srv, err := agentdesk.New(agentdesk.Options{DB: db, DatabaseURL: url, States: newFakeStates(),
		Phones: phones{Lines: lines, db: db}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Sessions: postgres.SessionOptions{PasswordCost: bcrypt.MinCost}})
	if err != nil {
		b.Fatal(err)
	}
	go srv.Run(ctx)
	web := httptest.NewServer(srv.Handler())
	defer web.Close()
	caller, err := sipua.New(ctx, sipua.Config{From: "12345"})
	if err != nil {
		b.Fatal(err)
	}
	defer caller.Close()

	loud := pcmBytes(siptest.Tone(1000, 20*time.Millisecond))
	silence := make([]byte, 2*softphone.FrameSamples)
	isLoud := func(pcm []int16) bool {
		var sum int64
		for _, v := range pcm {
			sum += int64(max(v, -v))
		}
		return sum/int64(max(len(pcm), 1)) > 1500
	}
	var mu sync.Mutex
	var down, up []time.Duration
	var wg sync.WaitGroup
	b.ResetTimer()
	for i := range agents {
		jar, _ := cookiejar.New(nil)
		hc := &http.Client{Jar: jar}
		res, err := hc.Post(web.URL+"/api/login", "application/json",
			strings.NewReader(fmt.Sprintf(`{"username":"sp%02d","password":"pw"}`, i)))
		if err != nil || res.StatusCode != http.StatusOK {
			b.Fatalf("login: %v %v", err, res)
		}
		res.Body.Close()
		hdr := http.Header{}
		base, _ := neturl.Parse(web.URL)
		for _, ck := range jar.Cookies(base) {
			hdr.Add("Cookie", ck.Name+"="+ck.Value)
		}
		conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(web.URL, "http")+"/api/agent/softphone",
			&websocket.DialOptions{HTTPHeader: hdr})
		if err != nil {
			b.Fatal(err)
		}
		defer conn.CloseNow()
		user := fmt.Sprint(2001 + i)
		var contact string
		for contact == "" {
			c, ok := sipSrv.Registered(user)
			if ok {
				contact = c
			} else {
				time.Sleep(10 * time.Millisecond)
			}
		}
		var id int64
		db.Get(&id, `SELECT id FROM hotline.agents WHERE username = $1`, fmt.Sprintf("sp%02d", i))
		line := lines.Line(id)

		// The caller: a loud frame every 200 ms, timed as the RTP sender takes it.
		var downSent, upSent time.Time
		var lastDown time.Time
		source := func(frame []int16) bool {
			if time.Since(lastDown) < 200*time.Millisecond {
				return false
			}
			lastDown = time.Now()
			copy(frame, pcmOf(loud))
			mu.Lock()
			downSent = lastDown
			mu.Unlock()
			return true
		}
		record := writerFunc(func(pcm []int16) error {
			if isLoud(pcm) {
				mu.Lock()
				if !upSent.IsZero() {
					up = append(up, time.Since(upSent))
					upSent = time.Time{}
				}
				mu.Unlock()
			}
			return nil
		})
		script, _ := sipua.ParseScript(fmt.Sprintf("listen %dms; hangup", run.Milliseconds()+500))
		wg.Go(func() {
			caller.Call(ctx, strings.Trim(contact, "<>"), script, sipua.CallOptions{Source: source, Record: record})
		})
		for line.Status().State != softphone.Ringing {
			time.Sleep(5 * time.Millisecond)
		}
		if err := line.Answer(); err != nil {
			b.Fatal(err)
		}
		// The browser: reads the caller, sends a frame every 20 ms, a loud one every 200 ms.
		wg.Go(func() {
			for {
				typ, msg, err := conn.Read(ctx)
				if err != nil {
					return
				}
				if typ == websocket.MessageBinary && isLoud(pcmOf(msg)) {
					mu.Lock()
					if !downSent.IsZero() {
						down = append(down, time.Since(downSent))
						downSent = time.Time{}
					}
					mu.Unlock()
				}
			}
		})
		wg.Go(func() {
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			end := time.Now().Add(run)
			for n := 0; time.Now().Before(end); n++ {
				<-tick.C
				frame := silence
				if n%10 == 5 {
					frame = loud
					mu.Lock()
					upSent = time.Now()
					mu.Unlock()
				}
				if conn.Write(ctx, websocket.MessageBinary, frame) != nil {
					return
				}
			}
			time.Sleep(time.Second)
			conn.Close(websocket.StatusNormalClosure, "")
		})
	}
	wg.Wait()
	b.StopTimer()
	pct := func(d []time.Duration, p float64) float64 {
		if len(d) == 0 {
			return math.NaN()
		}
		s := slices.Clone(d)
		slices.Sort(s)
		return float64(s[int(p*float64(len(s)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(down, 0.5), "down-p50-ms")
	b.ReportMetric(pct(down, 0.99), "down-p99-ms")
	b.ReportMetric(pct(up, 0.5), "up-p50-ms")
	b.ReportMetric(pct(up, 0.99), "up-p99-ms")
	b.ReportMetric(float64(len(down)+len(up)), "markers")
}

// writerFunc is a sipua.PCMWriter.
type writerFunc func([]int16) error

func (f writerFunc) Write(pcm []int16) error { return f(pcm) }
