import { testDatabaseUrl } from '@mltrace/test-helpers';
import { openPostgresStore } from './postgres/index.js';
import { describeStoreBehaviour } from './store-behaviour.js';

describeStoreBehaviour('PostgreSQL', async () => openPostgresStore({ url: await testDatabaseUrl() }));
