// Jest setup for real-service tests: the Temporal SDK logs only
// errors, so test output shows what failed rather than worker chatter.
import { DefaultLogger, Runtime } from '@temporalio/worker';

Runtime.install({ logger: new DefaultLogger('ERROR') });
