// The customer's view: start a chat, its state (and place in the queue while it waits), messages,
// leave; the customer's past chats.

import { call, el, features, showError, sleep } from "./api.js";
import { Conversation, newMessages } from "./chat.js";
import { Live } from "./live.js";

const $ = (id) => document.getElementById(id);
const OPEN = new Set(["active", "queued"]);
// While queued on the socket: the place is pushed when the queue moves (to the first 20 waiting);
// read it again this often anyway, for a place further back.
const PLACE_MS = 20000;
const QUEUE_FIELDS = ["queue_position", "estimated_wait_seconds"];

export function customerView({ id, token, onAuthLost }) {
  let channel = null;
  let conversation = new Conversation();
  let canLeave = false;
  let canList = false;
  const base = `customer/${id}`;

  // `placed`: the channel comes from the API's answer, whose queue fields are the truth (absent: none).
  // An event's channel (a stream image) never has them: a queued chat keeps its last known place.
  function setChannel(next, { placed = true } = {}) {
    if (!next) return;
    const same = channel?.channel_id === next.channel_id;
    if (same && !OPEN.has(channel.status) && OPEN.has(next.status)) return; // an ended chat never reopens: stale
    if (channel && !same) conversation = new Conversation();
    const kept = {};
    if (!placed && same && next.status === "queued") {
      for (const name of QUEUE_FIELDS) if (channel[name] !== undefined) kept[name] = channel[name];
    }
    const was = channel?.status;
    channel = { ...next, ...kept };
    render();
    if (!placed && channel.status === "queued" && channel.queue_position === undefined) {
      catchUp(undefined).catch(() => {}); // an event said queued: read the place
    }
    if (was && OPEN.has(was) && !OPEN.has(channel.status)) pastChats();
  }

  function statusText() {
    if (!channel) return "No chat yet.";
    if (channel.status === "active") return `Chatting with agent ${channel.agent_id}.`;
    if (channel.status === "queued") return "Waiting for an agent.";
    if (channel.ended_by === "customer") return "You left the chat. You can start a new one.";
    return `This chat is ${channel.status}. You can start a new one.`;
  }

  function render() {
    const open = Boolean(channel && OPEN.has(channel.status));
    $("customer-status").textContent = statusText();
    const queue = $("customer-queue");
    const place = channel?.status === "queued" ? channel.queue_position : undefined;
    queue.hidden = typeof place !== "number";
    if (!queue.hidden) {
      const wait = channel.estimated_wait_seconds;
      const estimate = typeof wait === "number" ? `, about ${Math.max(1, Math.round(wait / 60))} min` : "";
      const text = `Waiting — position ${place}${estimate}`;
      if (queue.textContent !== text) queue.textContent = text; // unchanged text is not announced again
    }
    $("start-chat").hidden = open;
    $("leave-chat").hidden = !(open && canLeave);
    $("customer-send").hidden = !open;
    conversation.render($("customer-messages"), "customer");
  }

  async function catchUp(signal) {
    if (!channel || !OPEN.has(channel.status)) {
      if (signal) await sleep(3000, signal); // polling with no open chat: nothing to read yet
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
    if (page?.channel) setChannel(page.channel);
    else render();
    // A long-poll's channel was read before its wait: a system entry (queued, assigned, transferred,
    // requeued, left) says the chat changed since, so read it again at once.
    const changed = messages.some((message) => message.sender_role === "system");
    if (wait && changed && OPEN.has(channel?.status)) await catchUp(undefined);
  }

  function onEvent(event) {
    if (event.type === "chat.queued" && typeof event.data?.queue_position === "number") {
      // The queue moved: this chat's new place (and estimate; null: nobody online to estimate from).
      // Updates from parallel stream batches may cross: keep the newest read of the queue.
      const newer = !channel?.placeAt || event.time >= channel.placeAt;
      if (channel?.status === "queued" && event.chat_id === channel.channel_id && newer) {
        const { queue_position, estimated_wait_seconds } = event.data;
        channel = { ...channel, queue_position, placeAt: event.time };
        if (typeof estimated_wait_seconds === "number") channel.estimated_wait_seconds = estimated_wait_seconds;
        else delete channel.estimated_wait_seconds;
        render();
      }
      return;
    }
    const channelData = event.data?.channel;
    if (channelData && (!channel || channelData.channel_id === channel.channel_id || event.type === "chat.assigned")) {
      setChannel(channelData, { placed: false });
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
      setChannel(await call("POST", `${base}/chat/leave`, { token }));
      $("start-chat").focus();
      await lastMessages(); // the history's "left" entry
    } catch (error) {
      if (error.code === "no_active_chat") catchUp(undefined).catch(() => {}); // ended meanwhile: show how
      showError(error);
    }
  }

  // One read of the chat's newest messages, whatever its status (catchUp reads open chats only).
  async function lastMessages() {
    if (!channel) return;
    const query = { channel_id: channel.channel_id, cursor: conversation.cursor, limit: 100 };
    const page = await call("GET", `${base}/chat`, { token, query }).catch(() => null);
    if (page) page.messages.forEach((message) => conversation.add(message));
    render();
  }

  // Past chats (GET /customer/{customer_id}/chats, newest first): the ended ones.
  async function pastChats() {
    if (!canList) return;
    try {
      const page = await call("GET", `${base}/chats`, { token, query: { limit: 10 } });
      // The list is read from an eventually consistent index: the chat that just ended may lag behind.
      const chats = (page.chats || []).map((past) => (past.channel_id === channel?.channel_id ? channel : past));
      if (channel && !OPEN.has(channel.status) && !chats.some((past) => past.channel_id === channel.channel_id)) {
        chats.unshift(channel);
      }
      const ended = chats.filter((past) => !OPEN.has(past.status));
      $("customer-past-chats").replaceChildren(...ended.map(pastItem));
      $("customer-past").hidden = ended.length === 0;
    } catch (error) {
      if (error.status === 401) onAuthLost(error);
    }
  }

  const handlers = [
    [$("start-chat"), "click", start],
    [$("customer-send"), "submit", send],
    [$("leave-chat"), "click", leave],
  ];
  handlers.forEach(([node, type, fn]) => node.addEventListener(type, fn));
  $("customer-messages").replaceChildren();
  $("customer-past-chats").replaceChildren();
  $("customer-past").hidden = true;
  const live = new Live({ role: "customer", id, token, onEvent, poll: catchUp, onAuthLost });
  // While queued and on the socket, a place beyond the pushed ones is read now and then.
  // (While polling, every poll's answer carries it.)
  const placeTimer = setInterval(() => {
    if (channel?.status === "queued" && !live.polling) catchUp(undefined).catch(() => {});
  }, PLACE_MS);

  (async () => {
    const routes = await features();
    canLeave = routes.has("POST /customer/{customer_id}/chat/leave");
    canList = routes.has("GET /customer/{customer_id}/chats");
    pastChats();
    // The open chat, if there is one (after a reload too); its first page of messages.
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
      clearInterval(placeTimer);
      live.stop();
      handlers.forEach(([node, type, fn]) => node.removeEventListener(type, fn));
    },
  };
}

function pastItem(past) {
  const who = past.agent_id ? `Agent ${past.agent_id}` : "No agent";
  const how = past.ended_by === "customer" ? "you left" : past.status;
  const when = past.resolved_at || past.created_at;
  const time = el("time", { dateTime: when }, new Date(when).toLocaleString());
  return el("li", {}, `${who} · ${how} · `, time);
}
