// One conversation's messages, kept by message_id (ids sort by time), shown oldest first.

import { el } from "./api.js";

export class Conversation {
  constructor() {
    this.messages = new Map();
    this.cursor = null; // the newest message_id held: history's `cursor` for what came after
  }

  // Keep a message; true if it is new (it may arrive from the socket, a poll and a send alike).
  add(message) {
    if (!message || this.messages.has(message.message_id)) return false;
    this.messages.set(message.message_id, message);
    if (!this.cursor || message.message_id > this.cursor) this.cursor = message.message_id;
    return true;
  }

  sorted() {
    return [...this.messages.values()].sort((a, b) => (a.message_id < b.message_id ? -1 : 1));
  }

  // Show the messages in `list` (an <ol>), labelled from the viewer's side. Only new ones are added.
  render(list, viewerRole) {
    const shown = new Map([...list.children].map((item) => [item.dataset.id, item]));
    const messages = this.sorted();
    if (shown.size === messages.length && messages.every((message) => shown.has(message.message_id))) return;
    const items = messages.map((message) => shown.get(message.message_id) || item(message, viewerRole));
    list.replaceChildren(...items);
    list.scrollTop = list.scrollHeight;
  }
}

function item(message, viewerRole) {
  const time = el("time", { dateTime: message.created_at }, new Date(message.created_at).toLocaleTimeString());
  let node;
  if (message.sender_role === "system") {
    // What happened to the chat (queued, assigned, transferred, requeued, left): a line, not a speaker's bubble.
    node = el("li", { className: "message system" }, el("p", { className: "text" }, message.text), " ", time);
    if (message.kind) node.dataset.kind = message.kind;
  } else {
    const mine = message.sender_role === viewerRole;
    const who = mine ? "You" : `${message.sender_role === "agent" ? "Agent" : "Customer"} ${message.sender_id}`;
    node = el(
      "li",
      { className: `message ${mine ? "mine" : "theirs"}` },
      el("span", { className: "who" }, who),
      el("p", { className: "text" }, message.text),
      time,
    );
  }
  node.dataset.id = message.message_id;
  return node;
}

// Every message of a chat after `cursor`, page by page.
export async function newMessages(fetchPage, cursor) {
  const found = [];
  let after = cursor;
  for (let pages = 0; pages < 20; pages++) {
    const page = await fetchPage(after);
    found.push(...page.messages);
    if (!page.next_cursor || page.messages.length === 0) return { page, messages: found };
    after = page.next_cursor;
  }
  return { page: null, messages: found };
}
