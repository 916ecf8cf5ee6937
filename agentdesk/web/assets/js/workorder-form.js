// workorder-form.js: a new work order from a call, opened from the wrap-up (需要建工单). It
// is prefilled from the call (caller, citizen, the IVR journey, the category the queue
// suggests, a title) and shows, as the category and urgency change, the deadline the order
// would get now. A department chosen as 主办 dispatches the order at once. The form opens
// at the top of the desk's stage, so that the card, the knowledge base (whose 复制 pastes
// into the description) and the wrap-up stay at hand; its draft survives a refresh.

import { h, text } from "./format.js";
import { categories, departments, dueLine, options, pasteTarget, urgencies } from "./workorders.js";

const draftKey = (callId) => `desk.workorder.${callId}`;
const createdKey = (callId) => `desk.workorder.created.${callId}`;

function read(key) {
  try {
    return JSON.parse(localStorage.getItem(key));
  } catch {
    return null;
  }
}

function write(key, v) {
  try {
    if (v === null) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify(v));
  } catch {
    // storage unavailable: the draft lives as long as the page
  }
}

/** createdFor returns the work orders created from a call on this desk [{id, number}]. */
export function createdFor(callId) {
  const v = read(createdKey(callId));
  return Array.isArray(v) ? v : [];
}

let open = null; // the open form: {callId, el, focus}

/** isOpen reports whether the form is open. */
export function isOpen() {
  return !!(open && open.el.isConnected);
}

/** close closes the form (its draft is kept). */
export function close() {
  if (open) {
    open.stop();
    open.el.remove();
    open = null;
  }
}

/**
 * openWorkOrderForm opens the form for a call in host (the stage), prefilled from the server;
 * notes fill the description when there is no draft. onCreated(order) follows a creation.
 */
export async function openWorkOrderForm({ api, notify, host, callId, notes, onCreated, onClose }) {
  if (open && open.callId === callId && open.el.isConnected) {
    open.focus();
    return;
  }
  close();
  const draft = read(draftKey(callId)) || {};
  const err = h("p", { class: "refusal", role: "alert", hidden: true });
  const el = h("section", { class: "wo-create panel", "aria-label": "新建工单", data: { call: callId } },
    h("header", { class: "wo-create-head" }, h("h2", null, "新建工单"), h("p", { class: "wa-note" }, "正在读取来电信息…")));
  // Under the ringing banner, which stays on top when the next call comes.
  const ring = host.querySelector(".ring");
  if (ring) ring.after(el);
  else host.prepend(el);
  el.scrollIntoView({ block: "start" });
  const stop = pasteTarget(el, notify, () => el.isConnected);
  open = { callId, el, stop, focus: () => el.querySelector("select, input, textarea")?.focus() };
  const mine = open;

  let pre;
  let ds = [];
  try {
    [pre, ds] = await Promise.all([
      api.get("/api/work-orders/prefill?call_id=" + encodeURIComponent(callId)),
      departments(api).catch(() => []),
    ]);
  } catch (e) {
    if (open !== mine) return;
    el.replaceChildren(h("header", { class: "wo-create-head" }, h("h2", null, "新建工单")),
      h("p", { class: "refusal", role: "alert", data: { reason: e.reason || "" } }, `无法读取来电信息：${e.message}`),
      closeButton());
    return;
  }
  if (open !== mine) return;

  const v = (k, dflt) => (draft[k] !== undefined ? draft[k] : dflt);
  const caller = h("input", { name: "caller_number", class: "mono", maxlength: "20", inputmode: "tel", autocomplete: "off", value: v("caller_number", pre.caller_number || "") });
  const category = h("select", { name: "category", required: true }, options(categories, "选择分类", v("category", pre.category || "")));
  const urgency = h("select", { name: "urgency" }, options(urgencies, null, v("urgency", "normal")));
  const due = h("p", { class: "wo-due-line", "aria-live": "polite" });
  const lead = h("select", { name: "department_id" }, h("option", { value: "" }, "暂不派单（由班长派单）"),
    ...ds.map((d) => h("option", { value: String(d.id), selected: String(d.id) === String(v("department_id", "")) }, d.name)));
  const coSet = new Set((v("co", []) || []).map(String));
  const co = h("details", { class: "wo-co-box", hidden: !lead.value },
    h("summary", null, "协办部门（可选）", h("span", { class: "wo-co-count" })),
    h("div", { class: "wo-co" }, ...ds.map((d) => h("label", { class: "wo-check" },
      h("input", { type: "checkbox", name: "co", value: String(d.id), checked: coSet.has(String(d.id)) }), d.name))));
  const confidential = h("input", { type: "checkbox", name: "confidential", checked: !!v("confidential", false) });
  const title = h("input", { name: "title", maxlength: "100", required: true, autocomplete: "off", value: v("title", pre.title || "") });
  const description = h("textarea", { name: "description", rows: "5", maxlength: "4000", required: true, data: { paste: "工单描述" },
    placeholder: "市民诉求：时间、地点、事由、要求；可从知识库复制" });
  description.value = v("description", notes || "");
  const submit = h("button", { type: "submit", class: "btn primary" }, "建立工单", h("kbd", null, "Ctrl+Enter"));
  const cancel = h("button", { type: "button", class: "btn quiet" }, "关闭", h("kbd", null, "Esc"));

  const citizen = pre.citizen
    ? [pre.citizen.name, pre.citizen.id_number_mask ? h("span", { class: "mono wo-mask" }, pre.citizen.id_number_mask) : null]
    : [h("span", { class: "muted" }, "未注册号码")];

  const f = h("form", { class: "wo-create-form", novalidate: true, "aria-label": "新建工单" },
    h("div", { class: "wo-grid" },
      h("label", { class: "wo-field" }, h("span", null, "来电号码"), caller),
      h("div", { class: "wo-field" }, h("span", null, "市民"), h("p", { class: "wo-static" }, ...citizen)),
      h("label", { class: "wo-field" }, h("span", null, "分类", h("em", null, "（必填）")), category),
      h("label", { class: "wo-field" }, h("span", null, "紧急程度"), urgency)),
    due,
    h("div", { class: "wo-grid" },
      h("label", { class: "wo-field wo-lead" }, h("span", null, "主办部门"), lead)),
    co,
    h("label", { class: "wo-check wo-secret" }, confidential, "保密", h("span", { class: "field-hint" }, "承办部门看不到来电人的号码和身份")),
    h("label", { class: "wo-field" }, h("span", null, "标题", h("em", null, "（必填）")), title),
    h("label", { class: "wo-field" }, h("span", null, "描述", h("em", null, "（必填）")), description),
    pre.journey_summary ? h("p", { class: "wo-journey" }, h("span", { class: "wo-k" }, "自助语音"), pre.journey_summary) : null,
    err,
    h("div", { class: "form-buttons" }, submit, cancel));

  el.replaceChildren(
    h("header", { class: "wo-create-head" }, h("h2", null, "新建工单"),
      h("p", { class: "wa-note" }, "已带入来电信息，可修改")),
    f);

  function save() {
    write(draftKey(callId), {
      caller_number: caller.value, category: category.value, urgency: urgency.value, department_id: lead.value,
      co: [...f.querySelectorAll("input[name=co]:checked")].map((c) => c.value),
      confidential: confidential.checked, title: title.value, description: description.value,
    });
  }

  let dueSeq = 0;
  async function showDue() {
    const seq = ++dueSeq;
    if (!category.value) {
      due.dataset.kind = "";
      text(due, "选择分类后显示办理期限");
      return;
    }
    try {
      const r = await api.get("/api/work-orders/due?" + new URLSearchParams({ category: category.value, urgency: urgency.value }).toString());
      if (seq !== dueSeq) return;
      due.dataset.kind = "ok";
      text(due, `办理期限：${dueLine(r)}`);
    } catch (e) {
      if (seq !== dueSeq) return;
      due.dataset.kind = "error";
      text(due, `办理期限读取未成功：${e.message}`);
    }
  }

  function countCo() {
    const n = f.querySelectorAll("input[name=co]:checked").length;
    text(co.querySelector(".wo-co-count"), n ? `：已选 ${n} 家` : "");
  }

  f.addEventListener("input", save);
  f.addEventListener("change", (e) => {
    save();
    if (e.target === category || e.target === urgency) showDue();
    if (e.target === lead) co.hidden = !lead.value;
    countCo();
    err.hidden = true;
  });
  f.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      e.stopPropagation();
      f.requestSubmit();
    } else if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      done();
    }
  });
  cancel.addEventListener("click", done);

  function done() {
    close();
    if (onClose) onClose();
  }

  function closeButton() {
    const b = h("button", { type: "button", class: "btn quiet" }, "关闭", h("kbd", null, "Esc"));
    b.addEventListener("click", done);
    el.addEventListener("keydown", (e) => e.key === "Escape" && done());
    setTimeout(() => b.focus(), 0);
    return b;
  }

  let sending = false;
  f.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (sending) return;
    for (const [field, name] of [[category, "分类"], [title, "标题"], [description, "描述"]]) {
      if (!field.value.trim()) {
        err.hidden = false;
        err.textContent = `请填写${name}`;
        err.dataset.reason = "";
        field.focus();
        return;
      }
    }
    const body = {
      caller_number: caller.value.trim(), category: category.value, urgency: urgency.value,
      title: title.value.trim(), description: description.value.trim(), confidential: confidential.checked,
    };
    if (pre.call_id || callId) body.call_id = pre.call_id || callId;
    if (pre.citizen && pre.citizen.id) body.citizen_id = pre.citizen.id;
    if (lead.value) {
      body.department_id = Number(lead.value);
      body.co_department_ids = [...f.querySelectorAll("input[name=co]:checked")].map((c) => Number(c.value)).filter((id) => id !== body.department_id);
    }
    sending = true;
    submit.disabled = true;
    err.hidden = true;
    try {
      const o = await api.post("/api/work-orders", body);
      write(draftKey(callId), null);
      write(createdKey(callId), createdFor(callId).concat([{ id: o.id, number: o.number }]));
      notify(`已建工单 ${o.number}${o.department ? "，已派至" + o.department.name : ""}`);
      close();
      if (onCreated) onCreated(o);
    } catch (e2) {
      err.hidden = false;
      err.textContent = `建立未成功：${e2.message}`;
      err.dataset.reason = e2.reason || "";
    } finally {
      sending = false;
      submit.disabled = false;
    }
  });

  countCo();
  showDue();
  (category.value ? title : category).focus();
}
