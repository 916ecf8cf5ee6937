// controls.js: the call's buttons and timers. Each button is enabled by what the call's state
// allows, shows its shortcut, and sends POST /api/calls/{id}/control; a refusal shows the
// server's reason under the buttons. Talk time counts from the answer, hold time from the hold.

import * as api from "./api.js";
import { bind } from "./keys.js";
import { duration, h, now, since, text } from "./format.js";

const $ = (id) => document.getElementById(id);

// The call's control state (held, muted, consultation) is the snapshot's when it carries it,
// else what the last command answered; it is kept per call in sessionStorage so that a
// refresh shows the hold timer where it was.
const store = {
  key: (id) => `desk.call.${id}`,
  read(id) {
    try {
      return JSON.parse(sessionStorage.getItem(this.key(id))) || {};
    } catch {
      return {};
    }
  },
  write(id, v) {
    try {
      sessionStorage.setItem(this.key(id), JSON.stringify(v));
    } catch {
      // private mode or full: the timer restarts after a refresh, nothing worse
    }
  },
};

const consultNames = { ringing: "正在呼叫第三方…", talking: "正在与第三方通话，市民在保持中", conference: "三方通话中" };

/** createControls wires the call panel. */
export function createControls({ notify }) {
  const el = {
    state: $("call-state"), number: $("call-number"), talk: $("talk-time"), holdTimer: $("hold-timer"), hold: $("hold-time"),
    answer: $("btn-answer"), reject: $("btn-reject"), holdBtn: $("btn-hold"), mute: $("btn-mute"), transfer: $("btn-transfer"), keypadBtn: $("btn-keypad"),
    hangup: $("btn-hangup"), callbackNote: $("callback-note"), consult: $("consult"), consultState: $("consult-state"), complete: $("btn-complete"),
    conference: $("btn-conference"), cancelConsult: $("btn-cancel-consult"), error: $("control-error"),
    form: $("transfer"), targets: $("targets"), numberField: $("number-field"), number_: $("transfer-number"),
    transferNote: $("transfer-note"), transferGo: $("btn-transfer-go"), transferClose: $("btn-transfer-close"),
    keypad: $("keypad"), keypadKeys: $("keypad-keys"), keypadSent: $("keypad-sent"),
  };
  let snap = null;
  let call = null; // {id, connected_at, …} of the call in conversation
  let ctl = {}; // {held, heldSince, muted, consult}
  let pending = false;
  let targets = null; // GET /api/transfer-targets, once per panel opening
  let selected = null; // {kind, value, label}
  let shown = []; // the targets listed
  let sent = "";
  let shownFor = ""; // the call the controls last showed

  function callID() {
    return call && call.id;
  }

  function setError(e) {
    if (!e) {
      el.error.hidden = true;
      el.error.textContent = "";
      delete el.error.dataset.reason;
      return;
    }
    el.error.textContent = e.message;
    el.error.dataset.reason = e.reason || "";
    el.error.dataset.status = String(e.status || 0);
    el.error.hidden = false;
  }

  const actionNames = {
    answer: "接听", reject: "拒接", hold: "保持", resume: "恢复", mute: "静音", unmute: "取消静音", hangup: "挂断", dtmf: "发送按键",
    transfer: "转接", consult: "咨询", complete: "完成转接", cancel_consult: "取消咨询", conference: "三方通话",
  };

  async function control(body, then) {
    const decide = body.action === "answer" || body.action === "reject";
    // A callback rings before its call exists: it is answered by its offer.
    const byOffer = decide && snap && snap.offer && snap.offer.kind === "callback";
    const id = byOffer ? String(snap.offer.id) : decide ? snap && snap.offer && snap.offer.call_id : callID();
    if (!id || pending) return;
    pending = true;
    setError(null);
    render();
    try {
      const res = byOffer
        ? await api.post(`/api/offers/${encodeURIComponent(id)}/${body.action}`, {})
        : await api.post(`/api/calls/${encodeURIComponent(id)}/control`, body);
      learn(id, body.action, res);
      if (then) then(res);
    } catch (e) {
      setError({ message: `${actionNames[body.action] || body.action}未成功：${refusal(e, body.action)}`, reason: e.reason, status: e.status });
    } finally {
      pending = false;
      render();
    }
  }

  // learn keeps the call's control state from a command's answer (a CallState) or, when it
  // answers nothing useful, from the command that succeeded.
  function learn(id, action, res) {
    if (id !== callID()) return;
    const next = { ...ctl };
    if (res && typeof res === "object" && ("held" in res || "muted" in res)) {
      next.held = !!res.held;
      next.muted = !!res.muted;
      next.consult = res.consult || "";
    } else {
      if (action === "hold") next.held = true;
      if (action === "resume") next.held = false;
      if (action === "mute") next.muted = true;
      if (action === "unmute") next.muted = false;
      if (action === "consult") next.consult = "ringing";
      if (action === "cancel_consult") next.consult = "";
      if (action === "conference") next.consult = "conference";
    }
    if (next.held && !ctl.held) next.heldSince = new Date(now()).toISOString();
    if (!next.held) next.heldSince = "";
    ctl = next;
    store.write(id, ctl);
  }

  const talking = () => !!(snap && snap.status.state === "talking" && call);
  const ringing = () => !!(snap && snap.offer);

  function render() {
    const t = talking();
    const consult = ctl.consult || "";
    el.answer.disabled = pending || !ringing();
    el.reject.disabled = pending || !ringing();
    // A callback's citizen was called by the hotline: nothing to hold them in or send them to.
    const cb = !!(call && call.callback);
    el.holdBtn.disabled = pending || !t || !!consult || cb;
    el.mute.disabled = pending || !t;
    el.transfer.disabled = pending || !t || !!consult || cb;
    el.holdBtn.title = cb ? "回拨通话不能保持" : "";
    el.transfer.title = cb ? "回拨通话不能转接" : "";
    el.callbackNote.hidden = !(t && cb);
    el.keypadBtn.disabled = pending || !t;
    el.hangup.disabled = pending || !t;
    el.holdBtn.firstChild.textContent = ctl.held ? "恢复" : "保持";
    el.mute.firstChild.textContent = ctl.muted ? "取消静音" : "静音";
    el.holdBtn.classList.toggle("on", !!ctl.held);
    el.mute.classList.toggle("on", !!ctl.muted);
    el.consult.hidden = !t || !consult;
    text(el.consultState, consultNames[consult] || "");
    el.complete.disabled = pending || consult !== "talking";
    el.conference.disabled = pending || consult !== "talking";
    el.cancelConsult.disabled = pending || !consult || consult === "conference";
    if (!t) {
      closeTransfer();
      closeKeypad();
    }
    let state = "无通话";
    const st = snap ? snap.status.state : "offline";
    if (ringing()) state = snap.offer.kind === "callback" ? `${snap.offer.work_order_id ? "回访" : "回拨"}振铃` : "来电振铃";
    else if (t && call.callback) state = ctl.muted ? "回拨通话中 · 已静音" : "回拨通话中";
    else if (t) state = consult === "conference" ? "三方通话" : consult ? "咨询中" : ctl.held ? "保持中" : ctl.muted ? "通话中 · 已静音" : "通话中";
    else if (st === "wrap_up") state = "通话已结束";
    else if (st === "talking") state = "正在呼叫市民…";
    text(el.state, state);
    el.state.dataset.state = ringing() ? "ringing" : t ? (ctl.held ? "held" : "talking") : st;
    const num = (snap && snap.offer && snap.offer.caller_number) || (call && call.caller_number) || "";
    text(el.number, num);
    tick();
  }

  function tick() {
    text(el.talk, call && call.connected_at ? duration(since(call.connected_at)) : "--:--");
    const held = talking() && ctl.held;
    el.holdTimer.hidden = !held;
    if (held) text(el.hold, duration(since(ctl.heldSince)));
  }

  // Transfer panel.
  const formValue = (name) => (el.form.querySelector(`input[name=${name}]:checked`) || {}).value;

  async function openTransfer() {
    if (el.transfer.disabled) return false;
    closeKeypad();
    el.form.hidden = false;
    el.transfer.setAttribute("aria-expanded", "true");
    selected = null;
    targets = null;
    renderTargets();
    try {
      targets = (await api.get("/api/transfer-targets")) || {};
    } catch (e) {
      targets = { error: e };
    }
    renderTargets();
    const first = el.targets.querySelector("button") || (el.numberField.hidden ? el.form.querySelector("input[name=mode]:checked") : el.number_);
    if (!el.form.hidden && first) first.focus();
  }

  function closeTransfer() {
    if (el.form.hidden) return false;
    el.form.hidden = true;
    el.transfer.setAttribute("aria-expanded", "false");
  }

  function targetList(kind) {
    if (!targets || targets.error) return [];
    const of = (names) => {
      for (const n of names) if (Array.isArray(targets[n])) return targets[n];
      return [];
    };
    if (kind === "queue")
      return of(["queues"]).map((q) => ({ kind, value: q.id, label: q.name, note: q.waiting !== undefined ? `排队 ${q.waiting} · 空闲 ${q.agents_available ?? "—"}` : "" }));
    if (kind === "agent")
      return of(["agents"]).map((a) => ({
        kind, value: a.endpoint, id: a.id, label: a.display_name || a.username, note: a.state === "available" ? "空闲" : stateName(a.state),
        off: a.state && a.state !== "available",
      }));
    if (kind === "number")
      return of(["numbers", "directory", "departments"]).map((d) => ({ kind, value: d.number || d.phone, label: d.name, note: d.number || d.phone }));
    if (kind === "flow") return of(["flows"]).map((f) => ({ kind, value: f.id || f.flow, label: f.name || f.id }));
    return [];
  }

  function renderTargets() {
    const mode = formValue("mode");
    const kind = formValue("kind");
    // A blind transfer goes to a queue, an agent (reserved for them, then their queue), a number
    // or a flow; a consultation to an agent or a number.
    for (const input of el.form.querySelectorAll("input[name=kind]")) {
      const ok = mode === "consult" ? input.value === "agent" || input.value === "number" : true;
      input.disabled = !ok;
      input.parentElement.classList.toggle("off", !ok);
    }
    if (el.form.querySelector("input[name=kind]:checked").disabled) {
      el.form.querySelector(`input[name=kind][value=${mode === "consult" ? "agent" : "queue"}]`).checked = true;
      return renderTargets();
    }
    el.numberField.hidden = kind !== "number";
    const items = targetList(kind);
    el.targets.replaceChildren(
      ...items.map((t, i) =>
        h("li", null,
          h("button", { type: "button", role: "option", class: "target" + (t.off ? " off" : ""), data: { i: String(i) }, "aria-selected": selected && selected.value === t.value ? "true" : "false" },
            h("span", { class: "t-name" }, t.label), t.note ? h("span", { class: "t-note" }, t.note) : null))),
    );
    el.targets.hidden = items.length === 0;
    let note = "";
    if (!targets) note = "正在读取转接目标…";
    else if (targets.error) note = targets.error.status === 404 ? "转接目标列表暂不可用" + (kind === "number" ? "，请输入号码" : "") : `转接目标读取失败：${targets.error.message}`;
    else if (items.length === 0) note = kind === "number" ? "目录为空，请输入号码" : "暂无可选目标";
    text(el.transferNote, note);
    el.transferGo.firstChild.textContent = mode === "consult" ? "呼叫咨询" : "转接";
    shown = items;
  }

  el.form.addEventListener("change", () => {
    selected = null;
    renderTargets();
  });
  el.targets.addEventListener("click", (e) => {
    const b = e.target.closest("button[data-i]");
    if (!b) return;
    selected = shown[Number(b.dataset.i)];
    el.number_.value = "";
    renderTargets();
  });
  el.form.addEventListener("submit", (e) => {
    e.preventDefault();
    const mode = formValue("mode");
    const kind = formValue("kind");
    let target = null;
    const typed = el.number_.value.trim();
    if (kind === "number" && typed) target = { number: typed };
    else if (selected && selected.kind === "agent" && mode === "transfer") target = { agent: selected.id };
    else if (selected) {
      target = { [{ queue: "queue", agent: "endpoint", number: "number", flow: "flow" }[selected.kind]]: selected.value };
    }
    if (!target) {
      setError({ message: "请先选择转接目标", reason: "" });
      return;
    }
    control({ action: mode, transfer: target }, () => closeTransfer());
  });
  el.transferClose.addEventListener("click", () => {
    closeTransfer();
    el.transfer.focus();
  });
  bind("Escape", () => {
    if (closeTransfer() === false && closeKeypad() === false) return false;
    el.transfer.focus();
  });

  // Keypad: digits played to the caller's side.
  const keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];
  el.keypadKeys.replaceChildren(...keys.map((k) => h("button", { type: "button", class: "key", data: { digit: k } }, k)));
  function dtmf(d) {
    control({ action: "dtmf", digits: d }, () => {
      sent = (sent + d).slice(-20);
      text(el.keypadSent, `已发送 ${sent}`);
    });
  }
  el.keypadKeys.addEventListener("click", (e) => {
    const b = e.target.closest("button[data-digit]");
    if (b) dtmf(b.dataset.digit);
  });
  function openKeypad() {
    if (el.keypadBtn.disabled) return false;
    if (!el.keypad.hidden) return closeKeypad();
    closeTransfer();
    sent = "";
    text(el.keypadSent, "");
    el.keypad.hidden = false;
    el.keypadBtn.setAttribute("aria-expanded", "true");
  }
  function closeKeypad() {
    if (el.keypad.hidden) return false;
    el.keypad.hidden = true;
    el.keypadBtn.setAttribute("aria-expanded", "false");
  }
  document.addEventListener("keydown", (e) => {
    if (el.keypad.hidden || e.ctrlKey || e.altKey || e.metaKey) return;
    if (e.target.closest && e.target.closest("input, textarea, select")) return;
    if (/^[0-9*#]$/.test(e.key)) {
      e.preventDefault();
      dtmf(e.key);
    }
  });

  // Buttons and their keys.
  const actions = {
    answer: () => !el.answer.disabled && control({ action: "answer" }),
    reject: () => !el.reject.disabled && control({ action: "reject" }),
    hold: () => !el.holdBtn.disabled && control({ action: ctl.held ? "resume" : "hold" }),
    mute: () => !el.mute.disabled && control({ action: ctl.muted ? "unmute" : "mute" }),
    transfer: () => (el.form.hidden ? openTransfer() : closeTransfer()),
    keypad: () => openKeypad(),
    hangup: () => !el.hangup.disabled && control({ action: "hangup" }),
    complete: () => !el.complete.disabled && control({ action: "complete" }),
    conference: () => !el.conference.disabled && control({ action: "conference" }),
    cancel_consult: () => !el.cancelConsult.disabled && control({ action: "cancel_consult" }),
  };
  for (const b of document.querySelectorAll("#call-panel button[data-action]")) {
    b.addEventListener("click", () => actions[b.dataset.action]());
  }
  const key = (shortcut, action, button) =>
    bind(shortcut, () => {
      if (button.disabled) return false;
      actions[action]();
    });
  key("F8", "answer", el.answer);
  key("F9", "hangup", el.hangup);
  key("Alt+R", "reject", el.reject);
  key("Alt+H", "hold", el.holdBtn);
  key("Alt+M", "mute", el.mute);
  key("Alt+T", "transfer", el.transfer);
  key("Alt+K", "keypad", el.keypadBtn);
  key("Alt+J", "complete", el.complete);
  key("Alt+C", "conference", el.conference);
  key("Alt+X", "cancel_consult", el.cancelConsult);

  return {
    update(s) {
      snap = s;
      const next = s.status.state === "talking" && s.call ? s.call : null;
      if ((next && next.id) !== (call && call.id)) ctl = next ? store.read(next.id) : {};
      // A refusal stays while the call is in the state it was refused in (queue counts
      // update often); answering, hanging up or another call clears it.
      const about = `${s.status.state}:${(s.offer && (s.offer.call_id || `offer:${s.offer.id}`)) || (next && next.id) || ""}`;
      if (about !== shownFor) {
        shownFor = about;
        setError(null);
      }
      call = next;
      // The snapshot's word on the call's control state wins over what the desk remembers.
      if (call && ("held" in call || "muted" in call || "consult" in call)) {
        const was = ctl.held;
        ctl = { ...ctl, held: !!call.held, muted: !!call.muted, consult: call.consult || "" };
        if (call.held_since) ctl.heldSince = call.held_since;
        else if (ctl.held && !was) ctl.heldSince = new Date(now()).toISOString();
        if (!ctl.held) ctl.heldSince = "";
        store.write(call.id, ctl);
      }
      render();
    },
    tick,
  };
}

// refusal says why the server refused a command: its reason in Chinese when the desk knows
// it, else as the server gave it.
function refusal(e, action) {
  if (action === "answer" && (e.status === 400 || e.status === 404)) return "请在话机上接听来电";
  if (action === "reject" && (e.status === 400 || e.status === 404)) return "请在话机上拒接来电";
  for (const [en, zh] of transferRefusals) if (e.reason && e.reason.includes(en)) return zh;
  return api.translate(e.reason) || e.reason || e.message;
}

// transferRefusals are the reasons a transfer to a named agent is refused, in Chinese.
const transferRefusals = [
  ["to yourself", "不能转接给自己"],
  ["the agent is logged out", "该坐席未登录"],
  ["the agent lacks the queue's skill", "该坐席没有这个队列的技能"],
  ["the agent has no phone", "该坐席没有配置话机"],
  ["no such agent", "没有这个坐席"],
];

function stateName(s) {
  return { available: "空闲", ringing: "振铃", talking: "通话中", wrap_up: "话后处理", paused: "示忙", missed: "未接", offline: "未登录" }[s] || s || "";
}
