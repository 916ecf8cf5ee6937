// api.js: requests to the agent API. Every POST carries the session's CSRF token; every
// failure is an ApiError with the server's code and reason, and a Chinese message for people.

let csrfToken = "";

/** setCsrfToken keeps the token that login and GET /api/me return. */
export function setCsrfToken(token) {
  csrfToken = token || "";
}

/** ApiError is a request the server refused, or one that did not reach it. */
export class ApiError extends Error {
  constructor(status, code, reason) {
    super(explain(status, code, reason));
    this.name = "ApiError";
    this.status = status; // 0 when the server was not reached
    this.code = code;
    this.reason = reason || "";
  }
}

// Chinese for the reasons the agent API gives; a reason not listed is shown as it is.
const reasons = [
  ["wrong username or password", "用户名或密码错误"],
  ["too many failed logins", "登录失败次数过多，请稍后再试"],
  ["username and password are required", "请输入用户名和密码"],
  ["session unknown or expired", "登录已过期，请重新登录"],
  ["no session", "尚未登录"],
  ["answer it or let it ring out first", "话机正在振铃：请先接听或等待振铃结束"],
  ["end the call first", "请先结束通话"],
  ["end wrap-up first", "请先完成话后处理"],
  ["choose a disposition first", "请先选择话后小结"],
  ["not in wrap-up", "当前不在话后处理中"],
  ["log in first", "请先登录"],
  ["takes no calls", "此账号未配置话机，不接听来电"],
  ["not possible now", "当前状态下不能这样做"],
  ["missing or wrong X-CSRF-Token", "页面已过期，请刷新后重试"],
  ["no such endpoint", "服务器尚不支持此操作"],
];

const byStatus = {
  0: "无法连接服务器，请检查网络",
  400: "请求有误",
  401: "尚未登录或登录已过期",
  403: "没有权限",
  404: "功能暂不可用",
  409: "当前状态下不能这样做",
  429: "操作过于频繁，请稍后再试",
  500: "服务器出错，已记录",
};

/** translate returns the Chinese for a server reason, or "" when there is none. */
export function translate(reason) {
  if (!reason) return "";
  for (const [en, zh] of reasons) {
    if (reason.includes(en)) return zh;
  }
  return "";
}

function explain(status, code, reason) {
  const zh = translate(reason);
  if (zh) return zh;
  const base = byStatus[status] || byStatus[Math.floor(status / 100) * 100] || "操作失败";
  return reason ? `${base}：${reason}` : base;
}

async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (method !== "GET") {
    if (csrfToken) headers["X-CSRF-Token"] = csrfToken;
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, "network", String(e && e.message ? e.message : e));
  }
  if (resp.status === 204) return null;
  let data = null;
  const text = await resp.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!resp.ok) {
    const code = (data && data.error) || "http_" + resp.status;
    const err = new ApiError(resp.status, code, data && data.reason);
    if (resp.status === 429) err.retryAfter = Number(resp.headers.get("Retry-After")) || 0;
    if (resp.status === 401) window.dispatchEvent(new CustomEvent("desk:unauthorized", { detail: err }));
    throw err;
  }
  return data;
}

/** get fetches a JSON resource. */
export function get(path) {
  return request("GET", path);
}

/** post sends a state-changing request with a JSON body (none when body is undefined). */
export function post(path, body) {
  return request("POST", path, body);
}
