// Joining the queue (join_queue / next), with the proof of work the server asks for solved
// first in a Web Worker (static/pow.js).

import { t, USER_LANG } from './i18n.js';
import { el, S } from './state.js';
import { send } from './connection.js';
import { showWaitingDetail, toast } from './screens.js';

/** `join_queue`'s and `next`'s data: the interests and the language. */
function queueData() {
  return USER_LANG ? { interests: S.interests, lang: USER_LANG } : { interests: S.interests };
}

// ---------------------------------------------------------------- proof of work
// `join_queue`/`next` with the proof the server asks for (welcome.pow): solved first in a Web
// Worker, with its progress on the waiting card.
export function joinQueue(event) {
  const data = queueData();
  if (S.pow && !S.powAdmitted) {
    if (S.powFor !== S.pow.challenge) {
      solvePow(event);
      return true;
    }
    data.pow_nonce = S.powNonce;
  }
  return send(event, data);
}

function solvePow(event) {
  stopPow();
  const challenge = S.pow.challenge;
  let worker;
  try {
    worker = new Worker('/static/pow.js');
  } catch (e) {
    toast(t('err_pow_required'));
    return;
  }
  S.powWorker = worker;
  worker.onmessage = (ev) => {
    if (worker !== S.powWorker) return;
    const m = ev.data || {};
    if (m.type === 'progress') {
      el.waitingDetail.textContent = t('powProgress', { n: m.percent });
    } else if (m.type === 'solved') {
      stopPow();
      S.powFor = challenge;
      S.powNonce = m.nonce;
      if (S.phase === 'waiting' && S.pow && S.pow.challenge === challenge) joinQueue(event);
    }
  };
  worker.postMessage({ challenge, bits: S.pow.bits });
}

export function stopPow() {
  if (!S.powWorker) return;
  S.powWorker.terminate();
  S.powWorker = null;
  if (S.phase === 'waiting') showWaitingDetail(null);
}
