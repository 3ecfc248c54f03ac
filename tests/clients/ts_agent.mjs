// The official TypeScript SDK client (v1) against the workspace agent over
// stdio and, with AGENT_URL and AGENT_HTTP_WORKSPACE (a server the caller
// runs on that workspace), over Streamable HTTP, answering the server's sampling requests with a scripted model: the
// model asks to write a file, then to read it back (and once to escape the
// workspace), then answers. Checks the file on disk, the final answer, and
// that a second ask_agent on the same conversation carries its history.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';

import { check, data, finish, rejectsUnknownTool } from './checks.mjs';

const bin = process.env.AGENT_BIN ?? process.argv[2];
const url = process.env.AGENT_URL;
const httpWorkspace = process.env.AGENT_HTTP_WORKSPACE;
if (!bin || Boolean(url) !== Boolean(httpWorkspace)) {
    console.error('usage: AGENT_BIN=path/to/agent-mcp [AGENT_URL=http://... AGENT_HTTP_WORKSPACE=dir] node ts_agent.mjs');
    process.exit(2);
}

const WRITE = { tool: 'write_file', arguments: { path: 'out/report.md', content: '# Report\nall green\n' } };
const ESCAPE = { tool: 'read_file', arguments: { path: '../outside.txt' } };
const READ = { tool: 'read_file', arguments: { path: 'out/report.md' } };

const textOf = (message) =>
    [message.content].flat().map((block) => block.text ?? '').join('');

/** Picks its reply from the last message, as a model would from the conversation. */
function scriptedModel(seen) {
    return async (request) => {
        const { messages, systemPrompt } = request.params;
        assert.match(systemPrompt ?? '', /write_file/);
        seen.push(messages.map(textOf));
        const last = textOf(messages.at(-1));
        let reply;
        if (!last.includes('tool_result')) reply = JSON.stringify(WRITE);
        else if (last.includes('"tool":"write_file"')) reply = JSON.stringify(ESCAPE);
        else if (last.includes('"ok":false')) reply = '```json\n' + JSON.stringify(READ) + '\n```';
        else {
            const result = JSON.parse(last).tool_result;
            reply = JSON.stringify({ final: 'the report says: ' + result.result.content.split('\n')[1] });
        }
        return { role: 'assistant', content: { type: 'text', text: reply }, model: 'scripted', stopReason: 'endTurn' };
    };
}

/** Writes, reads back and escapes through ask_agent, then goes on with the conversation. */
async function exercise(client, workspace, seen, conversation) {
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    assert.ok(names.includes('ask_agent') && names.includes('write_file'), names.join(','));

    const ask = (prompt) =>
        client.callTool({ name: 'ask_agent', arguments: { conversation_id: conversation, prompt } });
    const answer = data(await ask('write the report, then check it'));
    assert.equal(answer.answer, 'the report says: all green');
    assert.deepEqual(
        answer.tool_calls.map((c) => [c.tool, c.ok]),
        [['write_file', true], ['read_file', false], ['read_file', true]],
    );
    assert.equal(readFileSync(join(workspace, 'out', 'report.md'), 'utf8'), '# Report\nall green\n');
    assert.ok(seen.flat().some((m) => m.includes('`..` is not allowed')), 'the model saw the refusal');
    assert.ok(!seen.flat().some((m) => m.includes('secret')), 'nothing outside the workspace was read');

    // A bad argument is an error, and the session goes on.
    const bad = await client.callTool({ name: 'read_file', arguments: { path: '/etc/passwd' } });
    assert.equal(bad.isError, true);
    await rejectsUnknownTool(client);

    // The same conversation goes on with its history.
    seen.length = 0;
    const again = data(await ask('and again'));
    assert.equal(again.answer, 'the report says: all green');
    assert.equal(seen[0][0], 'write the report, then check it');
    assert.equal(seen[0].at(-1), 'and again');
}

function newClient(name, seen) {
    const client = new Client({ name, version: '1.0.0' }, { capabilities: { sampling: {} } });
    client.setRequestHandler(CreateMessageRequestSchema, scriptedModel(seen));
    return client;
}

await check('sdk v1, agent with sampling over stdio', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'agent-'));
    const workspace = join(tmp, 'workspace');
    mkdirSync(workspace);
    writeFileSync(join(tmp, 'outside.txt'), 'secret\n');
    const transport = new StdioClientTransport({
        command: bin,
        args: [],
        env: {
            PATH: process.env.PATH,
            AGENT_WORKSPACE: workspace,
            AGENT_DB: join(tmp, 'agent.db'),
            AGENT_MAX_TURNS: '6',
            AGENT_TIMEOUT: '20s',
            LOG_LEVEL: 'warn',
        },
        stderr: 'inherit',
    });
    const seen = [];
    const client = newClient('ts-sdk-v1-agent', seen);
    await client.connect(transport);
    try {
        await exercise(client, workspace, seen, 'report');
    } finally {
        await client.close();
        rmSync(tmp, { recursive: true, force: true });
    }
});

if (url) {
    // Sampling requests travel on the SSE stream of the tools/call POST.
    await check('sdk v1, agent with sampling over streamable http', async () => {
        writeFileSync(join(httpWorkspace, '..', 'outside.txt'), 'secret\n');
        // The file on disk must come from this run.
        rmSync(join(httpWorkspace, 'out'), { recursive: true, force: true });
        const seen = [];
        const client = newClient('ts-sdk-v1-agent-http', seen);
        const transport = new StreamableHTTPClientTransport(new URL(`${url.replace(/\/$/, '')}/mcp`));
        await client.connect(transport);
        try {
            assert.ok(transport.sessionId, 'the server gave a session');
            await exercise(client, httpWorkspace, seen, 'report-ts-http');
        } finally {
            await client.close();
        }
    });
}

finish();
