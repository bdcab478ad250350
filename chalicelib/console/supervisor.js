// The supervisor's view: every agent's status, load, capacity and last heartbeat; set a capacity,
// force an agent offline; the team's active chats. Refreshed every 5 s (supervisors get no socket).

import { ago, call, el, showError } from "./api.js";

const $ = (id) => document.getElementById(id);
const REFRESH_MS = 5000;
const MAX_PAGES = 20;

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

  async function refresh() {
    try {
      const agents = await allPages(`${base}/agents`, token, "agents");
      agents.sort((a, b) => a.id - b.id).forEach(show);
      $("agents").replaceChildren(...agents.map((agent) => cards.get(agent.id).node));
      const chats = await allPages(`${base}/chats`, token, "channels");
      const items = chats.map((channel) =>
        el("li", {}, `Customer ${channel.customer_id} with agent ${channel.agent_id}, since ${ago(channel.created_at)}`),
      );
      $("sv-chats").replaceChildren(...items);
      $("sv-no-chats").hidden = chats.length > 0;
    } catch (error) {
      if (error.status === 401) onAuthLost(error);
      else showError(error);
    }
  }

  const onRefresh = () => refresh();
  $("refresh").addEventListener("click", onRefresh);
  const timer = setInterval(refresh, REFRESH_MS);
  refresh();
  $("mode").hidden = true;

  return {
    stop() {
      clearInterval(timer);
      $("refresh").removeEventListener("click", onRefresh);
      $("agents").replaceChildren();
    },
  };
}
