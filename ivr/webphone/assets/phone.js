// The browser phone: one websocket per call (dial?caller=…&token=…) carries the
// simulator's events of that call; prompts play from an audio queue that
// follows play/stop events, and captions appear as each prompt starts.

const page = document.body.dataset;
const speed = Number(page.speed) || 1;
const soundPrefix = "sound:" + page.soundRoot + "/";
const $ = (id) => document.getElementById(id);
const ui = {
  number: $("number"), dial: $("dial"), hangup: $("hangup"), state: $("state"),
  timer: $("timer"), captions: $("captions"), log: $("log"), pad: $("pad"),
  citizens: $("citizens"), error: $("error"), lang: $("lang"),
};
const langNames = { zh: "普通话", yue: "粤语", en: "English" };
const causes = { 16: "正常挂断", 17: "用户忙", 18: "无响应", 19: "无应答", 21: "呼叫被拒绝", 34: "线路拥塞" };

let captions = { texts: {}, fallback: "zh", fragments: new Set(), tones: new Set() };
fetch("captions.json")
  .then((r) => r.json())
  .then((c) => { captions = { ...c, fragments: new Set(c.fragments), tones: new Set(c.tones) }; })
  .catch(() => logLine("字幕文本加载失败，字幕将显示提示音编号", "warn"));

let audio = null; // AudioContext, created on the first dial (a user gesture)
let call = null;  // the current call
const buffers = new Map(); // url → Promise<AudioBuffer|null>
// heard lists what the page played in the current call, in order, and whether it was audible
// (decoded and sent to the audio output): for tests and the curious.
const heard = (window.webphoneHeard = []);

// ---- audio queue -------------------------------------------------------

// Player plays prompts one after another in the order the simulator
// played them, showing each one's caption as it starts. Playing at the
// page's own pace keeps the order when the simulator runs faster than
// real time (Speed > 1); at Speed 1 the two stay together.
class Player {
  constructor() { this.queue = []; this.current = null; this.busy = false; }

  add(ev) {
    const item = { ev, buf: ev.url ? loadSound(ev.url) : Promise.resolve(null) };
    this.queue.push(item);
    this.pump();
  }

  async pump() {
    if (this.busy) return;
    this.busy = true;
    while (this.queue.length) {
      this.current = this.queue.shift();
      await this.play(this.current);
      this.current = null;
    }
    this.busy = false;
    endSpeaking();
  }

  async play(item) {
    const buffer = await item.buf;
    if (item.cut) return;
    item.line = showCaption(item.ev);
    item.heard = { media: item.ev.media, audio: Boolean(buffer && audio), cut: false };
    heard.push(item.heard);
    await new Promise((done) => {
      item.done = done;
      let ms = item.ev.duration_ms || 0;
      if (buffer && audio) {
        const src = audio.createBufferSource();
        src.buffer = buffer;
        src.connect(audio.destination);
        src.onended = done;
        item.src = src;
        src.start();
        ms = buffer.duration * 1000 + 400; // a watchdog in case the output is suspended
      }
      item.timer = setTimeout(done, ms);
    });
    clearTimeout(item.timer);
  }

  // stop cuts playback id: its queued prompts are dropped and the one
  // playing, if it is one of them, stops.
  stop(id) {
    this.queue = this.queue.filter((it) => it.ev.playback_id !== id);
    if (this.current && this.current.ev.playback_id === id) cut(this.current);
  }

  clear() {
    this.queue = [];
    if (this.current) cut(this.current);
  }
}

function cut(item) {
  item.cut = true;
  if (item.heard) item.heard.cut = true;
  if (item.line) item.line.classList.add("cut");
  if (item.src) { try { item.src.stop(); } catch { /* not started */ } }
  if (item.done) item.done();
}

function loadSound(url) {
  if (!buffers.has(url)) {
    const p = fetch("sounds/" + url.replace(/^\/sounds\//, ""))
      .then((r) => { if (!r.ok) throw new Error(r.status); return r.arrayBuffer(); })
      .then((b) => (audio ? audio.decodeAudioData(b) : null))
      .catch(() => { logLine("无法加载提示音 " + url, "warn"); buffers.delete(url); return null; });
    buffers.set(url, p);
  }
  return buffers.get(url);
}

// keyTone plays the two DTMF frequencies of a key for feedback.
function keyTone(key) {
  if (!audio) return;
  const rows = { 1: 697, 2: 697, 3: 697, 4: 770, 5: 770, 6: 770, 7: 852, 8: 852, 9: 852, "*": 941, 0: 941, "#": 941 };
  const cols = { 1: 1209, 4: 1209, 7: 1209, "*": 1209, 2: 1336, 5: 1336, 8: 1336, 0: 1336, 3: 1477, 6: 1477, 9: 1477, "#": 1477 };
  const gain = audio.createGain();
  gain.gain.value = 0.08;
  gain.connect(audio.destination);
  for (const f of [rows[key], cols[key]]) {
    const o = audio.createOscillator();
    o.frequency.value = f;
    o.connect(gain);
    o.start();
    o.stop(audio.currentTime + 0.12);
  }
}

// ---- captions ----------------------------------------------------------

let fragmentLine = null; // the caption line consecutive fragments join

function promptID(media) {
  return media && media.startsWith(soundPrefix) ? media.slice(soundPrefix.length) : null;
}

function showCaption(ev) {
  const id = promptID(ev.media);
  const lang = ev.lang || captions.fallback;
  ui.captions.querySelector(".placeholder")?.remove();
  endSpeaking();
  if (id && captions.fragments.has(id)) {
    const text = textOf(id, lang) ?? "〔" + id + "〕";
    if (fragmentLine) {
      fragmentLine.querySelector(".text").textContent += text;
      fragmentLine.title += " " + id;
      fragmentLine.classList.add("speaking");
      return fragmentLine;
    }
    fragmentLine = addCaption(text, lang, id, "value");
    return fragmentLine;
  }
  fragmentLine = null;
  if (id && captions.tones.has(id)) return addCaption("（提示音）", lang, id, "tone");
  const text = id ? textOf(id, lang) : null;
  if (text != null) return addCaption(text, lang, id, "");
  return addCaption("〔" + (id || ev.media) + "〕", lang, id || ev.media, "raw");
}

function textOf(id, lang) {
  const t = captions.texts[lang]?.[id] ?? captions.texts[captions.fallback]?.[id];
  return t ?? null;
}

function addCaption(text, lang, title, kind) {
  const li = document.createElement("li");
  li.className = "line speaking " + kind;
  li.title = title;
  const tag = document.createElement("span");
  tag.className = "tag";
  tag.textContent = langNames[lang] || lang;
  const span = document.createElement("span");
  span.className = "text";
  span.textContent = text;
  li.append(tag, span);
  ui.captions.append(li);
  ui.captions.scrollTop = ui.captions.scrollHeight;
  if (langNames[lang]) { ui.lang.textContent = langNames[lang]; ui.lang.hidden = false; }
  return li;
}

function endSpeaking() {
  for (const li of ui.captions.querySelectorAll(".speaking")) li.classList.remove("speaking");
}

// ---- log and state -----------------------------------------------------

function logLine(text, kind = "") {
  const li = document.createElement("li");
  li.className = kind;
  const t = document.createElement("time");
  t.textContent = call ? "+" + ((performance.now() - call.t0) / 1000).toFixed(1) + "s" : "—";
  const span = document.createElement("span");
  span.textContent = text;
  li.append(t, span);
  ui.log.append(li);
  while (ui.log.children.length > 300) ui.log.firstChild.remove();
  ui.log.scrollTop = ui.log.scrollHeight;
}

function setState(state, text) {
  ui.state.dataset.state = state;
  ui.state.textContent = text;
  const live = state === "calling" || state === "ringing" || state === "up";
  ui.dial.disabled = live;
  ui.hangup.disabled = !live;
  ui.number.disabled = live;
  document.body.classList.toggle("in-call", live);
}

function tick() {
  if (!call || !call.answeredAt) return;
  const s = Math.floor((performance.now() - call.answeredAt) / 1000);
  ui.timer.textContent = String(Math.floor(s / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
}

function showError(text) {
  ui.error.textContent = text;
  ui.error.hidden = !text;
}

// ---- the call ----------------------------------------------------------

function dial() {
  if (call && !call.ended) return;
  const number = ui.number.value.trim();
  if (!/^\d{3,20}$/.test(number)) { showError("请输入 3–20 位数字的主叫号码"); ui.number.focus(); return; }
  showError("");
  if (!audio) audio = new (window.AudioContext || window.webkitAudioContext)();
  audio.resume();
  if (call) call.player.clear();
  ui.captions.replaceChildren();
  ui.log.replaceChildren();
  heard.length = 0;
  ui.lang.hidden = true;
  fragmentLine = null;
  ui.timer.textContent = "00:00";

  const query = "caller=" + encodeURIComponent(number) + "&token=" + encodeURIComponent(page.token);
  const url = new URL("dial?" + query, location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const c = { ws: new WebSocket(url), player: new Player(), plays: new Map(), t0: performance.now(), ended: false };
  call = c;
  setState("calling", "呼叫中");
  logLine("拨打 " + page.hotline + "，主叫号码 " + number);
  c.ws.onopen = () => { c.opened = true; };
  c.ws.onmessage = (m) => { if (call === c) onEvent(c, JSON.parse(m.data)); };
  c.ws.onclose = () => {
    if (call !== c || c.ended) return;
    // Refused before it opened: most likely the server restarted and the page's token is old.
    if (!c.opened) showError("无法发起呼叫，请刷新页面后重试");
    logLine("与服务器的连接已断开", "warn");
    ended(c, false);
  };
  c.clock = setInterval(tick, 250);
}

function hangup() {
  if (!call || call.ended) return;
  call.player.clear();
  if (call.ws.readyState === WebSocket.OPEN) {
    call.ws.send(JSON.stringify({ type: "hangup" }));
    logLine("挂断");
  } else {
    ended(call, false);
  }
}

function press(key) {
  flash(key);
  if (!call || call.ended || !call.id) {
    if (!ui.number.disabled && ui.number.value.length < 20 && /\d/.test(key)) ui.number.value += key;
    return;
  }
  keyTone(key);
  call.ws.send(JSON.stringify({ type: "dtmf", digits: key }));
  logLine("按键 " + key, "key");
}

function flash(key) {
  const b = ui.pad.querySelector(`[data-key="${CSS.escape(key)}"]`);
  if (!b) return;
  b.classList.add("pressed");
  setTimeout(() => b.classList.remove("pressed"), 150);
}

function ended(c, drain) {
  c.ended = true;
  clearInterval(c.clock);
  tick();
  if (!drain) c.player.clear();
  setState("ended", "已挂断");
}

// The play that a stop follows tells whether the prompt ended by itself
// (stop after its whole duration, in simulated time) or was cut short.
function stoppedEarly(c, ev) {
  const p = c.plays.get(ev.playback_id);
  if (!p) return false;
  const elapsed = (eventTime(ev) - p.at) * speed;
  return elapsed + 60 < p.duration;
}

function eventTime(ev) {
  // Go writes nanoseconds; keep milliseconds for Date.parse.
  return Date.parse(String(ev.time).replace(/(\.\d{3})\d+/, "$1"));
}

function onEvent(c, ev) {
  switch (ev.type) {
    case "call":
      c.id = ev.call_id;
      logLine("呼叫已建立（" + ev.call_id + "）");
      return;
    case "error":
      logLine(ev.message, "warn");
      showError(ev.message);
      if (!c.id) ended(c, false);
      return;
    case "placed": logLine("正在接通热线"); setState("ringing", "振铃"); return;
    case "ringing": logLine("振铃"); setState("ringing", "振铃"); return;
    case "stasis": logLine("热线系统已接收来电"); return;
    case "answered":
      c.answeredAt = performance.now();
      setState("up", "通话中");
      logLine("热线已应答");
      return;
    case "play": {
      c.plays.set(ev.playback_id, { at: eventTime(ev), duration: ev.duration_ms || 0 });
      const id = promptID(ev.media) || ev.media;
      const secs = ev.duration_ms ? "，" + (ev.duration_ms / 1000).toFixed(1) + " 秒" : "";
      logLine("播放 " + id + "（" + (langNames[ev.lang] || ev.lang || "—") + secs + "）", "play");
      c.player.add(ev);
      return;
    }
    case "stop":
      if (stoppedEarly(c, ev)) {
        logLine("播放被打断", "stop");
        c.player.stop(ev.playback_id);
      }
      c.plays.delete(ev.playback_id);
      return;
    case "key": logLine("热线收到按键 " + (ev.digit || ""), "key"); return;
    case "dtmf": logLine("热线发来按键音 " + (ev.digit || ""), "key"); return;
    case "moh": logLine("等待音乐"); addCaption("（等待音乐）", captions.fallback, "moh", "tone"); return;
    case "moh_stop": logLine("等待音乐结束"); return;
    case "hold": logLine("通话保持"); return;
    case "unhold": logLine("恢复通话"); return;
    case "bridged": logLine("已接通坐席" + (ev.peer ? "（" + ev.peer + "）" : "")); return;
    case "unbridged": logLine("坐席通话结束"); return;
    case "hangup":
      logLine("通话结束（原因 " + ev.cause + (causes[ev.cause] ? " " + causes[ev.cause] : "") + "）", "end");
      ended(c, true);
      return;
    default:
      logLine(ev.type);
  }
}

// ---- input -------------------------------------------------------------

ui.citizens.addEventListener("click", (e) => {
  const b = e.target.closest(".citizen");
  if (!b || ui.number.disabled) return;
  for (const x of ui.citizens.querySelectorAll(".citizen.selected")) x.classList.remove("selected");
  b.classList.add("selected");
  ui.number.value = b.dataset.mobile;
  showError("");
});
ui.citizens.addEventListener("dblclick", (e) => { if (e.target.closest(".citizen")) dial(); });
ui.number.addEventListener("input", () => {
  ui.number.value = ui.number.value.replace(/\D/g, "");
  for (const x of ui.citizens.querySelectorAll(".citizen")) x.classList.toggle("selected", x.dataset.mobile === ui.number.value);
});
ui.pad.addEventListener("click", (e) => { const b = e.target.closest("[data-key]"); if (b) press(b.dataset.key); });
ui.dial.addEventListener("click", dial);
ui.hangup.addEventListener("click", hangup);
document.addEventListener("keydown", (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const inCall = call && !call.ended;
  if (e.key === "Enter") { e.preventDefault(); if (!inCall) dial(); return; }
  if (e.key === "Escape") { e.preventDefault(); hangup(); return; }
  if (/^[0-9*#]$/.test(e.key) && (inCall || e.target !== ui.number)) {
    e.preventDefault();
    press(e.key);
  }
});
setState("idle", "空闲");
