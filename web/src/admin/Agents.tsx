import { useEffect, useState } from "preact/hooks";
import { api, ApiError, ok, type Schemas } from "../api/client";
import { t } from "../i18n";
import { blendingDraft, blendingJson, workingHoursDraft, workingHoursJson, type BlendingDraft, type WorkingHoursDraft } from "./agentSettings";
import { numberOrNull, skillsOf, words } from "./fields";
import { errorsOf, FieldError, FormError, OtherErrors, type Errors } from "./Problem";
import { errorUnder, WEEKDAYS, withoutErrors } from "./queueSettings";
import { SipLogin } from "./SipLogin";

type User = Schemas["UserOut"];
type Definition = Schemas["AgentDefinition"];
type QueueView = Schemas["QueueView"];
const LEVELS = [1, 2, 3, 4, 5];
const CHANNELS = ["voice", "chat", "email"];

interface Draft {
  skills: { name: string; level: number }[];
  languages: string;
  capacity: Record<string, string>;
  queues: Record<string, string>; // queue id -> membership priority; absent: not a member
  blending: BlendingDraft;
  workingHours: WorkingHoursDraft;
  kept: Pick<Definition, "attributes">;
}

/** A message under an input, for a field or any part of it ("working_hours.mon.0.1"). */
function Message({ field, errors }: { field: string; errors: Errors }) {
  const message = errorUnder(errors, field);
  if (!message) return null;
  return (
    <span id={`agent-${field}-error`} class="error field-error" data-field-error={field}>
      {message}
    </span>
  );
}

function fieldAttrs(field: string, errors: Errors) {
  const invalid = !!errorUnder(errors, field);
  return { "aria-invalid": invalid, "aria-describedby": invalid ? `agent-${field}-error` : undefined, "data-field": field };
}

function draftOf(d: Definition | null): Draft {
  const capacity: Record<string, string> = { voice: "1", chat: "3", email: "2" };
  if (d) for (const c of CHANNELS) capacity[c] = "0";
  for (const [c, n] of Object.entries(d?.capacity ?? {})) capacity[c] = String(n);
  return {
    skills: Object.entries(d?.skills ?? {}).map(([name, level]) => ({ name, level })),
    languages: (d?.languages ?? []).join(", "),
    capacity,
    queues: Object.fromEntries(Object.entries(d?.queues ?? {}).map(([q, p]) => [q, String(p)])),
    blending: blendingDraft(d?.blending, Object.keys(capacity)),
    workingHours: workingHoursDraft(d?.working_hours),
    kept: { attributes: d?.attributes ?? {} },
  };
}

/** An agent's routing profile: skills with levels, languages, capacity per channel, blending,
 * working hours and queues; below it the agent's SIP login for softphones. */
export function Agents() {
  const [users, setUsers] = useState<User[]>([]);
  const [queues, setQueues] = useState<QueueView[]>([]);
  const [userId, setUserId] = useState("");
  const [draft, setDraft] = useState<Draft | null>(null);
  const [hasProfile, setHasProfile] = useState(false);
  const [timezone, setTimezone] = useState("UTC");
  const [errors, setErrors] = useState<Errors>({});
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    Promise.all([ok(api.GET("/api/v1/users")), ok(api.GET("/api/v1/routing/queues"))])
      .then(([u, q]) => {
        setUsers(u.filter((x) => x.active));
        setQueues(q);
      })
      .catch((e) => setErrors(errorsOf(e)));
  }, []);

  async function open(id: string) {
    setUserId(id);
    setErrors({});
    setSaved(false);
    setDraft(null);
    if (!id) return;
    try {
      const view = await ok(api.GET("/api/v1/routing/agents/{user_id}", { params: { path: { user_id: id } } }));
      setHasProfile(true);
      setTimezone(view.definition.timezone);
      setDraft(draftOf(view.definition));
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        setHasProfile(false);
        // The profile takes the user's time zone when it is created.
        setTimezone(users.find((u) => u.id === id)?.timezone ?? "UTC");
        setDraft(draftOf(null));
      } else setErrors(errorsOf(e));
    }
  }

  async function save(d: Draft) {
    setBusy(true);
    setErrors({});
    setSaved(false);
    try {
      const capacity: Record<string, number> = {};
      for (const [c, n] of Object.entries(d.capacity)) capacity[c] = numberOrNull(n) ?? 0;
      const memberships: Record<string, number> = {};
      for (const [q, p] of Object.entries(d.queues)) memberships[q] = numberOrNull(p) ?? 0;
      const view = await ok(
        api.PUT("/api/v1/routing/agents/{user_id}", {
          params: { path: { user_id: userId } },
          body: {
            ...d.kept,
            skills: skillsOf(d.skills),
            languages: words(d.languages),
            capacity,
            queues: memberships,
            blending: blendingJson(d.blending, Object.keys(d.capacity)),
            working_hours: workingHoursJson(d.workingHours),
          },
        }),
      );
      setTimezone(view.timezone);
      setDraft(draftOf(view));
      setHasProfile(true);
      setSaved(true);
    } catch (e) {
      setErrors(errorsOf(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="admin-agents-title" data-testid="admin-agents">
      <h2 id="admin-agents-title">{t("admin.agents.title")}</h2>
      <label for="admin-agent-user">{t("admin.agents.user")}</label>{" "}
      <select id="admin-agent-user" value={userId} onChange={(e) => void open((e.target as HTMLSelectElement).value)}>
          <option value="">{t("admin.agents.choose")}</option>
          {users.map((u) => (
            <option key={u.id} value={u.id}>
              {u.display_name} ({u.username})
            </option>
          ))}
      </select>
      {draft && (
        <form
          class="admin-form"
          aria-label={t("admin.agents.profile")}
          onSubmit={(e) => {
            e.preventDefault();
            void save(draft);
          }}
        >
          {!hasProfile && <p class="muted">{t("admin.agents.noProfile")}</p>}
          <fieldset>
            <legend>{t("admin.agents.skills")}</legend>
            {draft.skills.map((row, i) => (
              <div class="inline" key={i} data-skill-row={i}>
                <label class="inline">
                  {t("admin.agents.skillName")}
                  <input
                    type="text"
                    value={row.name}
                    onInput={(e) => {
                      const skills = [...draft.skills];
                      skills[i] = { ...row, name: (e.target as HTMLInputElement).value };
                      setDraft({ ...draft, skills });
                    }}
                  />
                </label>
                <label class="inline">
                  {t("admin.agents.level")}
                  <select
                    value={String(row.level)}
                    onChange={(e) => {
                      const skills = [...draft.skills];
                      skills[i] = { ...row, level: Number((e.target as HTMLSelectElement).value) };
                      setDraft({ ...draft, skills });
                    }}
                  >
                    {LEVELS.map((l) => (
                      <option key={l} value={l}>
                        {l}
                      </option>
                    ))}
                  </select>
                </label>
                <button type="button" onClick={() => setDraft({ ...draft, skills: draft.skills.filter((_, j) => j !== i) })}>
                  {t("admin.agents.removeSkill", { name: row.name || i + 1 })}
                </button>
              </div>
            ))}
            <button type="button" onClick={() => setDraft({ ...draft, skills: [...draft.skills, { name: "", level: 3 }] })}>
              {t("admin.agents.addSkill")}
            </button>
          </fieldset>
          <label>
            {t("admin.agents.languages")}
            <input type="text" value={draft.languages} onInput={(e) => setDraft({ ...draft, languages: (e.target as HTMLInputElement).value })} aria-describedby="agent-languages-error" />
            <FieldError id="agent-languages-error" errors={errors} name="languages" />
          </label>
          <fieldset>
            <legend>{t("admin.agents.capacity")}</legend>
            {Object.entries(draft.capacity).map(([channel, n]) => (
              <label key={channel} class="inline">
                {t("admin.agents.capacityOf", { channel })}
                <input
                  type="number"
                  min={0}
                  max={100}
                  value={n}
                  onInput={(e) => setDraft({ ...draft, capacity: { ...draft.capacity, [channel]: (e.target as HTMLInputElement).value } })}
                />
              </label>
            ))}
          </fieldset>
          <fieldset>
            <legend>{t("admin.agents.queues")}</legend>
            {queues.length === 0 && <p class="muted">{t("admin.queues.none")}</p>}
            {queues.map(({ definition: q }) => {
              const member = q.id in draft.queues;
              return (
                <div class="inline" key={q.id}>
                  <label class="inline">
                    <input
                      type="checkbox"
                      checked={member}
                      onChange={(e) => {
                        const next = { ...draft.queues };
                        if ((e.target as HTMLInputElement).checked) next[q.id] = "1";
                        else delete next[q.id];
                        setDraft({ ...draft, queues: next });
                      }}
                    />
                    {q.name || q.id}
                  </label>
                  {member && (
                    <label class="inline">
                      {t("admin.agents.membershipPriority", { queue: q.name || q.id })}
                      <input type="number" min={0} max={1000} value={draft.queues[q.id]} onInput={(e) => setDraft({ ...draft, queues: { ...draft.queues, [q.id]: (e.target as HTMLInputElement).value } })} />
                    </label>
                  )}
                </div>
              );
            })}
          </fieldset>
          <fieldset data-field="blending">
            <legend>{t("admin.agents.blending")}</legend>
            <p class="muted" id="agent-blending-help">
              {t("admin.agents.blendingHelp")}
            </p>
            {Object.keys(draft.capacity).map((held) => (
              <fieldset key={held} class="inline" aria-describedby="agent-blending-help">
                <legend>{t("admin.agents.blendingWhile", { channel: held })}</legend>
                {Object.keys(draft.capacity)
                  .filter((c) => c !== held)
                  .map((channel) => (
                    <label key={channel} class="inline">
                      <input
                        type="checkbox"
                        checked={draft.blending[held]?.includes(channel) ?? false}
                        onChange={(e) => {
                          const allowed = (draft.blending[held] ?? []).filter((c) => c !== channel);
                          if ((e.target as HTMLInputElement).checked) allowed.push(channel);
                          setErrors(withoutErrors(errors, "blending"));
                          setDraft({ ...draft, blending: { ...draft.blending, [held]: allowed } });
                        }}
                        {...fieldAttrs("blending", errors)}
                      />
                      {channel}
                    </label>
                  ))}
              </fieldset>
            ))}
            <Message field="blending" errors={errors} />
          </fieldset>
          <fieldset>
            <legend>{t("admin.agents.workingHours", { timezone })}</legend>
            <p class="muted" id="agent-hours-help">
              {t("admin.agents.workingHoursHelp", { timezone })}
            </p>
            {WEEKDAYS.map((day) => (
              <label key={day}>
                {t(`admin.queues.hours.day.${day}`)}
                <input
                  type="text"
                  value={draft.workingHours[day]}
                  placeholder={t("admin.agents.notWorking")}
                  onInput={(e) => {
                    setErrors(withoutErrors(errors, `working_hours.${day}`));
                    setDraft({ ...draft, workingHours: { ...draft.workingHours, [day]: (e.target as HTMLInputElement).value } });
                  }}
                  {...fieldAttrs(`working_hours.${day}`, errors)}
                  aria-describedby={[errorUnder(errors, `working_hours.${day}`) ? `agent-working_hours.${day}-error` : "", "agent-hours-help"].filter(Boolean).join(" ")}
                />
                <Message field={`working_hours.${day}`} errors={errors} />
              </label>
            ))}
            {/* A refusal of the hours as a whole (not of one day's). */}
            {errors.working_hours && <Message field="working_hours" errors={errors} />}
          </fieldset>
          <OtherErrors errors={errors} shown={(n) => n === "languages" || n === "blending" || n.startsWith("blending.") || n.startsWith("working_hours")} />
          <div class="inline">
            <button type="submit" class="primary" disabled={busy}>
              {t("admin.save")}
            </button>
            {saved && (
              <span role="status" data-testid="agent-saved">
                {t("admin.saved")}
              </span>
            )}
          </div>
        </form>
      )}
      <FormError errors={errors} />
      {userId && draft && <SipLogin key={userId} userId={userId} username={users.find((u) => u.id === userId)?.username ?? ""} />}
    </section>
  );
}
