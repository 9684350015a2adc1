// The page's strings in English and Chinese, the language chosen from the browser's, and
// the helpers that translate: t(), the static markup's data-i18n attributes, error codes.

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

export const LANG = /^zh/i.test(navigator.language || '') ? 'zh' : 'en';
const STR = I18N[LANG];
// The browser's language for matching (PROTOCOL.md, "Matching"): the primary subtag of
// navigator.language, or none when that is not a tag the server takes.
export const USER_LANG = (() => {
  const tag = String(navigator.language || '');
  return tag.length <= 35 && /^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$/.test(tag)
    ? tag.split(/[-_]/)[0].toLowerCase() : '';
})();

/** A language code's name in the page's language (`zh` → "Chinese" or "中文"). */
export function languageName(code) {
  try {
    const names = new Intl.DisplayNames([LANG === 'zh' ? 'zh-CN' : 'en'], { type: 'language' });
    return names.of(code) || code;
  } catch (e) {
    return code;
  }
}

export function t(key, vars) {
  let s = Object.prototype.hasOwnProperty.call(STR, key) ? STR[key] : I18N.en[key];
  if (s === undefined) s = key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}

/** A list of interests as the page's language writes one ("a, b" or "a、b"). */
export function joinList(items) {
  return items.join(LANG === 'zh' ? '、' : ', ');
}

// ---------------------------------------------------------------- i18n of static markup
export function applyStaticStrings() {
  document.documentElement.lang = LANG === 'zh' ? 'zh-CN' : 'en';
  for (const n of document.querySelectorAll('[data-i18n]')) n.textContent = t(n.dataset.i18n);
  for (const n of document.querySelectorAll('[data-i18n-placeholder]')) n.placeholder = t(n.dataset.i18nPlaceholder);
  for (const n of document.querySelectorAll('[data-i18n-aria-label]')) n.setAttribute('aria-label', t(n.dataset.i18nAriaLabel));
  for (const n of document.querySelectorAll('[data-i18n-title]')) n.title = t(n.dataset.i18nTitle);
}

export function errorText(code, message) {
  const key = 'err_' + code;
  if (Object.prototype.hasOwnProperty.call(I18N.en, key)) return t(key);
  return t('err_generic', { msg: typeof message === 'string' && message ? message : code });
}
