// Proof of work for admission (PROTOCOL.md, "Admission by proof of work"), in a Web Worker:
// finds a nonce such that SHA-256(challenge bytes ‖ UTF-8 nonce) has at least `bits` leading
// zero bits, trying "0", "1", "2"… in decimal. Posts {type: 'progress', percent, tries} now and
// then and {type: 'solved', nonce, tries, ms} at the end. WebCrypto where the page is a secure
// context (https, localhost); elsewhere (http on a LAN) crypto.subtle is missing and a plain
// JavaScript SHA-256 does the same work.
'use strict';

const BATCH = 512;           // digests requested at once (WebCrypto is asynchronous)
const PROGRESS_EVERY = 8192; // tries between progress messages

function hexBytes(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(2 * i, 2), 16);
  return out;
}

// Leading zero bits, from the most significant bit of the first byte on.
function zeroBits(d) {
  let n = 0;
  for (let i = 0; i < d.length; i++) {
    if (d[i] === 0) { n += 8; continue; }
    return n + Math.clz32(d[i]) - 24;
  }
  return n;
}

// ---- SHA-256 in JavaScript (FIPS 180-4), for pages without crypto.subtle
const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

function sha256(bytes) {
  const bitLen = bytes.length * 8;
  const padded = new Uint8Array(((bytes.length + 9 + 63) >> 6) << 6);
  padded.set(bytes);
  padded[bytes.length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 4, bitLen >>> 0);
  view.setUint32(padded.length - 8, Math.floor(bitLen / 0x100000000));
  const h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const w = new Uint32Array(64);
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + 4 * i);
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      hh = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  }
  const out = new Uint8Array(32);
  const ov = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) ov.setUint32(4 * i, h[i]);
  return out;
}

// ---- the search
const encoder = new TextEncoder();

function input(prefix, n) {
  const nonce = encoder.encode(String(n));
  const buf = new Uint8Array(prefix.length + nonce.length);
  buf.set(prefix);
  buf.set(nonce, prefix.length);
  return buf;
}

async function digests(prefix, from, count, subtle) {
  const inputs = [];
  for (let i = 0; i < count; i++) inputs.push(input(prefix, from + i));
  if (!subtle) return inputs.map(sha256);
  const out = await Promise.all(inputs.map((b) => subtle.digest('SHA-256', b)));
  return out.map((d) => new Uint8Array(d));
}

async function solve(challenge, bits, useSubtle) {
  const prefix = hexBytes(challenge);
  const subtle = useSubtle && self.crypto && self.crypto.subtle ? self.crypto.subtle : null;
  const expected = Math.pow(2, bits);
  const started = performance.now();
  self.postMessage({ type: 'progress', percent: 0, tries: 0 });
  for (let n = 0; ; n += BATCH) {
    const ds = await digests(prefix, n, BATCH, subtle);
    for (let i = 0; i < ds.length; i++) {
      if (zeroBits(ds[i]) >= bits) {
        const ms = performance.now() - started;
        self.postMessage({ type: 'solved', nonce: String(n + i), tries: n + i + 1, ms, subtle: !!subtle });
        return;
      }
    }
    if ((n + BATCH) % PROGRESS_EVERY === 0) {
      const percent = Math.min(99, Math.floor((100 * (n + BATCH)) / expected));
      self.postMessage({ type: 'progress', percent, tries: n + BATCH });
    }
  }
}

self.onmessage = (ev) => {
  const m = ev.data || {};
  if (typeof m.challenge !== 'string' || !Number.isInteger(m.bits)) return;
  solve(m.challenge, m.bits, m.subtle !== false);
};
