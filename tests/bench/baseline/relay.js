'use strict';
// The baseline of scripts/bench.sh: what a developer would write instead of anonchat-server. A
// minimal relay on the `ws` package speaking the same events (docs/PROTOCOL.md):
// welcome, join_queue -> waiting / matched (FIFO pairing), send_message -> new_message to both
// (nonce echoed to the sender), typing, leave_room_event, next, leave_queue, get_stats. It stores
// nothing: no database, no resume, no rate limits, no interests, no reports.
//
//   node relay.js [PORT]     (0 picks a free port; the URL is printed like anonchat-server does)

const crypto = require('crypto');
const http = require('http');
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2] ?? 5001);
const MAX_MESSAGE_CHARS = 500;

const users = new Map(); // user_id -> user
const queue = new Set(); // users waiting, in arrival order (a Set keeps insertion order)
const rooms = new Map(); // room_id -> [user, user]
let nextRoomId = 1;
let nextMessageId = 1;

function send(user, event, data) {
  if (user.ws.readyState === user.ws.OPEN) user.ws.send(JSON.stringify({ event, data }));
}

function error(user, code, message, event) {
  send(user, 'error', event ? { code, message, event } : { code, message });
}

function newUserId() {
  for (;;) {
    const id = crypto.randomBytes(4).toString('hex');
    if (!users.has(id)) return id;
  }
}

function join(user) {
  if (user.room) return error(user, 'already_in_room', 'leave the room first', 'join_queue');
  if (queue.has(user)) return send(user, 'waiting', { online: users.size, queued: queue.size });
  const partner = queue.values().next().value;
  if (!partner) {
    queue.add(user);
    return send(user, 'waiting', { online: users.size, queued: queue.size });
  }
  queue.delete(partner);
  const roomId = nextRoomId++;
  rooms.set(roomId, [partner, user]);
  partner.room = roomId;
  partner.partner = user;
  user.room = roomId;
  user.partner = partner;
  send(partner, 'matched', { room_id: roomId, partner_id: user.id, common_interests: [] });
  send(user, 'matched', { room_id: roomId, partner_id: partner.id, common_interests: [] });
}

function leaveRoom(user, reason) {
  const roomId = user.room;
  const partner = user.partner;
  rooms.delete(roomId);
  user.room = null;
  user.partner = null;
  if (partner) {
    partner.room = null;
    partner.partner = null;
    send(partner, 'partner_left', { room_id: roomId, reason });
  }
  return roomId;
}

function sendMessage(user, data) {
  if (!user.room) return error(user, 'not_in_room', 'not in a room', 'send_message');
  if (typeof data.content !== 'string') return error(user, 'invalid_data', 'content', 'send_message');
  const content = data.content.trim();
  if (!content) return error(user, 'message_empty', 'empty message', 'send_message');
  if ([...content].length > MAX_MESSAGE_CHARS)
    return error(user, 'message_too_long', 'message too long', 'send_message');
  const message = {
    id: nextMessageId++,
    room_id: user.room,
    sender_id: user.id,
    content,
    timestamp: new Date().toISOString(),
  };
  send(user.partner, 'new_message', message);
  const nonce = typeof data.nonce === 'string' ? data.nonce.slice(0, 64) : '';
  send(user, 'new_message', nonce ? { ...message, nonce } : message);
}

function onMessage(user, raw, isBinary) {
  if (isBinary) return error(user, 'bad_frame', 'text frames only');
  let frame;
  try {
    frame = JSON.parse(raw.toString('utf8'));
  } catch {
    return error(user, 'bad_json', 'not JSON');
  }
  if (!frame || typeof frame !== 'object' || Array.isArray(frame))
    return error(user, 'bad_json', 'not an object');
  const event = frame.event;
  const data = frame.data ?? {};
  if (typeof data !== 'object' || Array.isArray(data))
    return error(user, 'invalid_data', 'data must be an object', event);
  switch (event) {
    case 'join_queue':
      return join(user);
    case 'leave_queue':
      if (!queue.delete(user)) return error(user, 'not_in_queue', 'not queued', event);
      return send(user, 'queue_left', {});
    case 'send_message':
      return sendMessage(user, data);
    case 'typing':
      if (!user.room) return error(user, 'not_in_room', 'not in a room', event);
      return send(user.partner, 'partner_typing', { typing: data.typing === true });
    case 'leave_room_event':
      if (!user.room) return error(user, 'not_in_room', 'not in a room', event);
      return send(user, 'room_left', { room_id: leaveRoom(user, 'left') });
    case 'next':
      if (user.room) send(user, 'room_left', { room_id: leaveRoom(user, 'next') });
      return join(user);
    case 'get_stats':
      return send(user, 'stats', { online: users.size, queued: queue.size, active_rooms: rooms.size });
    default:
      return error(user, 'unknown_event', 'unknown event', typeof event === 'string' ? event : undefined);
  }
}

const server = http.createServer((req, res) => {
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found\n');
});
const wss = new WebSocketServer({ server, path: '/ws', maxPayload: 16 * 1024 });

wss.on('connection', (ws) => {
  const user = { id: newUserId(), ws, room: null, partner: null, alive: true };
  users.set(user.id, user);
  ws.on('pong', () => { user.alive = true; });
  ws.on('message', (raw, isBinary) => onMessage(user, raw, isBinary));
  ws.on('close', () => {
    users.delete(user.id);
    queue.delete(user);
    if (user.room) leaveRoom(user, 'disconnected');
  });
  send(user, 'welcome', {
    user_id: user.id,
    resume_token: crypto.randomBytes(24).toString('base64url'),
    protocol: 1,
    online: users.size,
    limits: { max_message_chars: MAX_MESSAGE_CHARS, max_interests: 5, max_interest_chars: 32 },
  });
});

// Keep-alive as in the ws README: ping every 20 s, drop who did not answer the previous ping.
const heartbeat = setInterval(() => {
  for (const user of users.values()) {
    if (!user.alive) {
      user.ws.terminate();
      continue;
    }
    user.alive = false;
    user.ws.ping();
  }
}, 20000);

server.listen(port, '127.0.0.1', 1024, () => {
  console.log(`relay listening on http://127.0.0.1:${server.address().port}/`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    clearInterval(heartbeat);
    for (const user of users.values()) user.ws.close(1001, 'server shutting down');
    server.close();
    setTimeout(() => process.exit(0), 200).unref();
  });
}
