// The screens (landing, waiting, chat, ended), entering and leaving rooms, and the little
// status helpers: online count, toast, notice, unread count in the title.

import { joinList, languageName, t } from './i18n.js';
import { el, S, TOAST_MS } from './state.js';
import { notice } from './messages.js';
import { failOutbox } from './outbox.js';
import { hidePartnerTyping, stopTyping, updateCounter } from './composer.js';

export function setOnline(n) {
  if (!Number.isInteger(n) || n < 0) return;
  el.online.textContent = t('online', { n });
  el.online.dataset.count = String(n);
}

export function showWaitingDetail(d) {
  const parts = [];
  if (d && Number.isInteger(d.online) && Number.isInteger(d.queued)) parts.push(t('waitingStats', d));
  if (S.interests.length) parts.push(t('waitingInterests', { list: joinList(S.interests) }));
  el.waitingDetail.textContent = parts.join('\n');
}

// ---------------------------------------------------------------- rooms
export function enterRoom(roomId, common, language) {
  clearMessages();
  S.roomId = roomId;
  S.partnerAway = false;
  S.common = common.filter((x) => typeof x === 'string');
  setPhase('chatting');
  notice(t('connectedTo'));
  if (S.common.length) notice(t('commonInterests', { list: joinList(S.common) }));
  if (language) notice(t('commonLanguage', { lang: languageName(language) }));
  renderPartnerMeta();
  el.input.focus({ preventScroll: true });
}

export function endRoom(text, reason) {
  stopTyping(false);
  hidePartnerTyping();
  failOutbox();
  notice(text, reason ? 'partner-left' : 'ended', reason);
  el.endedText.textContent = text;
  setPhase('ended');
  el.newchat.focus({ preventScroll: true });
}

export function leaveRoomLocally() {
  clearMessages();
  S.roomId = null;
}

function clearMessages() {
  el.messages.textContent = '';
  S.ids.clear();
  S.maxId = 0;
  S.outbox.clear();
  S.serial = false;
  S.inflight = null;
  clearTimeout(S.flushTimer);
  S.flushTimer = 0;
  hidePartnerTyping();
}

export function renderPartnerMeta() {
  if (S.partnerAway) el.partnerMeta.textContent = t('partnerMetaAway');
  else if (S.common && S.common.length) el.partnerMeta.textContent = t('commonInterests', { list: joinList(S.common) });
  else el.partnerMeta.textContent = t('partnerMetaOnline');
  el.partnerMeta.classList.toggle('partner__meta--away', S.partnerAway);
}

export function setPhase(phase) {
  S.phase = phase;
  if (phase !== 'idle') hideNotice();
  render();
}

export function render() {
  const p = S.phase;
  el.app.dataset.phase = p;
  el.landing.hidden = p !== 'idle';
  el.waiting.hidden = p !== 'waiting';
  el.chat.hidden = !(p === 'chatting' || p === 'ended');
  el.composer.hidden = p === 'ended';
  el.ended.hidden = p !== 'ended';
  el.input.disabled = p !== 'chatting';
  el.leave.disabled = p !== 'chatting' || !S.ready;
  el.report.disabled = p !== 'chatting' || !S.ready;
  el.next.disabled = !(p === 'chatting' || p === 'ended') || !S.ready;
  el.start.disabled = !S.ready;
  el.newchat.disabled = !S.ready;
  el.cancel.disabled = !S.ready;
  updateCounter();
}

// ---------------------------------------------------------------- little UI helpers
export function toast(text) {
  el.toast.textContent = text;
  el.toast.hidden = false;
  el.toast.classList.remove('toast--show');
  void el.toast.offsetWidth;   // restart the entry animation
  el.toast.classList.add('toast--show');
  clearTimeout(S.toastTimer);
  S.toastTimer = setTimeout(() => {
    el.toast.classList.remove('toast--show');
    el.toast.hidden = true;
  }, TOAST_MS);
}

export function showNotice(text) {
  el.notice.textContent = text;
  el.notice.hidden = false;
}

export function hideNotice() { el.notice.hidden = true; }

export function attention() {
  if (!document.hidden) return;
  S.unread += 1;
  document.title = t('unreadTitle', { n: S.unread });
}
