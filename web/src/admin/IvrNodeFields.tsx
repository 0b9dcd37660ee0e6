import { t } from "../i18n";
import { EXITS, NODE_TYPES, promptsOf, type FlowDefinition, type FlowNode, type NodeType, type PromptItem } from "./ivrTree";

/** How the editor shows each field of a node kind (the server's fields, flow.py). */
type Kind = "prompt" | "text" | "number" | "digit" | "exit" | "queue" | "audio" | "schedule" | "attributes" | "options";
const INPUT: [string, Kind][] = [
  ["min_digits", "number"],
  ["max_digits", "number"],
  ["terminator", "digit"],
  ["first_digit_timeout_s", "number"],
  ["inter_digit_timeout_s", "number"],
  ["retries", "number"],
  ["invalid_prompt", "prompt"],
  ["no_input_prompt", "prompt"],
];
export const FIELDS: Record<NodeType, [string, Kind][]> = {
  menu: [["prompt", "prompt"], ["options", "options"], ["timeout_s", "number"], ["retries", "number"], ["invalid_prompt", "prompt"], ["no_input_prompt", "prompt"], ["on_failure", "exit"]],
  collect: [["prompt", "prompt"], ["store_as", "text"], ["pattern", "text"], ...INPUT, ["next", "exit"], ["on_failure", "exit"]],
  play: [["prompt", "prompt"], ["next", "exit"]],
  hours: [["timezone", "text"], ["schedule", "schedule"], ["open", "exit"], ["closed", "exit"]],
  set: [["attributes", "attributes"], ["next", "exit"]],
  queue: [["prompt", "prompt"], ["queue", "queue"], ["priority", "number"], ["announce_every_s", "number"], ["moh", "audio"], ["callback_key", "digit"], ["callback_prompt", "prompt"], ["max_wait_s", "number"], ["on_timeout", "exit"]],
  voicemail: [["prompt", "prompt"], ["queue", "queue"], ["max_seconds", "number"], ["finish_key", "digit"], ["next", "exit"]],
  callback: [["prompt", "prompt"], ["queue", "queue"], ["caller_key", "digit"], ["other_key", "digit"], ["number_prompt", "prompt"], ["confirm_prompt", "prompt"], ["region", "text"], ["timeout_s", "number"], ["retries", "number"], ["next", "exit"], ["on_failure", "exit"]],
  transfer: [["prompt", "prompt"], ["number", "text"]],
  locate_store: [["prompt", "prompt"], ...INPUT, ["found", "exit"], ["not_found", "exit"], ["on_failure", "exit"]],
  hangup: [["prompt", "prompt"]],
};
const DIGITS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "*", "#"];
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
export const NEW = "+new:"; // an exit select's value that adds a node of a kind

/** What an edit of the node asks of the editor. */
export type NodeChange =
  | { kind: "fields"; node: FlowNode }
  | { kind: "exit"; field: string; target: string } // an existing node
  | { kind: "add"; field: string; type: NodeType } // a new node there
  | { kind: "unlink"; field: string };

interface Props {
  flow: FlowDefinition;
  id: string;
  node: FlowNode;
  queues: string[];
  audio: string[];
  /** Refusals of this node by field ("" for the node as a whole). */
  errors: Record<string, string>;
  onChange: (change: NodeChange) => void;
}

const label = (field: string) => t(`admin.ivr.field.${field}`);
const domId = (id: string, field: string) => `ivr-${id}-${field.replace(/[^A-Za-z0-9_-]/g, "_")}`;

/** The refusal of `field` (or of something inside it: "schedule.mon.0"). */
function errorOf(errors: Record<string, string>, field: string): string | undefined {
  const key = Object.keys(errors).find((k) => k === field || k.startsWith(`${field}.`));
  return key === undefined ? undefined : key === field ? errors[key] : `${key}: ${errors[key]}`;
}

function Err({ id, message }: { id: string; message?: string }) {
  if (!message) return null;
  return (
    <span id={id} class="error field-error" data-field-error={id}>
      {message}
    </span>
  );
}

/** A select of where an exit leads: an existing node, a new node of a kind, or (optional
 * exits) nowhere. */
function ExitSelect(props: { id: string; labelText: string; flow: FlowDefinition; value: string | undefined; required: boolean; error?: string; onPick: (value: string) => void }) {
  const { id, flow, value, required, error } = props;
  return (
    <label>
      {props.labelText}
      <select id={id} value={value ?? ""} aria-invalid={!!error} aria-describedby={`${id}-error`} onChange={(e) => props.onPick((e.target as HTMLSelectElement).value)}>
        {(!required || value === undefined) && <option value="">{t("admin.ivr.noExit")}</option>}
        <optgroup label={t("admin.ivr.existingNodes")}>
          {Object.keys(flow.nodes).map((n) => (
            <option key={n} value={n}>
              {n} ({t(`admin.ivr.type.${flow.nodes[n].type}`)})
            </option>
          ))}
        </optgroup>
        <optgroup label={t("admin.ivr.newNode")}>
          {NODE_TYPES.map((type) => (
            <option key={type} value={`${NEW}${type}`}>
              {t("admin.ivr.newOf", { type: t(`admin.ivr.type.${type}`) })}
            </option>
          ))}
        </optgroup>
      </select>
      <Err id={`${id}-error`} message={error} />
    </label>
  );
}

function PromptEditor(props: { id: string; field: string; value: unknown; audio: string[]; error?: string; onChange: (items: PromptItem[] | undefined) => void }) {
  const items = promptsOf(props.value);
  const set = (list: PromptItem[]) => props.onChange(list.length ? list : undefined);
  const change = (i: number, item: PromptItem) => set(items.map((p, j) => (i === j ? item : p)));
  return (
    <fieldset class="ivr-prompt" data-prompt={props.field} aria-describedby={`${props.id}-error`}>
      <legend>{label(props.field)}</legend>
      {items.map((item, i) => (
        <div class="inline" key={i}>
          {item.wav === undefined ? (
            <>
              <label>
                {t("admin.ivr.say", { n: i + 1 })}
                <input type="text" value={item.say ?? ""} onInput={(e) => change(i, { ...item, say: (e.target as HTMLInputElement).value })} />
              </label>
              <label>
                {t("admin.ivr.sayLanguage", { n: i + 1 })}
                <input type="text" size={5} value={item.language ?? ""} onInput={(e) => {
                  const language = (e.target as HTMLInputElement).value.trim();
                  const { language: _old, ...rest } = item;
                  change(i, language ? { ...rest, language } : rest);
                }} />
              </label>
            </>
          ) : (
            <label>
              {t("admin.ivr.wav", { n: i + 1 })}
              <select value={item.wav} onChange={(e) => change(i, { wav: (e.target as HTMLSelectElement).value })}>
                {[...new Set([item.wav, ...props.audio])].map((a) => (
                  <option key={a} value={a}>
                    {a || t("admin.ivr.chooseAudio")}
                  </option>
                ))}
              </select>
            </label>
          )}
          <button type="button" onClick={() => set(items.filter((_, j) => j !== i))}>
            {t("admin.ivr.removePrompt", { n: i + 1 })}
          </button>
        </div>
      ))}
      <div class="inline">
        <button type="button" onClick={() => set([...items, { say: "" }])}>
          {t("admin.ivr.addSay")}
        </button>
        <button type="button" onClick={() => set([...items, { wav: props.audio[0] ?? "" }])}>
          {t("admin.ivr.addWav")}
        </button>
      </div>
      <Err id={`${props.id}-error`} message={props.error} />
    </fieldset>
  );
}

const list = (value: unknown) => (Array.isArray(value) ? value.map(String).join(", ") : "");
const split = (text: string) => text.split(",").map((s) => s.trim()).filter(Boolean);

function ScheduleEditor(props: { id: string; value: Record<string, unknown>; errors: Record<string, string>; onChange: (schedule: Record<string, unknown>) => void }) {
  const { value, errors } = props;
  const set = (key: string, text: string) => {
    const next = { ...value };
    const items = key === "holiday_calendar" ? text.trim() : split(text);
    if (items.length === 0) delete next[key];
    else next[key] = items;
    props.onChange(next);
  };
  const row = (key: string, text: string, help?: string) => {
    const id = `${props.id}-${key}`;
    const error = errorOf(errors, `schedule.${key}`);
    return (
      <label key={key}>
        {t(`admin.ivr.schedule.${key}`)}
        <input id={id} type="text" value={text} placeholder={help} aria-invalid={!!error} aria-describedby={`${id}-error`} onInput={(e) => set(key, (e.target as HTMLInputElement).value)} />
        <Err id={`${id}-error`} message={error} />
      </label>
    );
  };
  return (
    <fieldset class="ivr-schedule">
      <legend>{label("schedule")}</legend>
      <p class="muted">{t("admin.ivr.schedule.help")}</p>
      {DAYS.map((d) => row(d, list(value[d]), "09:00-17:00"))}
      {row("holidays", list(value.holidays), "2026-12-24, 2026-12-31")}
      {row("closed_dates", list(value.closed_dates), "2026-12-27..2026-12-30")}
      {row("holiday_calendar", typeof value.holiday_calendar === "string" ? value.holiday_calendar : "", "DE-BY")}
    </fieldset>
  );
}

/** The fields of one node, by its kind; every change goes back to the editor as a whole node
 * (or, for an exit, as the link or the new node it asks for). */
export function IvrNodeFields({ flow, id, node, queues, audio, errors, onChange }: Props) {
  const type = node.type as NodeType;
  const set = (field: string, value: unknown) => {
    const next: FlowNode = { ...node };
    if (value === undefined) delete next[field];
    else next[field] = value;
    onChange({ kind: "fields", node: next });
  };
  const pickExit = (field: string) => (value: string) => {
    if (value === "") onChange({ kind: "unlink", field });
    else if (value.startsWith(NEW)) onChange({ kind: "add", field, type: value.slice(NEW.length) as NodeType });
    else onChange({ kind: "exit", field, target: value });
  };
  const required = (field: string) => (EXITS[type] ?? []).some((e) => e.field === field && e.required);

  const field = ([name, kind]: [string, Kind]) => {
    const fid = domId(id, name);
    const error = errorOf(errors, name);
    const common = { id: fid, "aria-invalid": !!error, "aria-describedby": `${fid}-error`, "data-field": name };
    const value = node[name];
    switch (kind) {
      case "prompt":
        return <PromptEditor key={name} id={fid} field={name} value={value} audio={audio} error={error} onChange={(items) => set(name, items)} />;
      case "exit":
        return <ExitSelect key={name} id={fid} labelText={label(name)} flow={flow} value={typeof value === "string" ? value : undefined} required={required(name)} error={error} onPick={pickExit(name)} />;
      case "options":
        return <OptionsEditor key={name} id={fid} flow={flow} options={(value as Record<string, string>) ?? {}} errors={errors} onPick={(digit, target) => pickExit(`options.${digit}`)(target)} />;
      case "schedule":
        return <ScheduleEditor key={name} id={fid} value={(value as Record<string, unknown>) ?? {}} errors={errors} onChange={(s) => set(name, s)} />;
      case "attributes": {
        const text = Object.entries((value as Record<string, unknown>) ?? {}).map(([k, v]) => `${k}=${String(v)}`).join("\n");
        return (
          <label key={name}>
            {label(name)}
            <textarea {...common} rows={3} value={text} onChange={(e) => {
              const pairs = (e.target as HTMLTextAreaElement).value.split("\n").map((l) => l.split("=")).filter((p) => p[0].trim());
              set(name, Object.fromEntries(pairs.map(([k, ...v]) => [k.trim(), v.join("=").trim()])));
            }} />
            <Err id={`${fid}-error`} message={error} />
          </label>
        );
      }
      case "queue":
      case "audio": {
        const choices = kind === "queue" ? queues : audio;
        const current = typeof value === "string" ? value : "";
        return (
          <label key={name}>
            {label(name)}
            <select {...common} value={current} onChange={(e) => set(name, (e.target as HTMLSelectElement).value || undefined)}>
              <option value="">{kind === "queue" ? t("admin.ivr.chooseQueue") : t("admin.ivr.defaultMoh")}</option>
              {[...new Set([...(current ? [current] : []), ...choices])].map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
            <Err id={`${fid}-error`} message={error} />
          </label>
        );
      }
      default: {
        const isNumber = kind === "number";
        const shown = value === undefined || value === null ? "" : String(value);
        return (
          <label key={name}>
            {label(name)}
            <input
              {...(common as Record<string, unknown>)}
              type={(isNumber ? "number" : "text") as "text"}
              step={isNumber ? "any" : undefined}
              maxLength={kind === "digit" ? 1 : undefined}
              size={kind === "digit" ? 2 : undefined}
              value={shown}
              onInput={(e) => {
                const raw = (e.target as HTMLInputElement).value;
                if (raw.trim() === "") set(name, undefined); // the server's default applies
                else set(name, isNumber && Number.isFinite(Number(raw)) ? Number(raw) : raw);
              }}
            />
            <Err id={`${fid}-error`} message={error} />
          </label>
        );
      }
    }
  };

  return (
    <div class="ivr-fields">
      {(FIELDS[type] ?? []).map(field)}
    </div>
  );
}

function OptionsEditor(props: { id: string; flow: FlowDefinition; options: Record<string, string>; errors: Record<string, string>; onPick: (digit: string, target: string) => void }) {
  const { id, flow, options, errors } = props;
  const free = DIGITS.filter((d) => !(d in options));
  return (
    <fieldset class="ivr-options" data-field="options">
      <legend>{label("options")}</legend>
      {Object.entries(options).map(([digit, target]) => (
        <div class="inline" key={digit} data-option={digit}>
          <ExitSelect id={`${id}-${digit === "*" ? "star" : digit === "#" ? "hash" : digit}`} labelText={t("admin.ivr.optionKey", { digit })} flow={flow} value={target} required={false} error={errorOf(errors, `options.${digit}`)} onPick={(v) => props.onPick(digit, v)} />
        </div>
      ))}
      {free.length > 0 && <AddOption id={id} free={free} onAdd={(digit, value) => props.onPick(digit, value)} flow={flow} />}
      <Err id={`${id}-error`} message={errors.options} />
    </fieldset>
  );
}

function AddOption(props: { id: string; free: string[]; flow: FlowDefinition; onAdd: (digit: string, value: string) => void }) {
  const digitId = `${props.id}-new-digit`;
  return (
    <div class="inline ivr-add-option">
      <label>
        {t("admin.ivr.newOptionKey")}
        <select id={digitId}>
          {props.free.map((d) => (
            <option key={d} value={d}>
              {d}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t("admin.ivr.newOptionLeadsTo")}
        <select
          value=""
          onChange={(e) => {
            const select = e.target as HTMLSelectElement;
            const digit = (document.getElementById(digitId) as HTMLSelectElement).value;
            if (select.value) props.onAdd(digit, select.value);
            select.value = "";
          }}
        >
          <option value="">{t("admin.ivr.choose")}</option>
          <optgroup label={t("admin.ivr.newNode")}>
            {NODE_TYPES.map((type) => (
              <option key={type} value={`${NEW}${type}`}>
                {t("admin.ivr.newOf", { type: t(`admin.ivr.type.${type}`) })}
              </option>
            ))}
          </optgroup>
          <optgroup label={t("admin.ivr.existingNodes")}>
            {Object.keys(props.flow.nodes).map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </optgroup>
        </select>
      </label>
    </div>
  );
}
