// The supervisor's view: every agent's status, load, capacity and last heartbeat; set a capacity,
// force an agent offline; the queue's length and head; the team's active chats, each with a transfer
// control. The team's socket (a supervisor's ws-ticket: every event of the team but messages) makes it
// refresh as things happen; while the socket is down it polls every 5 s. Heartbeats are no events, so
// "last seen" is also refreshed every 30 s.

import { ago, call, el, features, showError } from "./api.js";
import { Live } from "./live.js";

const $ = (id) => document.getElementById(id);
const REFRESH_MS = 5000; // while polling
const SLOW_REFRESH_MS = 30000; // always: what no event tells (last seen)
const SETTLE_MS = 200; // events in a burst make one refresh
const MAX_PAGES = 20;
const QUEUE_HEAD = 5; // the queue's first entries shown

async function allPages(path, token, key) {
  const items = [];
  let cursor;
  for (let pages = 0; pages < MAX_PAGES; pages++) {
    const page = await call("GET", path, { token, query: { cursor, limit: 100 } });
    items.push(...page[key]);
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return items;
}

export function supervisorView({ id, token, onAuthLost }) {
  const base = `supervisor/${id}`;
  const cards = new Map(); // agent id -> {node, fields}
  const rows = new Map(); // channel id -> {node, text, select, error}: kept across refreshes (focus, choice)
  let agentList = [];
  let hasQueue = false;

  function card(agent) {
    let found = cards.get(agent.id);
    if (found) return found;
    const field = (name) => el("span", { className: name });
    const fields = { status: field("status"), load: field("load"), capacity: field("capacity") };
    Object.assign(fields, { seen: field("seen"), sessions: field("sessions") });
    const input = el("input", { id: `capacity-${agent.id}`, type: "number", min: 0, max: 50, required: true });
    const form = el(
      "form",
      { className: "capacity-form" },
      el("label", { htmlFor: input.id }, `Capacity of ${agent.username}`),
      input,
      el("button", { type: "submit" }, "Set"),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      update(agent.id, { max_chats: Number(input.value) });
    });
    const force = el("button", { type: "button", className: "force" }, `Force ${agent.username} offline`);
    force.addEventListener("click", () => update(agent.id, { status: "offline" }));
    const node = el(
      "li",
      { className: "card", id: `agent-${agent.id}` },
      el("h4", {}, `${agent.username} (agent ${agent.id})`),
      el("p", {}, "Status: ", fields.status),
      el("p", {}, "Load: ", fields.load, " of ", fields.capacity, " chats"),
      el("p", {}, "Last seen: ", fields.seen, " · sessions: ", fields.sessions),
      form,
      force,
    );
    found = { node, fields, input, force };
    cards.set(agent.id, found);
    return found;
  }

  function show(agent) {
    const { fields, input, force } = card(agent);
    fields.status.textContent = agent.status;
    fields.status.dataset.status = agent.status;
    fields.load.textContent = String(agent.active_chats);
    fields.capacity.textContent = String(agent.max_chats);
    fields.seen.textContent = ago(agent.last_seen);
    fields.sessions.textContent = String(agent.sessions);
    if (document.activeElement !== input) input.value = String(agent.max_chats);
    force.disabled = agent.status === "offline";
  }

  async function update(agentId, body) {
    showError(null);
    try {
      show(await call("PUT", `${base}/agents/${agentId}`, { token, body }));
    } catch (error) {
      if (error.status === 401) onAuthLost(error);
      else showError(error);
    }
  }

  // -- the queue: its length and its head --------------------------------------------

  async function showQueue() {
    if (!hasQueue) return;
    const page = await call("GET", `${base}/queue`, { token, query: { limit: QUEUE_HEAD } });
    const waiting = page.queued;
    const count = waiting === 0 ? "Nobody is waiting." : `${waiting} ${waiting === 1 ? "chat" : "chats"} waiting.`;
    if ($("sv-queue-count").textContent !== count) $("sv-queue-count").textContent = count;
    const items = page.entries.map((entry) => {
      const back = entry.declined_by ? `, put back by agent ${entry.declined_by}` : "";
      return el("li", {}, `Customer ${entry.customer_id}, queued ${ago(entry.queued_at)}${back}`);
    });
    $("sv-queue").replaceChildren(...items);
    $("sv-queue-box").hidden = false;
  }

  // -- active chats, each with a transfer control ----------------------------------------

  function row(channel) {
    let found = rows.get(channel.channel_id);
    if (found) return found;
    const key = channel.channel_id;
    const select = el("select", { id: `transfer-${key}`, name: "to", required: true });
    const error = el("p", { className: "error", id: `transfer-${key}-error`, hidden: true });
    error.setAttribute("role", "alert");
    select.setAttribute("aria-describedby", error.id);
    const text = el("p", { className: "chat-text" });
    const label = el("label", { htmlFor: select.id }, `Transfer customer ${channel.customer_id}'s chat to`);
    const submit = el("button", { type: "submit" }, "Transfer");
    const form = el("form", { className: "transfer-form" }, label, select, submit);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (select.value) transfer(key, select.value, found);
    });
    const node = el("li", { className: "card" }, text, form, error);
    node.dataset.channel = key;
    found = { node, text, select, error };
    rows.set(key, found);
    return found;
  }

  // The choices: none yet (a click alone moves nothing), back to the queue, then every other agent with
  // its state (the API says no to an unavailable one).
  function targets(select, channel) {
    const options = [["", "Choose…"], ["queue", "Back to the queue"]];
    for (const agent of agentList) {
      if (agent.id === channel.agent_id) continue;
      const state = `${agent.status}, ${agent.active_chats} of ${agent.max_chats}`;
      options.push([String(agent.id), `${agent.username} (agent ${agent.id}, ${state})`]);
    }
    const shown = [...select.options].map((option) => `${option.value}=${option.text}`).join("|");
    if (shown === options.map(([value, text]) => `${value}=${text}`).join("|")) return;
    const chosen = select.value;
    select.replaceChildren(...options.map(([value, text]) => el("option", { value }, text)));
    if (options.some(([value]) => value === chosen)) select.value = chosen;
  }

  function showChats(chats) {
    const ids = new Set(chats.map((channel) => channel.channel_id));
    for (const key of [...rows.keys()]) if (!ids.has(key)) rows.delete(key);
    const items = chats.map((channel) => {
      const found = row(channel);
      const text = `Customer ${channel.customer_id} with agent ${channel.agent_id}, since ${ago(channel.created_at)}`;
      if (found.text.textContent !== text) found.text.textContent = text;
      targets(found.select, channel);
      return found.node;
    });
    const list = $("sv-chats");
    if (items.length !== list.children.length || items.some((node, index) => list.children[index] !== node)) {
      list.replaceChildren(...items);
    }
    $("sv-no-chats").hidden = chats.length > 0;
  }

  async function transfer(channelId, target, found) {
    found.error.hidden = true;
    const body = target === "queue" ? { to: "queue" } : { to_agent_id: Number(target) };
    try {
      await call("POST", `${base}/chats/${channelId}/transfer`, { token, body });
      await refresh();
    } catch (error) {
      if (error.status === 401) {
        onAuthLost(error);
        return;
      }
      found.error.textContent =
        error.code === "agent_unavailable"
          ? `Not transferred: agent ${target} cannot take it now (offline, away or at capacity).`
          : `Not transferred: ${error.message}.`;
      found.error.hidden = false;
    }
  }

  async function refresh() {
    try {
      const agents = await allPages(`${base}/agents`, token, "agents");
      agentList = agents.sort((a, b) => a.id - b.id);
      agentList.forEach(show);
      $("agents").replaceChildren(...agentList.map((agent) => cards.get(agent.id).node));
      await showQueue();
      showChats(await allPages(`${base}/chats`, token, "channels"));
    } catch (error) {
      if (error.status === 401) onAuthLost(error);
      else showError(error);
    }
  }

  const onRefresh = () => refresh();
  $("refresh").addEventListener("click", onRefresh);
  const timer = setInterval(refresh, SLOW_REFRESH_MS);
  let settling = null;
  const onEvent = () => {
    clearTimeout(settling);
    settling = setTimeout(refresh, SETTLE_MS);
  };
  let live = null;
  features().then((routes) => {
    hasQueue = routes.has("GET /supervisor/{supervisor_id}/queue");
    refresh();
    // Polling until the socket opens (its first catch-up is a refresh too).
    live = new Live({ role: "supervisor", id, token, onEvent, poll: refresh, onAuthLost, pollPause: REFRESH_MS });
    live.start();
  });

  return {
    stop() {
      live?.stop();
      clearTimeout(settling);
      clearInterval(timer);
      $("refresh").removeEventListener("click", onRefresh);
      $("agents").replaceChildren();
      $("sv-chats").replaceChildren();
      $("sv-queue-box").hidden = true;
    },
  };
}
