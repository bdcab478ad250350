// The agent's desk: presence (online/away, heartbeat every 30 s), active chats with unread counts,
// the selected chat's messages and why it came to this agent, reply, resolve, transfer (to an agent
// or back to the queue); past chats where the API lists them.

import { call, el, features, showError } from "./api.js";
import { Conversation, newMessages } from "./chat.js";
import { Live } from "./live.js";

const $ = (id) => document.getElementById(id);
const HEARTBEAT_MS = 30000;

// The assignment's rule, in words (the API's `assignment.rule`).
const RULES = {
  under_cap: "you had a free slot and the fewest chats",
  overflow: "every agent was full and you had the fewest chats",
  nobody_online: "nobody was online and you had the fewest chats",
  first_in_queue: "it was first in the queue when you had a free slot",
  chosen: "it was transferred to you",
  queue: "it waited in the queue",
};

export function agentView({ id, token, user, onAuthLost }) {
  const base = `agent/${id}`;
  const chats = new Map(); // channel_id -> {channel, conversation, unread}
  let selected = null;
  let status = user?.status === "away" ? "away" : "online";

  // -- presence ----------------------------------------------------------------

  let me = null; // the agent as the last heartbeat answered; its load is counted here between beats

  function showAgent(agent) {
    if (agent) me = { ...me, ...agent };
    if (!me) return;
    const load = me.max_chats !== undefined ? ` · ${chats.size} of ${me.max_chats} chats` : "";
    $("agent-presence").textContent = `You are ${me.status}${load}.`;
  }

  async function heartbeat() {
    try {
      showAgent(await call("PUT", `${base}/presence`, { token, body: { status } }));
    } catch (error) {
      if (error.status === 401) onAuthLost(error);
      else showError(error);
    }
  }

  function onPresence(event) {
    status = event.target.value;
    heartbeat();
  }

  // -- chats -------------------------------------------------------------------

  function chatOf(channel) {
    let chat = chats.get(channel.channel_id);
    if (!chat) {
      chat = { channel, conversation: new Conversation(), unread: 0, loaded: false };
      chats.set(channel.channel_id, chat);
    }
    chat.channel = { ...chat.channel, ...channel };
    return chat;
  }

  function addMessage(chat, message) {
    if (!chat.conversation.add(message)) return false;
    if (message.sender_role === "customer" && chat.channel.channel_id !== selected) chat.unread += 1;
    return true;
  }

  function drop(channelId) {
    chats.delete(channelId);
    if (selected === channelId) {
      selected = null;
      transferError(null);
    }
  }

  function notice(text) {
    $("agent-notice").textContent = text || "";
    $("agent-notice").hidden = !text;
  }

  // The list keeps one button per chat (updated in place: focus and references survive a poll).
  const buttons = new Map();
  function button(channelId) {
    let found = buttons.get(channelId);
    if (!found) {
      found = el("button", { type: "button", className: "chat" });
      found.dataset.channel = channelId;
      found.addEventListener("click", () => select(channelId));
      buttons.set(channelId, found);
    }
    return found;
  }

  function render() {
    const ordered = [...chats.values()].sort((a, b) => (a.channel.created_at < b.channel.created_at ? -1 : 1));
    for (const channelId of buttons.keys()) if (!chats.has(channelId)) buttons.delete(channelId);
    const items = ordered.map((chat) => {
      const node = button(chat.channel.channel_id);
      const label = `Customer ${chat.channel.customer_id}`;
      const unread = chat.unread ? ` (${chat.unread} unread)` : "";
      if (node.textContent !== label + unread) node.textContent = label + unread;
      node.setAttribute("aria-pressed", String(chat.channel.channel_id === selected));
      node.classList.toggle("has-unread", chat.unread > 0);
      return node.parentElement || el("li", {}, node);
    });
    const list = $("agent-chats");
    if (items.length !== list.children.length || items.some((node, index) => list.children[index] !== node)) {
      list.replaceChildren(...items);
    }
    $("agent-no-chats").hidden = chats.size > 0;
    showAgent(null);
    const chat = selected && chats.get(selected);
    $("agent-chat").hidden = !chat;
    if (chat) {
      $("agent-chat-title").textContent = `Chat with customer ${chat.channel.customer_id}`;
      showAssignment(chat.channel.assignment);
      chat.conversation.render($("agent-messages"), "agent");
    }
  }

  // Why the selected chat came to this agent: the rule in words, the rule and reason as the API
  // names them, the time it waited in the queue, who moved it; the agents considered, folded.
  function showAssignment(assignment) {
    const why = $("agent-chat-why");
    const box = $("agent-chat-candidates");
    if (!assignment) {
      why.textContent = "";
      box.hidden = true;
      return;
    }
    const parts = [`rule ${assignment.rule}`, `reason ${assignment.reason}`];
    if (typeof assignment.queued_seconds === "number") parts.push(`queued ${duration(assignment.queued_seconds)}`);
    if (assignment.by) parts.push(`by ${assignment.by.replace("#", " ")}`);
    const text = `Why you: ${RULES[assignment.rule] || assignment.rule} (${parts.join(", ")}).`;
    if (why.textContent !== text) why.textContent = text;
    const candidates = assignment.candidates || [];
    const lines = candidates.map((c) => `Agent ${c.agent_id}: ${c.status}, ${c.active_chats} of ${c.max_chats} chats`);
    const list = $("agent-chat-candidate-list");
    if ([...list.children].map((item) => item.textContent).join("\n") !== lines.join("\n")) {
      list.replaceChildren(...lines.map((line) => el("li", {}, line)));
    }
    box.hidden = lines.length === 0;
  }

  function select(channelId) {
    if (selected !== channelId) transferError(null);
    selected = channelId;
    const chat = chats.get(channelId);
    if (chat) chat.unread = 0;
    render();
    $("agent-text").focus();
  }

  async function loadMessages(chat, signal) {
    const fetchPage = (cursor) =>
      call("GET", `${base}/chat`, { token, signal, query: { channel_id: chat.channel.channel_id, cursor, limit: 100 } });
    const { messages } = await newMessages(fetchPage, chat.conversation.cursor);
    if (!chat.loaded) {
      // First look: what the customer wrote after the agent's last message is unread.
      messages.forEach((message) => chat.conversation.add(message));
      const lastReply = messages.findLastIndex((message) => message.sender_role === "agent");
      const unread = messages.slice(lastReply + 1).filter((message) => message.sender_role === "customer");
      chat.unread = chat.channel.channel_id === selected ? 0 : unread.length;
      chat.loaded = true;
    } else {
      messages.forEach((message) => addMessage(chat, message));
    }
  }

  // A poll: the active chats, then what is new in each.
  async function catchUp(signal) {
    const active = await call("GET", `${base}/chat/active`, { token, signal });
    const ids = new Set(active.channels.map((channel) => channel.channel_id));
    [...chats.keys()].filter((channelId) => !ids.has(channelId)).forEach(drop);
    for (const channel of active.channels) await loadMessages(chatOf(channel), signal);
    render();
  }

  function onEvent(event) {
    if (event.type === "agent.presence") {
      showAgent({ status: event.data.status });
      return;
    }
    const channel = event.data?.channel;
    if (channel && channel.status === "active" && channel.agent_id === id) {
      const chat = chatOf(channel);
      if (!chat.loaded) loadMessages(chat).then(render, showError);
    } else if (channel) {
      const chat = chats.get(channel.channel_id);
      if (chat) notice(goneText(event, chat.channel.customer_id));
      drop(channel.channel_id); // resolved, left, or transferred away
      if (event.type === "chat.resolved" || event.type === "chat.left") pastChats();
    } else if (event.type === "message.created") {
      const chat = chats.get(event.chat_id);
      if (chat) addMessage(chat, event.data.message);
    }
    render();
  }

  async function reply(event) {
    event.preventDefault();
    const chat = selected && chats.get(selected);
    const box = $("agent-text");
    const text = box.value.trim();
    if (!chat || !text) return;
    showError(null);
    try {
      const body = { RecipientID: chat.channel.customer_id, text_message: text };
      const message = await call("POST", `${base}/chat/send`, { token, body });
      box.value = "";
      addMessage(chat, message);
      render();
    } catch (error) {
      showError(error);
    }
  }

  async function resolve() {
    const chat = selected && chats.get(selected);
    if (!chat) return;
    showError(null);
    try {
      const channel = await call("POST", `${base}/chat/resolve`, { token, body: { channel_id: selected } });
      drop(channel.channel_id);
      render();
      pastChats();
      $("agent-chats").querySelector("button")?.focus();
    } catch (error) {
      showError(error);
    }
  }

  // Transfer the selected chat: to agent `target` (an id), or "queue" (another agent of the team with a
  // free slot, else back to the head of the queue). A refusal (409 agent_unavailable: offline, away or
  // full) is said next to the control.
  async function transfer(target) {
    const chat = selected && chats.get(selected);
    if (!chat) return;
    transferError(null);
    const body = { channel_id: chat.channel.channel_id };
    if (target === "queue") body.to = "queue";
    else body.to_agent_id = target;
    try {
      const channel = await call("POST", `${base}/chat/transfer`, { token, body });
      drop(channel.channel_id);
      $("transfer-agent").value = "";
      const customer = `The chat with customer ${channel.customer_id}`;
      const where = channel.status === "queued" ? "is back in the queue" : `is now with agent ${channel.agent_id}`;
      notice(`${customer} ${where}.`);
      render();
      $("agent-chats").querySelector("button")?.focus();
    } catch (error) {
      if (error.status === 401) onAuthLost(error);
      else transferError(error, target);
    }
  }

  function transferError(error, target) {
    const box = $("transfer-error");
    let text = "";
    if (error) {
      text = `Not transferred: ${error.message}.`;
      if (error.code === "agent_unavailable") {
        text = `Not transferred: agent ${target} cannot take it now (offline, away or at capacity).`;
      }
    }
    box.textContent = text;
    box.hidden = !error;
    $("transfer-agent").setAttribute("aria-invalid", String(Boolean(error) && target !== "queue"));
  }

  function onTransfer(event) {
    event.preventDefault();
    const value = Number($("transfer-agent").value);
    if (Number.isInteger(value) && value > 0) transfer(value);
  }

  // Past chats: only where the API has the route (GET /agent/{agent_id}/chats).
  async function pastChats() {
    if (!(await features()).has("GET /agent/{agent_id}/chats")) return;
    try {
      const page = await call("GET", `${base}/chats`, { token });
      const list = (page.chats || page.channels || []).filter((channel) => channel.status !== "active");
      $("agent-past-chats").replaceChildren(...list.map(pastItem));
      $("agent-past").hidden = list.length === 0;
    } catch (error) {
      showError(error);
    }
  }

  const onQueue = () => transfer("queue");
  const handlers = [
    [$("presence"), "change", onPresence],
    [$("agent-send"), "submit", reply],
    [$("resolve-chat"), "click", resolve],
    [$("transfer-form"), "submit", onTransfer],
    [$("transfer-queue"), "click", onQueue],
  ];
  handlers.forEach(([node, type, fn]) => node.addEventListener(type, fn));
  notice(null); // nothing left over from an earlier login in this tab
  transferError(null);
  document.querySelector(`input[name="presence"][value="${status}"]`).checked = true;
  const timer = setInterval(heartbeat, HEARTBEAT_MS);
  const live = new Live({ role: "agent", id, token, onEvent, poll: catchUp, onAuthLost });
  heartbeat();
  catchUp(undefined).then(() => live.start(), (error) => (error.status === 401 ? onAuthLost(error) : live.start()));
  pastChats();

  return {
    stop() {
      clearInterval(timer);
      live.stop();
      handlers.forEach(([node, type, fn]) => node.removeEventListener(type, fn));
    },
  };
}

function duration(seconds) {
  return seconds < 60 ? `${Math.round(seconds)} s` : `${Math.round(seconds / 60)} min`;
}

function goneText(event, customerId) {
  const chat = `The chat with customer ${customerId}`;
  if (event.type === "chat.left") return `Customer ${customerId} left the chat.`;
  if (event.type === "chat.resolved") return "";
  if (event.type === "chat.queued") return `${chat} went back to the queue.`;
  if (event.type === "chat.transferred") return `${chat} moved to agent ${event.data.channel.agent_id}.`;
  return "";
}

function pastItem(channel) {
  const how = channel.ended_by === "customer" ? "left by the customer" : channel.status;
  const when = channel.resolved_at || channel.created_at;
  const time = el("time", { dateTime: when }, new Date(when).toLocaleString());
  return el("li", {}, `Customer ${channel.customer_id} · ${how} · `, time);
}
