// prompts.js: supervisors see every prompt of the IVR with its text per language, listen to
// it, and change it — a new text the server speaks with the same pipeline as the shipped
// prompts, or an uploaded recording — and publish again the flows that play it, so that new
// calls hear the change while calls in progress keep the old sound.

import * as api from "./api.js";
import { h, text } from "./format.js";

const $ = (id) => document.getElementById(id);

let data = null; // GET /api/prompts
let selected = "";
let csrf = "";

// Chinese for the reasons the prompts API gives.
const reasons = [
  ["ASCII digits", "文本不能含阿拉伯数字：请用汉字写数字（如 一二三四五）"],
  ["empty text", "文本不能为空"],
  ["leading or trailing spaces", "文本首尾不能有空格"],
  ["control characters", "文本含有控制字符"],
  ["cannot read this text", "该语种的语音不能朗读此文本（会切换成其他语言），请改写"],
  ["not a recording sox can read", "不是可识别的音频文件"],
  ["too short", "录音太短"],
  ["too long", "录音超过 60 秒"],
  ["larger than", "文件超过 8 MiB"],
  ["not JSON", "请上传音频文件"],
  ["audio/*", "请上传音频文件（WAV、MP3 等）"],
  ["is a tone", "这是提示音调，不是语音：请上传录音"],
  ["shipped", "已是原始录音"],
  ["newest revisions already", "所有流程已在播放最新的提示音"],
];

function explain(e) {
  for (const [en, zh] of reasons) {
    if (e.reason && e.reason.includes(en)) return zh;
  }
  return e.message;
}

function showError(msg) {
  $("pr-error").textContent = msg;
  $("pr-error").hidden = !msg;
}

function langName(code) {
  const l = data.languages.find((x) => x.code === code);
  return l ? l.name : code;
}

function audioURL(id, lang, revision) {
  const q = new URLSearchParams({ prompt: id, lang });
  if (revision !== undefined) q.set("revision", String(revision));
  return `/api/prompts/audio?${q}`;
}

function play(id, lang, revision) {
  const a = $("pr-audio");
  a.src = audioURL(id, lang, revision);
  a.dataset.prompt = `${lang}/${id}`;
  a.play().catch(() => {}); // a browser that refuses to play without a gesture still shows the player
}

// pendingOf lists the flows that do not play a prompt's newest revisions yet.
function pendingOf(p) {
  const out = new Set();
  for (const r of Object.values(p.revisions)) for (const f of r.pending || []) out.add(f);
  return [...out].sort();
}

function badge(rev) {
  if (!rev) return null;
  const pending = (rev.pending || []).length > 0;
  if (rev.source === "shipped") return pending ? h("span", { class: "pr-badge pending", title: "恢复原音，待重新发布流程" }, "恢复·待发布") : null;
  const what = rev.source === "upload" ? "已上传" : "已修改";
  return h("span", { class: `pr-badge${pending ? " pending" : ""}`, title: pending ? `待发布：${rev.pending.join("、")}` : "已生效" },
    pending ? `${what}·待发布` : what);
}

function row(p) {
  const cells = data.languages.map((l) => {
    const has = p.tone || p.texts[l.code] !== undefined;
    if (!has) return h("td", { class: "pr-none" }, "—");
    return h("td", { data: { lang: l.code } },
      h("button", { type: "button", class: "pr-play", title: `试听${l.name}`, "aria-label": `试听${l.name}`, data: { play: l.code } }, "▶"),
      p.tone ? "（提示音调）" : p.texts[l.code], badge(p.revisions[l.code]));
  });
  return h("tr", { data: { id: p.id }, class: p.id === selected ? "selected" : null },
    h("td", { class: "id" }, p.id), cells, h("td", { class: "pr-flows" }, p.flows.join("、") || "—"));
}

function matches(p, q, changedOnly) {
  if (changedOnly && Object.keys(p.revisions).length === 0) return false;
  if (!q) return true;
  if (p.id.toLowerCase().includes(q)) return true;
  return Object.values(p.texts).some((t) => t.toLowerCase().includes(q)) ||
    Object.values(p.shipped).some((t) => t.toLowerCase().includes(q));
}

function renderList() {
  const q = $("pr-q").value.trim().toLowerCase();
  const changedOnly = $("pr-changed").checked;
  const shown = data.prompts.filter((p) => matches(p, q, changedOnly));
  $("pr-rows").replaceChildren(...shown.map(row));
  text($("pr-count"), `共 ${data.prompts.length} 条，显示 ${shown.length} 条`);
}

function langBlock(p, l) {
  const rev = p.revisions[l.code];
  const changed = rev && rev.source !== "shipped";
  const msg = h("span", { class: "pr-msg pr-result", role: "status" });
  const area = h("textarea", { rows: "2", id: `pr-text-${l.code}`, "aria-label": `${l.name}文本`, spellcheck: "false" });
  area.value = p.tone ? "" : p.texts[l.code] || "";
  if (p.tone) area.disabled = true;
  const say = h("button", { type: "button", class: "btn primary", id: `pr-say-${l.code}` }, "合成并保存");
  say.disabled = p.tone || !data.tools.render;
  if (!data.tools.render) say.title = data.tools.reason || "服务器不能合成语音";
  const file = h("input", { type: "file", accept: "audio/*", id: `pr-file-${l.code}`, class: "pr-file-input" });
  const chosen = h("span", { class: "pr-msg pr-chosen" }, "未选择文件");
  const pick = h("label", { class: "btn", title: "WAV、MP3 等，不超过 60 秒、8 MiB" }, "选择录音…", file);
  file.addEventListener("change", () => text(chosen, file.files[0] ? file.files[0].name : "未选择文件"));
  const up = h("button", { type: "button", class: "btn", id: `pr-upload-${l.code}` }, "上传录音");
  up.disabled = !data.tools.upload;
  if (!data.tools.upload) up.title = data.tools.reason || "服务器不能转换录音";
  const revert = changed ? h("button", { type: "button", class: "btn", id: `pr-revert-${l.code}` }, "恢复原音") : null;
  const listen = h("button", { type: "button", class: "btn", data: { play: l.code } }, "试听");
  const listenShipped = changed ? h("button", { type: "button", class: "btn", data: { play: l.code, revision: "0" } }, "试听原音") : null;

  say.addEventListener("click", () => act(msg, () => api.post("/api/prompts/text", { prompt: p.id, lang: l.code, text: area.value.trim() })));
  up.addEventListener("click", () => {
    const f = file.files[0];
    if (!f) {
      msg.className = "pr-msg pr-result bad";
      msg.textContent = "请先选择录音文件";
      return;
    }
    act(msg, () => upload(p.id, l.code, f, area.value.trim() !== (p.texts[l.code] || "") ? area.value.trim() : ""));
  });
  if (revert) revert.addEventListener("click", () => act(msg, () => api.post("/api/prompts/revert", { prompt: p.id, lang: l.code })));

  let who = null;
  if (rev) {
    const when = new Date(rev.created_at).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false });
    const how = { render: "修改文本并合成", upload: "上传录音", shipped: "恢复原音" }[rev.source];
    who = h("p", { class: "pr-shipped" }, `${rev.created_by || "系统"} 于 ${when} ${how}`);
  }
  return h("fieldset", { class: "pr-lang", data: { lang: l.code } }, h("legend", null, l.name), area,
    changed && p.shipped[l.code] !== undefined && p.shipped[l.code] !== p.texts[l.code] ? h("p", { class: "pr-shipped" }, `原文：${p.shipped[l.code]}`) : null,
    who, h("div", { class: "pr-actions" }, listen, listenShipped, say),
    h("div", { class: "pr-actions" }, pick, chosen, up, revert), h("div", { class: "pr-actions" }, msg));
}

function renderEditor() {
  const p = data.prompts.find((x) => x.id === selected);
  $("pr-editor").hidden = !p;
  if (!p) return;
  text($("pr-title"), p.id);
  text($("pr-flows"), p.flows.length ? `使用它的流程：${p.flows.join("、")}` : "没有流程直接使用（朗读金额、日期、号码等时拼接播放）");
  const langs = data.languages.filter((l) => p.tone || p.texts[l.code] !== undefined);
  $("pr-langs").replaceChildren(...langs.map((l) => langBlock(p, l)));
  showHistory(p);
  const pending = pendingOf(p);
  $("pr-publish").hidden = pending.length === 0;
  text($("pr-pending"), `以下流程的已发布版本仍在播放修改前的提示音：${pending.join("、")}`);
}

// showHistory lists the prompt's revisions, each one playable.
async function showHistory(p) {
  const rows = $("pr-history-rows");
  let r;
  try {
    r = await api.get(`/api/prompts/history?prompt=${encodeURIComponent(p.id)}`);
  } catch (e) {
    rows.replaceChildren(h("tr", null, h("td", { colspan: "6" }, `读取失败：${e.message}`)));
    return;
  }
  if (p.id !== selected) return;
  $("pr-history").hidden = r.revisions.length === 0;
  rows.replaceChildren(...r.revisions.map((v) => h("tr", null,
    h("td", null, new Date(v.created_at).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false })),
    h("td", null, langName(v.lang)),
    h("td", null, { render: "合成", upload: "上传", shipped: "恢复原音" }[v.source] || v.source),
    h("td", null, v.text || "—"),
    h("td", null, v.created_by || "—"),
    h("td", null, v.source === "shipped" ? null : h("button", { type: "button", class: "pr-play", title: "试听此版本", "aria-label": "试听此版本",
      data: { play: v.lang, revision: String(v.id) } }, "▶")))));
}

async function upload(id, lang, file, txt) {
  const q = new URLSearchParams({ prompt: id, lang });
  if (txt) q.set("text", txt);
  const type = file.type && file.type.startsWith("audio/") ? file.type : "application/octet-stream";
  let resp;
  try {
    resp = await fetch(`/api/prompts/upload?${q}`, { method: "POST", body: file, credentials: "same-origin",
      headers: { "Content-Type": type, "X-CSRF-Token": csrf, Accept: "application/json" } });
  } catch (e) {
    throw new api.ApiError(0, "network", String(e));
  }
  const body = await resp.json().catch(() => null);
  if (!resp.ok) throw new api.ApiError(resp.status, body && body.error, body && body.reason);
  return body;
}

async function act(msg, fn) {
  msg.className = "pr-msg pr-result";
  msg.textContent = "处理中…";
  try {
    const rev = await fn();
    await reload();
    document.body.dataset.saved = String(rev.id);
    const m = document.querySelector(`#pr-langs fieldset[data-lang="${rev.lang}"] .pr-result`);
    if (m) m.textContent = rev.source === "shipped" ? "已恢复原音，重新发布流程后生效" : "已保存，重新发布流程后生效";
  } catch (e) {
    msg.className = "pr-msg pr-result bad";
    msg.textContent = `未保存：${explain(e)}`;
  }
}

async function publish() {
  const btn = $("pr-publish-btn");
  btn.disabled = true;
  $("pr-publish-result").replaceChildren(h("li", null, "正在检查、测试并发布…"));
  try {
    const r = await api.post("/api/prompts/publish", { prompt: selected });
    const items = r.flows.map((f) => h("li", { class: f.version ? null : "bad" },
      f.version ? `${f.flow}：已发布版本 ${f.version}` : `${f.flow}：${f.reason}`));
    await reload();
    $("pr-publish").hidden = false;
    $("pr-publish-result").replaceChildren(...items);
    document.body.dataset.published = r.flows.filter((f) => f.version).map((f) => f.flow).join(",");
  } catch (e) {
    $("pr-publish-result").replaceChildren(h("li", { class: "bad" }, `未发布：${explain(e)}`));
  } finally {
    btn.disabled = false;
  }
}

async function reload() {
  data = await api.get("/api/prompts");
  const t = $("pr-tools");
  t.classList.toggle("missing", !data.tools.render);
  text(t, data.tools.render ? "服务器已安装 espeak-ng 与 sox：修改文本后自动合成语音（8 kHz 单声道），也可上传录音（不超过 60 秒、8 MiB）。"
    : `${data.tools.reason}。`);
  renderList();
  renderEditor();
}

function select(id) {
  selected = id;
  for (const tr of $("pr-rows").children) tr.classList.toggle("selected", tr.dataset.id === id);
  renderEditor();
  history.replaceState(null, "", `?prompt=${encodeURIComponent(id)}`);
}

async function main() {
  try {
    const me = await api.get("/api/me");
    csrf = me.csrf_token;
    api.setCsrfToken(csrf);
    data = await api.get("/api/prompts");
  } catch (e) {
    if (e.status === 401) return location.replace("/desk/login?why=session_expired");
    showError(`提示音读取失败：${e.message}`);
    return;
  }
  $("pr-head").replaceChildren(h("th", null, "编号"), ...data.languages.map((l) => h("th", null, l.name)), h("th", null, "使用流程"));
  selected = new URLSearchParams(location.search).get("prompt") || "";
  await reload();
  $("pr-q").addEventListener("input", renderList);
  $("pr-changed").addEventListener("change", renderList);
  $("pr-filter").addEventListener("submit", (e) => e.preventDefault());
  $("pr-rows").addEventListener("click", (e) => {
    const tr = e.target.closest("tr");
    if (!tr) return;
    const b = e.target.closest("button[data-play]");
    if (b) play(tr.dataset.id, b.dataset.play);
    select(tr.dataset.id);
  });
  for (const id of ["pr-langs", "pr-history-rows"]) {
    $(id).addEventListener("click", (e) => {
      const b = e.target.closest("button[data-play]");
      if (b) play(selected, b.dataset.play, b.dataset.revision);
    });
  }
  $("pr-publish-btn").addEventListener("click", publish);
  document.body.dataset.ready = "true";
}

main();
