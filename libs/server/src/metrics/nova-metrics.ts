import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Seconds; from a warm call's fraction of a millisecond to a long function's minutes. */
export const DURATION_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
];

/**
 * The process's Prometheus registry, served on NOVA_METRICS_ADDR
 * (metrics-server.ts). The gRPC call metrics live here because every plane
 * has them; each feature defines its own metrics on `registry` (invocations,
 * state, forwarding), with labels that stay bounded: methods, codes,
 * function and node names, never request ids.
 */
export class NovaMetrics {
  readonly registry = new Registry();
  private readonly heartbeatSources: (() => Iterable<[node: string, ageS: number]>)[] = [];
  private readonly callObservers: { prefix: string; observe: (method: string, seconds: number) => void }[] = [];
  private readonly calls: SeriesCache<Counter.Internal>;
  private readonly callDurations: SeriesCache<Histogram.Internal<string>>;

  constructor(plane: string) {
    this.registry.setDefaultLabels({ plane });
    collectDefaultMetrics({ register: this.registry, prefix: 'nova_' });
    this.calls = this.counter('nova_grpc_calls_total', 'gRPC calls served, by method and status code', [
      'method',
      'code',
    ]);
    this.callDurations = this.histogram(
      'nova_grpc_call_duration_seconds',
      'Time from a call’s headers to its status, by method',
      ['method'],
    );
    const heartbeatSources = this.heartbeatSources;
    new Gauge({
      name: 'nova_node_heartbeat_age_seconds',
      help: 'Seconds since the last heartbeat of each node known here: a node’s own last one the database took, or the last one a router heard (dead after three intervals)',
      labelNames: ['node'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const source of heartbeatSources) for (const [node, age] of source()) this.set({ node }, age);
      },
    });
  }

  /** A counter on this registry, its series by label values in the order of `labelNames`. */
  counter(name: string, help: string, labelNames: string[]): SeriesCache<Counter.Internal> {
    const counter = new Counter({ name, help, labelNames, registers: [this.registry] });
    return new SeriesCache((values) => counter.labels(...values));
  }

  /** A histogram of seconds (DURATION_BUCKETS) on this registry, its series by label values. */
  histogram(name: string, help: string, labelNames: string[]): SeriesCache<Histogram.Internal<string>> {
    const histogram = new Histogram({ name, help, labelNames, buckets: DURATION_BUCKETS, registers: [this.registry] });
    return new SeriesCache((values) => histogram.labels(...values));
  }

  /** One finished call; the method is a path of a served service (grpc-js sees only those), so labels stay bounded. */
  grpcCall(method: string, code: string, seconds: number): void {
    this.calls.get(method, code).inc();
    this.callDurations.get(method).observe(seconds);
    for (const observer of this.callObservers) {
      if (method.startsWith(observer.prefix)) observer.observe(method.slice(observer.prefix.length), seconds);
    }
  }

  /** Calls of one service (`/pkg.Service/`) also go to `observe`, by method name: a feature's own RPC metrics. */
  observeCalls(prefix: string, observe: (method: string, seconds: number) => void): void {
    this.callObservers.push({ prefix, observe });
  }

  /** Where nova_node_heartbeat_age_seconds reads ages from (a node's membership, a router's directory). */
  heartbeatAges(source: () => Iterable<[node: string, ageS: number]>): void {
    this.heartbeatSources.push(source);
  }

  /** The text format Prometheus scrapes. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/**
 * A label set's series, looked up once: prom-client hashes the labels on
 * every inc/observe otherwise, which the invoke path would pay per call.
 */
export class SeriesCache<T> {
  private readonly cache = new Map<string, T>();

  constructor(private readonly make: (labels: string[]) => T) {}

  get(...labels: string[]): T {
    const key = labels.join('\u0000');
    let series = this.cache.get(key);
    if (series === undefined) {
      series = this.make(labels);
      this.cache.set(key, series);
    }
    return series;
  }
}
