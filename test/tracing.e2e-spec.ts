import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { Nova } from '#client';
import { createDataPlaneClient } from '#proto';
import { useTopology } from './support/topology.js';
import { waitUntil } from './support/wait.js';
import { asyncRequest } from './support/requests.js';

interface OtlpValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
}

/** A span as the collector received it, with its process's service name. */
interface ReceivedSpan {
  service: string;
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  attributes: Record<string, string | boolean | number>;
}

interface OtlpExport {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value: OtlpValue }[] };
    scopeSpans?: {
      spans?: {
        name: string;
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        attributes?: { key: string; value: OtlpValue }[];
      }[];
    }[];
  }[];
}

const plain = (value: OtlpValue): string | boolean | number =>
  value.stringValue ?? value.boolValue ?? Number(value.intValue ?? NaN);

const attributesOf = (list: { key: string; value: OtlpValue }[] = []): Record<string, string | boolean | number> =>
  Object.fromEntries(list.map(({ key, value }) => [key, plain(value)]));

/** A small OTLP/HTTP (JSON) receiver on loopback: POST /v1/traces. */
class TraceCollector {
  readonly spans: ReceivedSpan[] = [];
  private server: Server | undefined;

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        if (request.url === '/v1/traces' && request.headers['content-type']?.startsWith('application/json')) {
          this.add(JSON.parse(Buffer.concat(chunks).toString()) as OtlpExport);
          response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        } else {
          response.writeHead(415).end();
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private add(body: OtlpExport): void {
    for (const resourceSpans of body.resourceSpans ?? []) {
      const service = String(attributesOf(resourceSpans.resource?.attributes)['service.name'] ?? '');
      for (const scope of resourceSpans.scopeSpans ?? []) {
        for (const span of scope.spans ?? []) {
          this.spans.push({
            service,
            name: span.name,
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId ?? '',
            attributes: attributesOf(span.attributes),
          });
        }
      }
    }
  }
}

const collector = new TraceCollector();
const endpoint = await collector.start();
after(() => collector.stop());

/** The first span that matches, once the collector has it. */
async function spanWhere(what: string, matches: (span: ReceivedSpan) => boolean): Promise<ReceivedSpan> {
  await waitUntil(what, () => collector.spans.some(matches), 15_000);
  return collector.spans.find(matches)!;
}

const handler = Buffer.from('def handler(event, context):\n    return {"traceparent": context.traceparent}\n');

describe('OpenTelemetry traces (OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  const topology = useTopology({
    dataPlanes: 1,
    routers: 1,
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_BSP_SCHEDULE_DELAY: '100' },
  });

  it('joins router, data plane and invocation in one trace, and hands the handler its traceparent', async () => {
    const router = topology.routers[0]!.address;
    const nova = new Nova({ address: router });
    let seen: string;
    try {
      await nova.createFunction({ name: 'traced', runtime: 'python', handler: 'handler', code: handler });
      const result = await nova.invoke('traced', {});
      seen = (JSON.parse(Buffer.from(result.output).toString()) as { traceparent: string }).traceparent;
    } finally {
      nova.close();
    }
    assert.match(seen, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const [, traceId, parentOfHandler] = seen.split('-');

    const invocation = await spanWhere(
      'the invocation span',
      (span) => span.name === 'invoke traced' && span.traceId === traceId,
    );
    await waitUntil('three spans of the trace', () => collector.spans.filter((s) => s.traceId === traceId).length >= 3);
    const trace = collector.spans.filter((span) => span.traceId === traceId);
    const routed = trace.find((span) => span.service === 'nova-router' && span.name === 'nova.v1.DataPlane/Invoke');
    const served = trace.find((span) => span.service === 'nova-dataplane' && span.name === 'nova.v1.DataPlane/Invoke');
    assert.ok(routed, `a router span in ${JSON.stringify(trace)}`);
    assert.ok(served, `a data-plane span in ${JSON.stringify(trace)}`);
    assert.equal(routed.parentSpanId, '', 'the router started the trace');
    assert.equal(served.parentSpanId, routed.spanId, 'the data plane’s span is the router’s child');
    assert.equal(invocation.parentSpanId, served.spanId, 'the invocation is the data plane’s child');
    assert.equal(invocation.spanId, parentOfHandler, 'the handler continues from the invocation span');
    assert.equal(invocation.service, 'nova-dataplane');
    assert.equal(invocation.attributes['faas.coldstart'], true);
    assert.equal(invocation.attributes['faas.version'], '1');
    assert.equal(invocation.attributes['faas.name'], 'traced');
    assert.equal(routed.attributes['rpc.grpc.status_code'], 0);
  });

  it('continues a trace the client started', async () => {
    const traceId = 'a'.repeat(31) + '1';
    const clientSpan = 'b'.repeat(15) + '2';
    const client = createDataPlaneClient({ address: topology.routers[0]!.address });
    try {
      await client.invoke(
        { function: 'traced', payload: Buffer.from('{}'), timeoutS: 0, metadata: {}, version: 0, includeLog: false },
        { metadata: { traceparent: `00-${traceId}-${clientSpan}-01` } },
      );
    } finally {
      client.close();
    }
    const routed = await spanWhere(
      'the router span of the client’s trace',
      (span) => span.traceId === traceId && span.service === 'nova-router',
    );
    assert.equal(routed.parentSpanId, clientSpan);
    const invocation = await spanWhere(
      'the invocation span of the client’s trace',
      (span) => span.traceId === traceId && span.name === 'invoke traced',
    );
    assert.equal(invocation.attributes['faas.coldstart'], false);
  });

  it('continues the caller’s trace in every attempt of an async invocation', async () => {
    const traceId = 'c'.repeat(31) + '3';
    const client = createDataPlaneClient({ address: topology.routers[0]!.address });
    try {
      await client.invokeAsync(asyncRequest('traced', { maxAttempts: 1 }), {
        metadata: { traceparent: `00-${traceId}-${'d'.repeat(15)}4-01` },
      });
    } finally {
      client.close();
    }
    const served = await spanWhere(
      'the data plane’s InvokeAsync span',
      (span) =>
        span.traceId === traceId && span.name === 'nova.v1.DataPlane/InvokeAsync' && span.service === 'nova-dataplane',
    );
    const attempt = await spanWhere(
      'the attempt’s invocation span',
      (span) => span.traceId === traceId && span.name === 'invoke traced',
    );
    assert.equal(attempt.parentSpanId, served.spanId, 'the attempt is a child of the call that queued it');
  });

  it('hands a Node handler its traceparent too', async () => {
    const nova = new Nova({ address: topology.routers[0]!.address });
    try {
      await nova.createFunction({
        name: 'traced-node',
        runtime: 'node',
        handler: 'handler',
        code: Buffer.from('exports.handler = (event, context) => ({ traceparent: context.traceparent });\n'),
      });
      const result = await nova.invoke('traced-node', {});
      const { traceparent } = JSON.parse(Buffer.from(result.output).toString()) as { traceparent: string };
      const [, traceId, spanId] = traceparent.split('-');
      const invocation = await spanWhere('the Node invocation span', (span) => span.name === 'invoke traced-node');
      assert.deepEqual([invocation.traceId, invocation.spanId], [traceId, spanId]);
    } finally {
      nova.close();
    }
  });
});
