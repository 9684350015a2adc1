// What the page does with each server event (PROTOCOL.md, "Server events").

import { errorText, t } from './i18n.js';
import { el, S, TYPING_EXPIRY_MS } from './state.js';
import { onBanned, onReady, onResumeFailed } from './connection.js';
import { joinQueue } from './queue.js';
import { attention, endRoom, enterRoom, renderPartnerMeta, setOnline, setPhase, showWaitingDetail,
  toast } from './screens.js';
import { notice, onNewMessage } from './messages.js';
import { failOne, failOutbox, resendOutbox, scheduleResend } from './outbox.js';
import { hidePartnerTyping, updateCounter } from './composer.js';

// ---------------------------------------------------------------- server events
export const HANDLERS = {
  welcome(d) {
    if (d.limits && typeof d.limits === 'object') {
      for (const k of ['max_message_chars', 'max_interests', 'max_interest_chars']) {
        if (Number.isInteger(d.limits[k]) && d.limits[k] > 0) S.limits[k] = d.limits[k];
      }
      updateCounter();
    }
    setOnline(d.online);
    // The challenge is this connection's, whichever identity stands (PROTOCOL.md).
    S.pow = d.pow && typeof d.pow.challenge === 'string' && Number.isInteger(d.pow.bits) ? d.pow : null;
    if (S.resumeSent) {
      S.fallback = { user_id: d.user_id, resume_token: d.resume_token };
      return;   // the answer to `resume` decides which identity stands
    }
    S.userId = d.user_id;
    S.token = d.resume_token;
    S.powAdmitted = false;   // a new identity
    onReady();
    if (S.phase === 'waiting') joinQueue('join_queue');
  },

  resumed(d) {
    S.resumeSent = false;
    clearTimeout(S.resumeTimer);
    if (typeof d.user_id === 'string') S.userId = d.user_id;
    if (typeof d.resume_token === 'string') S.token = d.resume_token;
    onReady();
    const room = d.room && typeof d.room === 'object' ? d.room : null;
    if (room) {
      S.powAdmitted = true;   // a room is had only after admission
      if (room.room_id !== S.roomId || S.phase !== 'chatting') enterRoom(room.room_id, []);
      else notice(t('youReconnected'));
      if (Array.isArray(room.messages)) for (const m of room.messages) onNewMessage(m);
      resendOutbox();
    } else if (S.phase === 'chatting') {
      endRoom(t('endedWhileAway'));
    } else if (S.phase === 'waiting') {
      joinQueue('join_queue');   // dropped users leave the queue
    }
  },

  waiting(d) {
    S.powAdmitted = true;
    setOnline(d.online);
    if (S.phase !== 'chatting') setPhase('waiting');
    showWaitingDetail(d);
  },

  queue_left() {
    if (S.phase === 'waiting') setPhase('idle');
  },

  matched(d) {
    S.powAdmitted = true;
    const language = typeof d.common_language === 'string' ? d.common_language : '';
    enterRoom(d.room_id, Array.isArray(d.common_interests) ? d.common_interests : [], language);
    attention();
  },

  new_message(d) { onNewMessage(d); },

  partner_typing(d) {
    if (S.phase !== 'chatting') return;
    if (d.typing === true) {
      el.typing.hidden = false;
      clearTimeout(S.partnerTypingTimer);
      S.partnerTypingTimer = setTimeout(hidePartnerTyping, TYPING_EXPIRY_MS);
    } else {
      hidePartnerTyping();
    }
  },

  partner_away(d) {
    if (d.room_id !== S.roomId || S.phase !== 'chatting') return;
    S.partnerAway = true;
    hidePartnerTyping();
    notice(t('partnerAway'));
    renderPartnerMeta();
  },

  partner_back(d) {
    if (d.room_id !== S.roomId || S.phase !== 'chatting') return;
    S.partnerAway = false;
    notice(t('partnerBack'));
    renderPartnerMeta();
  },

  partner_left(d) {
    if (d.room_id !== S.roomId || S.phase !== 'chatting') return;
    const reason = ['left', 'next', 'disconnected'].includes(d.reason) ? d.reason : 'left';
    endRoom(t('partnerLeft_' + reason), reason);
    attention();
  },

  room_left(d) {
    // Our own leave/next is applied when the button is pressed; this only confirms it.
    if (d.room_id === S.roomId && S.phase === 'chatting') endRoom(t('youLeft'));
  },

  reported(d) {
    if (d.room_id === S.roomId) notice(t('reported'));
    toast(t('reported'));
  },

  stats(d) {
    S.statsAskedAt = 0;
    setOnline(d.online);
  },

  error(d) {
    const code = typeof d.code === 'string' ? d.code : '';
    if (code === 'resume_failed' && S.resumeSent) { onResumeFailed(); return; }
    if (code === 'banned') { onBanned(d.until); return; }
    if (d.event === 'typing' || d.event === 'get_stats') return;   // nothing the user did
    if (code === 'not_in_queue' && d.event === 'leave_queue') return;
    if (code === 'pow_required' || code === 'pow_invalid') {
      S.powAdmitted = false;
      S.powFor = null;
      if (S.phase === 'waiting') setPhase('idle');
    }
    if (code === 'rate_limited' && d.event === 'send_message') {
      scheduleResend(Number.isFinite(d.retry_after_ms) ? Math.max(100, d.retry_after_ms) : 1000);
    }
    if (code === 'internal' && d.event === 'send_message') scheduleResend(2000);
    if (code === 'not_in_room' && d.event === 'send_message') failOutbox();
    if (code === 'message_too_long' || code === 'message_empty' || code === 'invalid_data') {
      if (d.event === 'send_message' && S.serial && S.inflight) failOne(S.inflight);
    }
    toast(errorText(code, d.message));
  },
};
