import { chmod, mkdir, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Mutex, PGlite } from '@electric-sql/pglite';
import type { Logger } from '@mltrace/core';

/** Startup-phase request codes (PostgreSQL protocol, "Message Formats"). */
const PROTOCOL_3 = 196_608;
const SSL_REQUEST = 80_877_103;
const GSSENC_REQUEST = 80_877_104;
/** A client in a transaction that sends nothing for this long is disconnected (and rolled back). */
const IDLE_IN_TRANSACTION_MS = 60_000;

/** Options of {@link serveWire}. */
export interface WireServerOptions {
  /** The owner's PGlite: one session, shared by every connection. */
  client: PGlite;
  /** The owner's transaction lock (the one its own `pgliteDatabase` takes). */
  lock: Mutex;
  /** The unix socket to listen on; its directory is created with mode 0700. */
  socketPath: string;
  logger: Logger;
}

/** A running {@link serveWire} server. */
export interface WireServer {
  /** Stops accepting, ends every connection (rolling back open transactions) and removes the socket. */
  close(): Promise<void>;
}

/** The protocol messages of a reply, as (type, start, end) of each. */
function* messages(bytes: Uint8Array): Generator<{ type: number; start: number; end: number }> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  while (offset + 5 <= bytes.length) {
    const end = offset + 1 + view.getInt32(offset + 1);
    yield { type: bytes[offset] as number, start: offset, end };
    offset = end;
  }
}

/** The transaction status of the last ReadyForQuery in a reply ('I', 'T', 'E'), if there is one. */
function readyStatus(reply: Uint8Array): string | undefined {
  let status: string | undefined;
  for (const m of messages(reply)) {
    if (m.type === 0x5a /* Z */) status = String.fromCharCode(reply[m.start + 5] as number);
  }
  return status;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A frontend message with one NUL-terminated name replaced: `[prefix][name][rest]`. */
function renamed(type: number, before: Uint8Array, name: string, after: Uint8Array): Uint8Array {
  const nameBytes = encoder.encode(`${name}\0`);
  const length = 4 + before.length + nameBytes.length + after.length;
  const out = new Uint8Array(1 + length);
  out[0] = type;
  new DataView(out.buffer).setInt32(1, length);
  out.set(before, 5);
  out.set(nameBytes, 5 + before.length);
  out.set(after, 5 + before.length + nameBytes.length);
  return out;
}

/** Reads the NUL-terminated string at `offset`; returns it and the offset after its NUL. */
function cString(body: Uint8Array, offset: number): [string, number] {
  const end = body.indexOf(0, offset);
  return [decoder.decode(body.subarray(offset, end)), end + 1];
}

/**
 * One client connection. Its frontend messages are gathered until a Sync, a Flush or a simple
 * Query, and each such batch runs whole under the owner's lock: no other connection's message
 * can fall between a Parse and its Bind. The lock stays held while the connection is inside a
 * transaction (ReadyForQuery says `T` or `E`, or a batch ended in Flush), so transactions never
 * interleave either: PGlite has one session, and this is what makes it safe to share.
 *
 * Named prepared statements are renamed per connection (`c<id>_<name>`) so two clients that
 * pick the same name do not collide in the one session, and are closed when the client leaves.
 */
class Connection {
  private buffer = new Uint8Array(0);
  private started = false;
  private pending: Uint8Array[] = [];
  private chain: Promise<void> = Promise.resolve();
  private release: (() => void) | undefined;
  private readonly statements = new Set<string>();
  private idleTimer: NodeJS.Timeout | undefined;
  private ended = false;
  private readonly finished: Promise<void>;
  private markFinished!: () => void;

  constructor(
    private readonly id: number,
    private readonly socket: Socket,
    private readonly options: WireServerOptions,
    private readonly startupReply: Uint8Array,
    private readonly done: () => void,
  ) {
    this.finished = new Promise((resolve) => {
      this.markFinished = resolve;
    });
    socket.on('data', (data) => this.receive(data));
    socket.on('error', () => {});
    socket.on('close', () => this.end());
  }

  /** Resolves once the connection is cleaned up (its transaction rolled back, its statements closed). */
  settled(): Promise<void> {
    return this.finished;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private receive(data: Buffer): void {
    if (this.ended) return;
    const joined = new Uint8Array(this.buffer.length + data.length);
    joined.set(this.buffer);
    joined.set(data, this.buffer.length);
    this.buffer = joined;
    const view = new DataView(joined.buffer, joined.byteOffset, joined.byteLength);
    let offset = 0;
    while (!this.ended) {
      if (!this.started) {
        if (joined.length - offset < 8) break;
        const length = view.getInt32(offset);
        if (joined.length - offset < length) break;
        const code = view.getInt32(offset + 4);
        offset += length;
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          this.socket.write('N');
        } else if (code === PROTOCOL_3 || code >> 16 === 3) {
          this.started = true;
          this.socket.write(this.startupReply);
        } else {
          // A CancelRequest (PGlite has no backend to signal) or something that is not PostgreSQL.
          this.socket.end();
          break;
        }
        continue;
      }
      if (joined.length - offset < 5) break;
      const end = offset + 1 + view.getInt32(offset + 1);
      if (joined.length < end) break;
      const type = joined[offset] as number;
      const message = joined.subarray(offset, end);
      offset = end;
      if (type === 0x58 /* X: Terminate */) {
        this.socket.end();
        break;
      }
      this.pending.push(this.rename(type, message));
      // S: Sync, H: Flush, Q: simple Query end a batch.
      if (type === 0x53 || type === 0x48 || type === 0x51) this.flush();
    }
    this.buffer = joined.slice(offset);
  }

  /** Gives named statements this connection's prefix: Parse, Bind, Describe and Close of a statement. */
  private rename(type: number, message: Uint8Array): Uint8Array {
    const body = message.subarray(5);
    const prefix = `c${this.id}_`;
    if (type === 0x50 /* P: Parse name\0 query\0 ... */) {
      const [name, next] = cString(body, 0);
      if (name === '') return message;
      this.statements.add(prefix + name);
      return renamed(type, new Uint8Array(0), prefix + name, body.subarray(next));
    }
    if (type === 0x42 /* B: Bind portal\0 statement\0 ... */) {
      const [, afterPortal] = cString(body, 0);
      const [name, next] = cString(body, afterPortal);
      if (name === '') return message;
      return renamed(type, body.subarray(0, afterPortal), prefix + name, body.subarray(next));
    }
    if ((type === 0x44 /* D: Describe */ || type === 0x43) /* C: Close */ && body[0] === 0x53 /* S */) {
      const [name, next] = cString(body, 1);
      if (name === '') return message;
      if (type === 0x43) this.statements.delete(prefix + name);
      return renamed(type, body.subarray(0, 1), prefix + name, body.subarray(next));
    }
    return message;
  }

  private flush(): void {
    const parts = this.pending;
    this.pending = [];
    const batch = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const part of parts) {
      batch.set(part, offset);
      offset += part.length;
    }
    this.chain = this.chain.then(() => this.run(batch)).catch((error: unknown) => this.fail(error));
  }

  private async run(batch: Uint8Array): Promise<void> {
    if (this.ended) return;
    if (!this.release) this.release = await this.options.lock.acquire();
    clearTimeout(this.idleTimer);
    // A copy: PGlite's reply is a view of its own buffer, which the next call overwrites.
    const reply = (await this.options.client.execProtocolRaw(batch)).slice();
    if (readyStatus(reply) === 'I') {
      this.release();
      this.release = undefined;
    } else {
      this.idleTimer = setTimeout(() => {
        this.options.logger.warn('embedded store: a client stayed idle in a transaction; disconnecting it', {
          connection: this.id,
        });
        this.socket.destroy();
      }, IDLE_IN_TRANSACTION_MS);
      this.idleTimer.unref();
    }
    if (!this.socket.destroyed) this.socket.write(reply);
  }

  private fail(error: unknown): void {
    this.options.logger.warn('embedded store: a client connection failed', {
      connection: this.id,
      error: error instanceof Error ? error.message : String(error),
    });
    this.socket.destroy();
  }

  /** The client left: roll back what it left open, close its statements, release the lock. */
  private end(): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.idleTimer);
    this.chain = this.chain
      .then(async () => {
        const { client, lock } = this.options;
        if (client.closed) return;
        const release = this.release ?? (await lock.acquire());
        this.release = undefined;
        try {
          const sync = new Uint8Array([0x53, 0, 0, 0, 4]);
          if (readyStatus(await client.execProtocolRaw(sync)) !== 'I') {
            await client.execProtocolRaw(simpleQuery('ROLLBACK'));
          }
          for (const name of this.statements) {
            await client.execProtocolRaw(simpleQuery(`DEALLOCATE "${name.replaceAll('"', '""')}"`));
          }
        } finally {
          release();
        }
      })
      .catch((error: unknown) => {
        this.options.logger.warn('embedded store: cleaning up a client connection failed', {
          connection: this.id,
          error: error instanceof Error ? error.message : String(error),
        });
      })
      .finally(() => {
        this.done();
        this.markFinished();
      });
  }
}

/** A simple Query message. */
function simpleQuery(text: string): Uint8Array {
  const body = encoder.encode(`${text}\0`);
  const out = new Uint8Array(5 + body.length);
  out[0] = 0x51;
  new DataView(out.buffer).setInt32(1, 4 + body.length);
  out.set(body, 5);
  return out;
}

/** A startup message for PGlite's own reply to copy to every client (authentication, parameters, ready). */
function startupMessage(): Uint8Array {
  const params = encoder.encode('user\0postgres\0database\0postgres\0\0');
  const out = new Uint8Array(8 + params.length);
  const view = new DataView(out.buffer);
  view.setInt32(0, out.length);
  view.setInt32(4, PROTOCOL_3);
  out.set(params, 8);
  return out;
}

/**
 * Serves the owner's PGlite over the PostgreSQL wire protocol on a unix socket, to any number of
 * connections (postgres.js, psql, psycopg). The socket and its directory are this user's only
 * (0700); there is no authentication beyond that, as for PostgreSQL's own `peer`-less local
 * sockets. Call it once PGlite is ready and before anything else uses the session.
 */
export async function serveWire(options: WireServerOptions): Promise<WireServer> {
  const { client, lock, socketPath } = options;
  const startupReply = (await lock.runExclusive(() => client.execProtocolRaw(startupMessage()))).slice();
  await mkdir(dirname(socketPath), { recursive: true, mode: 0o700 });
  await chmod(dirname(socketPath), 0o700);
  // Whoever holds the lock file may remove a socket a killed owner left behind.
  await rm(socketPath, { force: true });
  const connections = new Set<Connection>();
  let next = 1;
  const server: Server = createServer((socket) => {
    socket.unref();
    const connection: Connection = new Connection(next++, socket, options, startupReply, () =>
      connections.delete(connection),
    );
    connections.add(connection);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // The server never keeps the owner's process alive: when its own work is done it exits, and
  // the clients' next open takes the store over.
  server.unref();
  return {
    async close() {
      // close() waits for the connections, so end them after asking it to stop listening.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const open = [...connections];
      for (const connection of open) connection.destroy();
      await Promise.all(open.map((connection) => connection.settled()));
      await closed;
      await rm(socketPath, { force: true });
    },
  };
}
