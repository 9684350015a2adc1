// The WebSocket to /ws: connecting, resuming an identity, reconnecting with backoff, bans,
// liveness (get_stats) and sending frames. Server events go to events.js's HANDLERS.

import { LANG, t } from './i18n.js';
import { BACKOFF_BASE_MS, BACKOFF_MAX_MS, DEAD_AFTER_MS, el, MAX_TIMER_MS, RESUME_ANSWER_MS, S,
  STATS_EVERY_MS } from './state.js';
import { HANDLERS } from './events.js';
import { joinQueue, stopPow } from './queue.js';
import { hideNotice, leaveRoomLocally, render, setPhase, showNotice } from './screens.js';
import { hidePartnerTyping, stopTyping } from './composer.js';

// ---------------------------------------------------------------- connection
function wsUrl() {
  return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
}

export function setConn(state, seconds) {
  el.status.dataset.state = state;
  el.app.dataset.conn = state;
  const key = { connecting: 'statusConnecting', online: 'statusOnline', reconnecting: 'statusReconnecting', offline: 'statusOffline', banned: 'statusBanned' }[state];
  el.statusText.textContent = state === 'reconnecting' && seconds > 0 ? t('statusReconnectingIn', { s: seconds }) : t(key);
  render();
}

export function connect() {
  if (isBanned()) { setConn('banned'); return; }   // the attempt after the ban is planned
  clearTimeout(S.reconnectTimer);
  clearInterval(S.countdownTimer);
  if (S.ws) return;
  if (navigator.onLine === false) { setConn('offline'); return; }
  setConn(S.everReady ? 'reconnecting' : 'connecting');
  let ws;
  try {
    ws = new WebSocket(wsUrl());
  } catch (e) {
    scheduleReconnect();
    return;
  }
  S.ws = ws;
  S.ready = false;
  S.resumeSent = false;
  S.fallback = null;
  ws.onopen = () => {
    if (ws !== S.ws) return;
    S.lastRx = Date.now();
    if (S.token) {
      // `resume` must be the first event on the new connection.
      const data = { resume_token: S.token };
      if (S.roomId !== null) data.last_id = S.maxId;
      rawSend(ws, 'resume', data);
      S.resumeSent = true;
      clearTimeout(S.resumeTimer);
      S.resumeTimer = setTimeout(() => { if (ws === S.ws && S.resumeSent) onResumeFailed(); }, RESUME_ANSWER_MS);
    }
  };
  ws.onmessage = (ev) => {
    if (ws !== S.ws) return;
    S.lastRx = Date.now();
    S.statsAskedAt = 0;
    if (typeof ev.data !== 'string') return;
    let frame;
    try { frame = JSON.parse(ev.data); } catch (e) { return; }
    if (!frame || typeof frame !== 'object' || typeof frame.event !== 'string') return;
    const data = frame.data && typeof frame.data === 'object' ? frame.data : {};
    if (Object.prototype.hasOwnProperty.call(HANDLERS, frame.event)) HANDLERS[frame.event](data);
  };
  ws.onerror = () => { /* a close event follows */ };
  ws.onclose = (ev) => {
    if (ws !== S.ws) return;
    dropSocket(ev.code);
  };
}

// Forget the current socket (closing it if still open) and plan the next attempt.
export function dropSocket(code) {
  const ws = S.ws;
  S.ws = null;
  if (ws) {
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try { ws.close(); } catch (e) { /* already closed */ }
  }
  S.ready = false;
  S.resumeSent = false;
  clearTimeout(S.resumeTimer);
  clearInterval(S.statsTimer);
  S.typingSent = false;
  clearTimeout(S.typingIdleTimer);
  hidePartnerTyping();
  stopPow();   // the next connection brings a challenge of its own
  if (code === 1013) S.attempt = Math.max(S.attempt, 4);   // server busy: back off further
  scheduleReconnect();
}

function scheduleReconnect() {
  clearTimeout(S.reconnectTimer);
  clearInterval(S.countdownTimer);
  if (isBanned()) { scheduleAfterBan(); return; }
  if (navigator.onLine === false) { setConn('offline'); return; }
  // Exponential backoff with jitter: 50–100 % of min(max, base·2^attempt).
  const cap = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * Math.pow(2, S.attempt));
  const delay = Math.round(cap * (0.5 + Math.random() * 0.5));
  S.attempt = Math.min(S.attempt + 1, 16);
  const due = Date.now() + delay;
  const tick = () => {
    const s = Math.ceil((due - Date.now()) / 1000);
    setConn('reconnecting', s >= 2 ? s : 0);
  };
  tick();
  if (delay >= 2000) S.countdownTimer = setInterval(tick, 1000);
  S.reconnectTimer = setTimeout(connect, delay);
}

// ---------------------------------------------------------------- bans
function isBanned() { return S.bannedUntil > Date.now(); }

// `error` `banned`: say until when, leave any chat, and stay away until then (the server
// closes the socket with 1008 right after).
export function onBanned(until) {
  const at = Date.parse(typeof until === 'string' ? until : '');
  S.bannedUntil = Number.isFinite(at) && at > Date.now() ? at : Date.now() + 60000;
  S.resumeSent = false;
  clearTimeout(S.resumeTimer);
  stopTyping(false);
  leaveRoomLocally();
  setPhase('idle');
  setConn('banned');
  const time = new Date(S.bannedUntil).toLocaleString(LANG === 'zh' ? 'zh-CN' : undefined,
    { dateStyle: 'medium', timeStyle: 'short' });
  showNotice(t('banned', { time }));
  el.notice.dataset.until = new Date(S.bannedUntil).toISOString();
}

// One attempt once the ban is over (a second ban answers it with a new `until`).
function scheduleAfterBan() {
  setConn('banned');
  const wait = Math.min(MAX_TIMER_MS, S.bannedUntil - Date.now() + 1000);
  S.reconnectTimer = setTimeout(() => {
    if (isBanned()) { scheduleAfterBan(); return; }   // a ban longer than one timer
    S.bannedUntil = 0;
    S.attempt = 0;
    delete el.notice.dataset.until;
    hideNotice();
    connect();
  }, wait);
}

export function reconnectNow() {
  if (S.ws) return;
  S.attempt = 0;
  connect();
}

function rawSend(ws, event, data) {
  try {
    ws.send(JSON.stringify(data ? { event, data } : { event }));
    return true;
  } catch (e) {
    return false;
  }
}

export function send(event, data) {
  if (!S.ws || !S.ready || S.ws.readyState !== WebSocket.OPEN) return false;
  return rawSend(S.ws, event, data);
}

export function onReady() {
  S.ready = true;
  S.everReady = true;
  S.attempt = 0;
  setConn('online');
  clearInterval(S.statsTimer);
  S.statsAskedAt = 0;
  S.statsTimer = setInterval(pollStats, STATS_EVERY_MS);
  send('get_stats', {});
}

function pollStats() {
  if (!S.ready) return;
  const now = Date.now();
  // Application-level liveness: a socket that answers nothing for a while is dead.
  if (S.statsAskedAt && now - S.statsAskedAt > DEAD_AFTER_MS && now - S.lastRx > DEAD_AFTER_MS) {
    dropSocket(0);
    return;
  }
  if (send('get_stats', {}) && !S.statsAskedAt) S.statsAskedAt = now;
}

export function onResumeFailed() {
  S.resumeSent = false;
  clearTimeout(S.resumeTimer);
  if (S.fallback) {
    S.userId = S.fallback.user_id;
    S.token = S.fallback.resume_token;
    S.powAdmitted = false;
  }
  onReady();
  if (S.phase === 'chatting' || S.phase === 'ended') {
    const wasChatting = S.phase === 'chatting';
    leaveRoomLocally();
    setPhase('idle');
    if (wasChatting) showNotice(t('resumeFailed'));
  } else if (S.phase === 'waiting') {
    joinQueue('join_queue');
  }
}
