import type { Api } from 'grammy';
import type { Role } from '../domain/access/roles';
import type { AccessStore } from '../domain/access/store';
import type { Logger } from '../lib/logger';
import { menuFor } from './commands';

/**
 * Each person's Telegram command menu shows what their role may use
 * (setMyCommands with a per-chat scope; everyone else sees the default menu, a
 * trial user's). Set for everyone at start, and again whenever a role, a ban or
 * a chat allowance changes. A menu that lags behind (a role that just expired)
 * is harmless: the bot refuses by the role itself.
 */
export class CommandMenus {
  constructor(
    private readonly api: Api,
    private readonly access: AccessStore,
    private readonly owners: readonly number[],
    private readonly logger: Logger,
  ) {}

  /** The default menu, and one for every owner and everyone with a role. */
  async setAll(): Promise<void> {
    await this.api.setMyCommands(menuFor('trial'));
    const granted = await this.access.granted();
    for (const owner of this.owners) await this.refresh(owner, 'owner');
    for (const { userId, role } of granted) await this.refresh(userId, role);
  }

  /** `role` null: back to the default menu. */
  async refresh(userId: number, role: Role | null): Promise<void> {
    const scope = { type: 'chat' as const, chat_id: userId };
    const done = role === null || role === 'none' ? this.api.deleteMyCommands({ scope }) : this.api.setMyCommands(menuFor(role), { scope });
    await done.catch((err: unknown) => this.failed(err, userId));
  }

  /** A group allowed with /allowchat shows a user's menu; otherwise the default. */
  async refreshChat(chatId: number, allowed: boolean): Promise<void> {
    const scope = { type: 'chat' as const, chat_id: chatId };
    await (allowed ? this.api.setMyCommands(menuFor('user'), { scope }) : this.api.deleteMyCommands({ scope })).catch((err: unknown) =>
      this.failed(err, chatId),
    );
  }

  private failed(err: unknown, chatId: number): void {
    // A person who never opened a chat with the bot has no chat to scope to: normal, and harmless.
    this.logger.warn({ err: err instanceof Error ? err.message : String(err), chatId }, 'could not set a command menu');
  }
}
