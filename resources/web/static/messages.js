// The message list: building message nodes (textContent only: user content is never parsed as
// markup), placing them, and new_message.

import { t } from './i18n.js';
import { el, S } from './state.js';
import { attention } from './screens.js';
import { acked } from './outbox.js';
import { hidePartnerTyping } from './composer.js';

// ---------------------------------------------------------------- messages
function pad2(n) { return n < 10 ? '0' + n : String(n); }
function hhmm(d) { return pad2(d.getHours()) + ':' + pad2(d.getMinutes()); }

function parseTime(ts) {
  const d = typeof ts === 'string' ? new Date(ts) : new Date();
  return Number.isNaN(d.getTime()) ? new Date() : d;
}

function timeNode(date) {
  const n = document.createElement('time');
  n.className = 'msg__time';
  n.dateTime = date.toISOString();
  n.textContent = hhmm(date);
  return n;
}

export function buildMessage(kind, content, date) {
  const li = document.createElement('li');
  li.className = 'msg msg--' + kind;
  const bubble = document.createElement('div');
  bubble.className = 'msg__bubble';
  if (kind !== 'system') {
    const who = document.createElement('span');
    who.className = 'visually-hidden';
    who.textContent = kind === 'mine' ? t('srMine') : t('srTheirs');
    bubble.appendChild(who);
  }
  const text = document.createElement('p');
  text.className = 'msg__text';
  text.textContent = content;   // always text, never markup
  bubble.appendChild(text);
  const meta = document.createElement('span');
  meta.className = 'msg__meta';
  meta.appendChild(timeNode(date));
  bubble.appendChild(meta);
  li.appendChild(bubble);
  return li;
}

export function setMessageState(li, stateText) {
  const meta = li.querySelector('.msg__meta');
  let st = meta.querySelector('.msg__state');
  if (!stateText) { if (st) st.remove(); return; }
  if (!st) {
    st = document.createElement('span');
    st.className = 'msg__state';
    meta.appendChild(st);
  }
  st.textContent = stateText;
}

function nearBottom() {
  const m = el.messages;
  return m.scrollHeight - m.scrollTop - m.clientHeight < 80;
}

export function scrollToEnd() { el.messages.scrollTop = el.messages.scrollHeight; }

// Stored messages and notices go before the first message still waiting for its ack,
// so unacknowledged messages always sit at the end, in the order they were written.
function placeNode(node) {
  const stick = nearBottom();
  const firstPending = el.messages.querySelector('.msg--pending');
  if (firstPending && firstPending !== node) el.messages.insertBefore(node, firstPending);
  else if (!node.parentNode) el.messages.appendChild(node);
  if (stick) scrollToEnd();
}

export function notice(text, extraClass, reason) {
  const li = buildMessage('system', text, new Date());
  if (extraClass) li.classList.add('msg--' + extraClass);
  if (reason) li.dataset.reason = reason;
  placeNode(li);
  scrollToEnd();
  return li;
}

export function onNewMessage(d) {
  if (!d || typeof d !== 'object' || !Number.isInteger(d.id) || typeof d.content !== 'string') return;
  if (d.room_id !== S.roomId) return;
  const pending = typeof d.nonce === 'string' ? S.outbox.get(d.nonce) : undefined;
  if (S.ids.has(d.id)) {
    // Seen already (e.g. in `resumed`); a resend of ours was answered with the stored copy.
    if (pending) {
      pending.node.remove();
      S.outbox.delete(d.nonce);
      acked(d.nonce);
    }
    return;
  }
  S.ids.add(d.id);
  if (d.id > S.maxId) S.maxId = d.id;
  const mine = d.sender_id === S.userId;
  const date = parseTime(d.timestamp);
  let li;
  if (mine && pending) {
    li = pending.node;
    S.outbox.delete(d.nonce);
    li.classList.remove('msg--pending', 'msg--failed');
    delete li.dataset.nonce;
    setMessageState(li, '');
    li.querySelector('.msg__time').replaceWith(timeNode(date));
    acked(d.nonce);
  } else {
    li = buildMessage(mine ? 'mine' : 'theirs', d.content, date);
  }
  li.dataset.id = String(d.id);
  placeNode(li);
  if (mine) scrollToEnd();
  else {
    hidePartnerTyping();
    attention();
  }
}
