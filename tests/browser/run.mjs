// The CRM's MCP Apps views in headless Chromium. The official TypeScript
// SDK client connects to the CRM over Streamable HTTP declaring the MCP
// Apps extension, finds each tool's view, reads it and calls the tool; a
// minimal host page (the official ext-apps AppBridge) renders the view in a
// sandboxed iframe with the CSP the resource declares. Asserts that the
// contact card shows the contact, that an edit in the card calls the
// app-only tool and changes the row (read back through the CRM), that CSP
// blocks a request to an undeclared origin, and that the pipeline board
// shows the deals by stage. Screenshots go to OUT_DIR.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { getToolUiResourceUri, isToolVisibilityAppOnly } from '@modelcontextprotocol/ext-apps/app-bridge';
import { chromium } from 'playwright-core';

const UI_EXTENSION = 'io.modelcontextprotocol/ui';
const UI_MIME = 'text/html;profile=mcp-app';
const { CRM_URL, CRM_KEY, HOST_BUNDLE } = process.env;
const OUT_DIR = process.env.OUT_DIR ?? 'screenshots';
assert.ok(CRM_URL && CRM_KEY && HOST_BUNDLE, 'CRM_URL, CRM_KEY and HOST_BUNDLE are required');
mkdirSync(OUT_DIR, { recursive: true });

let passed = 0;
let failed = 0;
async function step(name, body) {
    try {
        await body();
        passed += 1;
        console.log(`ok - ${name}`);
    } catch (e) {
        failed += 1;
        console.log(`not ok - ${name}\n${e.stack ?? e}`);
    }
}

// The host page, its bundle, and an undeclared origin the views must not reach.
const here = path.dirname(new URL(import.meta.url).pathname);
let pings = 0;
const hostServer = http.createServer(async (req, res) => {
    if (req.url === '/host.bundle.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' });
        res.end(await readFile(HOST_BUNDLE));
    } else if (req.url === '/' || req.url === '/host.html') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(await readFile(path.join(here, 'host.html')));
    } else if (req.url.startsWith('/ping')) {
        pings += 1;
        res.writeHead(200, { 'access-control-allow-origin': '*' });
        res.end('pong');
    } else {
        res.writeHead(404).end();
    }
});
await new Promise((resolve) => hostServer.listen(0, '127.0.0.1', resolve));
const hostUrl = `http://127.0.0.1:${hostServer.address().port}`;
// Another port is another origin: nothing in the views' CSP declares it.
const undeclared = http.createServer((req, res) => {
    pings += 1;
    res.writeHead(200, { 'access-control-allow-origin': '*' }).end('pong');
});
await new Promise((resolve) => undeclared.listen(0, '127.0.0.1', resolve));
const undeclaredUrl = `http://127.0.0.1:${undeclared.address().port}/ping`;

const client = new Client(
    { name: 'mcp-apps-browser-host', version: '1.0.0' },
    { capabilities: { extensions: { [UI_EXTENSION]: { mimeTypes: [UI_MIME] } } } },
);
const transport = new StreamableHTTPClientTransport(new URL('/mcp', CRM_URL), {
    requestInit: { headers: { authorization: `Bearer ${CRM_KEY}` } },
});
await client.connect(transport);
const { tools } = await client.listTools();
const byName = new Map(tools.map((t) => [t.name, t]));
const calls = [];
async function callTool(params) {
    calls.push(params.name);
    return client.callTool(params);
}
async function view(toolName) {
    const uri = getToolUiResourceUri(byName.get(toolName));
    assert.ok(uri, `${toolName} names a view`);
    const { contents } = await client.readResource({ uri });
    assert.equal(contents[0].mimeType, UI_MIME);
    return { html: contents[0].text, ui: contents[0]._meta?.ui ?? {} };
}

const userDataDir = mkdtempSync(path.join(os.tmpdir(), 'mcp-apps-chromium-'));
// A fresh profile per run (playwright takes it as userDataDir).
const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
});
const page = context.pages()[0] ?? await context.newPage();
await page.exposeFunction('hostCallTool', callTool);
page.on('console', (m) => { if (m.type() === 'error') console.log(`[page] ${m.text()}`); });

async function mount(toolName, toolInput) {
    await page.goto(`${hostUrl}/host.html`);
    await page.waitForFunction(() => typeof window.mountView === 'function');
    const toolResult = await client.callTool({ name: toolName, arguments: toolInput });
    const { html, ui } = await view(toolName);
    const policy = await page.evaluate((args) => window.mountView(args), { html, ui, toolInput, toolResult });
    return { frame: page.frameLocator('#view'), policy, toolResult };
}

try {
    await step('the model-visible tools link their views; the app-only tool is listed for this host', async () => {
        assert.equal(getToolUiResourceUri(byName.get('get_contact_details')), 'ui://crm/contact');
        assert.equal(getToolUiResourceUri(byName.get('list_deals')), 'ui://crm/pipeline');
        assert.ok(isToolVisibilityAppOnly(byName.get('update_contact_field')));
    });

    const { frame, policy, toolResult } = await mount('get_contact_details', { id: 1 });
    const contact = toolResult.structuredContent.contact;
    await step('the contact card shows the contact', async () => {
        await frame.locator('#name').filter({ hasText: `${contact.first_name} ${contact.last_name}` }).waitFor({ timeout: 10_000 });
        const email = await frame.locator('dd[data-field="email"]').textContent();
        assert.equal(email, contact.email ?? '');
        assert.match(policy, /connect-src 'none'/);
        await page.screenshot({ path: path.join(OUT_DIR, 'contact-card.png'), fullPage: true });
    });

    await step('an edit in the card calls the app-only tool and changes the row', async () => {
        const title = `VP Browser Tests ${Date.now()}`;
        await frame.locator('button[data-edit="title"]').click();
        await frame.locator('input[name="title"]').fill(title);
        await frame.locator('button[data-save="title"]').click();
        await frame.locator('#status').filter({ hasText: 'Saved.' }).waitFor({ timeout: 10_000 });
        assert.deepEqual(calls, ['update_contact_field']);
        await frame.locator('dd[data-field="title"]').filter({ hasText: title }).waitFor({ timeout: 5_000 });
        // Read back through the CRM: the database has the new title.
        const after = await client.callTool({ name: 'get_contact_details', arguments: { id: 1 } });
        assert.equal(after.structuredContent.contact.title, title);
        assert.equal(after.structuredContent.contact.email, contact.email);
        await page.screenshot({ path: path.join(OUT_DIR, 'contact-card-edited.png'), fullPage: true });
    });

    await step('CSP blocks a request to an undeclared origin', async () => {
        const before = pings;
        const outcome = await page.frame({ url: /about:srcdoc/ }).evaluate(async (url) => {
            const violation = new Promise((resolve) => {
                document.addEventListener('securitypolicyviolation', (e) => resolve(e.effectiveDirective), { once: true });
            });
            const fetched = await fetch(url).then(() => 'fetched', () => 'failed');
            return { fetched, directive: await Promise.race([violation, new Promise((r) => setTimeout(() => r('none'), 2000))]) };
        }, undeclaredUrl);
        assert.equal(outcome.fetched, 'failed');
        assert.equal(outcome.directive, 'connect-src');
        assert.equal(pings, before, 'the undeclared origin received no request');
    });

    await step('the pipeline board shows the deals by stage', async () => {
        const board = await mount('list_deals', {});
        const deals = board.toolResult.structuredContent.deals;
        assert.ok(deals.length > 0);
        await board.frame.locator('article[data-deal]').first().waitFor({ timeout: 10_000 });
        assert.equal(await board.frame.locator('article[data-deal]').count(), deals.length);
        const stage = deals[0].stage;
        assert.ok(await board.frame.locator(`section[data-stage="${stage}"] article[data-deal="${deals[0].id}"]`).count() === 1);
        await page.screenshot({ path: path.join(OUT_DIR, 'pipeline-board.png'), fullPage: true });
    });
} finally {
    await context.close();
    await client.close();
    hostServer.close();
    undeclared.close();
    rmSync(userDataDir, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
