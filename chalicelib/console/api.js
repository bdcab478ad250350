// The API as the console uses it: requests, the session kept in sessionStorage, the routes that exist.

// The API serves the console at <api>/console/, so the API is one level up (a stage name may precede it).
export const apiBase = new URL("../", document.baseURI);

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message || `the API answered ${status}`);
    this.status = status;
    this.code = body?.error?.code;
  }
}

// One request. The token travels in the Authorization header only, never in a URL.
export async function call(method, path, { token, body, query, signal } = {}) {
  const url = new URL(path, apiBase);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null) url.searchParams.set(name, String(value));
  }
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  let payload;
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const response = await fetch(url, { method, headers, body: payload, signal, cache: "no-store", credentials: "omit" });
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// The logged-in user of this tab: {role, id, username, token, user}. sessionStorage ends with the tab.
const KEY = "console.session";

export const session = {
  load() {
    try {
      return JSON.parse(sessionStorage.getItem(KEY) || "null");
    } catch {
      return null;
    }
  },
  save(value) {
    sessionStorage.setItem(KEY, JSON.stringify(value));
  },
  clear() {
    sessionStorage.removeItem(KEY);
  },
};

// "METHOD /path" of every operation the API documents: the console shows a feature only if its route exists.
let routes;
export async function features() {
  if (!routes) {
    routes = call("GET", "openapi.json")
      .then((doc) => {
        const found = new Set();
        for (const [path, item] of Object.entries(doc.paths || {})) {
          for (const method of Object.keys(item)) found.add(`${method.toUpperCase()} ${path}`);
        }
        return found;
      })
      .catch(() => new Set());
  }
  return routes;
}

export function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

// A small DOM helper: el("li", {className: "x"}, "text", child).
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  for (const child of children) node.append(child);
  return node;
}

export function showError(error) {
  const box = document.getElementById("error");
  box.textContent = error ? String(error.message || error) : "";
  box.hidden = !error;
}

export function ago(iso) {
  if (!iso) return "never";
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  return new Date(iso).toLocaleString();
}
