import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { createStatehouseClient, type StatehousePromiseClient } from '#proto';
import { callsOf, outputJson, useNova } from './support/fixture.js';
import { codeOf } from './support/grpc-status.js';

// Issue 10, item 2: state from function code, over the instance's channel.
describe('context.state in function code', () => {
  const fx = useNova();
  const { create, invoke } = callsOf(fx);
  let state: StatehousePromiseClient;

  before(() => {
    state = createStatehouseClient({ address: fx.nova.address });
  });

  const python = (name: string, code: string[], overrides = {}) =>
    create({ name, runtime: 'python', handler: 'handler', code: Buffer.from(code.join('\n') + '\n'), ...overrides });
  const node = (name: string, code: string[], overrides = {}) =>
    create({ name, runtime: 'node', handler: 'handler', code: Buffer.from(code.join('\n') + '\n'), ...overrides });

  async function commit(agentId: string, key: string, value: object, namespace = 'default'): Promise<number> {
    const { txnId } = await state.beginTransaction({});
    await state.write({ txnId, namespace, agentId, key, value });
    return (await state.commit({ txnId })).commitTs;
  }

  async function invokeOk(fn: string, payload = ''): Promise<unknown> {
    const response = await invoke(fn, payload);
    assert.equal(response.error, '', `${fn} failed: ${response.error}`);
    return outputJson(response);
  }

  it('python: get, a transaction block, list_keys, scan and scope; visible through statehouse.v1 and Replay', async () => {
    await commit('py-state', 'seed', { n: 1 });
    await python('py-state', [
      'def handler(event, context):',
      '    s = context.state',
      '    before = s.get("seed")',
      '    missing = s.get("nothing")',
      '    with s.transaction() as tx:',
      '        seed = tx.get("seed")',
      '        tx.write("pref/a", {"from": seed["n"]})',
      '        tx.write("pref/b", {"b": True})',
      '        tx.write("gone", {"x": 1})',
      '        tx.delete("gone")',
      '        own = tx.get("pref/a")',
      '    other = s.scope(agent_id="py-other", namespace="elsewhere")',
      '    with other.transaction() as tx:',
      '        tx.write("k", {"in": "elsewhere"})',
      '    return {"before": before, "missing": missing, "own": own, "keys": s.list_keys(),',
      '            "scan": s.scan("pref/"), "other": other.get("k"), "other_keys": other.list_keys()}',
    ]);
    const result = (await invokeOk('py-state')) as Record<string, unknown>;
    assert.deepEqual(result['before'], { n: 1 });
    assert.equal(result['missing'], null);
    assert.deepEqual(result['own'], { from: 1 }, 'a transaction reads its own writes');
    assert.deepEqual(result['keys'], ['pref/a', 'pref/b', 'seed']);
    assert.deepEqual(result['scan'], [
      { key: 'pref/a', value: { from: 1 }, version: 1 },
      { key: 'pref/b', value: { b: true }, version: 1 },
    ]);
    assert.deepEqual(result['other'], { in: 'elsewhere' });
    assert.deepEqual(result['other_keys'], ['k']);

    const seen = await state.getState({ namespace: 'default', agentId: 'py-state', key: 'pref/a' });
    assert.deepEqual([seen.value, seen.version, seen.exists], [{ from: 1 }, 1, true]);
    assert.equal((await state.getState({ namespace: 'default', agentId: 'py-state', key: 'gone' })).exists, false);
    const events = [];
    for await (const event of state.replay({ namespace: 'default', agentId: 'py-state', follow: false }))
      events.push(event);
    assert.equal(events.length, 2, 'the seed commit and the function’s');
    assert.deepEqual(
      events[1]!.operations.map((op) => [op.key, op.value ?? null]),
      [
        ['pref/a', { from: 1 }],
        ['pref/b', { b: true }],
        ['gone', null],
      ],
      'one transaction, one event; the key written then deleted ends deleted',
    );
  });

  it('node: the same API with promises', async () => {
    await commit('node-state', 'seed', { n: 2 });
    await node('node-state', [
      'exports.handler = async (event, context) => {',
      '  const s = context.state;',
      '  const before = await s.get("seed");',
      '  const missing = await s.get("nothing");',
      '  const own = await s.transaction(async (tx) => {',
      '    const seed = await tx.get("seed");',
      '    tx.write("pref/a", { from: seed.n });',
      '    tx.write("pref/b", { b: true });',
      '    return tx.get("pref/a");',
      '  });',
      '  const other = s.scope({ agentId: "node-other", namespace: "elsewhere" });',
      '  await other.transaction(async (tx) => tx.write("k", { in: "elsewhere" }));',
      '  return { before, missing, own, keys: await s.listKeys(), scan: await s.scan("pref/"), other: await other.get("k") };',
      '};',
    ]);
    assert.deepEqual(await invokeOk('node-state'), {
      before: { n: 2 },
      missing: null,
      own: { from: 2 },
      keys: ['pref/a', 'pref/b', 'seed'],
      scan: [
        { key: 'pref/a', value: { from: 2 }, version: 1 },
        { key: 'pref/b', value: { b: true }, version: 1 },
      ],
      other: { in: 'elsewhere' },
    });
    const seen = await state.getState({ namespace: 'elsewhere', agentId: 'node-other', key: 'k' });
    assert.deepEqual(seen.value, { in: 'elsewhere' });
  });

  for (const runtime of ['python', 'node'] as const) {
    it(`${runtime}: 20 concurrent invocations each incrementing one counter end at exactly 20`, async () => {
      const name = `${runtime}-counter`;
      if (runtime === 'python') {
        await python(name, [
          'def handler(event, context):',
          '    with context.state.transaction() as tx:',
          '        current = tx.get("counter") or {"n": 0}',
          '        tx.write("counter", {"n": current["n"] + 1})',
          '    return current["n"] + 1',
        ]);
      } else {
        await node(name, [
          'exports.handler = async (event, context) =>',
          '  context.state.transaction(async (tx) => {',
          '    const current = (await tx.get("counter")) ?? { n: 0 };',
          '    tx.write("counter", { n: current.n + 1 });',
          '    return current.n + 1;',
          '  });',
        ]);
      }
      const results = await Promise.all(Array.from({ length: 20 }, () => invokeOk(name)));
      assert.deepEqual(
        [...(results as number[])].sort((a, b) => a - b),
        Array.from({ length: 20 }, (_, i) => i + 1),
        'each invocation saw a different count',
      );
      const counter = await state.getState({ namespace: 'default', agentId: name, key: 'counter' });
      assert.deepEqual([counter.value, counter.version], [{ n: 20 }, 20]);
    });
  }

  it('a write from outside between read and commit is a conflict: Node and Python callables re-run, a with block raises', async () => {
    await node('node-rerun', [
      'let attempts = 0;',
      'exports.handler = async (event, context) => {',
      '  attempts = 0;',
      '  const n = await context.state.transaction(async (tx) => {',
      '    attempts++;',
      '    const current = await tx.get("k");',
      '    if (attempts === 1) await new Promise((resolve) => setTimeout(resolve, 400));',
      '    tx.write("k", { n: current.n + 1 });',
      '    return current.n + 1;',
      '  });',
      '  return { n, attempts };',
      '};',
    ]);
    await python('py-rerun', [
      'import time',
      'def handler(event, context):',
      '    attempts = []',
      '    def increment(tx):',
      '        attempts.append(1)',
      '        current = tx.get("k")',
      '        if len(attempts) == 1:',
      '            time.sleep(0.4)',
      '        tx.write("k", {"n": current["n"] + 1})',
      '        return current["n"] + 1',
      '    if event == "block":',
      '        try:',
      '            with context.state.transaction() as tx:',
      '                current = tx.get("k")',
      '                time.sleep(0.4)',
      '                tx.write("k", {"n": current["n"] + 1})',
      '        except context.state.ConflictError as error:',
      '            return {"conflict": error.code, "message": str(error)}',
      '    return {"n": context.state.transaction(increment), "attempts": len(attempts)}',
    ]);
    for (const fn of ['node-rerun', 'py-rerun']) {
      await commit(fn, 'k', { n: 1 });
      const running = invokeOk(fn);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await commit(fn, 'k', { n: 100 });
      assert.deepEqual(await running, { n: 101, attempts: 2 }, fn);
    }
    const running = invokeOk('py-rerun', '"block"');
    await new Promise((resolve) => setTimeout(resolve, 200));
    await commit('py-rerun', 'k', { n: 500 });
    const refused = (await running) as { conflict: string; message: string };
    assert.equal(refused.conflict, 'aborted');
    assert.match(refused.message, /key "k" is at version \d+, not the expected \d+; nothing was applied/);
    const after = await state.getState({ namespace: 'default', agentId: 'py-rerun', key: 'k' });
    assert.deepEqual(after.value, { n: 500 }, 'the conflicting block applied nothing');
  });

  it('an exception in the block applies nothing, and bad input is refused with its reason', async () => {
    await python('py-bad', [
      'import __main__',
      'def handler(event, context):',
      '    s = context.state',
      '    out = {}',
      '    try:',
      '        with s.transaction() as tx:',
      '            tx.write("k", {"n": 1})',
      '            raise ValueError("changed my mind")',
      '    except ValueError:',
      '        out["aborted"] = s.get("k")',
      '    for name, attempt in [',
      '        ("not_a_dict", lambda: s.transaction(lambda tx: tx.write("k", [1, 2]))),',
      '        ("long_key", lambda: s.get("x" * 1025)),',
      '        ("empty_agent", lambda: s.scope(agent_id="").get("k")),',
      '        ("nested", lambda: s.transaction(lambda tx: s.transaction(lambda inner: None))),',
      '        ("forged_body", lambda: __main__.state_call(context.request_id, "tx_commit", {}, body=b"{\\"writes\\": 3}")),',
      '        ("array_value", lambda: __main__.state_call(context.request_id, "tx_commit", {},',
      '            body=b"{\\"reads\\": [], \\"writes\\": [{\\"key\\": \\"k\\", \\"value\\": [1]}]}")),',
      '    ]:',
      '        try:',
      '            attempt()',
      '            out[name] = "no error"',
      '        except Exception as error:',
      '            out[name] = [type(error).__name__, getattr(error, "code", None), str(error)]',
      '    return out',
    ]);
    const result = (await invokeOk('py-bad')) as Record<string, unknown>;
    assert.equal(result['aborted'], null);
    assert.deepEqual(result['not_a_dict'], ['TypeError', null, 'a state value is a dict (a JSON object), not list']);
    assert.deepEqual(result['long_key'], [
      'StateError',
      'invalid_argument',
      'key: is 1025 bytes; at most 1024 (1 KiB)',
    ]);
    assert.deepEqual(result['empty_agent'], ['StateError', 'invalid_argument', 'agent_id: is required']);
    assert.deepEqual((result['nested'] as unknown[])[0], 'RuntimeError');
    assert.deepEqual(result['forged_body'], [
      'StateError',
      'invalid_argument',
      'operations: must hold "writes" and "reads" lists',
    ]);
    assert.deepEqual((result['array_value'] as unknown[]).slice(0, 2), ['StateError', 'invalid_argument']);
    assert.equal((await state.getState({ namespace: 'default', agentId: 'py-bad', key: 'k' })).exists, false);
  });

  it('a state frame outside the call in flight kills the instance that sent it', async () => {
    await python('py-forged-frame', [
      'import json, os, struct',
      'def handler(event, context):',
      '    header = json.dumps({"t": "state", "requestId": "not-this-call", "seq": 1, "op": "get", "key": "k"}).encode()',
      '    os.write(3, struct.pack(">II", len(header), 0) + header)',
      '    import time; time.sleep(5)',
      '    return "survived"',
    ]);
    const response = await invoke('py-forged-frame');
    assert.match(response.error, /InstanceProtocolError: .*a state call outside the calls in flight/);
  });

  it('a transaction left open when the call times out is rolled back, and its key’s lock freed', async () => {
    await python(
      'py-hold',
      [
        'import time',
        'def handler(event, context):',
        '    if event == "hold":',
        '        with context.state.transaction() as tx:',
        '            tx.get("lock")',
        '            time.sleep(30)',
        '    with context.state.transaction() as tx:',
        '        tx.get("lock")',
        '        tx.write("lock", {"taken": True})',
        '    return "done"',
      ],
      { timeoutS: 2, maxReplicas: 2 },
    );
    assert.equal(await codeOf(invoke('py-hold', '"hold"')), status.DEADLINE_EXCEEDED);
    const started = Date.now();
    assert.equal(await invokeOk('py-hold', '"take"'), 'done');
    assert.ok(Date.now() - started < 1500, 'the lock was free at once');
    assert.deepEqual((await state.getState({ namespace: 'default', agentId: 'py-hold', key: 'lock' })).value, {
      taken: true,
    });
  });
});
