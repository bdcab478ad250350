// Live updates for one agent, customer or supervisor: the WebSocket of a ws-ticket; polling while it is down.
//
// The socket carries events ({event_id, type, chat_id, data}); they may arrive twice, so each
// event_id is handled once. When no ticket can be had or the socket closes, `poll` runs in a loop
// (the view's own catch-up from history, with its cursor) and a new ticket is tried after 1, 2,
// 4 ... 30 s. When the socket opens, polling stops after one last catch-up for what was missed.

import { call, sleep } from "./api.js";

export class Live {
  constructor({ role, id, token, onEvent, poll, onAuthLost, pollPause = 1000 }) {
    Object.assign(this, { role, id, token, onEvent, poll, onAuthLost, pollPause });
    this.seen = new Set();
    this.retry = 1000;
    this.stopped = false;
    this.socket = null;
    this.polling = null; // the AbortController of the polling loop, while it runs
  }

  start() {
    this.connect();
    return this;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.stopPolling();
    const socket = this.socket;
    this.socket = null;
    socket?.close();
  }

  setMode(mode) {
    const label = document.getElementById("mode");
    label.hidden = false;
    label.dataset.mode = mode;
    label.textContent = mode === "push" ? "Live" : "Live (polling)";
  }

  async connect() {
    if (this.stopped) return;
    let ticket;
    try {
      ticket = await call("POST", `${this.role}/${this.id}/ws-ticket`, { token: this.token });
    } catch (error) {
      if (error.status === 401) {
        this.onAuthLost(error);
        return;
      }
      this.fallback();
      return;
    }
    let socket;
    try {
      socket = new WebSocket(ticket.url);
    } catch {
      this.fallback();
      return;
    }
    this.socket = socket;
    socket.addEventListener("open", () => {
      if (this.socket !== socket) return;
      this.retry = 1000;
      this.setMode("push");
      this.stopPolling();
      this.poll(undefined).catch(() => {}); // catch up with what happened before the socket opened
    });
    socket.addEventListener("message", (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      if (!event.event_id || this.seen.has(event.event_id)) return;
      this.seen.add(event.event_id);
      this.onEvent(event);
    });
    socket.addEventListener("close", () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.fallback();
    });
  }

  fallback() {
    if (this.stopped) return;
    this.setMode("polling");
    this.startPolling();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), this.retry);
    this.retry = Math.min(this.retry * 2, 30000);
  }

  startPolling() {
    if (this.polling) return;
    const controller = new AbortController();
    this.polling = controller;
    (async () => {
      while (!controller.signal.aborted && !this.stopped) {
        try {
          await this.poll(controller.signal);
        } catch (error) {
          if (error.status === 401) {
            this.onAuthLost(error);
            return;
          }
          await sleep(2000, controller.signal);
        }
        await sleep(this.pollPause, controller.signal);
      }
    })();
  }

  stopPolling() {
    this.polling?.abort();
    this.polling = null;
  }
}
