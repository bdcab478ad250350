// The agent's desk: presence (online/away, heartbeat every 30 s), active chats with unread counts,
// the selected chat's messages, reply, resolve; past chats where the API lists them.

import { call, el, features, showError } from "./api.js";
import { Conversation, newMessages } from "./chat.js";
import { Live } from "./live.js";

const $ = (id) => document.getElementById(id);
const HEARTBEAT_MS = 30000;

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
    if (selected === channelId) selected = null;
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
      chat.conversation.render($("agent-messages"), "agent");
    }
  }

  function select(channelId) {
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
      drop(channel.channel_id); // resolved, left, or transferred away
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

  // Past chats: only where the API has the route (GET /agent/{agent_id}/chats).
  async function pastChats() {
    if (!(await features()).has("GET /agent/{agent_id}/chats")) return;
    try {
      const page = await call("GET", `${base}/chats`, { token });
      const list = (page.chats || page.channels || []).filter((channel) => channel.status !== "active");
      const items = list.map((channel) =>
        el("li", {}, `Customer ${channel.customer_id}: ${channel.status} ${channel.resolved_at || ""}`),
      );
      $("agent-past-chats").replaceChildren(...items);
      $("agent-past").hidden = false;
    } catch (error) {
      showError(error);
    }
  }

  const handlers = [
    [$("presence"), "change", onPresence],
    [$("agent-send"), "submit", reply],
    [$("resolve-chat"), "click", resolve],
  ];
  handlers.forEach(([node, type, fn]) => node.addEventListener(type, fn));
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
