import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestingModule } from '@nestjs/testing';
import { DomainError, InvalidArgumentError } from '#server';
import {
  compileFeature,
  openIntegrationDatabase,
  type IntegrationDatabase,
} from '../../../../test/support/integration.js';
import { StateModule } from './state.module.js';
import { StateService } from './state.service.js';
import { StateErrorCode } from './state.errors.js';

// StateModule built alone with @nestjs/testing over the real repository and PostgreSQL.
describe('StateModule (integration)', () => {
  let db: IntegrationDatabase;
  let module: TestingModule;
  let state: StateService;
  const at = { namespace: 'default', agentId: 'int', key: 'k' };

  before(async () => {
    db = await openIntegrationDatabase();
    module = await compileFeature(db.database, { imports: [StateModule] });
    state = module.get(StateService);
  });

  after(async () => {
    await module.close();
    await db.dispose();
  });

  it('runs a transaction and reads it back', async () => {
    const txnId = await state.begin(undefined);
    await state.stage({ txnId, ...at, kind: 'write', value: { n: 1 }, expectedVersion: 0 });
    const commitTs = await state.commit(txnId);
    assert.deepEqual(await state.get(at), { value: { n: 1 }, version: 1, commitTs, exists: true });
  });

  it('turns the store’s answers into the feature’s errors', async () => {
    const codeOf = async (work: Promise<unknown>): Promise<string> => {
      try {
        await work;
        return 'OK';
      } catch (error) {
        assert.ok(error instanceof DomainError, String(error));
        return error instanceof InvalidArgumentError ? `INVALID_ARGUMENT:${error.field}` : String(error.code);
      }
    };
    const txnId = await state.begin(undefined);
    await state.commit(txnId);
    assert.equal(await codeOf(state.commit(txnId)), StateErrorCode.TxnAlreadyCommitted);
    assert.equal(await codeOf(state.commit('9a1b2c3d-0000-4000-8000-000000000000')), StateErrorCode.TxnNotFound);
    assert.equal(await codeOf(state.abort('not-a-uuid')), StateErrorCode.TxnNotFound);
    assert.equal(await codeOf(state.begin(600_001)), 'INVALID_ARGUMENT:timeout_ms');
    const stale = await state.begin(undefined);
    await state.stage({ txnId: stale, ...at, kind: 'write', value: { n: 9 }, expectedVersion: 0 });
    assert.equal(await codeOf(state.commit(stale)), StateErrorCode.Conflict);
    assert.equal(await codeOf(state.getAtVersion(at, 5)), StateErrorCode.VersionNotFound);
  });

  it('replays with follow until its signal aborts', async () => {
    const done = new AbortController();
    const seen: number[] = [];
    const reading = (async () => {
      for await (const page of state.replay(
        { namespace: 'default', agentId: 'int', startTs: undefined, endTs: undefined, follow: true },
        done.signal,
      )) {
        seen.push(...page.map((event) => event.commitTs));
      }
    })();
    const txnId = await state.begin(undefined);
    await state.stage({ txnId, ...at, kind: 'delete', value: undefined, expectedVersion: undefined });
    const commitTs = await state.commit(txnId);
    const deadline = Date.now() + 5000;
    while (!seen.includes(commitTs) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    done.abort();
    await reading;
    assert.equal(seen.at(-1), commitTs, 'the new commit arrived after the history');
    assert.equal(new Set(seen).size, seen.length, 'no event twice');
  });
});
