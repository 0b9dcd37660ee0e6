import { useEffect, useState } from "preact/hooks";
import { api, ApiError, ok } from "../api/client";
import { type Errors, errorsOf, FieldError, FormError, OtherErrors } from "../admin/Problem";
import { Header } from "../components/Header";
import { useDeskContext } from "../context";
import { useDesk } from "../hooks";
import { reloadOnResync } from "../realtime/resync";
import { formatDateTime, t } from "../i18n";
import { type Answer, answersBody, contactSuggestions, type Evaluation, formatScore, type Scorecard, scoreOf } from "./quality";

const SHOWN = new Set(["scorecard_id", "contact_id", "agent_id", "comment"]);

/** The quality screen (docs/supervisor-guide.md, "Quality evaluations"): grade an agent's
 * ended contact with a scorecard (the score is shown as the answers are given, and the saved
 * one is the server's), and the evaluations of an agent. Scorecards are kept in the admin
 * console. */
export function Quality({ onLanguage }: { onLanguage: () => void }) {
  const [agentId, setAgentId] = useState("");
  const [changed, setChanged] = useState(0);
  return (
    <>
      <a class="skip" href="#main">
        {t("nav.skip")}
      </a>
      <Header onLanguage={onLanguage} />
      <main id="main" class="console" tabIndex={-1}>
        <h1>{t("quality.title")}</h1>
        <GradeForm agentId={agentId} onAgent={setAgentId} onSaved={() => setChanged(changed + 1)} />
        <Evaluations agentId={agentId} changed={changed} />
      </main>
    </>
  );
}

function useAgents(): [string, string][] {
  const { store } = useDeskContext();
  useDesk(store);
  const agents = store.state?.routing.agents ?? {};
  return Object.entries(agents)
    .map(([id, a]): [string, string] => [id, a.name])
    .sort(([, a], [, b]) => a.localeCompare(b));
}

function GradeForm({ agentId, onAgent, onSaved }: { agentId: string; onAgent: (id: string) => void; onSaved: () => void }) {
  const agents = useAgents();
  const [cards, setCards] = useState<Scorecard[]>([]);
  const [cardId, setCardId] = useState("");
  const [contactId, setContactId] = useState("");
  const [contacts, setContacts] = useState<string[]>([]);
  const [answers, setAnswers] = useState<Record<string, Answer>>({});
  const [comment, setComment] = useState("");
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState<Evaluation | null>(null);

  useEffect(() => {
    ok(api.GET("/api/v1/quality/scorecards"))
      .then((found) => setCards(found.filter((c) => c.enabled)))
      .catch((e) => setErrors({ "": e instanceof ApiError ? e.message : t("error.network") }));
  }, []);
  useEffect(() => {
    // The agent's recent ended contacts, offered as the contact to grade.
    contactSuggestions(agentId, (query) => ok(api.GET("/api/v1/crm/interactions", { params: { query } })))
      .then(setContacts)
      .catch(() => setContacts([]));
  }, [agentId]);

  const card = cards.find((c) => c.id === cardId) ?? null;
  const preview = card ? scoreOf(card.criteria, answers) : null;
  const answer = (id: string, value: Answer) => setAnswers({ ...answers, [id]: value });

  const submit = async () => {
    if (!card) return;
    setBusy(true);
    setErrors({});
    try {
      const body = { scorecard_id: card.id, contact_id: contactId.trim(), agent_id: agentId, answers: answersBody(answers), comment: comment.trim() || null };
      setSaved(await ok(api.POST("/api/v1/quality/evaluations", { body })));
      setAnswers({});
      setComment("");
      onSaved();
    } catch (e) {
      setErrors(errorsOf(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="quality-grade-title" data-testid="quality-grade">
      <h2 id="quality-grade-title">{t("quality.grade")}</h2>
      <form
        class="admin-form"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <label>
          {t("quality.agent")}
          <select required value={agentId} onChange={(e) => onAgent((e.target as HTMLSelectElement).value)} aria-describedby="quality-agent-error">
            <option value="">{t("quality.pickAgent")}</option>
            {agents.map(([id, name]) => (
              <option key={id} value={id}>
                {name}
              </option>
            ))}
          </select>
          <FieldError id="quality-agent-error" errors={errors} name="agent_id" />
        </label>
        <label>
          {t("quality.contact")}
          <input type="text" required list="quality-contacts" value={contactId} onInput={(e) => setContactId((e.target as HTMLInputElement).value)} aria-invalid={!!errors.contact_id} aria-describedby="quality-contact-error" />
          <datalist id="quality-contacts">
            {contacts.map((c) => (
              <option key={c} value={c} />
            ))}
          </datalist>
          <FieldError id="quality-contact-error" errors={errors} name="contact_id" />
        </label>
        <label>
          {t("quality.scorecard")}
          <select required value={cardId} onChange={(e) => { setCardId((e.target as HTMLSelectElement).value); setAnswers({}); }} aria-describedby="quality-card-error">
            <option value="">{cards.length ? t("quality.pickScorecard") : t("quality.noScorecards")}</option>
            {cards.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
          <FieldError id="quality-card-error" errors={errors} name="scorecard_id" />
        </label>
        {card?.criteria.map((c) => (
          <fieldset key={c.id} data-criterion={c.id}>
            <legend>
              {c.text} <span class="muted">{c.kind === "points" ? t("quality.weightPoints", { weight: c.weight ?? 1, max: c.max_points ?? 0 }) : t("quality.weight", { weight: c.weight ?? 1 })}</span>
              {c.auto_fail && <strong> {t("quality.autoFail")}</strong>}
            </legend>
            {c.kind === "points" ? (
              <input
                type="number"
                min={0}
                max={c.max_points ?? undefined}
                aria-label={t("quality.points", { name: c.text })}
                value={answers[c.id] === "na" ? "" : (answers[c.id] ?? "")}
                disabled={answers[c.id] === "na"}
                onInput={(e) => {
                  const raw = (e.target as HTMLInputElement).value;
                  answer(c.id, raw === "" ? "" : Number(raw));
                }}
              />
            ) : (
              (["yes", "no"] as const).map((v) => (
                <label key={v} class="inline">
                  <input type="radio" name={`q-${c.id}`} checked={answers[c.id] === v} onChange={() => answer(c.id, v)} />
                  {t(`quality.${v}`)}
                </label>
              ))
            )}
            <label class="inline">
              <input type="checkbox" checked={answers[c.id] === "na"} onChange={(e) => answer(c.id, (e.target as HTMLInputElement).checked ? "na" : "")} />
              {t("quality.na")}
            </label>
            <FieldError id={`quality-${c.id}-error`} errors={errors} name={`answers.${c.id}`} />
          </fieldset>
        ))}
        {card && (
          <label>
            {t("quality.comment")}
            <textarea value={comment} maxLength={5000} onInput={(e) => setComment((e.target as HTMLTextAreaElement).value)} />
          </label>
        )}
        {card && (
          <p data-testid="quality-preview">
            {t("quality.preview")}: <strong>{formatScore(preview?.score)}</strong>
            {preview?.autoFailed && ` (${t("quality.autoFailed")})`}
          </p>
        )}
        <OtherErrors errors={errors} shown={(n) => SHOWN.has(n) || n.startsWith("answers.")} />
        <button type="submit" class="primary" disabled={busy || !card}>
          {t("quality.save")}
        </button>
        <FormError errors={errors} />
      </form>
      {saved && (
        <p role="status" data-testid="quality-saved">
          {t("quality.saved", { score: formatScore(saved.score) })}
        </p>
      )}
    </section>
  );
}

/** Evaluations, newest contacts first: of the chosen agent, or all the caller may see. Read
 * again when the server says one was graded or acknowledged (`quality.*` events reach the
 * graded agent and their supervisors) and after a resync. */
export function Evaluations({ agentId, changed, own = false }: { agentId?: string; changed?: number; own?: boolean }) {
  const { store } = useDeskContext();
  const [list, setList] = useState<Evaluation[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [told, setTold] = useState(0);
  useEffect(() => store.onEvent((m) => m.event.startsWith("quality.evaluation_") && setTold((n) => n + 1)), [store]);
  useEffect(() => reloadOnResync(store, () => setTold((n) => n + 1)), [store]);
  const load = () =>
    ok(api.GET("/api/v1/quality/evaluations", { params: { query: agentId ? { agent_id: agentId } : {} } }))
      .then((found) => {
        setList(found);
        setError(null);
      })
      .catch((e) => setError(e instanceof ApiError ? e.message : t("error.network")));
  useEffect(() => void load(), [agentId, changed, told]);
  const acknowledge = async (id: string) => {
    try {
      await ok(api.POST("/api/v1/quality/evaluations/{evaluation_id}/acknowledge", { params: { path: { evaluation_id: id } } }));
      await load();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : t("error.network"));
    }
  };
  return (
    <section aria-labelledby="quality-list-title" data-testid="quality-evaluations">
      <h2 id="quality-list-title">{own ? t("quality.mine") : t("quality.evaluations")}</h2>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {list !== null && list.length === 0 && <p class="empty">{t("quality.none")}</p>}
      {list !== null && list.length > 0 && (
        <table>
          <caption class="visually-hidden">{t("quality.evaluations")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("quality.ended")}</th>
              <th scope="col">{t("quality.contact")}</th>
              <th scope="col">{t("quality.scorecard")}</th>
              <th scope="col">{t("quality.score")}</th>
              <th scope="col">{t("quality.comment")}</th>
              <th scope="col">{t("quality.acknowledged")}</th>
            </tr>
          </thead>
          <tbody>
            {list.map((e) => (
              <tr key={e.id} data-evaluation={e.id}>
                <td>{formatDateTime(e.contact_ended_at)}</td>
                <td>
                  <code>{e.contact_id}</code>
                </td>
                <td>{e.scorecard_name}</td>
                <td data-kpi="quality">
                  {formatScore(e.score)}
                  {e.auto_failed && ` (${t("quality.autoFailed")})`}
                </td>
                <td>{e.comment ?? ""}</td>
                <td>
                  {e.acknowledged_at ? (
                    formatDateTime(e.acknowledged_at)
                  ) : own ? (
                    <button type="button" onClick={() => void acknowledge(e.id)}>
                      {t("quality.acknowledge")}
                    </button>
                  ) : (
                    "—"
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
