// The composer: typing notices sent and received, the character counter, the textarea's height.

import { cp, el, S, TYPING_IDLE_MS, TYPING_REFRESH_MS } from './state.js';
import { send } from './connection.js';

// ---------------------------------------------------------------- typing
export function onInputTyping() {
  if (S.phase !== 'chatting' || !S.ready) return;
  if (el.input.value.trim() === '') { stopTyping(true); return; }
  const now = Date.now();
  if (!S.typingSent || now - S.typingSentAt > TYPING_REFRESH_MS) {
    if (send('typing', { typing: true })) {
      S.typingSent = true;
      S.typingSentAt = now;
    }
  }
  clearTimeout(S.typingIdleTimer);
  S.typingIdleTimer = setTimeout(() => stopTyping(true), TYPING_IDLE_MS);
}

export function stopTyping(tell) {
  clearTimeout(S.typingIdleTimer);
  if (!S.typingSent) return;
  S.typingSent = false;
  if (tell && S.phase === 'chatting') send('typing', { typing: false });
}

export function hidePartnerTyping() {
  clearTimeout(S.partnerTypingTimer);
  el.typing.hidden = true;
}

// ---------------------------------------------------------------- composer
export function updateCounter() {
  const n = cp(el.input.value.trim());
  const max = S.limits.max_message_chars;
  el.counter.textContent = n + '/' + max;
  el.counter.classList.toggle('counter--near', n > max * 0.9 && n <= max);
  el.counter.classList.toggle('counter--over', n > max);
  el.input.setAttribute('aria-invalid', n > max ? 'true' : 'false');
  el.send.disabled = S.phase !== 'chatting' || n === 0 || n > max;
}

export function autosize() {
  // CSSOM writes are allowed by the CSP (only style attributes/blocks are not).
  el.input.style.height = 'auto';
  el.input.style.height = Math.min(el.input.scrollHeight, 160) + 'px';
}
