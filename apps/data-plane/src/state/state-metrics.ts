import { Injectable } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import { DURATION_BUCKETS, NovaMetrics, SeriesCache } from '#server';

export type TransactionStatus = 'committed' | 'conflict' | 'aborted' | 'failed';
export type StateOperationType = 'put' | 'delete' | 'get' | 'get_version' | 'history' | 'list_keys' | 'scan' | 'replay';

const STATEHOUSE_SERVICE = '/statehouse.v1.StatehouseService/';

/**
 * The metrics statehouse.v1's design names: transactions by how they ended,
 * operations by type, and each RPC's duration. Transactions of function
 * code (context.state) count with the service's own.
 */
@Injectable()
export class StateMetrics {
  private readonly transactions: SeriesCache<Counter.Internal>;
  private readonly operations: SeriesCache<Counter.Internal>;

  constructor(metrics: NovaMetrics) {
    const transactions = new Counter({
      name: 'statehouse_transactions_total',
      help: 'State transactions, by how they ended (committed, conflict, aborted, failed)',
      labelNames: ['status'],
      registers: [metrics.registry],
    });
    const operations = new Counter({
      name: 'statehouse_operations_total',
      help: 'State operations, by type (put, delete, get, get_version, history, list_keys, scan, replay)',
      labelNames: ['type'],
      registers: [metrics.registry],
    });
    const rpcDuration = new Histogram({
      name: 'statehouse_rpc_duration_seconds',
      help: 'Time to serve a statehouse.v1 call, by RPC',
      labelNames: ['rpc'],
      buckets: DURATION_BUCKETS,
      registers: [metrics.registry],
    });
    this.transactions = new SeriesCache(([status]) => transactions.labels(status!));
    this.operations = new SeriesCache(([type]) => operations.labels(type!));
    const rpcs = new SeriesCache(([rpc]) => rpcDuration.labels(rpc!));
    metrics.observeCalls(STATEHOUSE_SERVICE, (method, seconds) => rpcs.get(method).observe(seconds));
  }

  transaction(status: TransactionStatus): void {
    this.transactions.get(status).inc();
  }

  operation(type: StateOperationType, count = 1): void {
    this.operations.get(type).inc(count);
  }
}
