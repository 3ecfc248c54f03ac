// Assertions shared by the TypeScript client tests: what the hello server
// must look like to the official SDKs, on every revision and transport.
import assert from 'node:assert/strict';

export const tally = { passed: 0, failed: 0 };
export async function check(name, fn) {
    try {
        await fn();
        tally.passed++;
        console.log(`ok   ${name}`);
    } catch (e) {
        tally.failed++;
        console.log(`FAIL ${name}: ${e?.stack ?? e}`);
    }
}

export const text = (result) => result.content.find((c) => c.type === 'text')?.text;

/** A successful tool result's structured content (or its JSON text). */
export function data(result) {
    assert.notEqual(result.isError, true, `tool error: ${text(result)}`);
    return result.structuredContent ?? JSON.parse(text(result));
}

/** An unknown tool is a JSON-RPC invalid-params error, not a crash. */
export async function rejectsUnknownTool(client) {
    await assert.rejects(client.callTool({ name: 'no_such_tool', arguments: {} }), (e) => {
        assert.equal(e.code, -32602);
        return true;
    });
}

export function checkToolList(tools, version) {
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    assert.deepEqual(tools.map((t) => t.name), ['greet', 'add', 'word_stats', 'countdown', 'divide']);
    for (const tool of tools) {
        const raw = JSON.stringify(tool.inputSchema);
        assert.equal(tool.inputSchema.type, 'object', `${tool.name} input schema is an object`);
        assert.ok(!raw.includes('$schema') && !raw.includes('$ref'), `${tool.name}: no $schema or $ref`);
        assert.ok(tool.description, `${tool.name} has a description`);
    }
    const greet = byName.greet;
    assert.equal(greet.description, 'Say hello to someone.');
    assert.deepEqual(greet.inputSchema.required, ['name']);
    assert.equal(greet.inputSchema.properties.name.type, 'string');
    assert.equal(greet.inputSchema.properties.name.description, 'Who to greet.');
    assert.equal(greet.inputSchema.properties.greeting.type, 'string', 'optional, not nullable');
    assert.deepEqual(byName.add.inputSchema.required, ['a', 'b']);
    assert.equal(byName.add.inputSchema.properties.a.type, 'integer');
    const steps = byName.countdown.inputSchema.properties.steps;
    assert.deepEqual([steps.default, steps.minimum, steps.maximum], [3, 1, 10]);
    assert.equal(byName.divide.inputSchema.properties.b.type, 'number');
    const stats = byName.word_stats;
    if (version >= '2025-06-18') {
        assert.equal(stats.outputSchema.type, 'object');
        assert.equal(stats.outputSchema.properties.words.type, 'integer');
    } else {
        assert.equal(stats.outputSchema, undefined, 'no outputSchema before 2025-06-18');
    }
    if (version >= '2025-03-26') {
        assert.equal(stats.annotations.readOnlyHint, true);
    } else {
        assert.equal(stats.annotations, undefined, 'no annotations on 2024-11-05');
    }
}

export async function checkCalls(client, version, { v2 = false } = {}) {
    assert.equal(text(await client.callTool({ name: 'greet', arguments: { name: 'Ada' } })), 'Hello, Ada!');
    assert.equal(
        text(await client.callTool({ name: 'greet', arguments: { name: 'Ada', greeting: 'Howdy' } })),
        'Howdy, Ada!',
    );
    assert.equal(text(await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } })), '5');

    const stats = await client.callTool({ name: 'word_stats', arguments: { text: 'hello world' } });
    const expected = { words: 2, characters: 11, lines: 1 };
    assert.deepEqual(JSON.parse(text(stats)), expected);
    if (version >= '2025-06-18') assert.deepEqual(stats.structuredContent, expected);
    else assert.equal(stats.structuredContent, undefined);

    const progress = [];
    const request = { name: 'countdown', arguments: { steps: 3 } };
    const options = { onprogress: (p) => progress.push(p) };
    // v1 takes (params, resultSchema, options); v2 takes (params, options).
    const countdown = v2 ? await client.callTool(request, options) : await client.callTool(request, undefined, options);
    assert.equal(text(countdown), 'liftoff after 3 steps');
    // The server sends all three before the response (the Rust protocol tests
    // check that exactly). The SDK runs notification handlers on a microtask
    // but settles responses at once, so when the last progress and the
    // response arrive in one read, the SDK may drop that progress as "unknown
    // token". What arrives must still be a prefix of the sequence.
    const values = progress.map((p) => p.progress);
    assert.ok(values.length >= 1, 'progress reached the callback');
    assert.deepEqual(values, [1, 2, 3].slice(0, values.length));
    assert.ok(progress.every((p) => p.total === 3));
    if (version >= '2025-03-26') assert.equal(progress[0].message, 'step 1 of 3');
    else assert.equal(progress[0].message, undefined);

    const tooMany = await client.callTool({ name: 'countdown', arguments: { steps: 11 } });
    assert.equal(tooMany.isError, true);
    assert.match(text(tooMany), /`steps`/);

    assert.equal(text(await client.callTool({ name: 'divide', arguments: { a: 6, b: 3 } })), '2');
    const byZero = await client.callTool({ name: 'divide', arguments: { a: 1, b: 0 } });
    assert.equal(byZero.isError, true);
    assert.match(text(byZero), /cannot divide by zero/);

    const wrongType = await client.callTool({ name: 'add', arguments: { a: 1, b: 'two' } });
    assert.equal(wrongType.isError, true);
    assert.match(text(wrongType), /`b`/);

    await assert.rejects(client.callTool({ name: 'no_such_tool', arguments: {} }), (e) => {
        assert.equal(e.code, -32602);
        return true;
    });
}


/** Prints the tally and exits with its verdict. */
export function finish() {
    console.log(`${tally.passed} passed, ${tally.failed} failed`);
    process.exit(tally.failed === 0 ? 0 : 1);
}
