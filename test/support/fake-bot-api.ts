import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Message, Update } from 'grammy/types';

export interface RecordedCall {
  method: string;
  payload: Record<string, unknown>;
  at: number;
  /** The ID of the message the call sent (sendMessage and the media methods). */
  sentMessageId?: number;
}

const BOT_USER = { id: 4242, is_bot: true, first_name: 'Test Downloader', username: 'test_downloader_bot' };

/**
 * A Telegram Bot API server on loopback, for the bot's long polling and the
 * worker's notifications. Tests push updates in and read recorded calls out.
 */
export class FakeBotApi {
  readonly calls: RecordedCall[] = [];
  /** Chats that blocked the bot: sending to them fails with 403, as on the real API. */
  readonly blockedChats = new Set<number>();
  /** Answer this many sendMessage calls with 429 Too Many Requests first. */
  rateLimitNext = 0;
  /** Answer this many sendMessage calls with 400 Bad Request first (an error no retry can fix). */
  failNext = 0;
  /** Hold the answer to the next sendMessage this long (ms): a handler still busy when the bot is told to stop. */
  holdNextMs = 0;
  private readonly updates: Update[] = [];
  /** Files people "sent", by file_id: getFile names them, /file/bot<token>/<path> serves them. */
  private readonly files = new Map<string, Buffer>();
  /** Requests for file contents, by file path. */
  readonly fileDownloads: string[] = [];
  /** Files the bot or worker uploaded (sendVideo, sendAudio, sendDocument with a file, not a file_id). */
  readonly uploads: Array<{ method: string; fileId: string; chatId: number }> = [];
  private uploadCount = 0;
  private nextUpdateId = 1;
  private nextMessageId = 1000;
  private waiters: Array<() => void> = [];
  private server?: http.Server;
  private readonly sockets = new Set<import('node:net').Socket>();

  /** Calls made with a token this server does not take (401), by method: a revoked token still in use. */
  readonly refused: Array<{ method: string; at: number }> = [];

  constructor(private acceptedToken: string) {}

  /** The token the Bot API takes now. */
  get token(): string {
    return this.acceptedToken;
  }

  /** As @BotFather's /revoke: from now on only `next` is taken, and the old token gets 401. */
  revoke(next: string): void {
    this.acceptedToken = next;
  }

  get apiRoot(): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    this.notify();
    if (!this.server) return;
    const closed = new Promise<void>((resolve) => this.server!.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  /** Stores a file as if someone had uploaded it; returns what a Document carries. */
  addFile(bytes: Buffer): { file_id: string; file_unique_id: string; file_size: number } {
    const id = `file-${this.files.size + 1}-${bytes.length}`;
    this.files.set(id, bytes);
    return { file_id: id, file_unique_id: id, file_size: bytes.length };
  }

  /** Queues an update for the bot's next getUpdates. */
  pushUpdate(update: Omit<Update, 'update_id'>): number {
    const update_id = this.nextUpdateId++;
    this.updates.push({ ...update, update_id } as Update);
    this.notify();
    return update_id;
  }

  callsTo(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Messages the bot or worker sent to `chatId`, in order. */
  sentTo(chatId: number): string[] {
    return this.callsTo('sendMessage')
      .filter((c) => Number(c.payload.chat_id) === chatId)
      .map((c) => String(c.payload.text));
  }

  /** Resolves with the first call matching `predicate`, waiting up to `timeoutMs`. */
  async waitForCall(
    predicate: (call: RecordedCall) => boolean,
    timeoutMs = 60_000,
    what = 'a matching Bot API call',
  ): Promise<RecordedCall> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.calls.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) {
        const seen = this.calls.map((c) => `${c.method} ${JSON.stringify(c.payload).slice(0, 300)}`).join('\n');
        throw new Error(`timed out waiting for ${what}; calls so far:\n${seen}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const file = /^\/file\/bot([^/]+)\/documents\/(.+)$/.exec(req.url?.split('?')[0] ?? '');
    if (file) {
      const bytes = file[1] === this.token ? this.files.get(decodeURIComponent(file[2]!)) : undefined;
      this.fileDownloads.push(decodeURIComponent(file[2]!));
      res.writeHead(bytes ? 200 : 404, { 'content-type': 'application/octet-stream' });
      return void res.end(bytes ?? 'Not Found');
    }
    const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(req.url?.split('?')[0] ?? '');
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (!match) return reply(404, { ok: false, error_code: 404, description: 'Not Found' });
    const [, token, method] = match;
    if (token !== this.token) {
      this.refused.push({ method: method!, at: Date.now() });
      return reply(401, { ok: false, error_code: 401, description: 'Unauthorized' });
    }
    const payload = await readPayload(req);
    const call: RecordedCall = { method: method!, payload, at: Date.now() };
    if (method !== 'getUpdates') this.calls.push(call);
    if (method === 'sendMessage' && this.blockedChats.has(Number(payload.chat_id))) {
      return reply(403, { ok: false, error_code: 403, description: 'Forbidden: bot was blocked by the user' });
    }
    if (method === 'sendMessage' && this.holdNextMs > 0) {
      const hold = this.holdNextMs;
      this.holdNextMs = 0;
      await new Promise((r) => setTimeout(r, hold));
    }
    if (method === 'sendMessage' && this.failNext > 0) {
      this.failNext -= 1;
      return reply(400, { ok: false, error_code: 400, description: 'Bad Request: refused by the test' });
    }
    if (method === 'sendMessage' && this.rateLimitNext > 0) {
      this.rateLimitNext -= 1;
      return reply(429, { ok: false, error_code: 429, description: 'Too Many Requests: retry after 1', parameters: { retry_after: 1 } });
    }
    const result = await this.answer(method!, payload, res);
    if (method !== 'editMessageText' && result && typeof result === 'object' && 'message_id' in result)
      call.sentMessageId = Number(result.message_id);
    reply(200, { ok: true, result });
  }

  private async answer(method: string, payload: Record<string, unknown>, res: http.ServerResponse): Promise<unknown> {
    switch (method) {
      case 'getMe':
        return BOT_USER;
      case 'getFile': {
        const id = String(payload.file_id);
        const bytes = this.files.get(id);
        return bytes ? { file_id: id, file_unique_id: id, file_size: bytes.length, file_path: `documents/${id}` } : undefined;
      }
      case 'getUpdates':
        return this.getUpdates(payload, res);
      case 'sendMessage':
      case 'editMessageText':
        return this.message(payload);
      case 'sendDocument':
      case 'sendVideo':
      case 'sendAudio':
        return this.media(method, payload);
      default:
        return true;
    }
  }

  /** Files sent as media: an upload gets a new file_id, a file_id sent again keeps its own. */
  private media(method: string, payload: Record<string, unknown>): Message {
    const field = method.slice(4).toLowerCase();
    const given = payload[field];
    // A multipart upload names its file part: "attach://<part>". The part's bytes are not kept.
    const part = typeof given === 'string' && given.startsWith('attach://') ? given.slice('attach://'.length) : null;
    const uploaded = part !== null && part in payload;
    if (part && uploaded) payload[part] = '[file]';
    const fileId = uploaded ? `uploaded-${++this.uploadCount}` : String(given);
    if (uploaded) this.uploads.push({ method, fileId, chatId: Number(payload.chat_id) });
    return { ...this.message({ ...payload, text: undefined }), [field]: { file_id: fileId, file_unique_id: fileId } } as Message;
  }

  private message(payload: Record<string, unknown>): Message {
    const chatId = Number(payload.chat_id);
    return {
      message_id: Number(payload.message_id ?? this.nextMessageId++),
      date: Math.floor(Date.now() / 1000),
      chat: { id: chatId, type: chatId > 0 ? 'private' : 'group', first_name: 'Chat' },
      from: BOT_USER,
      text: typeof payload.text === 'string' ? payload.text : undefined,
    } as Message;
  }

  private async getUpdates(payload: Record<string, unknown>, res: http.ServerResponse): Promise<Update[]> {
    const offset = Number(payload.offset ?? 0);
    // Confirmed updates are gone for good, as on the real server.
    while (this.updates.length > 0 && this.updates[0]!.update_id < offset) this.updates.shift();
    if (this.updates.length === 0) {
      const timeoutMs = Math.min(Number(payload.timeout ?? 0), 30) * 1000;
      if (timeoutMs > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, timeoutMs);
          function done() {
            clearTimeout(timer);
            resolve();
          }
          this.waiters.push(done);
          res.once('close', done);
        });
      }
    }
    const limit = Number(payload.limit ?? 100);
    return this.updates.slice(0, limit);
  }
}

async function readPayload(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks).toString('utf8');
  const type = req.headers['content-type'] ?? '';
  if (type.includes('application/json') && body) return JSON.parse(body) as Record<string, unknown>;
  if (type.includes('multipart/form-data')) return parseMultipartFields(body, type);
  const query = new URLSearchParams(req.url?.split('?')[1] ?? '');
  return Object.fromEntries(query.entries());
}

/** Text fields of a multipart body (file parts are recorded by name only). */
function parseMultipartFields(body: string, type: string): Record<string, unknown> {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(type);
  const mark = boundary?.[1] ?? boundary?.[2];
  if (!mark) return {};
  const out: Record<string, unknown> = {};
  for (const part of body.split(`--${mark}`)) {
    const name = /name="([^"]+)"/.exec(part)?.[1];
    if (!name) continue;
    const isFile = /filename="/.test(part);
    const value = part.split('\r\n\r\n').slice(1).join('\r\n\r\n').replace(/\r\n$/, '');
    out[name] = isFile ? '[file]' : value;
  }
  return out;
}
