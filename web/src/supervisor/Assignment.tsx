import { useEffect, useState } from "preact/hooks";
import { api, ok } from "../api/client";
import { useAction } from "../components/Action";
import { t } from "../i18n";
import type { AgentEntry } from "../realtime/types";

const LEVELS = [1, 2, 3, 4, 5];

interface QueueChoice {
  id: string;
  name: string;
}

/** A supervisor moves an agent between queues and changes their skills (PATCH of the routing
 * profile; the API refuses it to agents). The table shows the change when routing's event
 * arrives. */
export function AssignmentEditor({ agent, onDone }: { agent: AgentEntry; onDone: () => void }) {
  const [queues, setQueues] = useState<QueueChoice[] | null>(null);
  const [chosen, setChosen] = useState<Record<string, number>>({});
  const [skills, setSkills] = useState<[string, number][]>([]);
  const [run, busy, error] = useAction();
  const [load, , loadError] = useAction();

  useEffect(() => {
    void load(async () => {
      const [all, profile] = await Promise.all([
        ok(api.GET("/api/v1/routing/queues")),
        ok(api.GET("/api/v1/routing/agents/{user_id}", { params: { path: { user_id: agent.id } } })),
      ]);
      setQueues(all.map((q) => ({ id: q.definition.id, name: q.definition.name })));
      setChosen({ ...profile.definition.queues });
      setSkills(Object.entries(profile.definition.skills));
    });
  }, [agent.id]);

  const save = () =>
    run(async () => {
      const named = skills.filter(([name]) => name.trim());
      await ok(
        api.PATCH("/api/v1/routing/agents/{user_id}", {
          params: { path: { user_id: agent.id } },
          body: { queues: chosen, skills: Object.fromEntries(named.map(([n, l]) => [n.trim(), l])) },
        }),
      );
      onDone();
    });

  return (
    <form
      class="assignment"
      data-testid="assignment"
      aria-label={t("assign.title", { name: agent.name })}
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      {queues === null ? (
        <p role="status">{loadError ?? t("loading")}</p>
      ) : (
        <>
          <fieldset>
            <legend>{t("assign.queues")}</legend>
            {queues.map((q) => (
              <div class="inline" key={q.id}>
                <label class="inline">
                  <input
                    type="checkbox"
                    checked={q.id in chosen}
                    onChange={(e) => {
                      const next = { ...chosen };
                      if ((e.target as HTMLInputElement).checked) next[q.id] = 1;
                      else delete next[q.id];
                      setChosen(next);
                    }}
                  />
                  {q.name}
                </label>
                {q.id in chosen && (
                  <label class="inline">
                    <span class="visually-hidden">{t("assign.priority", { queue: q.name })}</span>
                    <input
                      type="number"
                      min={0}
                      max={1000}
                      value={chosen[q.id]}
                      title={t("assign.priority", { queue: q.name })}
                      onInput={(e) => setChosen({ ...chosen, [q.id]: Number((e.target as HTMLInputElement).value) })}
                    />
                  </label>
                )}
              </div>
            ))}
          </fieldset>
          <fieldset>
            <legend>{t("assign.skills")}</legend>
            {skills.map(([name, level], i) => (
              <div class="inline" key={i}>
                <label>
                  <span class="visually-hidden">{t("assign.skillName")}</span>
                  <input
                    type="text"
                    value={name}
                    maxLength={128}
                    placeholder={t("assign.skillName")}
                    onInput={(e) => setSkills(skills.map((s, j) => (j === i ? [(e.target as HTMLInputElement).value, s[1]] : s)))}
                  />
                </label>
                <label>
                  <span class="visually-hidden">{t("assign.level", { skill: name })}</span>
                  <select
                    value={level}
                    onChange={(e) => setSkills(skills.map((s, j) => (j === i ? [s[0], Number((e.target as HTMLSelectElement).value)] : s)))}
                  >
                    {LEVELS.map((l) => (
                      <option value={l} key={l}>
                        {l}
                      </option>
                    ))}
                  </select>
                </label>
                <button type="button" onClick={() => setSkills(skills.filter((_, j) => j !== i))}>
                  {t("assign.remove", { skill: name })}
                </button>
              </div>
            ))}
            <button type="button" onClick={() => setSkills([...skills, ["", 3]])}>
              {t("assign.addSkill")}
            </button>
          </fieldset>
          <div class="inline">
            <button type="submit" disabled={busy}>
              {t("assign.save")}
            </button>
            <button type="button" onClick={onDone}>
              {t("assign.cancel")}
            </button>
          </div>
        </>
      )}
      {error && (
        <span class="error" role="alert">
          {error}
        </span>
      )}
    </form>
  );
}
