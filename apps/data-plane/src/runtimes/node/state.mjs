// context.state for Node functions: state calls go to the data plane over
// fd 3 (a `state` frame, answered by a `state_reply` with the same seq);
// the function never reaches the database itself.
import { describe } from './channel.mjs';

/** A state call failed; `code` is the gRPC status name in lower case (invalid_argument, ...). */
export class StateError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'StateError';
    this.code = code;
  }
}

/** A transaction's reads no longer held at commit; nothing was applied. */
export class ConflictError extends StateError {
  constructor(code, message) {
    super(code, message);
    this.name = 'ConflictError';
  }
}

/**
 * The workflow's run stops here: it sleeps on a durable timer, or it is no
 * longer this run's to finish. Let it through: the data plane ignores what
 * the handler does after it.
 */
export class WorkflowInterrupted extends Error {
  constructor(message) {
    super(message);
    this.name = 'WorkflowInterrupted';
  }
}

const TRANSACTION_RERUNS = 5;
const waiting = new Map();
let seq = 0;

/** Settles the call a `state_reply` frame answers; a reply nobody waits for is dropped. */
export function receiveStateReply(header, body) {
  const call = waiting.get(header.seq);
  if (!call) return;
  waiting.delete(header.seq);
  if (header.ok) call.resolve([header, body]);
  else if (header.code === 'workflow_interrupted') call.reject(new WorkflowInterrupted(header.error));
  else call.reject(new (header.code === 'aborted' ? ConflictError : StateError)(header.code, header.error));
}

/** Sends a state or workflow request on fd 3; settles with its state_reply ([header, body]). */
export function callDataPlane(channel, header, body) {
  return new Promise((resolve, reject) => {
    const id = ++seq;
    waiting.set(id, { resolve, reject, requestId: header.requestId });
    channel.send({ ...header, seq: id }, body);
  });
}

/** A call has ended: replies to its state calls will never come (the data plane drops them). */
export function forgetStateCalls(requestId) {
  for (const [id, call] of waiting) if (call.requestId === requestId) waiting.delete(id);
}

function checkKey(key) {
  if (typeof key !== 'string' || key === '') throw new TypeError('a state key is a non-empty string');
  return key;
}

/** A checked copy of a value: a plain object that JSON can carry. */
function copyValue(value) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError('a state value is an object (a JSON object)');
  }
  return JSON.parse(JSON.stringify(value));
}

const json = (body) => JSON.parse(body.toString('utf8'));

/** The state API of one call; `scope` holds agentId/namespace when they differ from the function's own. */
export function createState(channel, requestId, scope = {}, call = { transaction: false }) {
  const request = (op, fields = {}, body) =>
    callDataPlane(channel, { t: 'state', requestId, op, ...scope, ...fields }, body);

  async function runOnce(work) {
    const reads = new Map();
    const writes = new Map();
    let opened = false;
    const tx = {
      async get(key) {
        checkKey(key);
        if (writes.has(key)) {
          const value = writes.get(key);
          return value === null ? null : structuredClone(value);
        }
        opened = true;
        const [reply, body] = await request('tx_get', { key });
        if (!reads.has(key)) reads.set(key, reply.version);
        return reply.exists ? json(body) : null;
      },
      write(key, value) {
        writes.set(checkKey(key), copyValue(value));
      },
      delete(key) {
        writes.set(checkKey(key), null);
      },
    };
    let result;
    try {
      result = await work(tx);
    } catch (error) {
      if (opened) await request('tx_abort').catch(() => undefined);
      throw error;
    }
    if (writes.size > 0 || opened) {
      const operations = {
        reads: [...reads].map(([key, version]) => ({ ...scope, key, version })),
        writes: [...writes].map(([key, value]) => ({ ...scope, key, value })),
      };
      await request('tx_commit', {}, Buffer.from(JSON.stringify(operations)));
    }
    return result;
  }

  return {
    StateError,
    ConflictError,
    /** The same API for another agent or namespace. */
    scope({ agentId, namespace } = {}) {
      const other = { ...scope };
      if (agentId !== undefined) other.agentId = agentId;
      if (namespace !== undefined) other.namespace = namespace;
      return createState(channel, requestId, other, call);
    },
    async get(key) {
      const [reply, body] = await request('get', { key: checkKey(key) });
      return reply.exists ? json(body) : null;
    },
    async listKeys() {
      return json((await request('keys'))[1]);
    },
    async scan(prefix = '') {
      if (typeof prefix !== 'string') throw new TypeError('a prefix is a string');
      return json((await request('scan', { prefix }))[1]);
    },
    /**
     * Runs work(tx): its reads lock their keys, its writes apply together
     * when it resolves, nothing when it throws. On a conflict it runs again,
     * up to 5 times, before the ConflictError reaches the caller.
     */
    async transaction(work) {
      if (typeof work !== 'function') throw new TypeError('transaction takes an async function of the transaction');
      if (call.transaction)
        throw new Error('a transaction is already open in this call; end it before starting another');
      call.transaction = true;
      try {
        for (let attempt = 0; ; attempt++) {
          try {
            return await runOnce(work);
          } catch (error) {
            if (!(error instanceof ConflictError) || attempt === TRANSACTION_RERUNS) throw error;
            await new Promise((resolve) => setTimeout(resolve, (2 + Math.random() * 8) * (attempt + 1)));
          }
        }
      } finally {
        call.transaction = false;
      }
    },
  };
}

/** context.step and context.sleep of a workflow's run. */
export function createWorkflow(channel, requestId) {
  const call = (fields, body) => callDataPlane(channel, { t: 'workflow', requestId, ...fields }, body);
  return {
    /**
     * Runs fn once and checkpoints its JSON result; when the workflow
     * resumes, a finished step returns its recorded result without running
     * again. State written inside the step commits with its checkpoint.
     */
    async step(name, fn) {
      if (typeof name !== 'string' || name === '') throw new TypeError("a step's name is a non-empty string");
      if (typeof fn !== 'function') throw new TypeError('step takes a name and a function');
      const [reply, body] = await call({ op: 'step_begin', name });
      if (reply.replay) return JSON.parse(body.toString('utf8'));
      let encoded;
      try {
        const value = await fn();
        encoded = JSON.stringify(value === undefined ? null : value);
      } catch (error) {
        if (error instanceof WorkflowInterrupted) throw error;
        await call({ op: 'step_fail', name, error: describe(error) });
        throw error;
      }
      await call({ op: 'step_end', name }, Buffer.from(encoded));
      return JSON.parse(encoded);
    },
    /** A durable timer: the workflow leaves its instance and resumes, on any node, when it is due. */
    async sleep(seconds) {
      if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
        throw new TypeError('sleep takes a number of seconds, 0 or more');
      }
      await call({ op: 'sleep', seconds });
    },
  };
}
