import { useEffect, useState } from "preact/hooks";
import { useAction } from "../components/Action";
import { t } from "../i18n";
import { remove, save, search, type Article } from "./api";
import { lines, words } from "./fields";

interface Draft {
  id: string | null;
  kind: "article" | "script";
  title: string;
  body: string;
  steps: string;
  queues: string;
  tags: string;
}

const EMPTY: Draft = { id: null, kind: "article", title: "", body: "", steps: "", queues: "", tags: "" };

function draftOf(a: Article): Draft {
  return {
    id: a.id,
    kind: a.kind,
    title: a.title,
    body: a.body,
    steps: a.steps.join("\n"),
    queues: a.queue_ids.join(", "),
    tags: a.tags.join(", "),
  };
}

/** Supervisors and admins keep the articles and scripts (the API refuses agents). */
export function KnowledgeEditor() {
  const [articles, setArticles] = useState<Article[]>([]);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [run, busy, error] = useAction();
  const reload = () => run(async () => setArticles(await search({})));
  useEffect(() => void reload(), []);
  const field = (name: keyof Draft) => (e: Event) =>
    setDraft({ ...(draft as Draft), [name]: (e.target as HTMLInputElement).value });

  return (
    <section class="kb-editor" aria-labelledby="kb-editor-title" data-testid="kb-editor">
      <h2 id="kb-editor-title">{t("kb.editorTitle")}</h2>
      {articles.length === 0 ? (
        <p class="empty">{t("kb.none")}</p>
      ) : (
        <ul>
          {articles.map((a) => (
            <li key={a.id}>
              {t(`kb.kind.${a.kind}`)}: <strong>{a.title}</strong>
              {a.queue_ids.length > 0 && <span class="muted"> · {a.queue_ids.join(", ")}</span>}{" "}
              <button type="button" onClick={() => setDraft(draftOf(a))}>
                {t("kb.edit", { title: a.title })}
              </button>{" "}
              <button
                type="button"
                class="danger"
                disabled={busy}
                onClick={() =>
                  run(async () => {
                    await remove(a.id);
                    await reload();
                  })
                }
              >
                {t("kb.delete", { title: a.title })}
              </button>
            </li>
          ))}
        </ul>
      )}
      {draft === null ? (
        <button type="button" onClick={() => setDraft({ ...EMPTY })}>
          {t("kb.new")}
        </button>
      ) : (
        <form
          class="kb-form"
          onSubmit={(e) => {
            e.preventDefault();
            void run(async () => {
              await save(draft.id, {
                kind: draft.kind,
                title: draft.title.trim(),
                body: draft.body,
                steps: draft.kind === "script" ? lines(draft.steps) : [],
                queue_ids: words(draft.queues),
                tags: words(draft.tags),
              });
              setDraft(null);
              await reload();
            });
          }}
        >
          <label>
            {t("kb.kindLabel")}
            <select value={draft.kind} onChange={field("kind")}>
              <option value="article">{t("kb.kind.article")}</option>
              <option value="script">{t("kb.kind.script")}</option>
            </select>
          </label>
          <label>
            {t("kb.titleLabel")}
            <input type="text" required maxLength={200} value={draft.title} onInput={field("title")} />
          </label>
          <label>
            {t("kb.bodyLabel")}
            <textarea rows={4} value={draft.body} onInput={field("body")} />
          </label>
          {draft.kind === "script" && (
            <label>
              {t("kb.stepsLabel")}
              <textarea rows={5} value={draft.steps} onInput={field("steps")} />
            </label>
          )}
          <label>
            {t("kb.queuesLabel")}
            <input type="text" value={draft.queues} onInput={field("queues")} />
          </label>
          <label>
            {t("kb.tagsLabel")}
            <input type="text" value={draft.tags} onInput={field("tags")} />
          </label>
          <div class="inline">
            <button type="submit" class="primary" disabled={busy}>
              {t("kb.save")}
            </button>
            <button type="button" onClick={() => setDraft(null)}>
              {t("kb.cancel")}
            </button>
          </div>
        </form>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
