// Proof of work for admission (PROTOCOL.md, "Admission by proof of work"), in a Web Worker:
// finds a nonce such that SHA-256(challenge bytes ‖ UTF-8 nonce) has at least `bits` leading
// zero bits, trying "0", "1", "2"… in decimal. Posts {type: 'progress', percent, tries} now and
// then and {type: 'solved', nonce, tries, ms, subtle} at the end. WebCrypto's digest where the
// page is a secure context (https, localhost) and it is the faster, else a plain JavaScript
// SHA-256 (crypto.subtle is missing on plain http, e.g. on a LAN).
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

// ---- SHA-256 in JavaScript (FIPS 180-4), for inputs of at most 55 bytes (one block): the
// challenge's 16 bytes and a decimal nonce. Allocates nothing per hash.
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const H = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
const W = new Int32Array(64);
const STATE = new Int32Array(8);

// SHA-256 of the first `len` (at most 55) of `bytes` into STATE, as eight big-endian words.
function sha256Short(bytes, len = bytes.length) {
  W.fill(0, 0, 16);
  for (let i = 0; i < len; i++) W[i >> 2] |= bytes[i] << (24 - 8 * (i & 3));
  W[len >> 2] |= 0x80 << (24 - 8 * (len & 3));
  W[15] = len * 8;
  for (let i = 16; i < 64; i++) {
    const x = W[i - 15], y = W[i - 2];
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
  }
  let a = H[0], b = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
  }
  STATE[0] = H[0] + a; STATE[1] = H[1] + b; STATE[2] = H[2] + c; STATE[3] = H[3] + d;
  STATE[4] = H[4] + e; STATE[5] = H[5] + f; STATE[6] = H[6] + g; STATE[7] = H[7] + h;
}

function stateZeroBits() {
  let n = 0;
  for (let i = 0; i < 8; i++) {
    if (STATE[i] === 0) { n += 32; continue; }
    return n + Math.clz32(STATE[i]);
  }
  return n;
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

const JS_INPUT = new Uint8Array(64);

// Leading zero bits of the digests of nonces from, from + 1, … (count of them).
async function zeroBitsOf(prefix, from, count, subtle) {
  if (!subtle) {
    const out = new Array(count);
    JS_INPUT.set(prefix);
    for (let i = 0; i < count; i++) {
      const digits = String(from + i);   // ASCII: its UTF-8 is its char codes
      for (let j = 0; j < digits.length; j++) JS_INPUT[prefix.length + j] = digits.charCodeAt(j);
      sha256Short(JS_INPUT, prefix.length + digits.length);
      out[i] = stateZeroBits();
    }
    return out;
  }
  const inputs = [];
  for (let i = 0; i < count; i++) inputs.push(input(prefix, from + i));
  const out = await Promise.all(inputs.map((b) => subtle.digest('SHA-256', b)));
  return out.map((d) => zeroBits(new Uint8Array(d)));
}

// engine: 'auto' times one batch each way and keeps the faster (WebCrypto pays a promise and a
// hop to the browser's crypto thread per digest: with inputs this small it was about ten times
// slower than plain JavaScript in Chromium, see docs/performance.md); 'subtle' or 'js' to measure.
async function solve(challenge, bits, engine) {
  const prefix = hexBytes(challenge);
  const available = self.crypto && self.crypto.subtle ? self.crypto.subtle : null;
  let subtle = engine === 'js' || !available ? null : available;
  let calibrating = engine !== 'subtle' && subtle !== null;
  let jsMs = 0;
  const expected = Math.pow(2, bits);
  const started = performance.now();
  self.postMessage({ type: 'progress', percent: 0, tries: 0 });
  for (let n = 0; ; n += BATCH) {
    // While calibrating: batches 0 (warming the JIT up) and 1 in JavaScript, batch 2 with
    // WebCrypto; the faster of batches 1 and 2 does the rest.
    const useSubtle = calibrating ? n === 2 * BATCH : subtle !== null;
    const t0 = performance.now();
    const zs = await zeroBitsOf(prefix, n, BATCH, useSubtle ? subtle : null);
    if (calibrating && n === BATCH) {
      jsMs = performance.now() - t0;
    } else if (calibrating && n === 2 * BATCH) {
      if (performance.now() - t0 > jsMs) subtle = null;
      calibrating = false;
    }
    for (let i = 0; i < zs.length; i++) {
      if (zs[i] >= bits) {
        const ms = performance.now() - started;
        self.postMessage({ type: 'solved', nonce: String(n + i), tries: n + i + 1, ms, subtle: subtle !== null });
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
  solve(m.challenge, m.bits, m.engine || 'auto');
};
