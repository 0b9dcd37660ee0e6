import { useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError, ok, type Schemas } from "../api/client";
import { t } from "../i18n";
import { AudioUpload } from "./AudioUpload";
import { IvrNodeFields, type NodeChange } from "./IvrNodeFields";
import { addNode, buildTree, promptsOf, reapply, removeExit, removeNode, renameNode, setExit, type FlowDefinition, type TreeItem } from "./ivrTree";
import { errorsOf, FieldError, FormError, type Errors } from "./Problem";

type FlowOut = Schemas["FlowOut"];
const NODE_ID = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export const NEW_FLOW: FlowDefinition = {
  id: "main",
  language: "en",
  timezone: "UTC",
  start: "menu",
  nodes: {
    menu: { type: "menu", prompt: [{ say: "" }], options: {}, on_failure: "goodbye" },
    goodbye: { type: "hangup" },
  },
};

interface Refusals {
  flow: Errors; // the flow's own fields by name ("name", "start", …); "" for the whole
  nodes: Record<string, Record<string, string>>; // node -> field ("" for the node) -> message
}

interface Issue {
  path: string;
  message: string;
  node: string | null;
  field: string | null;
}

/** A refused save by where it lands: each issue of the flow's own validation on its node and
 * field (the API names them), everything else on the form's fields. */
export function refusalsOf(e: unknown): Refusals {
  const found: Refusals = { flow: {}, nodes: {} };
  const issues = e instanceof ApiError && Array.isArray(e.problem.issues) ? (e.problem.issues as Issue[]) : null;
  if (!issues) return { flow: errorsOf(e), nodes: {} };
  for (const i of issues) {
    if (i.node) (found.nodes[i.node] ??= {})[i.field ?? ""] = i.message;
    else found.flow[i.path.replace(/^definition\.?/, "") || ""] = i.message;
  }
  return found;
}

function summary(node: FlowDefinition["nodes"][string]): string {
  if (typeof node.queue === "string" && node.queue) return node.queue;
  if (typeof node.number === "string" && node.number) return node.number;
  const first = promptsOf(node.prompt)[0];
  const text = first?.say ?? first?.wav ?? "";
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

interface Props {
  /** The flow as saved (null: a new flow). */
  saved: FlowOut | null;
  queues: string[];
  audio: string[];
  onAudio: () => void;
  onSaved: (view: FlowOut) => void;
  onCancel: () => void;
}

/** One flow as a tree: the start, each node's exits as its children (a node reached again is a
 * link to where it is shown), a panel with the chosen node's fields. Saved on the version it was
 * opened on: a flow saved meanwhile is a conflict, and the admin's changes can be re-applied on
 * the latest version. */
export function IvrFlowEditor({ saved, queues, audio, onAudio, onSaved, onCancel }: Props) {
  const [name, setName] = useState(saved?.name ?? "");
  const [version, setVersion] = useState<number | null>(saved?.version ?? null);
  const [base, setBase] = useState<FlowDefinition>((saved?.definition as FlowDefinition) ?? NEW_FLOW);
  const [draft, setDraft] = useState<FlowDefinition>(base);
  const [selected, setSelected] = useState<string>(base.start);
  const [refusals, setRefusals] = useState<Refusals>({ flow: {}, nodes: {} });
  const [conflict, setConflict] = useState<number | null>(null);
  const [status, setStatus] = useState("");
  const [busy, setBusy] = useState(false);
  const [rename, setRename] = useState(selected);
  const panel = useRef<HTMLHeadingElement>(null);

  useEffect(() => setRename(selected), [selected]);

  function select(id: string) {
    setSelected(id);
    // The panel's heading takes the focus: a keyboard user lands on the node they chose.
    setTimeout(() => panel.current?.focus(), 0);
  }

  function change(c: NodeChange) {
    setStatus("");
    if (c.kind === "fields") setDraft({ ...draft, nodes: { ...draft.nodes, [selected]: c.node } });
    if (c.kind === "exit") setDraft(setExit(draft, selected, c.field, c.target));
    if (c.kind === "unlink") setDraft(removeExit(draft, selected, c.field));
    if (c.kind === "add") {
      const added = addNode(draft, selected, c.field, c.type);
      setDraft(added.flow);
      setStatus(t("admin.ivr.added", { id: added.id, from: selected }));
      select(added.id);
    }
  }

  function remove(id: string) {
    const next = removeNode(draft, id);
    setDraft(next);
    setStatus(t("admin.ivr.removed", { id }));
    select(next.start);
  }

  function applyRename() {
    const to = rename.trim();
    if (to === selected) return;
    if (!NODE_ID.test(to) || to in draft.nodes) {
      setRefusals({ ...refusals, nodes: { ...refusals.nodes, [selected]: { ...refusals.nodes[selected], id: t("admin.ivr.badNodeId") } } });
      return;
    }
    setDraft(renameNode(draft, selected, to));
    setSelected(to);
  }

  async function save() {
    setBusy(true);
    setRefusals({ flow: {}, nodes: {} });
    setConflict(null);
    setStatus("");
    try {
      const body = { name, definition: draft };
      const view =
        saved === null || version === null
          ? await ok(api.POST("/api/v1/voice/flows", { body }))
          : await ok(api.PUT("/api/v1/voice/flows/{flow_id}", { params: { path: { flow_id: saved.id } }, body: { ...body, version } }));
      onSaved(view);
    } catch (e) {
      if (e instanceof ApiError && e.code === "version_conflict") setConflict(Number(e.problem.version) || null);
      else setRefusals(refusalsOf(e));
    } finally {
      setBusy(false);
    }
  }

  /** The latest version from the server; mine re-applied on it, or dropped. */
  async function reload(keepMine: boolean) {
    if (!saved) return;
    const latest = await ok(api.GET("/api/v1/voice/flows/{flow_id}", { params: { path: { flow_id: saved.id } } }));
    const theirs = latest.definition as FlowDefinition;
    if (keepMine) {
      const merged = reapply(base, draft, theirs);
      setDraft(merged.flow);
      setStatus(
        merged.overlaps.length
          ? t("admin.ivr.reappliedOverlap", { version: latest.version, nodes: merged.overlaps.join(", ") })
          : t("admin.ivr.reapplied", { version: latest.version }),
      );
      if (!(selected in merged.flow.nodes)) setSelected(merged.flow.start);
    } else {
      setDraft(theirs);
      setName(latest.name);
      setSelected(theirs.start);
      setStatus(t("admin.ivr.reloaded", { version: latest.version }));
    }
    setBase(theirs);
    setVersion(latest.version);
    setConflict(null);
  }

  const { roots, unreachable } = buildTree(draft);
  const node = draft.nodes[selected];
  const nodeErrors = refusals.nodes[selected] ?? {};
  const problems = Object.entries(refusals.nodes).flatMap(([n, fields]) => Object.entries(fields).map(([f, m]) => ({ node: n, field: f, message: m })));
  const flowField = (key: string, text: string, input: preact.JSX.Element) => (
    <label>
      {text}
      {input}
      <FieldError id={`ivr-flow-${key}-error`} errors={refusals.flow} name={key} />
    </label>
  );
  const attrs = (key: string) => ({ id: `ivr-flow-${key}`, "aria-invalid": !!refusals.flow[key], "aria-describedby": `ivr-flow-${key}-error` });
  const setDef = (key: string) => (e: Event) => setDraft({ ...draft, [key]: (e.target as HTMLInputElement).value });

  const item = (i: TreeItem) => {
    const via = i.via === null ? null : i.via.startsWith("options.") ? t("admin.ivr.viaKey", { digit: i.via.slice(8) }) : t(`admin.ivr.field.${i.via}`);
    const count = Object.keys(refusals.nodes[i.node] ?? {}).length;
    return (
      <li key={i.key} data-node={i.node} data-kind={i.kind}>
        {via && <span class="ivr-via">{via} → </span>}
        {i.kind === "node" && (
          <button type="button" class="ivr-node" aria-pressed={selected === i.node} onClick={() => select(i.node)}>
            <strong>{i.node}</strong> <span class="muted">{t(`admin.ivr.type.${draft.nodes[i.node].type}`)}</span> {summary(draft.nodes[i.node])}
            {count > 0 && <span class="error"> {t("admin.ivr.nodeProblems", { count })}</span>}
          </button>
        )}
        {i.kind === "link" && (
          <button type="button" class="link-button ivr-link" onClick={() => select(i.node)}>
            {t("admin.ivr.linkTo", { id: i.node })}
          </button>
        )}
        {i.kind === "missing" && <span class="error">{t("admin.ivr.missing", { id: i.node })}</span>}
        {i.children.length > 0 && <ul>{i.children.map(item)}</ul>}
      </li>
    );
  };

  return (
    <form
      class="admin-form ivr-editor"
      aria-labelledby="ivr-editor-title"
      data-testid="ivr-editor"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <h3 id="ivr-editor-title">{saved ? t("admin.ivr.editTitle", { name: saved.name, version }) : t("admin.ivr.new")}</h3>
      <fieldset class="ivr-settings">
        <legend>{t("admin.ivr.flowSettings")}</legend>
        {flowField("name", t("admin.ivr.name"), <input type="text" required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} {...attrs("name")} />)}
        {flowField("id", t("admin.ivr.flowId"), <input type="text" value={draft.id} onInput={setDef("id")} {...attrs("id")} />)}
        {flowField("language", t("admin.ivr.language"), <input type="text" size={6} value={String(draft.language ?? "")} onInput={setDef("language")} {...attrs("language")} />)}
        {flowField("timezone", t("admin.ivr.timezone"), <input type="text" value={String(draft.timezone ?? "")} onInput={setDef("timezone")} {...attrs("timezone")} />)}
        {flowField(
          "start",
          t("admin.ivr.start"),
          <select value={draft.start} onChange={setDef("start")} {...attrs("start")}>
            {Object.keys(draft.nodes).map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>,
        )}
      </fieldset>
      <div class="ivr-layout">
        <section class="ivr-tree" aria-labelledby="ivr-tree-title" data-testid="ivr-tree">
          <h4 id="ivr-tree-title">{t("admin.ivr.tree")}</h4>
          <p class="muted">{t("admin.ivr.treeHelp")}</p>
          <ul>{roots.slice(0, 1).map(item)}</ul>
          {unreachable.length > 0 && (
            <>
              <h5>{t("admin.ivr.unreachable")}</h5>
              <ul>{roots.slice(1).map(item)}</ul>
            </>
          )}
        </section>
        {node && (
          <section class="ivr-node-panel" aria-labelledby="ivr-node-title" data-testid="ivr-node" data-node={selected}>
            <h4 id="ivr-node-title" tabIndex={-1} ref={panel}>
              {t("admin.ivr.nodeTitle", { id: selected, type: t(`admin.ivr.type.${node.type}`) })}
            </h4>
            {nodeErrors[""] && (
              <p class="error" data-field-error="node">
                {nodeErrors[""]}
              </p>
            )}
            <label>
              {t("admin.ivr.nodeId")}
              <input type="text" value={rename} aria-invalid={!!nodeErrors.id} aria-describedby="ivr-node-id-error" onInput={(e) => setRename((e.target as HTMLInputElement).value)} onBlur={applyRename} onKeyDown={(e) => e.key === "Enter" && (e.preventDefault(), applyRename())} />
              {nodeErrors.id && (
                <span id="ivr-node-id-error" class="error field-error">
                  {nodeErrors.id}
                </span>
              )}
            </label>
            <IvrNodeFields flow={draft} id={selected} node={node} queues={queues} audio={audio} errors={nodeErrors} onChange={change} />
            <button type="button" disabled={Object.keys(draft.nodes).length < 2} onClick={() => remove(selected)}>
              {t("admin.ivr.removeNode", { id: selected })}
            </button>
          </section>
        )}
      </div>
      <AudioUpload id="ivr-audio" onUploaded={onAudio} />
      {status && (
        <p role="status" data-testid="ivr-status">
          {status}
        </p>
      )}
      {problems.length > 0 && (
        <div class="error" role="alert" data-testid="ivr-problems">
          <p>{t("admin.ivr.problems")}</p>
          <ul>
            {problems.map((p) => (
              <li key={`${p.node}.${p.field}`}>
                <button type="button" class="link-button" onClick={() => select(p.node)}>
                  {t("admin.ivr.problemAt", { node: p.node, field: p.field || "—" })}
                </button>{" "}
                {p.message}
              </li>
            ))}
          </ul>
        </div>
      )}
      {conflict !== null && (
        <div class="error" role="alert" data-testid="ivr-conflict">
          <p>{t("admin.ivr.conflict", { version: conflict })}</p>
          <div class="inline">
            <button type="button" class="primary" onClick={() => void reload(true).catch((e) => setRefusals(refusalsOf(e)))}>
              {t("admin.ivr.reapply")}
            </button>
            <button type="button" onClick={() => void reload(false).catch((e) => setRefusals(refusalsOf(e)))}>
              {t("admin.ivr.discard")}
            </button>
          </div>
        </div>
      )}
      <FormError errors={refusals.flow} />
      <div class="inline">
        <button type="submit" class="primary" disabled={busy}>
          {t("admin.save")}
        </button>
        <button type="button" onClick={onCancel}>
          {t("admin.cancel")}
        </button>
      </div>
    </form>
  );
}
