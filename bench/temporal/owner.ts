/**
 * The owner of the embedded store for the `mltrace-shared` configuration, in a process of its
 * own (as `mltrace serve` would be): opens the directory first, so PGlite runs here and the
 * worker is a client. Started by main.ts with `fork()`; says `ready`, and exits on `stop`.
 */
import { openStore } from '@mltrace/store';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: owner.js DATA_DIR');
const store = await openStore({ dataDir });
process.on('message', (message: string) => {
  if (message !== 'stop') return;
  void store.close().then(() => process.exit(0));
});
process.send?.('ready');
