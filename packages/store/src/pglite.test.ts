import { openPgliteStore } from './pglite/index.js';
import { describeStoreBehaviour } from './store-behaviour.js';

describeStoreBehaviour('PGlite', () => openPgliteStore({ dataDir: 'memory://' }));
