import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One file served by {@link serveStatic}: a body, or a body with its content type. */
export type StaticFile = string | { body: string | Uint8Array; contentType: string };

/** A running {@link serveStatic} server. */
export interface StaticServer {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** Stops the server, closing open connections. */
  close(): Promise<void>;
}

/**
 * Serves fixed files over HTTP on a free port of 127.0.0.1: keys are paths (`/` or `/index.html`
 * for the page), string bodies are served as `text/html`. Unknown paths answer 404.
 */
export function serveStatic(files: Record<string, StaticFile>): Promise<StaticServer> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const file = files[path] ?? (path === '/' ? files['/index.html'] : undefined);
    if (file === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end(`not found: ${path}`);
      return;
    }
    const { body, contentType } =
      typeof file === 'string' ? { body: file, contentType: 'text/html; charset=utf-8' } : file;
    response.writeHead(200, { 'content-type': contentType }).end(body);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}
