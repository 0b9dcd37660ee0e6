import { describe, expect, it } from "vitest";
import { reloadOnResync } from "./resync";

class FakeStore {
  snapshots = 0;
  private listeners = new Set<() => void>();
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  snapshot(): void {
    this.snapshots += 1;
    this.changed();
  }
  changed(): void {
    for (const listener of this.listeners) listener();
  }
}

describe("reloadOnResync", () => {
  it("reads the branding again on each snapshot after the first, not on events", () => {
    const store = new FakeStore();
    let reloads = 0;
    const stop = reloadOnResync(store, () => (reloads += 1));
    store.snapshot(); // the page's first snapshot: the branding was just read
    store.changed(); // an event applied
    expect(reloads).toBe(0);
    store.snapshot(); // a resync
    store.changed();
    expect(reloads).toBe(1);
    store.snapshot();
    expect(reloads).toBe(2);
    stop();
    store.snapshot();
    expect(reloads).toBe(2);
  });

  it("counts from the snapshots the store already had", () => {
    const store = new FakeStore();
    store.snapshots = 1; // the header mounted after the first snapshot
    let reloads = 0;
    reloadOnResync(store, () => (reloads += 1));
    store.changed();
    expect(reloads).toBe(0);
    store.snapshot();
    expect(reloads).toBe(1);
  });
});
