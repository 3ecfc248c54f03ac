// The official TypeScript SDK clients against replicas of the hello server
// behind a round-robin load balancer with no session affinity
// (scripts/replicas.sh): a 2025-11-25 session, whose requests land on every
// replica, with v1 (`@modelcontextprotocol/sdk`) and v2
// (`@modelcontextprotocol/client`, legacy mode).
import assert from 'node:assert/strict';

import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as HttpV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';

import { check, checkCalls, checkToolList, finish } from './checks.mjs';

const base = process.env.BALANCER_URL ?? process.argv[2];
if (!base) {
    console.error('usage: BALANCER_URL=http://127.0.0.1:PORT node ts_replicas.mjs');
    process.exit(2);
}
const mcpUrl = new URL('/mcp', base);
const rounds = Number(process.env.REPLICAS_ROUNDS ?? '3');

/** POSTs a ping on a session by hand; returns the HTTP status. */
async function pingWithSession(sessionId) {
    const response = await fetch(mcpUrl, {
        method: 'POST',
        headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'mcp-session-id': sessionId,
            'mcp-protocol-version': '2025-11-25',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    await response.body?.cancel();
    return response.status;
}

/** One session through the balancer: every call, several times, then its end. */
async function session(client, transport, options) {
    assert.ok(transport.sessionId, 'the server minted a session id');
    for (let round = 0; round < rounds; round++) {
        const { tools } = await client.listTools();
        checkToolList(tools, '2025-11-25');
        await checkCalls(client, '2025-11-25', options);
        await client.ping();
    }
    // Ended through one replica, it is gone on all of them.
    const sessionId = transport.sessionId;
    await transport.terminateSession();
    for (let i = 0; i < 3; i++) {
        assert.equal(await pingWithSession(sessionId), 404, 'an ended session is gone on every replica');
    }
}

await check('ts sdk v1 through the balancer: a 2025-11-25 session', async () => {
    const transport = new HttpV1(mcpUrl);
    const client = new ClientV1({ name: 'ts-sdk-v1-replicas', version: '1.0.0' });
    await client.connect(transport);
    try {
        assert.equal(transport.protocolVersion, '2025-11-25');
        await session(client, transport);
    } finally {
        await client.close();
    }
});

await check('ts sdk v2 through the balancer, legacy mode: a 2025-11-25 session', async () => {
    const transport = new HttpV2(mcpUrl);
    const client = new ClientV2({ name: 'ts-sdk-v2-replicas', version: '1.0.0' });
    await client.connect(transport);
    try {
        assert.equal(client.getNegotiatedProtocolVersion(), '2025-11-25');
        await session(client, transport, { v2: true });
    } finally {
        await client.close();
    }
});

finish();
