// recordings.js: supervisors find recordings of conversations and voice messages by date,
// queue, agent and caller number (shown masked), play them in the page and download them;
// the server audits every play and download.

import * as api from "./api.js";
import { h, text, date, hm, duration } from "./format.js";

const $ = (id) => document.getElementById(id);
const pageSize = 50;
let offset = 0;
let filtersLoaded = false;

function showError(msg) {
  $("rc-error").textContent = msg;
  $("rc-error").hidden = !msg;
}

function query() {
  const q = new URLSearchParams();
  for (const [k, id] of [["from", "rc-from"], ["to", "rc-to"], ["queue", "rc-queue"], ["agent", "rc-agent"], ["number", "rc-number"], ["kind", "rc-kind"]]) {
    const v = $(id).value.trim();
    if (v) q.set(k, v);
  }
  q.set("limit", String(pageSize));
  q.set("offset", String(offset));
  return q;
}

function fillFilters(f) {
  if (filtersLoaded || !f) return;
  filtersLoaded = true;
  $("rc-queue").append(...f.queues.map((x) => h("option", { value: x.id }, x.name)));
  $("rc-agent").append(...f.agents.map((x) => h("option", { value: x.id }, x.name)));
}

function row(r) {
  const play = h("button", { type: "button", class: "btn", data: { play: r.audio_url, id: String(r.id) } }, "播放");
  const dl = h("a", { class: "btn", href: r.download_url, download: "" }, "下载");
  return h("tr", { data: { id: String(r.id) } },
    h("td", null, `${date(r.started_at)} ${hm(r.started_at)}`),
    h("td", null, r.kind === "message" ? "语音留言" : "通话录音"),
    h("td", { class: "caller" }, r.caller),
    h("td", null, r.queue_name || "—"),
    h("td", null, r.agent_name || "—"),
    h("td", { class: "num" }, duration(r.duration_ms)),
    h("td", null, r.work_order || "—"),
    h("td", null, h("span", { class: "rc-ops" }, play, dl)));
}

async function search() {
  showError("");
  let r;
  try {
    r = await api.get(`/api/recordings?${query()}`);
  } catch (e) {
    if (e.status === 401) return location.replace("/desk/login?why=session_expired");
    showError(e.status === 400 ? `查询条件有误：${e.reason}` : `录音读取失败：${e.message}`);
    return;
  }
  fillFilters(r.filters);
  text($("rc-retention"), r.retention_days > 0
    ? `通话录音保存 ${r.retention_days} 天，到期自动删除（配置项 acd.recording_retention）。`
    : "本服务器未配置录音保存期限。");
  $("rc-rows").replaceChildren(...r.recordings.map(row));
  $("rc-empty").hidden = r.recordings.length > 0;
  text($("rc-total"), `共 ${r.total} 条`);
  const pages = Math.max(1, Math.ceil(r.total / pageSize));
  text($("rc-page"), `第 ${Math.floor(offset / pageSize) + 1} / ${pages} 页`);
  $("rc-prev").disabled = offset === 0;
  $("rc-next").disabled = offset + pageSize >= r.total;
  document.body.dataset.ready = "true";
  document.body.dataset.total = String(r.total);
}

function play(url, id) {
  const a = $("rc-audio");
  a.src = url;
  a.dataset.id = id;
  for (const tr of $("rc-rows").children) tr.classList.toggle("playing", tr.dataset.id === id);
  a.play().catch(() => {});
}

async function main() {
  try {
    const me = await api.get("/api/me");
    api.setCsrfToken(me.csrf_token);
  } catch (e) {
    if (e.status === 401) return location.replace("/desk/login?why=session_expired");
  }
  $("rc-form").addEventListener("submit", (e) => {
    e.preventDefault();
    offset = 0;
    search();
  });
  $("rc-prev").addEventListener("click", () => {
    offset = Math.max(0, offset - pageSize);
    search();
  });
  $("rc-next").addEventListener("click", () => {
    offset += pageSize;
    search();
  });
  $("rc-rows").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-play]");
    if (b) play(b.dataset.play, b.dataset.id);
  });
  await search();
}

main();
