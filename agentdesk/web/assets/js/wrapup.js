// wrapup.js: after the call. The queue's dispositions (required where the queue says so),
// notes, the time left, one extension, 需要建工单 (Alt+G: the work-order form, prefilled from
// the call, see workorder-form.js), and submit (Ctrl+Enter), which returns the agent to
// available or to the pause they asked for. The notes draft is kept per call in localStorage,
// so a refresh or a second tab does not lose it.

import * as api from "./api.js";
import { bind } from "./keys.js";
import { duration, h, now, text } from "./format.js";

const $ = (id) => document.getElementById(id);

const draftKey = (id) => `desk.wrapup.${id}`;

function readDraft(id) {
  try {
    return JSON.parse(localStorage.getItem(draftKey(id))) || {};
  } catch {
    return {};
  }
}

function writeDraft(id, d) {
  try {
    localStorage.setItem(draftKey(id), JSON.stringify(d));
  } catch {
    // storage unavailable: the draft lives as long as the page
  }
}

/** createWrapUp wires the wrap-up panel; reasonName names a pause reason code. */
export function createWrapUp({ reasonName, notify }) {
  const panel = $("wrapup");
  const left = $("wrapup-left");
  const callLine = $("wrapup-call");
  const legend = $("disp-legend");
  const list = $("disp-list");
  const notes = $("wrapup-notes");
  const after = $("wrapup-after");
  const submit = $("btn-wrapup-submit");
  const extend = $("btn-wrapup-extend");
  const error = $("wrapup-error");
  const callPanel = $("call-panel");
  const callNotesBox = $("call-notes-box");
  const callNotes = $("call-notes");
  let talkingOn = ""; // the call whose notes are being taken during the conversation

  // 需要建工单: a button and the orders already created from this call.
  const woButton = h("button", { type: "button", class: "btn", id: "btn-wrapup-wo", "aria-controls": "stage" }, "需要建工单", h("kbd", null, "Alt+G"));
  const woDone = h("p", { class: "wrapup-wo-done", id: "wrapup-wo-done", hidden: true });
  after.before(h("div", { class: "wrapup-wo" }, woButton, woDone));

  let w = null; // the snapshot's wrap_up
  let until = "";
  let draft = {};
  let pending = false;

  function setError(e) {
    error.hidden = !e;
    error.textContent = e ? e.message : "";
    error.dataset.reason = e ? e.reason || "" : "";
  }

  function save() {
    if (w) writeDraft(w.call_id, draft);
  }

  function chosen() {
    const r = list.querySelector("input[name=disposition]:checked");
    return r ? r.value : "";
  }

  async function doSubmit() {
    if (!w || pending) return false;
    const disposition = chosen();
    if (w.disposition_required && !disposition) {
      setError({ message: "请先选择话后小结", reason: "" });
      const first = list.querySelector("input");
      if (first) first.focus();
      return;
    }
    pending = true;
    setError(null);
    submit.disabled = true;
    const id = w.call_id;
    try {
      await api.post("/api/agent/wrapup", { disposition, notes: notes.value.trim() });
      try {
        localStorage.removeItem(draftKey(id));
      } catch {
        // nothing kept
      }
    } catch (e) {
      setError(e);
    } finally {
      pending = false;
      submit.disabled = false;
    }
  }

  async function doExtend() {
    if (!w || pending || extend.disabled) return false;
    pending = true;
    setError(null);
    try {
      const st = await api.post("/api/agent/wrapup/extend", { seconds: 30 });
      if (st && st.wrap_up_until) until = st.wrap_up_until;
      draft.extended = true;
      save();
    } catch (e) {
      setError(e);
    } finally {
      pending = false;
      render();
    }
  }

  async function openOrderForm() {
    if (!w) return false;
    const callId = w.call_id;
    try {
      const form = await import("./workorder-form.js");
      await form.openWorkOrderForm({
        api, notify: notify || (() => {}), host: $("stage"), callId, notes: notes.value.trim(),
        onCreated(o) {
          if (w && w.call_id === callId) {
            // The queue's 已建工单 disposition, when it has one and none is chosen yet.
            const r = list.querySelector('input[name=disposition][value="work_order"]');
            if (r && !chosen()) {
              r.checked = true;
              r.dispatchEvent(new Event("change", { bubbles: true }));
            }
            showOrders(callId);
            submit.focus();
          }
        },
        onClose() {
          if (w) woButton.focus();
        },
      });
    } catch (e) {
      setError({ message: `工单表单无法打开：${e.message}`, reason: "" });
    }
  }

  async function showOrders(callId) {
    let made = [];
    try {
      made = (await import("./workorder-form.js")).createdFor(callId);
    } catch {
      // none shown
    }
    if (!w || w.call_id !== callId) return;
    woDone.hidden = made.length === 0;
    text(woDone, made.length ? `已建工单：${made.map((o) => o.number).join("、")}` : "");
    text(woButton.firstChild, made.length ? "再建一张工单" : "需要建工单");
  }

  woButton.addEventListener("click", openOrderForm);
  bind("Alt+G", () => (w ? openOrderForm() : false));
  submit.addEventListener("click", doSubmit);
  extend.addEventListener("click", doExtend);
  callNotes.addEventListener("input", () => {
    if (!talkingOn) return;
    const d = readDraft(talkingOn);
    d.notes = callNotes.value;
    writeDraft(talkingOn, d);
  });
  notes.addEventListener("input", () => {
    draft.notes = notes.value;
    save();
  });
  list.addEventListener("change", () => {
    draft.disposition = chosen();
    save();
    setError(null);
  });
  // Ctrl+Enter in a work-order form submits that form, not the wrap-up.
  const inOrderForm = (e) => !!(e.target && e.target.closest && e.target.closest(".wo-create, .wo-action-form"));
  bind("Ctrl+Enter", (e) => (w && !inOrderForm(e) ? doSubmit() : false));
  bind("Alt+Y", () => (w ? doExtend() : false));
  // Number keys pick a disposition while the notes are not being typed in.
  document.addEventListener("keydown", (e) => {
    if (!w || e.ctrlKey || e.altKey || e.metaKey || !/^[1-9]$/.test(e.key)) return;
    if (e.target.closest && e.target.closest("input[type=text], textarea, input:not([type]), .wo-create, .wo-root")) return;
    if (!document.getElementById("pause-menu").hidden) return;
    const r = list.querySelectorAll("input[name=disposition]")[Number(e.key) - 1];
    if (r) {
      e.preventDefault();
      r.checked = true;
      r.dispatchEvent(new Event("change", { bubbles: true }));
      r.focus();
    }
  });

  function render() {
    extend.disabled = pending || !!draft.extended;
    text(extend.firstChild, draft.extended ? "已延长" : "延长 30 秒");
    tick();
  }

  function tick() {
    if (!w) return;
    const ms = until ? Date.parse(until) - now() : NaN;
    text(left, Number.isNaN(ms) ? "--:--" : duration(ms));
    left.classList.toggle("low", !Number.isNaN(ms) && ms < 15000);
  }

  return {
    update(s) {
      // During the conversation the notes are taken beside the controls, into the same draft.
      const talking = s.status.state === "talking" && s.call ? s.call.id : "";
      if (talking !== talkingOn) {
        talkingOn = talking;
        callNotes.value = talking ? readDraft(talking).notes || "" : "";
      }
      callNotesBox.hidden = !talking;
      const next = s.status.state === "wrap_up" ? s.wrap_up : null;
      panel.hidden = !next;
      callPanel.hidden = !!next;
      if (!next) {
        w = null;
        return;
      }
      until = s.status.wrap_up_until || until;
      const fresh = !w || w.call_id !== next.call_id;
      w = next;
      if (fresh) {
        draft = readDraft(w.call_id);
        notes.value = draft.notes || "";
        setError(null);
        const num = (s.call && s.call.caller_number) || "";
        text(callLine, `${w.queue_name || w.queue_id}${num ? " · " + num : ""}`);
        text(legend, w.disposition_required ? "话后小结（必选）" : "话后小结");
        list.replaceChildren(
          ...w.dispositions.map((d, i) =>
            h("label", { class: "disp" },
              h("input", { type: "radio", name: "disposition", value: d.code, checked: draft.disposition === d.code }),
              h("kbd", null, String(i + 1)), h("span", null, d.name))),
        );
        if (w.dispositions.length === 0) list.append(h("p", { class: "empty" }, "本队列未设置小结"));
        showOrders(w.call_id);
        // The first disposition takes the focus: number keys pick one, Tab goes on to the notes.
        const first = list.querySelector("input:checked") || list.querySelector("input") || notes;
        setTimeout(() => first.focus({ preventScroll: true }), 0);
      }
      text(after, s.status.pending_pause ? `提交后示忙：${reasonName(s.status.pending_pause)}` : "提交后示闲，继续接听来电");
      render();
    },
    tick,
  };
}
