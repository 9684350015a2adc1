// anonchat page: plain JS modules, no framework, no build step, no inline code (the server's
// CSP forbids it). Speaks the wire protocol of PROTOCOL.md (version 1) over a WebSocket at /ws.
// Every message is rendered with textContent: user content is never parsed as markup.
// This module holds the user's actions and wires the page's events; it is the entry point.

import { applyStaticStrings, t } from './i18n.js';
import { el, S } from './state.js';
import { connect, dropSocket, reconnectNow, send, setConn } from './connection.js';
import { joinQueue, stopPow } from './queue.js';
import { endRoom, leaveRoomLocally, render, setPhase, showWaitingDetail, toast } from './screens.js';
import { sendMessage } from './outbox.js';
import { autosize, onInputTyping, stopTyping, updateCounter } from './composer.js';
import { commitInterestInput, loadInterests, removeInterest, renderInterests } from './interests.js';

// ---------------------------------------------------------------- actions
function requireOnline() {
  if (S.ready) return true;
  toast(t('offlineAction'));
  return false;
}

function startSearch() {
  commitInterestInput();
  if (!requireOnline()) return;
  if (S.phase === 'chatting') return;
  leaveRoomLocally();
  setPhase('waiting');
  showWaitingDetail(null);
  joinQueue('join_queue');
}

function nextChat() {
  if (!requireOnline()) return;
  if (S.phase === 'chatting') {
    stopTyping(false);
    joinQueue('next');
    leaveRoomLocally();
    setPhase('waiting');
    showWaitingDetail(null);
  } else if (S.phase === 'ended') {
    startSearch();
  }
}

function leaveChat() {
  if (S.phase !== 'chatting' || !requireOnline()) return;
  stopTyping(false);
  send('leave_room_event', {});
  endRoom(t('youLeft'));
}

function cancelSearch() {
  if (S.phase !== 'waiting') return;
  if (S.powWorker) stopPow();   // nothing was sent yet
  else send('leave_queue', {});
  setPhase('idle');
}

function openReport() {
  if (S.phase !== 'chatting' || !requireOnline()) return;
  if (typeof el.reportDialog.showModal === 'function') el.reportDialog.showModal();
  else if (window.confirm(t('reportTitle'))) send('report', { reason: 'other' });
}

function confirmReport() {
  el.reportDialog.close();
  if (S.phase !== 'chatting') return;
  send('report', { reason: el.reportReason.value });
}

// ---------------------------------------------------------------- wiring
// The buttons: each starts one of the actions above.
function wireButtons() {
  el.start.addEventListener('click', startSearch);
  el.cancel.addEventListener('click', cancelSearch);
  el.next.addEventListener('click', nextChat);
  el.leave.addEventListener('click', leaveChat);
  el.newchat.addEventListener('click', startSearch);
  el.home.addEventListener('click', () => {
    leaveRoomLocally();
    setPhase('idle');
    el.interests.focus();
  });
  el.report.addEventListener('click', openReport);
  el.reportCancel.addEventListener('click', () => el.reportDialog.close());
  el.reportConfirm.addEventListener('click', confirmReport);
  el.send.addEventListener('click', sendMessage);
}

function wireComposer() {
  el.input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      sendMessage();
    }
  });
  el.input.addEventListener('input', () => {
    updateCounter();
    autosize();
    onInputTyping();
  });
  el.input.addEventListener('blur', () => stopTyping(true));
}

function wireInterests() {
  el.interests.addEventListener('keydown', (e) => {
    if (e.isComposing || e.keyCode === 229) return;
    if (e.key === 'Enter') {
      e.preventDefault();
      if (el.interests.value.trim()) commitInterestInput();
      else if (!el.start.disabled) startSearch();
    } else if (e.key === 'Backspace' && el.interests.value === '' && S.interests.length) {
      removeInterest(S.interests[S.interests.length - 1]);
    }
  });
  el.interests.addEventListener('input', () => {
    if (/[,，、;；]/.test(el.interests.value)) commitInterestInput();
  });
  el.interests.addEventListener('blur', commitInterestInput);
  el.interestBox.addEventListener('click', (e) => { if (e.target === el.interestBox || e.target === el.interestTags) el.interests.focus(); });
}

// The network coming and going, the tab shown again and the tab closed.
function wirePage() {
  window.addEventListener('online', reconnectNow);
  window.addEventListener('offline', () => {
    // Don't wait for a TCP timeout: the connection is gone, start over when back.
    if (S.ws) dropSocket(0);
    else setConn('offline');
  });
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) return;
    S.unread = 0;
    document.title = 'anonchat';
    if (!S.ws) reconnectNow();
  });
  window.addEventListener('pagehide', (e) => {
    // Closing the tab ends the chat at once instead of leaving the partner waiting.
    if (!e.persisted && S.phase === 'chatting') send('leave_room_event', {});
  });
}

function wire() {
  wireButtons();
  wireComposer();
  wireInterests();
  wirePage();
}

function init() {
  applyStaticStrings();
  loadInterests();
  renderInterests();
  wire();
  render();
  connect();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
else init();
