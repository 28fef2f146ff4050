import { Injectable } from '@nestjs/common';
import { NovaMetrics, type CounterSeries, type MetricFamily } from '#server';

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
  private readonly transactions: MetricFamily<CounterSeries>;
  private readonly operations: MetricFamily<CounterSeries>;

  constructor(metrics: NovaMetrics) {
    this.transactions = metrics.counter(
      'statehouse_transactions_total',
      'State transactions, by how they ended (committed, conflict, aborted, failed)',
      ['status'],
    );
    this.operations = metrics.counter(
      'statehouse_operations_total',
      'State operations, by type (put, delete, get, get_version, history, list_keys, scan, replay)',
      ['type'],
    );
    const rpcs = metrics.histogram('statehouse_rpc_duration_seconds', 'Time to serve a statehouse.v1 call, by RPC', [
      'rpc',
    ]);
    metrics.observeCalls(STATEHOUSE_SERVICE, (method, seconds) => rpcs.of(method).observe(seconds));
  }

  transaction(status: TransactionStatus): void {
    this.transactions.of(status).inc();
  }

  operation(type: StateOperationType, count = 1): void {
    this.operations.of(type).inc(count);
  }
}
