// The page's shared state: timing constants, the elements it drives and the session state S.

// ---------------------------------------------------------------- constants
export const TYPING_IDLE_MS = 3000;     // send typing:false after this much quiet
export const TYPING_REFRESH_MS = 4000;  // re-send typing:true while typing continues
export const TYPING_EXPIRY_MS = 6000;   // a received typing:true expires after this
export const STATS_EVERY_MS = 15000;
export const DEAD_AFTER_MS = 10000;     // no answer to get_stats for this long: connection is dead
export const RESUME_ANSWER_MS = 10000;
export const BACKOFF_BASE_MS = 500;
export const BACKOFF_MAX_MS = 30000;
export const TOAST_MS = 4000;
export const STORE_KEY = 'anonchat.interests';
export const MAX_TIMER_MS = 0x7fffffff; // setTimeout's longest delay (about 24.8 days)

// ---------------------------------------------------------------- elements
const $ = (id) => document.getElementById(id);
export const el = {
  app: $('app'), online: $('online'), status: $('status'), statusText: $('status-text'),
  landing: $('landing'), notice: $('notice'), interests: $('interests'), interestTags: $('interest-tags'),
  interestBox: $('interest-box'), start: $('start'),
  waiting: $('waiting'), waitingDetail: $('waiting-detail'), cancel: $('cancel'),
  chat: $('chat'), partnerMeta: $('partner-meta'), report: $('report'), leave: $('leave'), next: $('next'),
  messages: $('messages'), typing: $('typing'), composer: $('composer'), input: $('input'),
  counter: $('counter'), send: $('send'), ended: $('ended'), endedText: $('ended-text'),
  home: $('home'), newchat: $('newchat'), toast: $('toast'),
  reportDialog: $('report-dialog'), reportReason: $('report-reason'),
  reportCancel: $('report-cancel'), reportConfirm: $('report-confirm'),
};

// ---------------------------------------------------------------- state
export const S = {
  ws: null,
  ready: false,          // welcome (and resume answer, if any) received on the current socket
  everReady: false,
  userId: null,
  token: null,           // resume token of the identity in use
  resumeSent: false,     // resume sent on this socket, answer pending
  fallback: null,        // identity from this socket's welcome, used if resume fails
  resumeTimer: 0,
  attempt: 0,
  reconnectTimer: 0,
  bannedUntil: 0,        // ms since the epoch: banned until then (error banned), no reconnecting
  countdownTimer: 0,
  statsTimer: 0,
  lastRx: 0,
  statsAskedAt: 0,
  pow: null,             // this socket's welcome.pow: {challenge, bits}, or null
  powAdmitted: false,    // the identity's proof was accepted (it survives a resume)
  powFor: null,          // the challenge powNonce solves
  powNonce: null,
  powWorker: null,       // the Web Worker searching (static/pow.js)
  limits: { max_message_chars: 500, max_interests: 5, max_interest_chars: 32 },

  phase: 'idle',         // idle | waiting | chatting | ended
  roomId: null,
  partnerAway: false,
  common: [],            // interests shared with the partner
  interests: [],
  ids: new Set(),        // stored message ids shown in this room
  maxId: 0,
  outbox: new Map(),     // nonce -> {content, node, failed}, oldest first
  serial: false,         // resending: one unacknowledged message at a time, oldest first
  inflight: null,        // nonce sent in serial mode, waiting for its echo
  flushTimer: 0,

  typingSent: false,
  typingSentAt: 0,
  typingIdleTimer: 0,
  partnerTypingTimer: 0,
  toastTimer: 0,
  unread: 0,
};

export const cp = (s) => Array.from(s).length;   // length in Unicode code points
