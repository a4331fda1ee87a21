/**
 * Prometheus metrics, one registry per app (no global default registry, so tests can build
 * several apps in one process).
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly requests: Counter<'service' | 'status'>;
  /** Every HTTP request, rejected ones included, by route template and status. */
  readonly http: Counter<'route' | 'status'>;
  readonly latency: Histogram<'service'>;
  readonly inference: Histogram<'model'>;
}

/** Creates the registry and the service's metrics. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    requests: new Counter({ name: 'cds_requests_total', help: 'CDS service calls by service id and HTTP status', labelNames: ['service', 'status'], registers: [registry] }),
    http: new Counter({ name: 'http_requests_total', help: 'Every HTTP request (rejected ones included) by route template and status', labelNames: ['route', 'status'], registers: [registry] }),
    latency: new Histogram({
      name: 'cds_request_duration_seconds',
      help: 'CDS service call latency by service id',
      labelNames: ['service'],
      buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    inference: new Histogram({
      name: 'inference_duration_seconds',
      help: 'Time inside the ONNX runtime per model run',
      labelNames: ['model'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
  };
}
