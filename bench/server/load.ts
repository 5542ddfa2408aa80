/**
 * The load generator of the server benchmark, run as its own process so that it does not share
 * the server's event loop: autocannon against the trace endpoint, cycling through the given
 * paths. Prints autocannon's summary as one JSON line.
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
