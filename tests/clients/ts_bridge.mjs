// The official TypeScript SDK client (v1) drives mcp-bridge over stdio;
// the bridge forwards to the CRM over Streamable HTTP with an API key, and
// to the everything server for progress, speaking each revision to them
// in turn (MCP_PROTOCOL_VERSION): tools, a resource, an elicitation and
// progress pass through both ways.
import assert from 'node:assert/strict';

import { check, data, finish, text } from './checks.mjs';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const bin = process.env.BRIDGE_BIN;
const crm = process.env.CRM_URL;
const everything = process.env.EVERYTHING_URL;
const apiKey = process.env.CRM_API_KEY;
if (!bin || !crm || !everything || !apiKey) {
    console.error('usage: BRIDGE_BIN=... CRM_URL=... CRM_API_KEY=... EVERYTHING_URL=... node ts_bridge.mjs');
    process.exit(2);
}

async function bridged(url, env) {
    const transport = new StdioClientTransport({
        command: bin,
        args: [url],
        env: { PATH: process.env.PATH, LOG_LEVEL: 'warn', ...env },
        stderr: 'inherit',
    });
    const client = new Client(
        { name: 'ts-bridge-test', version: '1.0.0' },
        { capabilities: { elicitation: {} } },
    );
    const asked = [];
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
        asked.push(request.params.message);
        return { action: 'accept', content: { confirm: true } };
    });
    await client.connect(transport);
    return { client, asked };
}

const revisions = ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25', '2026-07-28'];

for (const version of revisions) {
    await check(`sdk v1 -> mcp-bridge -> CRM over HTTP speaking ${version}`, async () => {
        const { client, asked } = await bridged(crm + '/mcp', { MCP_API_KEY: apiKey, MCP_PROTOCOL_VERSION: version });
        try {
            const { tools } = await client.listTools();
            const names = tools.map((t) => t.name);
            for (const name of ['search_contacts', 'create_contact', 'delete_contact']) {
                assert.ok(names.includes(name), names.join(','));
            }
            const found = data(await client.callTool({ name: 'search_contacts', arguments: { query: '' } }));
            assert.ok(found.contacts.length > 0, JSON.stringify(found));
            const created = data(await client.callTool({
                name: 'create_contact',
                arguments: { first_name: 'Bridge', last_name: version, email: `bridge-${version}@example.com` },
            }));
            const id = created.id ?? created.contact?.id;
            assert.ok(id, JSON.stringify(created));
            const deleted = await client.callTool({ name: 'delete_contact', arguments: { id } });
            if (version >= '2025-06-18') {
                // The CRM asked through the bridge; the answer went back.
                assert.equal(asked.length, 1, `asked: ${asked}`);
                assert.match(text(deleted), /^Deleted /, text(deleted));
            } else {
                assert.match(text(deleted), /^Kept /, text(deleted));
            }
            const { resources } = await client.listResources();
            assert.ok(resources.some((r) => r.uri === 'crm://pipeline'), JSON.stringify(resources));
            const pipeline = await client.readResource({ uri: 'crm://pipeline' });
            assert.equal(pipeline.contents[0].uri, 'crm://pipeline');
        } finally {
            await client.close();
        }
    });
}

await check('mcp-bridge without the API key: a clear error on stderr, exit 1', async () => {
    const { spawnSync } = await import('node:child_process');
    const run = spawnSync(bin, [crm + '/mcp'], {
        input: '',
        env: { PATH: process.env.PATH, LOG_LEVEL: 'error' },
        encoding: 'utf8',
        timeout: 30000,
    });
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /mcp-bridge: cannot connect to .*401/, run.stderr);
});

for (const version of revisions) {
    await check(`sdk v1 -> mcp-bridge -> everything speaking ${version}: progress passes through`, async () => {
        const { client } = await bridged(everything + '/mcp', { MCP_PROTOCOL_VERSION: version });
        try {
            const seen = [];
            const result = await client.callTool(
                { name: 'test_tool_with_progress', arguments: {} },
                undefined,
                { onprogress: (p) => seen.push(p.progress) },
            );
            assert.ok(!result.isError, JSON.stringify(result));
            if (version !== '2026-07-28') {
                // The last step may race the answer when the server sends
                // them on different streams; the ones before it may not.
                assert.ok(seen.includes(50), JSON.stringify(seen));
            }
        } finally {
            await client.close();
        }
    });
}

finish();
