// The official TypeScript SDK clients against the hello server over stdio:
// v1 (`@modelcontextprotocol/sdk`) for every handshake revision, v2
// (`@modelcontextprotocol/client`) for the stateless 2026-07-28 revision.
import assert from 'node:assert/strict';

import { check, checkCalls, checkToolList, finish } from './checks.mjs';

import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as StdioV1 } from '@modelcontextprotocol/sdk/client/stdio.js';
import { Client as ClientV2 } from '@modelcontextprotocol/client';
import { StdioClientTransport as StdioV2 } from '@modelcontextprotocol/client/stdio';

const bin = process.env.HELLO_BIN ?? process.argv[2];
if (!bin) {
    console.error('usage: HELLO_BIN=path/to/hello node ts_stdio.mjs');
    process.exit(2);
}

/** v1 sends its newest revision in `initialize`; this pins an older one, as an older client would. */
class PinnedStdio extends StdioV1 {
    constructor(params, version) {
        super(params);
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
    }
}

for (const version of ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25']) {
    await check(`sdk v1, protocol ${version}: handshake, tools/list, tools/call`, async () => {
        const transport = new PinnedStdio({ command: bin, args: [], stderr: 'ignore' }, version);
        const client = new ClientV1({ name: 'ts-sdk-v1-test', version: '1.0.0' });
        await client.connect(transport);
        try {
            assert.equal(transport.negotiated, version, 'the server echoes a supported revision');
            assert.equal(client.getServerVersion().name, 'hello');
            const { tools } = await client.listTools();
            checkToolList(tools, version);
            await checkCalls(client, version);
            await client.ping();
        } finally {
            await client.close();
        }
    });
}

for (const mode of [{ pin: '2026-07-28' }, 'auto']) {
    await check(`sdk v2, versionNegotiation ${JSON.stringify(mode)}: stateless 2026-07-28`, async () => {
        const transport = new StdioV2({ command: bin, args: [], stderr: 'ignore' });
        const client = new ClientV2(
            { name: 'ts-sdk-v2-test', version: '1.0.0' },
            { versionNegotiation: { mode } },
        );
        await client.connect(transport);
        try {
            assert.equal(client.getNegotiatedProtocolVersion(), '2026-07-28');
            assert.equal(client.getServerVersion()?.name, 'hello');
            const { tools } = await client.listTools();
            checkToolList(tools, '2026-07-28');
            await checkCalls(client, '2026-07-28', { v2: true });
        } finally {
            await client.close();
        }
    });
}

await check('sdk v2, legacy mode: the 2025-11-25 handshake', async () => {
    const transport = new StdioV2({ command: bin, args: [], stderr: 'ignore' });
    const client = new ClientV2({ name: 'ts-sdk-v2-test', version: '1.0.0' });
    await client.connect(transport);
    try {
        assert.equal(client.getNegotiatedProtocolVersion(), '2025-11-25');
        const { tools } = await client.listTools();
        checkToolList(tools, '2025-11-25');
        await checkCalls(client, '2025-11-25', { v2: true });
    } finally {
        await client.close();
    }
});

finish();
