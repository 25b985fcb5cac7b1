import { createHash } from 'node:crypto';

/** Short content hash for a pod-template annotation, so a config change rolls the pods. */
export function contentHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** Pod annotations for annotation-based Prometheus discovery (`prometheus.io/*`). */
export function scrapeAnnotations(port: number, path = '/metrics'): Record<string, string> {
  return { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(port), 'prometheus.io/path': path };
}
