import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../src/index.js';
import { describeStoreBehaviour } from './store-behaviour.js';

// The whole behaviour suite through the owner's socket: a second opener of the directory (here in
// the same process, for speed) is a client that speaks the PostgreSQL wire protocol to the owner.
describeStoreBehaviour('PGlite, a client of the directory’s owner', async () => {
  const home = await mkdtemp(join(tmpdir(), 'mltrace-shared-behaviour-'));
  const owner = await openStore({ env: { MLTRACE_HOME: home } });
  const client = await openStore({ env: { MLTRACE_HOME: home } });
  return {
    ...client,
    async close() {
      await client.close();
      await owner.close();
      await rm(home, { recursive: true, force: true });
    },
  };
});
