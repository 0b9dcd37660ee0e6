// The messages of the open thread: the latest page read over HTTP, then the thread's events
// appended in order. A hole (a number skipped) or a fresh snapshot (a resync after a reconnect)
// reads the page again, so the screen always equals a fresh load.
import type { ImMessage } from "../realtime/types";

export type PageReader = (threadId: string, before: number | null) => Promise<ImMessage[]>;

export class ThreadHistory {
  messages: ImMessage[] = [];
  loaded = false;
  /** More messages before the first one shown. */
  more = false;
  private generation = 0;
  private loading = false;
  /** Messages that arrived while a page was being read: the page may predate them. */
  private arrived: ImMessage[] = [];
  private listeners = new Set<() => void>();

  constructor(
    readonly threadId: string,
    private read: PageReader,
    readonly pageSize = 50,
  ) {}

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  /** (Re)read the latest page; a newer call wins over an older one still running. */
  async reload(): Promise<void> {
    const generation = ++this.generation;
    this.loading = true;
    const page = await this.read(this.threadId, null);
    if (generation !== this.generation) return;
    this.loading = false;
    this.messages = page;
    this.more = page.length >= this.pageSize && page[0]?.number > 1;
    this.loaded = true;
    const arrived = this.arrived;
    this.arrived = [];
    this.changed();
    for (const message of arrived) this.posted(message);
  }

  /** The page before the first message shown. */
  async older(): Promise<void> {
    const first = this.messages[0];
    if (!first) return;
    const generation = this.generation;
    const page = await this.read(this.threadId, first.number);
    if (generation !== this.generation) return;
    this.messages = [...page, ...this.messages];
    this.more = page.length >= this.pageSize && page[0]?.number > 1;
    this.changed();
  }

  /** A message of this thread arrived on the socket. */
  posted(message: ImMessage): void {
    if (message.thread_id !== this.threadId) return;
    if (this.loading) {
      this.arrived.push(message);
      return;
    }
    if (!this.loaded) return;
    const last = this.messages[this.messages.length - 1]?.number ?? 0;
    if (message.number <= last) return; // already read with the page
    if (message.number === last + 1) {
      this.messages = [...this.messages, message];
      this.changed();
    } else void this.reload(); // a hole: read again rather than show a gap
  }
}
