/**
 * Prometheus metrics, one registry per app (no global default registry, so tests can build
 * several apps in one process).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly requests: Counter<'service' | 'status'>;
  /** Every HTTP request, rejected ones included, by route template and status. */
  readonly http: Counter<'route' | 'status'>;
  readonly latency: Histogram<'service'>;
  readonly inference: Histogram<'model'>;
  /** The analysis job queue (wiring hands these to the jobs layer behind its JobMetrics interface). */
  readonly jobs: {
    readonly depth: Gauge;
    readonly wait: Histogram;
    readonly run: Histogram<'outcome'>;
    readonly served: Counter<'state'>;
    readonly shed: Counter;
  };
  /** Models not applied to a study because it is outside their validated use, by stable reason code. */
  readonly notApplied: Counter<'model' | 'reason'>;
  /** CDS calls answered with a stored final answer (the same request answered before). */
  readonly storedAnswers: Counter<'service'>;
  /** Trigger calls (PACS, FHIR Subscription) by what they started: queued, known, refused. */
  readonly triggers: Counter<'trigger' | 'outcome'>;
}

const JOB_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

function jobMetrics(registry: Registry): Metrics['jobs'] {
  const registers = [registry];
  return {
    depth: new Gauge({ name: 'analysis_queue_depth', help: 'Analysis jobs accepted and not finished (queued, running, waiting to retry), as last seen by this process', registers }),
    wait: new Histogram({ name: 'analysis_job_wait_seconds', help: 'Time from submit to the start of a job\'s first run', buckets: JOB_BUCKETS, registers }),
    run: new Histogram({ name: 'analysis_job_run_seconds', help: 'Time of one run of an analysis job, by how it ended (done, failed, retry)', labelNames: ['outcome'], buckets: JOB_BUCKETS, registers }),
    served: new Counter({ name: 'analysis_results_served_total', help: 'Analysis results hooks asked for, by what they got: ready, in-progress, failed', labelNames: ['state'], registers }),
    shed: new Counter({ name: 'analysis_jobs_shed_total', help: 'Analysis jobs refused because the queue was full (503 INFERENCE_BUSY)', registers }),
  };
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
    jobs: jobMetrics(registry),
    notApplied: new Counter({ name: 'cds_models_not_applied_total', help: 'Models not applied to a study because it is outside their validated use (age, view, photometric, size, spacing), by model and reason code', labelNames: ['model', 'reason'], registers: [registry] }),
    storedAnswers: new Counter({ name: 'cds_stored_answers_total', help: 'CDS calls answered with the stored final answer of the same request, by service id', labelNames: ['service'], registers: [registry] }),
    triggers: new Counter({ name: 'analysis_triggers_total', help: 'Trigger calls (pacs, subscription) by outcome: queued, known (already queued, running or done), refused', labelNames: ['trigger', 'outcome'], registers: [registry] }),
  };
}
