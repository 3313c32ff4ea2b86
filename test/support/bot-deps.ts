import type { BotDeps } from '../../bot/context';

/**
 * Bot deps for tests of intake alone (queueLinks) with an owner's request:
 * owners have no limits, so roles, counters, menus, records and files are
 * never touched. Each of those throws if a change makes intake reach for it.
 */
export function intakeOnlyDeps(deps: Pick<BotDeps, 'settings' | 'logger' | 'downloads' | 'resolveHost'>): BotDeps {
  const unused = (what: string) =>
    new Proxy({} as never, {
      get: () => {
        throw new Error(`intake with an owner's request should not use ${what}`);
      },
    });
  return {
    ...deps,
    redis: unused('Redis'),
    access: unused('the access store'),
    limits: unused('the limits'),
    menus: unused('the command menus'),
    records: unused('the records'),
    monitoring: unused('the monitoring'),
    readTelegramFile: unused('Telegram files'),
    progress: unused('the status messages'),
  };
}
