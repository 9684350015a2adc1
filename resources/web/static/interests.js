// The interest tags on the landing card, kept in localStorage.

import { t } from './i18n.js';
import { cp, el, S, STORE_KEY } from './state.js';
import { toast } from './screens.js';

// ---------------------------------------------------------------- interests
function normTag(s) {
  return s.replace(/\s+/g, ' ').trim().toLocaleLowerCase();
}

// Adds the comma-separated tags of `text`; returns what could not be added (too long or
// over the limit) so it can stay in the field for editing.
function addInterests(text) {
  const rejected = [];
  for (const raw of text.split(/[,，、;；\n]/)) {
    const tag = normTag(raw);
    if (!tag || S.interests.includes(tag)) continue;
    if (cp(tag) > S.limits.max_interest_chars) {
      toast(t('interestTooLong', { max: S.limits.max_interest_chars }));
      rejected.push(tag);
    } else if (S.interests.length >= S.limits.max_interests) {
      toast(t('interestTooMany', { max: S.limits.max_interests }));
      rejected.push(tag);
    } else {
      S.interests.push(tag);
    }
  }
  saveInterests();
  renderInterests();
  return rejected;
}

export function commitInterestInput() {
  const v = el.interests.value;
  if (!v.trim()) return;
  el.interests.value = addInterests(v).join(', ');
}

export function removeInterest(tag) {
  S.interests = S.interests.filter((x) => x !== tag);
  saveInterests();
  renderInterests();
  el.interests.focus();
}

export function renderInterests() {
  el.interestTags.textContent = '';
  for (const tag of S.interests) {
    const li = document.createElement('li');
    li.className = 'tag';
    const span = document.createElement('span');
    span.className = 'tag__text';
    span.textContent = tag;
    const x = document.createElement('button');
    x.type = 'button';
    x.className = 'tag__remove';
    x.setAttribute('aria-label', t('removeInterest', { tag }));
    x.textContent = '×';
    x.addEventListener('click', () => removeInterest(tag));
    li.append(span, x);
    el.interestTags.appendChild(li);
  }
  el.interestBox.classList.toggle('tags--full', S.interests.length >= S.limits.max_interests);
}

function saveInterests() {
  try { localStorage.setItem(STORE_KEY, JSON.stringify(S.interests)); } catch (e) { /* private mode */ }
}

export function loadInterests() {
  try {
    const v = JSON.parse(localStorage.getItem(STORE_KEY) || '[]');
    if (Array.isArray(v)) S.interests = v.filter((x) => typeof x === 'string' && x && cp(x) <= 32).slice(0, 5);
  } catch (e) { S.interests = []; }
}
