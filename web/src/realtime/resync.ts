// Work to do again after a resync: a fresh snapshot replaces what the events had built, and a
// screen that keeps something the snapshot does not carry must read it again.

interface Snapshots {
  readonly snapshots: number;
  subscribe(listener: () => void): () => void;
}

/** `reload` is called for each snapshot after the first (a resync after a gap in the events),
 * which may have passed over events of what the snapshot does not carry (the branding). */
export function reloadOnResync(store: Snapshots, reload: () => void): () => void {
  let seen = store.snapshots;
  return store.subscribe(() => {
    if (store.snapshots === seen) return;
    if (seen > 0) reload();
    seen = store.snapshots;
  });
}
