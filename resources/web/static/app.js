// anonchat page: plain JS, no framework, no inline code (the server's CSP forbids it).
// Speaks the wire protocol of PROTOCOL.md (version 1) over a WebSocket at /ws.
// Every message is rendered with textContent: user content is never parsed as markup.
'use strict';

(function () {
  // ---------------------------------------------------------------- strings
  const I18N = {
    en: {
      skipToInput: 'Skip to message box',
      onlineTitle: 'People online right now',
      online: '{n} online',
      statusConnecting: 'Connecting…',
      statusOnline: 'Connected',
      statusReconnecting: 'Reconnecting…',
      statusReconnectingIn: 'Reconnecting in {s} s…',
      statusOffline: 'Offline',
      statusBanned: 'Banned',
      heroTitle: 'Talk to a stranger',
      heroLead: 'Anonymous, one to one, no sign-up. Say hello to someone new — and leave whenever you like.',
      interestsLabel: 'Interests (optional)',
      interestsListLabel: 'Your interests',
      interestsPlaceholder: 'music, travel, games…',
      interestsHint: 'Up to 5 topics. Press Enter or comma to add one. We try to pair you with someone who shares one.',
      removeInterest: 'Remove {tag}',
      start: 'Start chatting',
      feature1: 'No account, no profile',
      feature2: 'Survives a flaky connection',
      feature3: 'Report anyone who misbehaves',
      footer: "Be kind. Don't share personal details with strangers.",
      waitingTitle: 'Looking for someone…',
      waitingStats: '{online} online · {queued} waiting',
      waitingInterests: 'Preferring people who like: {list}',
      cancel: 'Cancel',
      stranger: 'Stranger',
      report: 'Report',
      leave: 'Leave',
      next: 'Next',
      messagesLabel: 'Messages',
      typing: 'Stranger is typing…',
      inputLabel: 'Message',
      inputPlaceholder: 'Type a message…',
      send: 'Send',
      composerHint: 'Enter sends, Shift+Enter adds a new line.',
      changeInterests: 'Change interests',
      newChat: 'New chat',
      reportTitle: 'Report this stranger?',
      reportText: "The report is recorded and you won't be matched with them again.",
      reportReasonLabel: 'Reason',
      reasonSpam: 'Spam or advertising',
      reasonHarassment: 'Harassment or hate',
      reasonSexual: 'Unwanted sexual content',
      reasonOther: 'Something else',
      reportConfirm: 'Report',
      you: 'You',
      srMine: 'You: ',
      srTheirs: 'Stranger: ',
      sending: 'sending…',
      notSent: 'not delivered',
      connectedTo: "You're now chatting with a random stranger. Say hi!",
      commonInterests: 'You both like: {list}',
      commonLanguage: 'You both speak {lang}.',
      partnerMetaAway: 'connection lost, waiting…',
      partnerMetaOnline: 'anonymous',
      partnerLeft_left: 'Stranger has left the chat.',
      partnerLeft_next: 'Stranger moved on to the next chat.',
      partnerLeft_disconnected: 'Stranger lost their connection and did not come back.',
      youLeft: 'You left the chat.',
      partnerAway: "Stranger's connection dropped. Waiting for them to come back…",
      partnerBack: 'Stranger is back.',
      youReconnected: 'Reconnected. The chat continues.',
      endedWhileAway: 'The chat ended while you were disconnected.',
      resumeFailed: 'Your chat ended while you were disconnected.',
      banned: 'You are banned from this server until {time}.',
      reported: "Thanks. The stranger was reported and you won't be matched again.",
      tooLong: 'Messages can be at most {max} characters.',
      offlineAction: "You're offline. Try again once reconnected.",
      interestTooLong: 'An interest can be at most {max} characters.',
      interestTooMany: 'Up to {max} interests.',
      err_rate_limited: 'Slow down a little — try again in a moment.',
      err_message_too_long: 'That message is too long.',
      err_message_empty: 'Empty messages are not sent.',
      err_not_in_room: "You're not in a chat right now.",
      err_already_in_room: "You're already in a chat.",
      err_server_busy: 'The server is full right now. Retrying…',
      err_internal: 'The server could not store that. Retrying…',
      err_invalid_data: 'The server rejected that request.',
      err_generic: 'Something went wrong: {msg}',
      err_pow_required: 'The server asked this browser to prove it is not a bot. Press Start chatting again.',
      err_pow_invalid: 'The server did not accept this browser\u2019s check. Press Start chatting again.',
      powProgress: 'Checking your browser\u2026 {n}%',
      unreadTitle: '({n}) anonchat',
    },
    zh: {
      skipToInput: '跳到输入框',
      onlineTitle: '当前在线人数',
      online: '{n} 人在线',
      statusConnecting: '正在连接…',
      statusOnline: '已连接',
      statusReconnecting: '正在重新连接…',
      statusReconnectingIn: '{s} 秒后重新连接…',
      statusOffline: '已离线',
      statusBanned: '已被封禁',
      heroTitle: '和陌生人聊聊',
      heroLead: '匿名、一对一、无需注册。向一个新朋友打个招呼——随时可以离开。',
      interestsLabel: '兴趣（可选）',
      interestsListLabel: '你的兴趣',
      interestsPlaceholder: '音乐、旅行、游戏…',
      interestsHint: '最多 5 个话题，按回车或逗号添加。我们会优先为你匹配兴趣相同的人。',
      removeInterest: '移除 {tag}',
      start: '开始聊天',
      feature1: '无需账号，没有资料',
      feature2: '网络不稳也能接着聊',
      feature3: '可以举报不良行为',
      footer: '友善待人。不要向陌生人透露个人信息。',
      waitingTitle: '正在寻找聊天对象…',
      waitingStats: '{online} 人在线 · {queued} 人在排队',
      waitingInterests: '优先匹配喜欢这些的人：{list}',
      cancel: '取消',
      stranger: '陌生人',
      report: '举报',
      leave: '离开',
      next: '换一个',
      messagesLabel: '消息',
      typing: '对方正在输入…',
      inputLabel: '消息',
      inputPlaceholder: '输入消息…',
      send: '发送',
      composerHint: '回车发送，Shift+回车换行。',
      changeInterests: '修改兴趣',
      newChat: '新的聊天',
      reportTitle: '举报这个陌生人？',
      reportText: '举报会被记录，你们之后不会再被匹配到一起。',
      reportReasonLabel: '原因',
      reasonSpam: '垃圾信息或广告',
      reasonHarassment: '骚扰或仇恨言论',
      reasonSexual: '不受欢迎的色情内容',
      reasonOther: '其他',
      reportConfirm: '举报',
      you: '你',
      srMine: '你：',
      srTheirs: '陌生人：',
      sending: '发送中…',
      notSent: '未送达',
      connectedTo: '你已经和一位陌生人连上了，打个招呼吧！',
      commonInterests: '你们都喜欢：{list}',
      commonLanguage: '你们都说{lang}。',
      partnerMetaAway: '连接中断，等待对方回来…',
      partnerMetaOnline: '匿名',
      partnerLeft_left: '对方已离开聊天。',
      partnerLeft_next: '对方换了下一个聊天。',
      partnerLeft_disconnected: '对方断开了连接，没有回来。',
      youLeft: '你已离开聊天。',
      partnerAway: '对方的连接中断了，正在等待对方回来…',
      partnerBack: '对方回来了。',
      youReconnected: '已重新连接，聊天继续。',
      endedWhileAway: '你断线期间聊天已经结束。',
      resumeFailed: '你断线期间聊天已经结束。',
      banned: '你已被此服务器封禁，直到 {time}。',
      reported: '谢谢，已举报对方。你们不会再被匹配到一起。',
      tooLong: '消息最多 {max} 个字符。',
      offlineAction: '你已离线，请在重新连接后再试。',
      interestTooLong: '每个兴趣最多 {max} 个字符。',
      interestTooMany: '最多 {max} 个兴趣。',
      err_rate_limited: '发得太快了，请稍后再试。',
      err_message_too_long: '这条消息太长了。',
      err_message_empty: '不能发送空消息。',
      err_not_in_room: '你当前不在聊天中。',
      err_already_in_room: '你已经在聊天中了。',
      err_server_busy: '服务器已满，正在重试…',
      err_internal: '服务器未能保存，正在重试…',
      err_invalid_data: '服务器拒绝了这个请求。',
      err_generic: '出错了：{msg}',
      err_pow_required: '服务器要求本浏览器先证明自己不是机器人。请再点一次“开始聊天”。',
      err_pow_invalid: '服务器没有接受本浏览器的检查结果。请再点一次“开始聊天”。',
      powProgress: '正在检查你的浏览器…{n}%',
      unreadTitle: '({n}) anonchat',
    },
  };

  const LANG = /^zh/i.test(navigator.language || '') ? 'zh' : 'en';
  const STR = I18N[LANG];
  // The browser's language for matching (PROTOCOL.md, "Matching"): the primary subtag of
  // navigator.language, or none when that is not a tag the server takes.
  const USER_LANG = (() => {
    const tag = String(navigator.language || '');
    return tag.length <= 35 && /^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$/.test(tag)
      ? tag.split(/[-_]/)[0].toLowerCase() : '';
  })();

  /** `join_queue`'s and `next`'s data: the interests and the language. */
  function queueData() {
    return USER_LANG ? { interests: S.interests, lang: USER_LANG } : { interests: S.interests };
  }

  /** A language code's name in the page's language (`zh` → "Chinese" or "中文"). */
  function languageName(code) {
    try {
      const names = new Intl.DisplayNames([LANG === 'zh' ? 'zh-CN' : 'en'], { type: 'language' });
      return names.of(code) || code;
    } catch (e) {
      return code;
    }
  }

  function t(key, vars) {
    let s = Object.prototype.hasOwnProperty.call(STR, key) ? STR[key] : I18N.en[key];
    if (s === undefined) s = key;
    if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
    return s;
  }

  // ---------------------------------------------------------------- constants
  const TYPING_IDLE_MS = 3000;     // send typing:false after this much quiet
  const TYPING_REFRESH_MS = 4000;  // re-send typing:true while typing continues
  const TYPING_EXPIRY_MS = 6000;   // a received typing:true expires after this
  const STATS_EVERY_MS = 15000;
  const DEAD_AFTER_MS = 10000;     // no answer to get_stats for this long: connection is dead
  const RESUME_ANSWER_MS = 10000;
  const BACKOFF_BASE_MS = 500;
  const BACKOFF_MAX_MS = 30000;
  const TOAST_MS = 4000;
  const STORE_KEY = 'anonchat.interests';
  const MAX_TIMER_MS = 0x7fffffff; // setTimeout's longest delay (about 24.8 days)

  // ---------------------------------------------------------------- elements
  const $ = (id) => document.getElementById(id);
  const el = {
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
  const S = {
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

  const cp = (s) => Array.from(s).length;   // length in Unicode code points

  // ---------------------------------------------------------------- i18n of static markup
  function applyStaticStrings() {
    document.documentElement.lang = LANG === 'zh' ? 'zh-CN' : 'en';
    for (const n of document.querySelectorAll('[data-i18n]')) n.textContent = t(n.dataset.i18n);
    for (const n of document.querySelectorAll('[data-i18n-placeholder]')) n.placeholder = t(n.dataset.i18nPlaceholder);
    for (const n of document.querySelectorAll('[data-i18n-aria-label]')) n.setAttribute('aria-label', t(n.dataset.i18nAriaLabel));
    for (const n of document.querySelectorAll('[data-i18n-title]')) n.title = t(n.dataset.i18nTitle);
  }

  // ---------------------------------------------------------------- connection
  function wsUrl() {
    return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
  }

  function setConn(state, seconds) {
    el.status.dataset.state = state;
    el.app.dataset.conn = state;
    const key = { connecting: 'statusConnecting', online: 'statusOnline', reconnecting: 'statusReconnecting', offline: 'statusOffline', banned: 'statusBanned' }[state];
    el.statusText.textContent = state === 'reconnecting' && seconds > 0 ? t('statusReconnectingIn', { s: seconds }) : t(key);
    render();
  }

  function connect() {
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
  function dropSocket(code) {
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
  function onBanned(until) {
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

  function reconnectNow() {
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

  function send(event, data) {
    if (!S.ws || !S.ready || S.ws.readyState !== WebSocket.OPEN) return false;
    return rawSend(S.ws, event, data);
  }

  function onReady() {
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

  // ---------------------------------------------------------------- server events
  const HANDLERS = {
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

  function errorText(code, message) {
    const key = 'err_' + code;
    if (Object.prototype.hasOwnProperty.call(I18N.en, key)) return t(key);
    return t('err_generic', { msg: typeof message === 'string' && message ? message : code });
  }

  function onResumeFailed() {
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

  // ---------------------------------------------------------------- proof of work
  // `join_queue`/`next` with the proof the server asks for (welcome.pow): solved first in a Web
  // Worker, with its progress on the waiting card.
  function joinQueue(event) {
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

  function stopPow() {
    if (!S.powWorker) return;
    S.powWorker.terminate();
    S.powWorker = null;
    if (S.phase === 'waiting') showWaitingDetail(null);
  }

  function setOnline(n) {
    if (!Number.isInteger(n) || n < 0) return;
    el.online.textContent = t('online', { n });
    el.online.dataset.count = String(n);
  }

  function showWaitingDetail(d) {
    const parts = [];
    if (d && Number.isInteger(d.online) && Number.isInteger(d.queued)) parts.push(t('waitingStats', d));
    if (S.interests.length) parts.push(t('waitingInterests', { list: S.interests.join(LANG === 'zh' ? '、' : ', ') }));
    el.waitingDetail.textContent = parts.join('\n');
  }

  // ---------------------------------------------------------------- rooms
  function enterRoom(roomId, common, language) {
    clearMessages();
    S.roomId = roomId;
    S.partnerAway = false;
    S.common = common.filter((x) => typeof x === 'string');
    setPhase('chatting');
    notice(t('connectedTo'));
    if (S.common.length) notice(t('commonInterests', { list: S.common.join(LANG === 'zh' ? '、' : ', ') }));
    if (language) notice(t('commonLanguage', { lang: languageName(language) }));
    renderPartnerMeta();
    el.input.focus({ preventScroll: true });
  }

  function endRoom(text, reason) {
    stopTyping(false);
    hidePartnerTyping();
    failOutbox();
    notice(text, reason ? 'partner-left' : 'ended', reason);
    el.endedText.textContent = text;
    setPhase('ended');
    el.newchat.focus({ preventScroll: true });
  }

  function leaveRoomLocally() {
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

  function renderPartnerMeta() {
    if (S.partnerAway) el.partnerMeta.textContent = t('partnerMetaAway');
    else if (S.common && S.common.length) el.partnerMeta.textContent = t('commonInterests', { list: S.common.join(LANG === 'zh' ? '、' : ', ') });
    else el.partnerMeta.textContent = t('partnerMetaOnline');
    el.partnerMeta.classList.toggle('partner__meta--away', S.partnerAway);
  }

  function setPhase(phase) {
    S.phase = phase;
    if (phase !== 'idle') hideNotice();
    render();
  }

  function render() {
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

  function buildMessage(kind, content, date) {
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

  function setMessageState(li, stateText) {
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

  function scrollToEnd() { el.messages.scrollTop = el.messages.scrollHeight; }

  // Stored messages and notices go before the first message still waiting for its ack,
  // so unacknowledged messages always sit at the end, in the order they were written.
  function placeNode(node) {
    const stick = nearBottom();
    const firstPending = el.messages.querySelector('.msg--pending');
    if (firstPending && firstPending !== node) el.messages.insertBefore(node, firstPending);
    else if (!node.parentNode) el.messages.appendChild(node);
    if (stick) scrollToEnd();
  }

  function notice(text, extraClass, reason) {
    const li = buildMessage('system', text, new Date());
    if (extraClass) li.classList.add('msg--' + extraClass);
    if (reason) li.dataset.reason = reason;
    placeNode(li);
    scrollToEnd();
    return li;
  }

  function onNewMessage(d) {
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

  // ---------------------------------------------------------------- outbox
  function newNonce() {
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);   // works on plain http too, unlike randomUUID
    return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  }

  function sendMessage() {
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
  function resendOutbox() {
    clearTimeout(S.flushTimer);
    S.flushTimer = 0;
    S.serial = true;
    S.inflight = null;
    pumpOutbox();
  }

  function scheduleResend(ms) {
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

  function acked(nonce) {
    if (!S.serial) return;
    if (S.inflight === nonce) S.inflight = null;
    pumpOutbox();
  }

  function failOne(nonce) {
    const m = S.outbox.get(nonce);
    if (!m) return;
    m.node.classList.add('msg--failed');
    m.node.classList.remove('msg--pending');
    setMessageState(m.node, t('notSent'));
    S.outbox.delete(nonce);
    S.inflight = null;
    pumpOutbox();
  }

  function failOutbox() {
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

  // ---------------------------------------------------------------- typing
  function onInputTyping() {
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

  function stopTyping(tell) {
    clearTimeout(S.typingIdleTimer);
    if (!S.typingSent) return;
    S.typingSent = false;
    if (tell && S.phase === 'chatting') send('typing', { typing: false });
  }

  function hidePartnerTyping() {
    clearTimeout(S.partnerTypingTimer);
    el.typing.hidden = true;
  }

  // ---------------------------------------------------------------- composer
  function updateCounter() {
    const n = cp(el.input.value.trim());
    const max = S.limits.max_message_chars;
    el.counter.textContent = n + '/' + max;
    el.counter.classList.toggle('counter--near', n > max * 0.9 && n <= max);
    el.counter.classList.toggle('counter--over', n > max);
    el.input.setAttribute('aria-invalid', n > max ? 'true' : 'false');
    el.send.disabled = S.phase !== 'chatting' || n === 0 || n > max;
  }

  function autosize() {
    // CSSOM writes are allowed by the CSP (only style attributes/blocks are not).
    el.input.style.height = 'auto';
    el.input.style.height = Math.min(el.input.scrollHeight, 160) + 'px';
  }

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

  function commitInterestInput() {
    const v = el.interests.value;
    if (!v.trim()) return;
    el.interests.value = addInterests(v).join(', ');
  }

  function removeInterest(tag) {
    S.interests = S.interests.filter((x) => x !== tag);
    saveInterests();
    renderInterests();
    el.interests.focus();
  }

  function renderInterests() {
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

  function loadInterests() {
    try {
      const v = JSON.parse(localStorage.getItem(STORE_KEY) || '[]');
      if (Array.isArray(v)) S.interests = v.filter((x) => typeof x === 'string' && x && cp(x) <= 32).slice(0, 5);
    } catch (e) { S.interests = []; }
  }

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

  // ---------------------------------------------------------------- little UI helpers
  function toast(text) {
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

  function showNotice(text) {
    el.notice.textContent = text;
    el.notice.hidden = false;
  }

  function hideNotice() { el.notice.hidden = true; }

  function attention() {
    if (!document.hidden) return;
    S.unread += 1;
    document.title = t('unreadTitle', { n: S.unread });
  }

  // ---------------------------------------------------------------- wiring
  function wire() {
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
})();
