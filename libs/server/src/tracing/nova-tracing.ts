import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
  type Attributes,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import type { Metadata } from '@grpc/grpc-js';
import type { NovaConfig } from '../config/nova-config.js';
import { buildInfo } from '../build-info.js';
import { JsonLogger } from '../logging/json-logger.js';

/** The W3C trace context header, as gRPC metadata carries it. */
export const TRACEPARENT = 'traceparent';

const TRACEPARENT_FORMAT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A span in progress, and the traceparent its children carry. */
export interface ActiveSpan {
  readonly traceparent: string;
  setAttributes(attributes: Attributes): void;
  /** Ends it; an error message marks it failed. */
  end(error?: string): void;
}

interface ShutdownableProvider {
  shutdown(): Promise<void>;
}

/**
 * OpenTelemetry traces, off unless OTEL_EXPORTER_OTLP_ENDPOINT (or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set: the SDK loads only then, and
 * spans go to the collector over OTLP/HTTP in batches. Parents pass
 * explicitly as W3C traceparent strings (in gRPC metadata, in the invoke
 * frame), not through a context manager: on Node 20 AsyncLocalStorage
 * taxes every promise of the process, traced or not.
 */
export class NovaTracing {
  private constructor(
    private readonly tracer: Tracer | undefined,
    private readonly provider: ShutdownableProvider | undefined,
  ) {}

  static readonly off = new NovaTracing(undefined, undefined);

  static async start(config: NovaConfig): Promise<NovaTracing> {
    if (!config.tracing.endpoint) return NovaTracing.off;
    const [{ BasicTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }] =
      await Promise.all([
        import('@opentelemetry/sdk-trace-base'),
        import('@opentelemetry/exporter-trace-otlp-http'),
        import('@opentelemetry/resources'),
      ]);
    const { version } = buildInfo();
    // The exporter reads the OTEL_EXPORTER_OTLP_* variables itself (endpoint, headers, timeout).
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({
        'service.name': config.tracing.serviceName,
        'service.version': version,
        'service.instance.id': config.cluster.nodeId,
      }),
      spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
    });
    new JsonLogger('tracing').info('traces exported over OTLP/HTTP', {
      endpoint: config.tracing.endpoint,
      service: config.tracing.serviceName,
    });
    return new NovaTracing(provider.getTracer('nova', version), provider);
  }

  get enabled(): boolean {
    return this.tracer !== undefined;
  }

  /**
   * A span under the given traceparent (a new trace when it is missing or
   * malformed); undefined when tracing is off.
   */
  start(
    name: string,
    kind: 'server' | 'internal',
    parent: string | undefined,
    attributes?: Attributes,
  ): ActiveSpan | undefined {
    if (!this.tracer) return undefined;
    const context = parentContext(parent);
    const span = this.tracer.startSpan(
      name,
      { kind: kind === 'server' ? SpanKind.SERVER : SpanKind.INTERNAL, ...(attributes ? { attributes } : {}) },
      context,
    );
    return activeSpan(span);
  }

  /** Sends what is buffered and stops. */
  async shutdown(): Promise<void> {
    await this.provider?.shutdown().catch(() => undefined);
  }
}

function parentContext(traceparent: string | undefined): typeof ROOT_CONTEXT {
  const match = traceparent === undefined ? null : TRACEPARENT_FORMAT.exec(traceparent);
  if (!match || /^0+$/.test(match[1]!) || /^0+$/.test(match[2]!)) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: match[1]!,
    spanId: match[2]!,
    traceFlags: parseInt(match[3]!, 16) & TraceFlags.SAMPLED,
    isRemote: true,
  });
}

function activeSpan(span: Span): ActiveSpan {
  const { traceId, spanId, traceFlags } = span.spanContext();
  return {
    traceparent: `00-${traceId}-${spanId}-${traceFlags.toString(16).padStart(2, '0')}`,
    setAttributes: (attributes) => void span.setAttributes(attributes),
    end(error) {
      if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
      span.end();
    },
  };
}

/** A traceparent as given by a caller, when it is well formed. */
export function validTraceparent(value: unknown): string | undefined {
  return typeof value === 'string' && TRACEPARENT_FORMAT.test(value) ? value : undefined;
}

/** The call's traceparent: its own span's with tracing on (the interceptor puts it there), else the caller's. */
export function traceparentOf(metadata: Metadata): string | undefined {
  return validTraceparent(metadata.get(TRACEPARENT)[0]);
}
