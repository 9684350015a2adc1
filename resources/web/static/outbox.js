// Messages sent but not yet acknowledged: nonces, serial resending after a resume, a rate
// limit or a storage error, and marking the ones that failed.

import { t } from './i18n.js';
import { cp, el, S } from './state.js';
import { send } from './connection.js';
import { toast } from './screens.js';
import { buildMessage, scrollToEnd, setMessageState } from './messages.js';
import { autosize, stopTyping, updateCounter } from './composer.js';

// ---------------------------------------------------------------- outbox
function newNonce() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);   // works on plain http too, unlike randomUUID
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export function sendMessage() {
  if (S.phase !== 'chatting') return;
  const content = el.input.value.trim();
  const n = cp(content);
  if (n === 0) return;
  if (n > S.limits.max_message_chars) {
    toast(t('tooLong', { max: S.limits.max_message_chars }));
    return;
  }
  const nonce = newNonce();
  const li = buildMessage('mine', content, new Date());
  li.classList.add('msg--pending');
  li.dataset.nonce = nonce;
  setMessageState(li, t('sending'));
  el.messages.appendChild(li);
  scrollToEnd();
  S.outbox.set(nonce, { content, node: li, failed: false });
  // If offline, it goes out after the resume; while resending, it waits its turn.
  if (S.serial) pumpOutbox();
  else send('send_message', { content, nonce });
  el.input.value = '';
  autosize();
  updateCounter();
  stopTyping(true);
  el.input.focus({ preventScroll: true });
}

// Resending (after a resume, a rate limit or a storage error) is serial: the oldest
// unacknowledged message goes out, the next one only after its echo. That keeps the order
// and never floods a server that just said "slow down". The same nonce makes a resend of
// a message the server already has harmless: it answers with the stored copy.
export function resendOutbox() {
  clearTimeout(S.flushTimer);
  S.flushTimer = 0;
  S.serial = true;
  S.inflight = null;
  pumpOutbox();
}

export function scheduleResend(ms) {
  S.serial = true;
  S.inflight = null;
  clearTimeout(S.flushTimer);
  S.flushTimer = setTimeout(resendOutbox, ms);
}

function pumpOutbox() {
  if (S.flushTimer || !S.ready || S.phase !== 'chatting') return;
  if (S.inflight && S.outbox.has(S.inflight)) return;   // wait for its echo
  S.inflight = null;
  for (const [nonce, m] of S.outbox) {
    if (m.failed) continue;
    S.inflight = nonce;
    send('send_message', { content: m.content, nonce });
    return;
  }
  S.serial = false;   // all delivered: back to sending at once
}

export function acked(nonce) {
  if (!S.serial) return;
  if (S.inflight === nonce) S.inflight = null;
  pumpOutbox();
}

export function failOne(nonce) {
  const m = S.outbox.get(nonce);
  if (!m) return;
  m.node.classList.add('msg--failed');
  m.node.classList.remove('msg--pending');
  setMessageState(m.node, t('notSent'));
  S.outbox.delete(nonce);
  S.inflight = null;
  pumpOutbox();
}

export function failOutbox() {
  for (const m of S.outbox.values()) {
    m.failed = true;
    m.node.classList.add('msg--failed');
    m.node.classList.remove('msg--pending');
    setMessageState(m.node, t('notSent'));
  }
  S.outbox.clear();
  S.serial = false;
  S.inflight = null;
  clearTimeout(S.flushTimer);
  S.flushTimer = 0;
}
