// login.js: the login page. POST /api/login, then the desk.

import * as api from "./api.js";

const form = document.getElementById("login-form");
const error = document.getElementById("login-error");
const submit = document.getElementById("login-submit");

const why = {
  session_replaced: "此账号已在其他地方登录。",
  session_expired: "登录已过期，请重新登录。",
  logged_out: "已签出。",
};
const reason = new URLSearchParams(location.search).get("why");
if (why[reason]) {
  error.textContent = why[reason];
  error.dataset.kind = "info";
  error.hidden = false;
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const username = form.username.value.trim();
  const password = form.password.value;
  if (!username || !password) {
    error.textContent = "请输入用户名和密码";
    error.hidden = false;
    return;
  }
  submit.disabled = true;
  error.hidden = true;
  try {
    const r = await api.post("/api/login", { username, password });
    // A department user's page is their department's work orders.
    location.replace(r && r.user && r.user.role === "department" ? "/desk/department" : "/desk/");
  } catch (err) {
    error.textContent = err.status === 429 && err.retryAfter ? `${err.message}（约 ${Math.ceil(err.retryAfter / 60)} 分钟后）` : err.message;
    error.dataset.kind = "error";
    error.hidden = false;
    form.password.select();
  } finally {
    submit.disabled = false;
  }
});
