import { openPgliteStore } from '@mltrace/store/pglite';
import { describeApiBehaviour } from './api-behaviour.js';

describeApiBehaviour('PGlite', () => openPgliteStore({ dataDir: 'memory://' }));
