// The console's entry: log in, show the role's view, log out. The session lives in sessionStorage.

import { agentView } from "./agent.js";
import { call, session, showError } from "./api.js";
import { customerView } from "./customer.js";
import { supervisorView } from "./supervisor.js";

const $ = (id) => document.getElementById(id);
const VIEWS = { customer: customerView, agent: agentView, supervisor: supervisorView };
let current = null;

function show(name) {
  for (const role of ["login", ...Object.keys(VIEWS)]) $(`${role}-view`).hidden = role !== name;
  $("logout").hidden = name === "login";
  $("whoami").hidden = name === "login";
  if (name === "login") $("mode").hidden = true;
}

function enter(saved) {
  current?.stop();
  $("whoami").textContent = `${saved.username} (${saved.role} ${saved.id})`;
  show(saved.role);
  current = VIEWS[saved.role]({ ...saved, onAuthLost });
  $("main").focus();
}

function leave() {
  current?.stop();
  current = null;
  session.clear();
  show("login");
  $("username").focus();
}

function onAuthLost() {
  leave();
  showError(new Error("Your session has ended (logged out or forced offline). Please log in again."));
}

async function login(event) {
  event.preventDefault();
  showError(null);
  const form = new FormData(event.target);
  const role = form.get("role");
  const username = String(form.get("username")).trim();
  const deviceKey = `console.device.${role}.${username}`;
  const body = { username, password: String(form.get("password")) };
  const device = sessionStorage.getItem(deviceKey);
  if (device) body.device_token = device;
  try {
    const answer = await call("POST", `${role}/login`, { body });
    if (answer.device_token) sessionStorage.setItem(deviceKey, answer.device_token);
    $("password").value = "";
    const saved = { role, id: answer.user.id, username, token: answer.token, user: answer.user };
    session.save(saved);
    enter(saved);
  } catch (error) {
    showError(error);
  }
}

async function logout() {
  const saved = session.load();
  showError(null);
  if (saved) {
    await call("PUT", `${saved.role}/${saved.id}/logout`, { token: saved.token }).catch(() => {});
  }
  leave();
}

$("login-form").addEventListener("submit", login);
$("logout").addEventListener("click", logout);
const saved = session.load();
if (saved && VIEWS[saved.role]) enter(saved);
else show("login");
