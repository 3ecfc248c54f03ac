// The official TypeScript SDK clients (v1 and v2) against the SQL report and
// Jira servers (sql-jira-example), over stdio (a server per scenario, on a
// fresh SQLite file) and over Streamable HTTP: the documented tool sets,
// reports checked row by row, an issue created, fetched, commented on and
// moved in the offline sample project, and bad arguments answered as errors
// on a session that goes on.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as StdioV1 } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as HttpV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as ClientV2, StreamableHTTPClientTransport as HttpV2 } from '@modelcontextprotocol/client';
import { StdioClientTransport as StdioV2 } from '@modelcontextprotocol/client/stdio';

import { check, data, finish, rejectsUnknownTool, text } from './checks.mjs';

const { SQL_BIN, JIRA_BIN, SQL_URL, JIRA_URL } = process.env;
if (!SQL_BIN || !JIRA_BIN || !SQL_URL || !JIRA_URL) {
    console.error('usage: SQL_BIN=.../sql-mcp JIRA_BIN=.../jira-mcp SQL_URL=http://... JIRA_URL=http://... node ts_sql_jira.mjs');
    process.exit(2);
}

const SQL_TOOLS = ['sales_by_month', 'top_customers', 'product_sales', 'overdue_invoices', 'customer_orders', 'low_stock'];
const JIRA_TOOLS = [
    'search_issues', 'get_issue', 'create_issue', 'update_issue',
    'transition_issue', 'add_comment', 'assign_issue', 'list_projects',
];

const call = async (client, name, args) => client.callTool({ name, arguments: args });

async function sqlChecks(client) {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name), SQL_TOOLS);
    assert.ok(tools.every((t) => t.annotations?.readOnlyHint === true), 'every report is read-only');

    const top = data(await call(client, 'top_customers', { start_date: '2025-01-01', end_date: '2025-12-31', limit: 2 }));
    assert.equal(top.template, 'top_customers');
    assert.deepEqual(top.columns, ['customer_id', 'name', 'country', 'orders', 'revenue_cents']);
    assert.equal(top.row_count, 2);
    assert.equal(top.truncated, false);
    assert.equal(top.rows[0].name, 'Adventure Works');
    assert.ok(top.rows[0].revenue_cents >= top.rows[1].revenue_cents, 'sorted by revenue');

    const q2 = data(await call(client, 'sales_by_month', { start_date: '2025-04-01', end_date: '2025-06-30' }));
    assert.deepEqual(q2.rows.map((r) => r.month), ['2025-04', '2025-05', '2025-06']);

    const stock = data(await call(client, 'low_stock', { category: 'office' }));
    assert.ok(stock.rows.length >= 1);
    for (const row of stock.rows) {
        assert.equal(row.category, 'office');
        assert.equal(row.shortfall, Math.max(0, row.reorder_level - row.stock), JSON.stringify(row));
    }

    // A bad date and a wrongly typed argument are tool errors ...
    const badDate = await call(client, 'sales_by_month', { start_date: '2025-02-30' });
    assert.equal(badDate.isError, true);
    assert.match(text(badDate), /`start_date`/);
    const badType = await call(client, 'customer_orders', { customer_id: 'one' });
    assert.equal(badType.isError, true);
    assert.match(text(badType), /customer_id/);
    await rejectsUnknownTool(client);
    // ... and the session goes on.
    const orders = data(await call(client, 'customer_orders', { customer_id: 1 }));
    assert.ok(orders.row_count >= 1);
    assert.ok(orders.rows.every((r) => r.items >= 1 && r.total_cents > 0));
}

async function jiraChecks(client) {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name), JIRA_TOOLS);

    const todo = data(await call(client, 'search_issues', { jql: 'project = DEMO AND issuetype = Bug' }));
    assert.ok(todo.issues.some((i) => i.key === 'DEMO-1'), JSON.stringify(todo));
    assert.ok(todo.issues.every((i) => i.project === 'DEMO' && i.issue_type === 'Bug'));

    const summary = `Client check ${randomUUID()}`;
    const created = data(await call(client, 'create_issue', {
        project: 'DEMO', summary, issue_type: 'Bug', description: 'found by the client', idempotency_key: randomUUID(),
    }));
    assert.match(created.key, /^DEMO-\d+$/);
    const issue = data(await call(client, 'get_issue', { issue_key: created.key }));
    assert.deepEqual(
        [issue.summary, issue.issue_type, issue.status, issue.description],
        [summary, 'Bug', 'To Do', 'found by the client'],
    );
    const comment = data(await call(client, 'add_comment', { issue_key: created.key, body: 'seen' }));
    assert.equal(comment.body, 'seen');
    const updated = data(await call(client, 'update_issue', { issue_key: created.key, priority: 'High' }));
    assert.ok(updated);
    const done = data(await call(client, 'transition_issue', { issue_key: created.key, transition: 'Done' }));
    assert.equal(done.status, 'Done');
    const after = data(await call(client, 'get_issue', { issue_key: created.key }));
    assert.deepEqual([after.status, after.priority], ['Done', 'High']);

    const missing = await call(client, 'get_issue', { issue_key: 'OPS-424242' });
    assert.equal(missing.isError, true);
    assert.match(text(missing), /OPS-424242/);
    const badTransition = await call(client, 'transition_issue', { issue_key: created.key, transition: 'Nowhere' });
    assert.equal(badTransition.isError, true);
    await rejectsUnknownTool(client);
    const projects = data(await call(client, 'list_projects', { query: 'oper' }));
    assert.deepEqual(projects.projects.map((p) => p.key), ['OPS']);
}

function stdioParams(command) {
    const dir = mkdtempSync(join(tmpdir(), 'sql-jira-'));
    const params = {
        command,
        args: ['--transport', 'stdio'],
        env: { PATH: process.env.PATH, DATABASE_URL: `sqlite://${dir}/server.db`, JIRA_OFFLINE: 'true', LOG_LEVEL: 'error' },
        stderr: 'inherit',
    };
    return { params, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const servers = [
    ['sql-mcp', SQL_BIN, SQL_URL, sqlChecks],
    ['jira-mcp', JIRA_BIN, JIRA_URL, jiraChecks],
];
const clients = [
    ['sdk v1', () => new ClientV1({ name: 'ts-sdk-v1-test', version: '1.0.0' }), StdioV1, HttpV1],
    [
        'sdk v2 (2026-07-28)',
        () => new ClientV2({ name: 'ts-sdk-v2-test', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } }),
        StdioV2,
        HttpV2,
    ],
];

for (const [server, bin, url, checks] of servers) {
    for (const [label, makeClient, Stdio, Http] of clients) {
        await check(`${label}, ${server} over stdio`, async () => {
            const { params, cleanup } = stdioParams(bin);
            const client = makeClient();
            await client.connect(new Stdio(params));
            try {
                await checks(client);
            } finally {
                await client.close();
                cleanup();
            }
        });
        await check(`${label}, ${server} over Streamable HTTP`, async () => {
            const client = makeClient();
            await client.connect(new Http(new URL('/mcp', url)));
            try {
                await checks(client);
            } finally {
                await client.close();
            }
        });
    }
}

finish();
