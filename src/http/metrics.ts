// GET /metrics in Prometheus' text format: requests by route and status, latency, sign-ins,
// and the password-hash queue. One registry per server (no global state).
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Core } from '../core/index.ts';

/**
 * Counts every request (an onResponse hook, so it is added before the routes) and returns the
 * GET /metrics route, which the server adds after the OpenAPI plugin so that it is documented.
 */
export function registerMetrics(app: FastifyInstance, core: Core): { addRoute(): void } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'latchkey_' }); // latchkey_process_*, latchkey_nodejs_*
  const requests = new Counter({
    name: 'latchkey_http_requests_total', help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'], registers: [registry],
  });
  const latency = new Histogram({
    name: 'latchkey_http_request_duration_seconds', help: 'HTTP request latency by method and route',
    labelNames: ['method', 'route'], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry],
  });
  const signIns = new Counter({
    name: 'latchkey_sign_ins_total', help: 'Password sign-ins by outcome', labelNames: ['outcome'], registers: [registry],
  });
  new Gauge({
    name: 'latchkey_password_hash_queue_length', help: 'Password hashes under way or waiting for the thread pool', registers: [registry],
    collect() {
      this.set(core.hasher.inFlight());
    },
  });
  core.events.on((e) => {
    if (e.type === 'sign_in.succeeded') signIns.inc({ outcome: 'succeeded' });
    else if (e.type === 'sign_in.failed') signIns.inc({ outcome: 'failed' });
  });

  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, not the URL: ids in paths would make a label per user.
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    latency.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });

  return {
    addRoute() {
      app.get('/metrics', {
        schema: {
          tags: ['operations'], summary: 'Prometheus metrics (text format)',
          description: 'Requests by method, route and status; latency; password sign-ins by outcome; the password-hash queue; process metrics. Not authenticated: expose it only on the network your monitoring uses.',
          response: { 200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } } },
        },
      }, async (_request, reply) => {
        reply.header('content-type', registry.contentType);
        return registry.metrics();
      });
    },
  };
}
