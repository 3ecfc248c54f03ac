// The official TypeScript SDK clients pipelining large messages to the hello
// server: v1 (`@modelcontextprotocol/sdk`) over stdio and over Streamable
// HTTP (the 2025-11-25 handshake), v2 (`@modelcontextprotocol/client`) over
// stdio and over Streamable HTTP (stateless 2026-07-28). Two checks each, on
// a connection of its own:
//
// - 32 `greet` calls at once (names of 1 byte to 3 MiB, about 31 MiB in
//   all), full of characters JSON escapes and of multi-byte UTF-8, packed
//   around every 4 KiB and 64 KiB offset: each answer must be exactly
//   `Hello, ${name}!` (length, sha256 and the first differing byte are
//   shown otherwise), and the transport must deliver exactly one response
//   to each call; then two large `word_stats` texts, counted as Rust counts.
// - A call over the 4 MiB limit (a 5 MiB name) must be refused cleanly:
//   over HTTP with the 413 and its JSON-RPC error, over stdio with the
//   parse error of id null (which the SDK cannot tie to the call, so the
//   call is abandoned once that error arrives); then the same connection
//   (the same session) must answer small and large calls alike.
//
// Needs HELLO_BIN (stdio) and HELLO_URL (an HTTP server already running).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';

import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as StdioV1 } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as HttpV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { StdioClientTransport as StdioV2 } from '@modelcontextprotocol/client/stdio';

import { check, finish, text } from './checks.mjs';

const bin = process.env.HELLO_BIN;
const base = process.env.HELLO_URL;
if (!bin || !base) {
    console.error('usage: HELLO_BIN=path/to/hello HELLO_URL=http://127.0.0.1:PORT node ts_large.mjs');
    process.exit(2);
}
const mcpUrl = new URL('/mcp', base);

const KiB = 1024;
const MiB = 1024 * KiB;
/** The server's default limit on a request body (HTTP) and a message (stdio). */
const LIMIT = 4 * MiB;
/** Bounds every request, so a lost answer fails the check rather than hanging. */
const TIMEOUT = 45_000;

/** A small deterministic generator (mulberry32): the same names on every run. */
function random(seed) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

// What JSON must escape (quote, backslash, every control character), what a
// careless encoder might (slash, U+2028/9, DEL), and UTF-8 of 2, 3 and 4 bytes
// (the last a surrogate pair in JavaScript).
const SPECIALS = [
    '"', '\\', '\n', '\t', '\r', '\b', '\f', '\u0000', '\u0001', '\u001f', '\u007f', '/',
    'é', 'ß', '\u0085', '\u00a0', '漢', '€', '\u2028', '\u2029', '\ufeff', '😀', '𝄞', '🇫🇷',
].map((s) => Buffer.from(s, 'utf8'));
const FILLER = Buffer.from('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-_', 'latin1');

/**
 * A name of exactly `size` UTF-8 bytes: random ASCII with special
 * characters packed into windows around every 4 KiB offset (wider around
 * every 64 KiB one), shifted a little by `seed` so that across the names they
 * straddle the boundaries at many alignments, one every few hundred bytes
 * elsewhere, and one at the very start and end.
 */
function makeName(size, seed) {
    const next = random(seed);
    const buf = Buffer.alloc(size);
    for (let i = 0; i < size; i++) buf[i] = FILLER[(next() * FILLER.length) | 0];
    const shift = seed % 53;
    const inWindow = (pos) => {
        const p = pos + shift;
        const near = (step, half) => {
            const off = p % step;
            return off < half || off >= step - half;
        };
        return near(64 * KiB, 256) || near(4 * KiB, 24);
    };
    let pos = 0;
    let sprinkle = 0;
    while (pos < size) {
        if (pos === 0 || pos === sprinkle || inWindow(pos) || pos >= size - 4) {
            let special = SPECIALS[(next() * SPECIALS.length) | 0];
            // Near the end, one that fits: a quote or a backslash.
            if (pos + special.length > size) special = SPECIALS[(next() * 2) | 0];
            special.copy(buf, pos);
            pos += special.length;
            if (pos > sprinkle) sprinkle = pos + 100 + ((next() * 400) | 0);
        } else {
            pos++;
        }
    }
    const name = buf.toString('utf8');
    assert.ok(Buffer.byteLength(name, 'utf8') === size && !name.includes('\ufffd'), 'the name is valid UTF-8 of its size');
    return name;
}

// 32 names, 1 byte to 3 MiB: around the 4 KiB, 8 KiB, 64 KiB and 1 MiB
// marks, and most of the bytes in names of 1 to 3 MiB. About 31 MiB.
const SIZES = [
    1, 2, 3, 4, 5, 17, 4095, 4096, 4097, 8191, 8192, 8193, 65535, 65536, 65537, 131077,
    262144, 500_000, MiB - 1, MiB, MiB + 1, 1.5 * MiB, 2 * MiB, 2 * MiB + 3, 2.5 * MiB,
    2.75 * MiB, Math.floor(2.9 * MiB), 3 * MiB - 7, 3 * MiB, 3 * MiB, 1.25 * MiB, 3 * MiB,
];
const started = Date.now();
const NAMES = SIZES.map((size, i) => makeName(size, 1000 + i));
const TOTAL = SIZES.reduce((a, b) => a + b, 0);
for (const name of NAMES) {
    // The whole request (envelope included) stays well under the limit.
    assert.ok(Buffer.byteLength(JSON.stringify(name)) < LIMIT - 64 * KiB, 'each request is under the limit');
}
console.log(`# ${NAMES.length} names, ${(TOTAL / MiB).toFixed(1)} MiB, made in ${Date.now() - started} ms`);

const sha256 = (s) => createHash('sha256').update(s, 'utf8').digest('hex');

/** Fails unless `got` is `want`, saying where they part. */
function assertSame(got, want, label) {
    if (got === want) return;
    if (typeof got !== 'string') assert.fail(`${label}: no text in the answer: ${JSON.stringify(got)?.slice(0, 200)}`);
    const g = Buffer.from(got, 'utf8');
    const w = Buffer.from(want, 'utf8');
    let at = 0;
    while (at < g.length && at < w.length && g[at] === w[at]) at++;
    const around = (b) => JSON.stringify(b.subarray(Math.max(0, at - 16), at + 32).toString('utf8'));
    assert.fail(
        `${label}: answer differs from byte ${at}: got ${g.length} bytes (sha256 ${sha256(got)}), ` +
            `want ${w.length} (sha256 ${sha256(want)}); got ${around(g)}, want ${around(w)}`,
    );
}

// Rust's `char::is_whitespace` (Unicode White_Space), not JavaScript's `\s`:
// U+0085 is one, U+FEFF is not.
const WHITE = '\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const WORD = new RegExp(`[^${WHITE}]+`, 'gu');

/** What `word_stats` answers, counted as Rust counts: `split_whitespace`, `chars`, `lines`. */
function wordStats(s) {
    let characters = 0;
    for (const _ of s) characters++;
    let newlines = 0;
    for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) newlines++;
    const lines = newlines + (s.length > 0 && !s.endsWith('\n') ? 1 : 0);
    return { words: (s.match(WORD) ?? []).length, characters, lines };
}

/** A text of words split by every kind of Unicode whitespace, and by characters that only look like it. */
function makeText(size, seed) {
    const next = random(seed);
    const gaps = [' ', '  ', '\t', '\n', '\r\n', '\n\n', '\u000b', '\f', '\r', '\u0085', '\u00a0', '\u1680', '\u2003',
        '\u2028', '\u2029', '\u202f', '\u205f', '\u3000'];
    const glue = ['\u200b', '\ufeff', '\u180e', '\u001c', '\u001f', '"', '\\', '\u0001'];
    const letters = ['a', 'b', 'z', 'é', '漢', '😀', '𝄞', 'x', 'y'];
    const parts = [];
    let bytes = 0;
    while (bytes < size) {
        const r = next();
        const part = r < 0.2 ? gaps[(next() * gaps.length) | 0]
            : r < 0.25 ? glue[(next() * glue.length) | 0]
            : letters[(next() * letters.length) | 0];
        parts.push(part);
        bytes += Buffer.byteLength(part);
    }
    return parts.join('');
}
const TEXTS = [makeText(1.5 * MiB, 7), makeText(2 * MiB, 8) + '\n'];

/**
 * Watches a connected transport: the ids of the `tools/call` requests it
 * sends, and how many responses it delivers for each id. The SDK resolves
 * each call by its id, so a lost answer hangs (until TIMEOUT) and a
 * duplicate only shows up here (or as an `onerror`).
 */
function watch(transport) {
    const calls = new Set();
    const responses = new Map();
    const send = transport.send.bind(transport);
    transport.send = (message, options) => {
        if (message?.method === 'tools/call' && 'id' in message) calls.add(message.id);
        return send(message, options);
    };
    const inner = transport.onmessage;
    assert.equal(typeof inner, 'function', 'the client listens on the transport');
    transport.onmessage = (message, extra) => {
        if (message && 'id' in message && ('result' in message || 'error' in message)) {
            responses.set(message.id, (responses.get(message.id) ?? 0) + 1);
        }
        return inner.call(transport, message, extra);
    };
    return {
        /** Exactly one response to each of the `expected` calls sent since the last check, and no duplicates at all. */
        check(expected) {
            const dupes = [...responses].filter(([, n]) => n !== 1);
            assert.deepEqual(dupes, [], `responses delivered more than once ([id, times]): ${JSON.stringify(dupes)}`);
            assert.equal(calls.size, expected, 'tools/call requests sent');
            const unanswered = [...calls].filter((id) => responses.get(id) !== 1);
            assert.deepEqual(unanswered, [], `calls without exactly one response: ${JSON.stringify(unanswered)}`);
            calls.clear();
        },
        /** Forgets the calls sent so far (one the server could not answer). */
        forget: () => calls.clear(),
    };
}

/** The client's `onerror`s: stray messages (an answer to no request, one the SDK cannot parse) land here. */
function collectErrors(client) {
    const errors = [];
    const waiters = [];
    client.onerror = (e) => {
        errors.push(e);
        waiters.splice(0).forEach((w) => w(e));
    };
    return { errors, next: () => new Promise((resolve) => waiters.push(resolve)) };
}

const greet = (name, greeting) => ({ name: 'greet', arguments: greeting ? { name, greeting } : { name } });

/** 32 large greets at once, then two large word_stats: byte-exact, one answer each. */
async function pipelined({ call, watched, onError, label }) {
    let t = Date.now();
    // All at once, in a shuffled order.
    const order = NAMES.map((_, i) => i).sort((a, b) => ((a * 7919) % 32) - ((b * 7919) % 32));
    const results = await Promise.all(order.map((i) => call(greet(NAMES[i]))));
    results.forEach((result, k) => {
        const i = order[k];
        assert.notEqual(result.isError, true, `greet #${i} (${SIZES[i]} bytes) is not an error`);
        assertSame(text(result), `Hello, ${NAMES[i]}!`, `greet #${i} (${SIZES[i]} bytes)`);
    });
    watched.check(NAMES.length);
    const greetMs = Date.now() - t;

    t = Date.now();
    const stats = await Promise.all(TEXTS.map((s) => call({ name: 'word_stats', arguments: { text: s } })));
    stats.forEach((result, i) => {
        const want = wordStats(TEXTS[i]);
        assert.deepEqual(JSON.parse(text(result)), want, `word_stats #${i}`);
        assert.deepEqual(result.structuredContent, want, `word_stats #${i} structuredContent`);
    });
    watched.check(TEXTS.length);
    assert.deepEqual(onError.errors, [], 'no stray or unparsable messages');
    console.log(`#   ${label}: ${NAMES.length} greets ${greetMs} ms, word_stats ${Date.now() - t} ms`);
}

/** A few large calls, one over the limit, then small and large calls on the same connection. */
async function overLimit({ call, watched, onError, refused, label }) {
    const some = [NAMES[21], NAMES[4], NAMES[28]];
    const before = await Promise.all(some.map((name) => call(greet(name))));
    some.forEach((name, i) => assertSame(text(before[i]), `Hello, ${name}!`, `large greet #${i} before`));
    watched.check(some.length);

    const t = Date.now();
    await refused('x'.repeat(5 * MiB));
    const overMs = Date.now() - t;
    watched.forget();

    assertSame(text(await call(greet('Ada'))), 'Hello, Ada!', 'small greet after the over-limit call');
    const after = await Promise.all(some.map((name) => call(greet(name, 'Again'))));
    some.forEach((name, i) => assertSame(text(after[i]), `Again, ${name}!`, `large greet #${i} after the over-limit call`));
    watched.check(1 + some.length);
    assert.deepEqual(onError.errors, [], 'no stray or unparsable messages afterwards');
    console.log(`#   ${label}: refused in ${overMs} ms`);
}

/**
 * Over stdio the server cannot tell which request an over-long line was, so
 * it answers with a parse error of id null (JSON-RPC 2.0, section 5.1),
 * which no SDK can match to the call: the call itself would wait for its
 * timeout. Both TypeScript SDKs go further and reject the line itself (their
 * schemas take a string or number id, not null), as a ZodError on `onerror`.
 * What is checked: that message reaches the client, the call is then
 * abandoned (its AbortSignal), and the connection still works.
 */
async function stdioRefused(name, onError, call) {
    const abort = new AbortController();
    const settled = call(greet(name), { signal: abort.signal }).then((r) => ({ result: r }), (e) => ({ rejected: e }));
    const first = await Promise.race([onError.next().then((e) => ({ error: e })), settled]);
    abort.abort('the server refused the message');
    await settled;
    if ('error' in first) {
        const e = first.error;
        // An SDK that takes id null hands the error on as a response to no request.
        assert.match(String(e?.message), /received null|longer than 4194304 bytes/, `the id-null parse error: ${e?.stack ?? e}`);
        onError.errors.splice(0);
    } else {
        // An SDK that matches the id-less error to the one call in doubt.
        assert.ok(first.rejected, `the over-limit call was answered: ${JSON.stringify(first.result)?.slice(0, 200)}`);
        assert.match(String(first.rejected?.message), /longer than 4194304 bytes/, `the refusal: ${first.rejected?.stack}`);
    }
}

/**
 * Over HTTP the body is refused with 413 and the JSON-RPC error in it; the
 * SDK rejects the call. A refusal the client never read (the connection
 * reset under it while it still sent the body) fails here.
 */
async function httpRefused(name, onError, call) {
    await assert.rejects(call(greet(name)), (e) => {
        const cause = e?.cause ? ` (cause: ${e.cause.code ?? ''} ${e.cause.message ?? e.cause})` : '';
        assert.ok(
            e?.code === 413 || /\b413\b|larger than 4194304 bytes/.test(String(e?.message)),
            `the over-limit call must fail with the server's 413, not a transport error: ${e?.message}${cause}`,
        );
        return true;
    });
    // The SDK also reports the failed POST on `onerror`.
    onError.errors.splice(0);
}

const v1Call = (client) => (params, options = {}) => client.callTool(params, undefined, { timeout: TIMEOUT, ...options });
const v2Call = (client) => (params, options = {}) => client.callTool(params, { timeout: TIMEOUT, ...options });
const pin = { versionNegotiation: { mode: { pin: '2026-07-28' } } };
const stdioParams = { command: bin, args: [], stderr: 'inherit', env: { RUST_LOG: 'warn' } };

const CLIENTS = [
    {
        label: 'sdk v1, stdio (2025-11-25)',
        refused: stdioRefused,
        async connect() {
            const transport = new StdioV1(stdioParams);
            const client = new ClientV1({ name: 'ts-sdk-v1-large', version: '1.0.0' });
            return { client, transport, call: v1Call(client) };
        },
    },
    {
        label: 'sdk v1, Streamable HTTP (2025-11-25)',
        refused: httpRefused,
        async connect() {
            const transport = new HttpV1(mcpUrl);
            const client = new ClientV1({ name: 'ts-sdk-v1-large', version: '1.0.0' });
            return {
                client,
                transport,
                call: v1Call(client),
                connected: () => assert.ok(transport.sessionId, 'a session'),
                // The same session throughout, and still there to end.
                end: async (session) => {
                    assert.equal(transport.sessionId, session);
                    await transport.terminateSession();
                },
            };
        },
    },
    {
        label: 'sdk v2, stdio (2026-07-28)',
        refused: stdioRefused,
        async connect() {
            const transport = new StdioV2(stdioParams);
            const client = new ClientV2({ name: 'ts-sdk-v2-large', version: '1.0.0' }, pin);
            return { client, transport, call: v2Call(client), version: '2026-07-28' };
        },
    },
    {
        label: 'sdk v2, Streamable HTTP (2026-07-28)',
        refused: httpRefused,
        async connect() {
            const transport = new HttpV2(mcpUrl);
            const client = new ClientV2({ name: 'ts-sdk-v2-large', version: '1.0.0' }, pin);
            return {
                client,
                transport,
                call: v2Call(client),
                version: '2026-07-28',
                connected: () => assert.equal(transport.sessionId, undefined, 'stateless: no session'),
            };
        },
    },
];

/** Runs `scenario` on a fresh connection of `spec`'s client. */
async function withClient(spec, scenario) {
    const c = await spec.connect();
    const onError = collectErrors(c.client);
    await c.client.connect(c.transport);
    try {
        if (c.version) assert.equal(c.client.getNegotiatedProtocolVersion(), c.version);
        assert.equal(c.client.getServerVersion()?.name ?? 'hello', 'hello');
        c.connected?.();
        const session = c.transport.sessionId;
        const watched = watch(c.transport);
        const refused = (name) => spec.refused(name, onError, c.call);
        await scenario({ call: c.call, watched, onError, refused, label: spec.label });
        await c.end?.(session);
    } finally {
        await c.client.close();
    }
}

for (const spec of CLIENTS) {
    await check(`${spec.label}: 32 greets of 1 B to 3 MiB at once, 2 large word_stats; byte-exact, one answer each`, () =>
        withClient(spec, pipelined));
    await check(`${spec.label}: a 5 MiB call is refused cleanly, the same connection then answers small and large calls`, () =>
        withClient(spec, overLimit));
}

console.log(`# ${((Date.now() - started) / 1000).toFixed(1)} s in all`);
finish();
