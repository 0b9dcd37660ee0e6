// An IVR flow's definition (as the API stores it) and the tree the editor shows of it, with the
// edits the editor makes. Pure: tested in vitest. The node kinds, their exits and their rules are
// the server's (src/omnidesk/channels/voice/ivr/flow.py); the server validates every save.

export type FlowNode = { type: string } & Record<string, unknown>;

export interface FlowDefinition {
  id: string;
  start: string;
  nodes: Record<string, FlowNode>;
  [key: string]: unknown; // name, language, timezone
}

export const NODE_TYPES = ["menu", "collect", "play", "hours", "set", "queue", "voicemail", "callback", "transfer", "locate_store", "hangup"] as const;
export type NodeType = (typeof NODE_TYPES)[number];

/** Every exit field of a kind; `required` ones must name a node (the others may be left out). */
export const EXITS: Record<NodeType, { field: string; required: boolean }[]> = {
  menu: [{ field: "on_failure", required: false }],
  collect: [
    { field: "next", required: true },
    { field: "on_failure", required: false },
  ],
  play: [{ field: "next", required: true }],
  hours: [
    { field: "open", required: true },
    { field: "closed", required: true },
  ],
  set: [{ field: "next", required: true }],
  queue: [{ field: "on_timeout", required: false }],
  voicemail: [{ field: "next", required: false }],
  callback: [
    { field: "next", required: false },
    { field: "on_failure", required: false },
  ],
  transfer: [],
  locate_store: [
    { field: "found", required: true },
    { field: "not_found", required: true },
    { field: "on_failure", required: false },
  ],
  hangup: [],
};

/** A node's outgoing edges in the server's order (flow.py `refs`): menu options first
 * ("options.1"), then the named exits. */
export function exitsOf(node: FlowNode): { field: string; target: string }[] {
  const found: { field: string; target: string }[] = [];
  if (node.type === "menu" && node.options && typeof node.options === "object") {
    for (const [digit, target] of Object.entries(node.options as Record<string, unknown>)) {
      if (typeof target === "string") found.push({ field: `options.${digit}`, target });
    }
  }
  for (const name of ["next", "on_failure", "on_timeout", "open", "closed", "found", "not_found"]) {
    const target = node[name];
    if (typeof target === "string") found.push({ field: name, target });
  }
  return found;
}

export interface TreeItem {
  /** Unique in the tree: the path of exits from the root ("menu/options.1/sales"). */
  key: string;
  node: string;
  /** The exit of the parent that leads here (null for a root). */
  via: string | null;
  /** node: shown here with its exits; link: shown elsewhere (a loop or a shared node);
   * missing: the exit names no node. */
  kind: "node" | "link" | "missing";
  children: TreeItem[];
}

/** The flow as a tree from its start: each node's exits are its children; a node is shown once,
 * where it is first reached (depth first, exits in order), and every other reference to it is
 * a link, so loops ("back to the menu") end. Nodes the start never reaches follow as roots of
 * their own. */
export function buildTree(flow: FlowDefinition): { roots: TreeItem[]; unreachable: string[] } {
  const shown = new Set<string>();
  const visit = (node: string, via: string | null, key: string): TreeItem => {
    if (!(node in flow.nodes)) return { key, node, via, kind: "missing", children: [] };
    if (shown.has(node)) return { key, node, via, kind: "link", children: [] };
    shown.add(node);
    const children = exitsOf(flow.nodes[node]).map((e) => visit(e.target, e.field, `${key}/${e.field}/${e.target}`));
    return { key, node, via, kind: "node", children };
  };
  const roots = [visit(flow.start, null, flow.start)];
  const unreachable: string[] = [];
  for (const id of Object.keys(flow.nodes)) {
    if (shown.has(id)) continue;
    unreachable.push(id);
    roots.push(visit(id, null, id));
  }
  return { roots, unreachable };
}

/** A fresh id for a node of `type` ("queue", "queue_2", …). */
export function freshId(flow: FlowDefinition, type: string): string {
  if (!(type in flow.nodes)) return type;
  for (let n = 2; ; n++) if (!(`${type}_${n}` in flow.nodes)) return `${type}_${n}`;
}

/** The id of a hangup node, added ("hangup") when the flow has none: where a required exit
 * points when the editor has nowhere better. */
function hangupOf(flow: FlowDefinition): string {
  const found = Object.entries(flow.nodes).find(([, n]) => n.type === "hangup");
  if (found) return found[0];
  const id = freshId(flow, "hangup");
  flow.nodes[id] = { type: "hangup" };
  return id;
}

/** A new node of `type` with what the server requires of it; its required exits lead to a
 * hangup node (added when the flow has none), so the flow stays valid as it grows. */
export function newNode(flow: FlowDefinition, type: NodeType): FlowNode {
  const node: FlowNode = { type };
  if (type === "menu") Object.assign(node, { prompt: [{ say: "" }], options: {} });
  if (type === "collect") node.store_as = "digits";
  if (type === "play") node.prompt = [{ say: "" }];
  if (type === "hours") node.schedule = { mon: ["09:00-17:00"], tue: ["09:00-17:00"], wed: ["09:00-17:00"], thu: ["09:00-17:00"], fri: ["09:00-17:00"] };
  if (type === "set") node.attributes = {};
  if (type === "queue" || type === "voicemail" || type === "callback") node.queue = "";
  if (type === "transfer") node.number = "";
  for (const exit of EXITS[type]) if (exit.required) node[exit.field] = hangupOf(flow);
  return node;
}

function clone(flow: FlowDefinition): FlowDefinition {
  return JSON.parse(JSON.stringify(flow)) as FlowDefinition;
}

/** Point `parent`'s exit `field` ("next", "options.3") at `target`. */
function setExitIn(flow: FlowDefinition, parent: string, field: string, target: string): void {
  const node = flow.nodes[parent];
  if (field.startsWith("options.")) {
    node.options = { ...((node.options as Record<string, string>) ?? {}), [field.slice(8)]: target };
  } else {
    node[field] = target;
  }
}

/** `flow` with `parent`'s exit `field` leading to `target` (an existing node). */
export function setExit(flow: FlowDefinition, parent: string, field: string, target: string): FlowDefinition {
  const next = clone(flow);
  setExitIn(next, parent, field, target);
  return next;
}

/** `flow` with a new node of `type` at `parent`'s exit `field`; and the new node's id. */
export function addNode(flow: FlowDefinition, parent: string, field: string, type: NodeType): { flow: FlowDefinition; id: string } {
  const next = clone(flow);
  const id = freshId(next, type);
  next.nodes[id] = { type }; // reserves the id before newNode may add a hangup node
  next.nodes[id] = newNode(next, type);
  setExitIn(next, parent, field, id);
  return { flow: next, id };
}

/** `flow` without `parent`'s exit `field` (an optional exit, or a menu option). */
export function removeExit(flow: FlowDefinition, parent: string, field: string): FlowDefinition {
  const next = clone(flow);
  dropExit(next.nodes[parent], field);
  return next;
}

function dropExit(node: FlowNode, field: string): void {
  if (field.startsWith("options.")) {
    const options = { ...((node.options as Record<string, string>) ?? {}) };
    delete options[field.slice(8)];
    node.options = options;
  } else {
    delete node[field];
    // The server takes the queue's wait limit and its exit together.
    if (node.type === "queue" && field === "on_timeout") delete node.max_wait_s;
  }
}

function isRequired(node: FlowNode, field: string): boolean {
  return (EXITS[node.type as NodeType] ?? []).some((e) => e.field === field && e.required);
}

/** `flow` without node `id`, every reference to it kept valid: a menu option or an optional
 * exit that led to it is removed; a required exit (and the start) now leads where the removed
 * node led first (its first exit), else to a hangup node. */
export function removeNode(flow: FlowDefinition, id: string): FlowDefinition {
  const next = clone(flow);
  const removed = next.nodes[id];
  if (!removed) return next;
  delete next.nodes[id];
  const onward = exitsOf(removed).find((e) => e.target !== id && e.target in next.nodes)?.target;
  const replacement = () => onward ?? hangupOf(next);
  if (next.start === id) next.start = replacement();
  for (const node of Object.values(next.nodes)) {
    for (const exit of exitsOf(node)) {
      if (exit.target !== id) continue;
      if (exit.field.startsWith("options.") || !isRequired(node, exit.field)) {
        dropExit(node, exit.field);
      } else {
        node[exit.field] = replacement();
      }
    }
  }
  return next;
}

/** `flow` with node `from` renamed `to`, and every reference (and the start) following it. */
export function renameNode(flow: FlowDefinition, from: string, to: string): FlowDefinition {
  if (from === to || !(from in flow.nodes) || to in flow.nodes) return flow;
  const next = clone(flow);
  const nodes: Record<string, FlowNode> = {};
  for (const [id, node] of Object.entries(next.nodes)) nodes[id === from ? to : id] = node;
  next.nodes = nodes;
  if (next.start === from) next.start = to;
  for (const [nodeId, node] of Object.entries(next.nodes)) {
    for (const exit of exitsOf(node)) if (exit.target === from) setExitIn(next, nodeId, exit.field, to);
  }
  return next;
}

/** Every reference that names no node ("node.field" → target): empty for a flow the editor made. */
export function danglingRefs(flow: FlowDefinition): string[] {
  const found: string[] = [];
  if (!(flow.start in flow.nodes)) found.push(`start → ${flow.start}`);
  for (const [id, node] of Object.entries(flow.nodes)) {
    for (const exit of exitsOf(node)) if (!(exit.target in flow.nodes)) found.push(`${id}.${exit.field} → ${exit.target}`);
  }
  return found;
}

// --- prompts -------------------------------------------------------------------------------

export interface PromptItem {
  say?: string;
  language?: string;
  wav?: string;
}

/** A prompt field as a list, whichever shorthand the flow uses ("text", {say}, [..]). */
export function promptsOf(value: unknown): PromptItem[] {
  if (value === undefined || value === null) return [];
  if (typeof value === "string") return [{ say: value }];
  if (Array.isArray(value)) return value.map((v) => (typeof v === "string" ? { say: v } : (v as PromptItem)));
  if (typeof value === "object") return [value as PromptItem];
  return [];
}

// --- a save refused for a stale version: my changes again on top of the latest ----------------

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** What I changed from `base` (the version I opened), applied to `theirs` (the version saved
 * meanwhile): nodes I added, changed or removed, and the flow's own fields I changed, win; the
 * rest is theirs. Returns the merged flow and the nodes both of us changed (shown to the admin:
 * mine replaced theirs there). */
export function reapply(base: FlowDefinition, mine: FlowDefinition, theirs: FlowDefinition): { flow: FlowDefinition; overlaps: string[] } {
  const merged = clone(theirs);
  const overlaps: string[] = [];
  for (const key of new Set([...Object.keys(base), ...Object.keys(mine)])) {
    if (key === "nodes" || same(base[key], mine[key])) continue;
    if (mine[key] === undefined) delete merged[key];
    else merged[key] = JSON.parse(JSON.stringify(mine[key]));
  }
  for (const id of new Set([...Object.keys(base.nodes), ...Object.keys(mine.nodes)])) {
    const before = base.nodes[id];
    const after = mine.nodes[id];
    if (same(before, after)) continue;
    if (!same(before, theirs.nodes[id])) overlaps.push(id);
    if (after === undefined) delete merged.nodes[id];
    else merged.nodes[id] = JSON.parse(JSON.stringify(after));
  }
  return { flow: merged, overlaps };
}
