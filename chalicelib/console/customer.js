// The customer's view: start a chat, its state (and queue place, where the API gives one), messages, leave.

import { call, features, showError, sleep } from "./api.js";
import { Conversation, newMessages } from "./chat.js";
import { Live } from "./live.js";

const $ = (id) => document.getElementById(id);
const OPEN = new Set(["active", "queued"]);

export function customerView({ id, token, onAuthLost }) {
  let channel = null;
  let conversation = new Conversation();
  let canLeave = false;
  const base = `customer/${id}`;

  function setChannel(next) {
    if (!next) return;
    if (channel && next.channel_id !== channel.channel_id) conversation = new Conversation();
    channel = { ...(channel?.channel_id === next.channel_id ? channel : {}), ...next };
    render();
  }

  function render() {
    const open = channel && OPEN.has(channel.status);
    let text = "No chat yet.";
    if (channel?.status === "active") text = `Chatting with agent ${channel.agent_id}.`;
    else if (channel?.status === "queued") text = "Waiting for an agent.";
    else if (channel) text = `This chat is ${channel.status}. You can start a new one.`;
    $("customer-status").textContent = text;
    const queue = $("customer-queue");
    const place = channel?.status === "queued" ? channel.queue_position : undefined;
    queue.hidden = place === undefined || place === null;
    if (!queue.hidden) {
      const wait = channel.estimated_wait_seconds;
      const estimate = typeof wait === "number" ? `, about ${Math.max(1, Math.round(wait / 60))} min` : "";
      queue.textContent = `Place in the queue: ${place}${estimate}.`;
    }
    $("start-chat").hidden = Boolean(open);
    $("leave-chat").hidden = !(open && canLeave);
    $("customer-send").hidden = !open;
    conversation.render($("customer-messages"), "customer");
  }

  async function catchUp(signal) {
    if (!channel || !OPEN.has(channel.status)) {
      await sleep(3000, signal);
      return;
    }
    const wait = signal ? 5 : 0; // long-poll while polling; a plain read to catch up
    const fetchPage = (cursor) =>
      call("GET", `${base}/chat`, {
        token,
        signal,
        query: { channel_id: channel.channel_id, cursor, wait: cursor ? wait : 0, limit: 100 },
      });
    const { page, messages } = await newMessages(fetchPage, conversation.cursor);
    messages.forEach((message) => conversation.add(message));
    if (page?.channel) setChannel({ ...page.channel, ...queueFields(page) });
    else render();
  }

  function queueFields(page) {
    const fields = {};
    for (const name of ["queue_position", "estimated_wait_seconds"]) if (name in page) fields[name] = page[name];
    return fields;
  }

  function onEvent(event) {
    const channelData = event.data?.channel;
    if (channelData && (!channel || channelData.channel_id === channel.channel_id || event.type === "chat.assigned")) {
      setChannel(channelData);
    } else if (event.type === "message.created" && channel && event.chat_id === channel.channel_id) {
      if (conversation.add(event.data.message)) render();
    }
  }

  async function start() {
    showError(null);
    try {
      setChannel(await call("POST", `${base}/chat/initiate`, { token }));
    } catch (error) {
      if (error.code === "active_chat_exists" || error.status === 409) {
        const page = await call("GET", `${base}/chat`, { token }).catch(() => null);
        if (page) setChannel(page.channel);
      }
      showError(error);
    }
  }

  async function send(event) {
    event.preventDefault();
    const box = $("customer-text");
    const text = box.value.trim();
    if (!text) return;
    showError(null);
    try {
      const message = await call("POST", `${base}/chat/send`, { token, body: { text_message: text } });
      box.value = "";
      if (conversation.add(message)) render();
    } catch (error) {
      showError(error);
    }
  }

  async function leave() {
    showError(null);
    try {
      const answer = await call("POST", `${base}/chat/leave`, { token });
      setChannel(answer?.channel_id ? answer : { ...channel, status: "left" });
    } catch (error) {
      showError(error);
    }
  }

  const handlers = [
    [$("start-chat"), "click", start],
    [$("customer-send"), "submit", send],
    [$("leave-chat"), "click", leave],
  ];
  handlers.forEach(([node, type, fn]) => node.addEventListener(type, fn));
  $("customer-messages").replaceChildren();
  const live = new Live({ role: "customer", id, token, onEvent, poll: catchUp, onAuthLost });

  (async () => {
    canLeave = (await features()).has(`POST /customer/{customer_id}/chat/leave`);
    // The active chat, if there is one (after a reload too); its first page of messages.
    const page = await call("GET", `${base}/chat`, { token }).catch(() => null);
    if (page?.channel) {
      page.messages.forEach((message) => conversation.add(message));
      setChannel(page.channel);
    }
    render();
    await catchUp(undefined).catch(showError);
    live.start();
  })();

  return {
    stop() {
      live.stop();
      handlers.forEach(([node, type, fn]) => node.removeEventListener(type, fn));
    },
  };
}
