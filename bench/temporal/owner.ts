/**
 * The owner of the embedded store for the `mltrace-shared` configuration, in a process of its
 * own (as `mltrace serve` would be): opens the directory first, so PGlite runs here and the
 * worker is a client. Started by main.ts with `fork()`; says `ready`, and exits on `stop` or when
 * main.ts goes away.
 */
import { openStore } from '@mltrace/store';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: owner.js DATA_DIR');
const store = await openStore({ dataDir });
const stop = () => void store.close().finally(() => process.exit(0));
process.on('message', (message: string) => {
  if (message === 'stop') stop();
});
// The benchmark died without saying stop: do not stay behind serving the socket.
process.on('disconnect', stop);
process.send?.('ready');
