// The official TypeScript SDK clients against replicas of the everything
// server behind a round-robin load balancer with no session affinity
// (scripts/replicas.sh): a 2025-11-25 session each with v1
// (`@modelcontextprotocol/sdk`) and v2 (`@modelcontextprotocol/client`,
// legacy mode) whose requests' halves land on different replicas: progress,
// elicitation and sampling answered by a POST the balancer sends to another
// replica than the one waiting, and a resource update raised on one replica
// and delivered on the GET stream another holds.
import assert from 'node:assert/strict';

import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as HttpV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
    CreateMessageRequestSchema,
    ElicitRequestSchema,
    ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';

import { check, finish, text } from './checks.mjs';

const base = process.env.BALANCER_URL ?? process.argv[2];
if (!base) {
    console.error('usage: BALANCER_URL=http://127.0.0.1:PORT node ts_everything_replicas.mjs');
    process.exit(2);
}
const mcpUrl = new URL('/mcp', base);
const rounds = Number(process.env.REPLICAS_ROUNDS ?? '3');
const WATCHED = 'test://watched-resource';
const capabilities = { capabilities: { sampling: {}, elicitation: {} } };

const sample = async (request) => ({
    role: 'assistant',
    content: { type: 'text', text: `echo: ${request.params.messages[0].content.text}` },
    model: 'replica-test-model',
    stopReason: 'endTurn',
});
const elicit = async () => ({ action: 'accept', content: { username: 'ada', email: 'ada@example.com' } });

/** Resource updates as they arrive; `next()` waits up to 10 s for one. */
function updates() {
    const queue = [];
    const waiting = [];
    return {
        push(uri) {
            const resolve = waiting.shift();
            if (resolve) resolve(uri);
            else queue.push(uri);
        },
        next() {
            if (queue.length) return Promise.resolve(queue.shift());
            return new Promise((resolve, reject) => {
                const timer = setTimeout(() => reject(new Error('no resources/updated within 10 s')), 10_000);
                waiting.push((uri) => {
                    clearTimeout(timer);
                    resolve(uri);
                });
            });
        },
    };
}

async function session(client, updated) {
    await client.subscribeResource({ uri: WATCHED });
    for (let round = 0; round < rounds; round++) {
        const progress = [];
        const options = { onprogress: (p) => progress.push([p.progress, p.total]) };
        const params = { name: 'test_tool_with_progress', arguments: {} };
        // v1 takes a result schema before the options; v2 does not.
        const result = await (client instanceof ClientV2
            ? client.callTool(params, options)
            : client.callTool(params, undefined, options));
        assert.equal(text(result), 'Progress test completed');
        assert.deepEqual(progress, [[0, 100], [50, 100], [100, 100]]);

        const elicited = await client.callTool({ name: 'test_elicitation', arguments: { message: `round ${round}` } });
        assert.notEqual(elicited.isError, true, text(elicited));
        assert.match(text(elicited), /ada@example\.com/);

        const sampled = await client.callTool({ name: 'test_sampling', arguments: { prompt: `question ${round}` } });
        assert.equal(text(sampled), `LLM response: echo: question ${round}`);

        const touched = await client.callTool({ name: 'test_update_watched_resource', arguments: {} });
        assert.equal(text(touched), 'Updated test://watched-resource');
        assert.equal(await updated.next(), WATCHED);
    }
    await client.unsubscribeResource({ uri: WATCHED });
}

await check('ts sdk v1 through the balancer, 2025-11-25: progress, elicitation, sampling, subscription', async () => {
    const transport = new HttpV1(mcpUrl);
    const client = new ClientV1({ name: 'ts-sdk-v1-replicas', version: '1.0.0' }, capabilities);
    const updated = updates();
    client.setRequestHandler(CreateMessageRequestSchema, sample);
    client.setRequestHandler(ElicitRequestSchema, elicit);
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => updated.push(n.params.uri));
    await client.connect(transport);
    try {
        assert.equal(transport.protocolVersion, '2025-11-25');
        await session(client, updated);
    } finally {
        await client.close();
    }
});

await check('ts sdk v2 through the balancer, legacy mode: progress, elicitation, sampling, subscription', async () => {
    const transport = new HttpV2(mcpUrl);
    const client = new ClientV2({ name: 'ts-sdk-v2-replicas', version: '1.0.0' }, capabilities);
    const updated = updates();
    client.setRequestHandler('sampling/createMessage', sample);
    client.setRequestHandler('elicitation/create', elicit);
    client.setNotificationHandler('notifications/resources/updated', (n) => updated.push(n.params.uri));
    await client.connect(transport);
    try {
        assert.equal(client.getNegotiatedProtocolVersion(), '2025-11-25');
        await session(client, updated);
    } finally {
        await client.close();
    }
});

finish();
