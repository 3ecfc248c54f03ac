// The official TypeScript SDK clients against the hello server over HTTP:
// v1 (`@modelcontextprotocol/sdk`) over Streamable HTTP for every handshake
// revision and over the legacy HTTP+SSE transport, v2
// (`@modelcontextprotocol/client`) over Streamable HTTP for the stateless
// 2026-07-28 revision and its 2025-11-25 fallback.
import assert from 'node:assert/strict';

import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport as SseV1 } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport as HttpV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';

import { check, checkCalls, checkToolList, finish } from './checks.mjs';

const base = process.env.HELLO_URL ?? process.argv[2];
if (!base) {
    console.error('usage: HELLO_URL=http://127.0.0.1:PORT node ts_http.mjs');
    process.exit(2);
}
const mcpUrl = new URL('/mcp', base);
const sseUrl = new URL('/sse', base);

/** Pins the revision v1 asks for in `initialize`, as an older client would. */
function pinned(Transport) {
    return class extends Transport {
        constructor(url, version) {
            super(url);
            this.pinned = version;
            this.negotiated = undefined;
        }
        send(message, options) {
            if (message.method === 'initialize') {
                message = { ...message, params: { ...message.params, protocolVersion: this.pinned } };
            }
            return super.send(message, options);
        }
        setProtocolVersion(version) {
            this.negotiated = version;
            super.setProtocolVersion?.(version);
        }
    };
}
const PinnedHttp = pinned(HttpV1);
const PinnedSse = pinned(SseV1);

/** POSTs a ping on a session by hand; returns the HTTP status. */
async function pingWithSession(sessionId, version) {
    const response = await fetch(mcpUrl, {
        method: 'POST',
        headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'mcp-session-id': sessionId,
            'mcp-protocol-version': version,
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    await response.body?.cancel();
    return response.status;
}

async function exercise(client, version, options) {
    const { tools } = await client.listTools();
    checkToolList(tools, version);
    await checkCalls(client, version, options);
}

for (const version of ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25']) {
    await check(`sdk v1, Streamable HTTP, protocol ${version}`, async () => {
        const transport = new PinnedHttp(mcpUrl, version);
        const client = new ClientV1({ name: 'ts-sdk-v1-http', version: '1.0.0' });
        await client.connect(transport);
        try {
            assert.equal(transport.negotiated, version);
            assert.ok(transport.sessionId, 'the server minted a session id');
            assert.equal(client.getServerVersion().name, 'hello');
            await exercise(client, version);
            await client.ping();
            // Ending the session (DELETE): later requests on it get 404.
            const sessionId = transport.sessionId;
            await transport.terminateSession();
            assert.equal(transport.sessionId, undefined);
            assert.equal(await pingWithSession(sessionId, version), 404, 'a terminated session is gone');
        } finally {
            await client.close();
        }
    });
}

for (const version of ['2024-11-05', '2025-03-26']) {
    await check(`sdk v1, legacy HTTP+SSE, protocol ${version}`, async () => {
        const transport = new PinnedSse(sseUrl, version);
        const client = new ClientV1({ name: 'ts-sdk-v1-sse', version: '1.0.0' });
        await client.connect(transport);
        try {
            assert.equal(transport.negotiated, version);
            assert.equal(client.getServerVersion().name, 'hello');
            await exercise(client, version);
            await client.ping();
        } finally {
            await client.close();
        }
    });
}

for (const mode of [{ pin: '2026-07-28' }, 'auto']) {
    await check(`sdk v2, Streamable HTTP, versionNegotiation ${JSON.stringify(mode)}: stateless 2026-07-28`, async () => {
        const transport = new HttpV2(mcpUrl);
        const client = new ClientV2({ name: 'ts-sdk-v2-http', version: '1.0.0' }, { versionNegotiation: { mode } });
        await client.connect(transport);
        try {
            assert.equal(client.getNegotiatedProtocolVersion(), '2026-07-28');
            assert.equal(client.getServerVersion()?.name, 'hello');
            await exercise(client, '2026-07-28', { v2: true });
            assert.equal(transport.sessionId, undefined, 'stateless: no Mcp-Session-Id');
        } finally {
            await client.close();
        }
    });
}

await check('sdk v2, Streamable HTTP, legacy mode: the 2025-11-25 handshake', async () => {
    const transport = new HttpV2(mcpUrl);
    const client = new ClientV2({ name: 'ts-sdk-v2-http', version: '1.0.0' });
    await client.connect(transport);
    try {
        assert.equal(client.getNegotiatedProtocolVersion(), '2025-11-25');
        assert.ok(transport.sessionId, 'the server minted a session id');
        await exercise(client, '2025-11-25', { v2: true });
        await transport.terminateSession();
        assert.equal(transport.sessionId, undefined);
    } finally {
        await client.close();
    }
});

finish();
