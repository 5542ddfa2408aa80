/**
 * The load generator of the server benchmark, run as its own process so that it does not share
 * the server's event loop: autocannon against the trace endpoint, cycling through the given
 * paths (one connection: sequential fetches). Prints a summary as one JSON line.
 *
 *   node bench/dist/server/load.js <base-url> <connections> <seconds> <paths.json>
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

const [url, connections, seconds, pathsFile] = process.argv.slice(2);
if (!url || !connections || !seconds || !pathsFile) {
  console.error('usage: load.js <base-url> <connections> <seconds> <paths.json>');
  process.exit(2);
}
const paths = JSON.parse(readFileSync(pathsFile, 'utf8')) as string[];

if (Number(connections) === 1) {
  // One connection: plain sequential requests (keep-alive fetch), timing each one. autocannon's
  // single-connection figures include its own scheduling delays.
  const latencies: number[] = [];
  const until = performance.now() + Number(seconds) * 1000;
  const started = performance.now();
  let non2xx = 0;
  for (let i = 0; performance.now() < until; i++) {
    const start = performance.now();
    const response = await fetch(`${url}${paths[i % paths.length]}`);
    await response.arrayBuffer();
    latencies.push(performance.now() - start);
    if (response.status >= 300) non2xx += 1;
  }
  latencies.sort((a, b) => a - b);
  const at = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)] ?? 0;
  process.stdout.write(
    `${JSON.stringify({
      requestsPerSecond: latencies.length / ((performance.now() - started) / 1000),
      p50: at(50),
      p99: at(99),
      total: latencies.length,
      non2xx,
      errors: 0,
      timeouts: 0,
    })}\n`,
  );
  process.exit(0);
}

const result = await autocannon({
  url,
  connections: Number(connections),
  duration: Number(seconds),
  requests: paths.map((path) => ({ method: 'GET', path })),
});
process.stdout.write(
  `${JSON.stringify({
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: result['2xx'] + result.non2xx,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  })}\n`,
);
