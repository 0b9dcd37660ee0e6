import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, ApiError, ok, type Schemas } from "../api/client";
import { t } from "../i18n";
import { numberOrNull } from "./fields";
import { errorsOf, FieldError, FormError, OtherErrors, type Errors } from "./Problem";
import { DeletedQueues } from "./DeletedQueues";
import { QueueHistory } from "./QueueHistory";
import { QueueVoicePolicy } from "./QueueVoicePolicy";
import { QueueSettings, SETTINGS_FIELDS, type QueueSettingsDraft } from "./QueueSettings";
import { emptyHours, hoursDraft, hoursJson, overflowDraft, overflowJson, withoutErrors } from "./queueSettings";
import { RuleEditor, type RuleState } from "./RuleEditor";
import { WhatIf } from "./WhatIf";
import { skillNames } from "./ruleCompletion";

type QueueView = Schemas["QueueView"];
type Definition = Schemas["QueueDefinition"];
type Step = Definition["steps"] extends (infer S)[] | undefined ? S : never;
const CHANNELS = ["voice", "chat", "email"];

interface StepDraft {
  target: string;
  timeout: string;
  rest: Partial<Step>; // what the form does not edit (overflow) is kept as it was
}

interface Draft {
  id: string;
  isNew: boolean;
  version: number | null;
  name: string;
  channels: string[];
  priority: string;
  slSeconds: string;
  slPercent: string;
  offerTimeout: string;
  settings: QueueSettingsDraft;
  steps: StepDraft[];
  original: Partial<Definition>;
}

const NO_ACTION = { kind: "", queueId: "", message: "" } as const;
const BROWSER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

function settingsOf(d: Partial<Definition>): QueueSettingsDraft {
  return {
    hours: hoursDraft(d.hours, BROWSER_ZONE),
    onClosed: overflowDraft(d.on_closed),
    overflowWaitingOnClose: !!d.overflow_waiting_on_close,
    maxWait: d.max_wait_seconds == null ? "" : String(d.max_wait_seconds),
    onMaxWait: overflowDraft(d.on_max_wait),
    maxSize: d.max_size == null ? "" : String(d.max_size),
    onFull: overflowDraft(d.on_full),
    wrapUp: d.wrap_up_seconds == null ? "" : String(d.wrap_up_seconds),
    wrapUpExtension: d.wrap_up_extension_seconds == null ? "" : String(d.wrap_up_extension_seconds),
    dispositionRequired: !!d.disposition_required,
  };
}

const EMPTY: Draft = {
  id: "",
  isNew: true,
  version: null,
  name: "",
  channels: ["chat"],
  priority: "0",
  slSeconds: "20",
  slPercent: "80",
  offerTimeout: "30",
  settings: { hours: emptyHours(BROWSER_ZONE), onClosed: { ...NO_ACTION }, overflowWaitingOnClose: false, maxWait: "", onMaxWait: { ...NO_ACTION }, maxSize: "", onFull: { ...NO_ACTION }, wrapUp: "", wrapUpExtension: "", dispositionRequired: false },
  steps: [{ target: "", timeout: "", rest: {} }],
  original: {},
};

function draftOf(view: QueueView): Draft {
  const d = view.definition;
  return {
    id: d.id,
    isNew: false,
    version: view.version,
    name: d.name ?? "",
    channels: [...d.channels],
    priority: String(d.priority ?? 0),
    slSeconds: String(d.service_level_seconds ?? 20),
    slPercent: String(Math.round((d.service_level_target ?? 0.8) * 1000) / 10),
    offerTimeout: String(d.offer_timeout_seconds ?? 30),
    settings: settingsOf(d),
    steps: (d.steps ?? [{}]).map((s) => ({ target: s.target ?? "", timeout: s.timeout_seconds == null ? "" : String(s.timeout_seconds), rest: s })),
    original: d,
  };
}

function bodyOf(d: Draft): Definition {
  const { id: _id, ...kept } = d.original as Definition;
  const percent = numberOrNull(d.slPercent);
  return {
    ...kept,
    id: d.id.trim(),
    name: d.name,
    channels: d.channels,
    priority: numberOrNull(d.priority) ?? 0,
    service_level_seconds: numberOrNull(d.slSeconds) ?? 20,
    service_level_target: percent === null ? 0.8 : percent / 100,
    offer_timeout_seconds: numberOrNull(d.offerTimeout) ?? 30,
    hours: hoursJson(d.settings.hours),
    // Hours switched off: nothing happens at closing (the API refuses these without hours).
    on_closed: d.settings.hours.enabled ? overflowJson(d.settings.onClosed) : null,
    overflow_waiting_on_close: d.settings.hours.enabled && d.settings.overflowWaitingOnClose,
    max_wait_seconds: numberOrNull(d.settings.maxWait),
    on_max_wait: overflowJson(d.settings.onMaxWait),
    max_size: numberOrNull(d.settings.maxSize),
    on_full: overflowJson(d.settings.onFull),
    wrap_up_seconds: numberOrNull(d.settings.wrapUp),
    wrap_up_extension_seconds: numberOrNull(d.settings.wrapUpExtension),
    disposition_required: d.settings.dispositionRequired,
    steps: d.steps.map((s) => ({ ...s.rest, target: s.target.trim() === "" ? null : s.target, timeout_seconds: numberOrNull(s.timeout) })),
  };
}

const SHOWN = new Set(["id", "name", "channels", "priority", "service_level_seconds", "service_level_target", "offer_timeout_seconds"]);
const shown = (n: string) => SHOWN.has(n) || SETTINGS_FIELDS.some((f) => n === f || n.startsWith(`${f}.`)) || /^steps\.\d+\.(target|timeout_seconds)$/.test(n);

/** Queues: channels, priority, service level, offer timeout, hours and holidays (listed and
 * by country), overflow when closed, too long or full, wrap-up, disposition and the steps with
 * their rules. A save names the version it was edited on: a queue someone else
 * changed since is refused (409 version_conflict) and shown, never overwritten. */
export function Queues() {
  const [queues, setQueues] = useState<QueueView[]>([]);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [rules, setRules] = useState<RuleState[]>([]);
  const [errors, setErrors] = useState<Errors>({});
  const [conflict, setConflict] = useState(false);
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState("");
  const [history, setHistory] = useState<string | null>(null);
  const [restored, setRestored] = useState("");
  const [whatIf, setWhatIf] = useState<Definition | null>(null);
  const [skills, setSkills] = useState<string[]>([]);
  const [deletedKey, setDeletedKey] = useState(0);

  const reload = async () => {
    setQueues(await ok(api.GET("/api/v1/routing/queues")));
    setDeletedKey((k) => k + 1);
  };
  useEffect(() => void reload().catch((e) => setErrors(errorsOf(e))), []);
  // The tenant's skill names for the rule editor's completion (agents' routing profiles).
  useEffect(() => {
    ok(api.GET("/api/v1/routing/agents"))
      .then((agents) => setSkills(skillNames(agents)))
      .catch(() => setSkills([]));
  }, []);

  function edit(d: Draft | null) {
    setErrors({});
    setConflict(false);
    setRules(d ? d.steps.map(() => "ok") : []);
    setDraft(d);
  }

  async function reopen(id: string) {
    const view = await ok(api.GET("/api/v1/routing/queues/{queue_id}", { params: { path: { queue_id: id } } }));
    edit(draftOf(view));
  }

  async function save(d: Draft) {
    setBusy(true);
    setErrors({});
    setConflict(false);
    setSaved("");
    try {
      const body = bodyOf(d);
      if (d.isNew) await ok(api.POST("/api/v1/routing/queues", { body }));
      else await ok(api.PUT("/api/v1/routing/queues/{queue_id}", { params: { path: { queue_id: d.id } }, body: { ...body, version: d.version } }));
      setSaved(d.id);
      edit(null);
      await reload();
    } catch (e) {
      if (e instanceof ApiError && e.code === "version_conflict") setConflict(true);
      setErrors(errorsOf(e));
    } finally {
      setBusy(false);
    }
  }

  const setStep = (i: number, change: Partial<StepDraft>) => {
    if (!draft) return;
    const steps = [...draft.steps];
    steps[i] = { ...steps[i], ...change };
    setDraft({ ...draft, steps });
  };
  const set = (name: keyof Draft) => (e: Event) => setDraft({ ...(draft as Draft), [name]: (e.target as HTMLInputElement).value });
  const invalid = rules.some((r) => r !== "ok");
  const text = (name: keyof Draft, label: string, field: string, type: "number" | "text" = "number", extra: Record<string, unknown> = {}) => {
    const attrs = {
      type,
      value: draft?.[name] as string,
      onInput: set(name),
      "aria-invalid": !!errors[field],
      "aria-describedby": `queue-${field}-error`,
      "data-field": field,
      ...extra,
    } as JSX.IntrinsicElements["input"];
    return (
      <label>
        {label}
        <input {...attrs} />
        <FieldError id={`queue-${field}-error`} errors={errors} name={field} />
      </label>
    );
  };

  return (
    <section aria-labelledby="admin-queues-title" data-testid="admin-queues">
      <h2 id="admin-queues-title">{t("admin.queues.title")}</h2>
      {queues.length === 0 ? (
        <p class="muted">{t("admin.queues.none")}</p>
      ) : (
        <table>
          <caption class="visually-hidden">{t("admin.queues.title")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("admin.queues.id")}</th>
              <th scope="col">{t("admin.queues.name")}</th>
              <th scope="col">{t("admin.queues.channels")}</th>
              <th scope="col">{t("admin.queues.priority")}</th>
              <th scope="col">{t("admin.queues.steps")}</th>
              <th scope="col">{t("admin.queues.version")}</th>
              <th scope="col">{t("admin.actions")}</th>
            </tr>
          </thead>
          <tbody>
            {queues.map((q) => (
              <tr key={q.definition.id} data-queue={q.definition.id}>
                <td>{q.definition.id}</td>
                <td>{q.definition.name}</td>
                <td>{q.definition.channels.join(", ")}</td>
                <td>{q.definition.priority}</td>
                <td>{(q.definition.steps ?? []).length}</td>
                <td>{q.version}</td>
                <td>
                  <button type="button" onClick={() => edit(draftOf(q))}>
                    {t("admin.edit", { name: q.definition.name || q.definition.id })}
                  </button>{" "}
                  <button
                    type="button"
                    aria-pressed={history === q.definition.id}
                    onClick={() => {
                      setRestored("");
                      setHistory(history === q.definition.id ? null : q.definition.id);
                    }}
                  >
                    {t("admin.history.open", { name: q.definition.name || q.definition.id })}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {saved && (
        <p role="status" data-testid="queue-saved">
          {t("admin.queues.saved", { id: saved })}
        </p>
      )}
      {history && (
        <QueueHistory
          key={history}
          queueId={history}
          current={queues.find((q) => q.definition.id === history)?.version ?? null}
          onClose={() => setHistory(null)}
          onRestored={(from, version) => {
            const id = history;
            setRestored(t("admin.history.restored", { id, from, version }));
            // The form opens on the queue as restored: what it holds now, for a next edit.
            void reload()
              .then(() => reopen(id))
              .catch((e) => setErrors(errorsOf(e)));
          }}
        />
      )}
      {restored && (
        <p role="status" data-testid="queue-restored">
          {restored}
        </p>
      )}
      <DeletedQueues
        key={deletedKey}
        onRestored={(id, version) => {
          setRestored(t("admin.queues.deleted.restoredAs", { id, version }));
          void reload().catch((e) => setErrors(errorsOf(e)));
        }}
      />
      {draft === null ? (
        <button type="button" onClick={() => edit({ ...EMPTY, steps: [...EMPTY.steps] })}>
          {t("admin.queues.new")}
        </button>
      ) : (
        <form
          class="admin-form"
          aria-labelledby="admin-queue-form-title"
          data-testid="queue-form"
          // An input changed is no longer marked with the refusal of its old value.
          onInput={(e) => setErrors((now) => withoutErrors(now, (e.target as HTMLElement).dataset?.field))}
          onSubmit={(e) => {
            e.preventDefault();
            if (!invalid) void save(draft);
          }}
        >
          <h3 id="admin-queue-form-title">
            {draft.isNew ? t("admin.queues.new") : t("admin.queues.editTitle", { id: draft.id, version: draft.version })}
          </h3>
          {draft.isNew && text("id", t("admin.queues.id"), "id", "text", { required: true })}
          {text("name", t("admin.queues.name"), "name", "text")}
          <fieldset aria-describedby="queue-channels-error">
            <legend>{t("admin.queues.channels")}</legend>
            {[...new Set([...CHANNELS, ...draft.channels])].map((c) => (
              <label key={c} class="inline">
                <input
                  type="checkbox"
                  checked={draft.channels.includes(c)}
                  onChange={(e) => {
                    const on = (e.target as HTMLInputElement).checked;
                    setDraft({ ...draft, channels: on ? [...draft.channels, c] : draft.channels.filter((x) => x !== c) });
                  }}
                />
                {c}
              </label>
            ))}
            <FieldError id="queue-channels-error" errors={errors} name="channels" />
          </fieldset>
          {text("priority", t("admin.queues.priority"), "priority", "number", { min: -1000, max: 1000 })}
          {text("slPercent", t("admin.queues.slTarget"), "service_level_target", "number", { min: 1, max: 100, step: "any" })}
          {text("slSeconds", t("admin.queues.slSeconds"), "service_level_seconds", "number", { min: 1, step: "any" })}
          {text("offerTimeout", t("admin.queues.offerTimeout"), "offer_timeout_seconds", "number", { min: 1, step: "any" })}
          <QueueSettings value={draft.settings} onChange={(settings) => setDraft({ ...draft, settings })} errors={errors} queues={queues.map((q) => q.definition.id).filter((id) => id !== draft.id)} />
          <fieldset>
            <legend>{t("admin.queues.steps")}</legend>
            <p class="muted">{t("admin.queues.stepsHelp")}</p>
            {draft.steps.map((step, i) => (
              <div class="queue-step" key={i} data-step={i}>
                <RuleEditor
                  id={`queue-step-${i}-rule`}
                  label={t("admin.queues.rule", { n: i + 1 })}
                  value={step.target}
                  skills={skills}
                  serverError={errors[`steps.${i}.target`]}
                  onChange={(target) => setStep(i, { target })}
                  onState={(state) =>
                    setRules((now) => {
                      const next = [...now];
                      next[i] = state;
                      return next;
                    })
                  }
                />
                <label>
                  {t("admin.queues.stepTimeout", { n: i + 1 })}
                  <input type="number" min={1} step="any" value={step.timeout} onInput={(e) => setStep(i, { timeout: (e.target as HTMLInputElement).value })} aria-describedby={`queue-step-${i}-timeout-error`} />
                  <FieldError id={`queue-step-${i}-timeout-error`} errors={errors} name={`steps.${i}.timeout_seconds`} />
                </label>
                {draft.steps.length > 1 && (
                  <button
                    type="button"
                    onClick={() => {
                      setDraft({ ...draft, steps: draft.steps.filter((_, j) => j !== i) });
                      setRules(rules.filter((_, j) => j !== i));
                    }}
                  >
                    {t("admin.queues.removeStep", { n: i + 1 })}
                  </button>
                )}
              </div>
            ))}
            <button
              type="button"
              onClick={() => {
                setDraft({ ...draft, steps: [...draft.steps, { target: "", timeout: "", rest: {} }] });
                setRules([...rules, "ok"]);
              }}
            >
              {t("admin.queues.addStep")}
            </button>
          </fieldset>
          <OtherErrors errors={errors} shown={shown} />
          {conflict && (
            <div class="error" role="alert" data-testid="queue-conflict">
              <p>{t("admin.conflict")}</p>
              <button type="button" onClick={() => void reopen(draft.id).catch((e) => setErrors(errorsOf(e)))}>
                {t("admin.reload")}
              </button>
            </div>
          )}
          <div class="inline">
            <button type="submit" class="primary" disabled={busy || invalid} aria-describedby={invalid ? "queue-invalid" : undefined}>
              {t("admin.save")}
            </button>
            <button type="button" onClick={() => edit(null)}>
              {t("admin.cancel")}
            </button>
            {!draft.isNew && (
              <button type="button" disabled={invalid} onClick={() => setWhatIf(bodyOf(draft))}>
                {t("admin.whatif.open")}
              </button>
            )}
            {invalid && (
              <span id="queue-invalid" class="muted">
                {t("admin.queues.fixRules")}
              </span>
            )}
          </div>
        </form>
      )}
      {/* A queue that takes calls has a voice policy: its own object, saved on its own. */}
      {draft !== null && !draft.isNew && draft.channels.includes("voice") && <QueueVoicePolicy key={draft.id} queueId={draft.id} queues={queues.map((q) => q.definition.id).filter((id) => id !== draft.id)} />}
      {!conflict && <FormError errors={errors} />}
      {whatIf && <WhatIf key={JSON.stringify(whatIf)} change={whatIf} onClose={() => setWhatIf(null)} />}
    </section>
  );
}
