// events.js: the events websocket. It hands every snapshot, whole, to onSnapshot; reconnects
// with a growing, jittered delay when the connection drops (and at once when the network
// comes back or the laptop wakes up); and stops for good when the server ends the session.

const endings = new Set(["session_replaced", "logged_out", "session_expired"]);

const minDelay = 500;
const maxDelay = 15000;
// A gap this long between ticks of a one-second timer means the machine slept: the socket
// may be dead without knowing it. A hidden tab's timers are throttled to one a minute, so
// there only a longer gap counts.
const sleepGap = 5000;
const hiddenSleepGap = 90000;

/**
 * connect opens the events websocket.
 * @param {{onSnapshot: function(object, string, string), onConnection: function(string, number), onEnd: function(string)}} handlers
 * onSnapshot(snapshot, serverTime, type) for each snapshot; onConnection(state, delayMs) with
 * state connecting | open | waiting; onEnd(type) when the server ended the session.
 */
export function connect({ onSnapshot, onConnection, onEnd }) {
  let ws = null;
  let attempt = 0;
  let stopped = false;
  let retryTimer = 0;
  let gotMessage = false;
  let lastTick = Date.now();

  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/agent/events";

  function open() {
    clearTimeout(retryTimer);
    if (stopped) return;
    gotMessage = false;
    onConnection("connecting", 0);
    const sock = new WebSocket(url);
    ws = sock;
    sock.addEventListener("message", (ev) => {
      if (sock !== ws) return;
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (endings.has(msg.type)) {
        stopped = true;
        onEnd(msg.type);
        return;
      }
      if ((msg.type === "snapshot" || msg.type === "update") && msg.snapshot) {
        if (!gotMessage) {
          gotMessage = true;
          attempt = 0;
          onConnection("open", 0);
        }
        onSnapshot(msg.snapshot, msg.server_time, msg.type);
      }
    });
    sock.addEventListener("close", () => {
      if (sock !== ws || stopped) return;
      ws = null;
      retry();
    });
  }

  async function retry() {
    // A handshake refused for want of a session looks like any other drop: ask.
    if (!gotMessage) {
      try {
        const r = await fetch("/api/me", { credentials: "same-origin", cache: "no-store" });
        if (r.status === 401) {
          stopped = true;
          onEnd("session_expired");
          return;
        }
      } catch {
        // offline: keep trying
      }
    }
    const base = Math.min(maxDelay, minDelay * 2 ** attempt);
    const delay = Math.round(base / 2 + (Math.random() * base) / 2);
    attempt++;
    onConnection("waiting", delay);
    retryTimer = setTimeout(open, delay);
  }

  function reconnectNow() {
    if (stopped) return;
    attempt = 0;
    if (ws) {
      const old = ws;
      ws = null;
      old.close();
    }
    open();
  }

  window.addEventListener("online", () => {
    if (!ws) reconnectNow();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && !ws) reconnectNow();
  });
  setInterval(() => {
    const t = Date.now();
    const gap = document.visibilityState === "visible" ? sleepGap : hiddenSleepGap;
    if (t - lastTick > gap) reconnectNow();
    lastTick = t;
  }, 1000);

  open();
  return {
    reconnectNow,
    close() {
      stopped = true;
      clearTimeout(retryTimer);
      if (ws) ws.close();
    },
  };
}
