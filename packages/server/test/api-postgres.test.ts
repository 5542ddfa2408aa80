import { openPostgresStore } from '@mltrace/store/postgres';
import { testDatabaseUrl } from '@mltrace/test-helpers';
import { describeApiBehaviour } from './api-behaviour.js';

describeApiBehaviour('PostgreSQL', async () => openPostgresStore({ url: await testDatabaseUrl() }));
