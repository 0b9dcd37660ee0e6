import { useEffect, useState } from "preact/hooks";
import { useAction } from "../components/Action";
import { t } from "../i18n";
import { search, type Article } from "./api";

function Script({ script }: { script: Article }) {
  const [done, setDone] = useState<Set<number>>(new Set());
  return (
    <details class="kb-item" data-testid="kb-script" open>
      <summary>{script.title}</summary>
      {script.body && <p class="kb-body">{script.body}</p>}
      <ol class="kb-steps">
        {script.steps.map((step, i) => (
          <li key={i}>
            <label class="inline">
              <input
                type="checkbox"
                checked={done.has(i)}
                onChange={() => {
                  const next = new Set(done);
                  if (next.has(i)) next.delete(i);
                  else next.add(i);
                  setDone(next);
                }}
              />
              <span class={done.has(i) ? "kb-done" : undefined}>{step}</span>
            </label>
          </li>
        ))}
      </ol>
    </details>
  );
}

/** Beside the contact: the scripts of its queue, and a search in the articles for it. */
export function Knowledge({ queueId }: { queueId: string | null }) {
  const [scripts, setScripts] = useState<Article[]>([]);
  const [query, setQuery] = useState("");
  const [found, setFound] = useState<Article[] | null>(null);
  const [run, busy, error] = useAction();

  useEffect(() => {
    setFound(null);
    void run(async () => setScripts(await search({ queue: queueId, kind: "script" })));
  }, [queueId]);

  const find = () => run(async () => setFound(await search({ q: query, queue: queueId, kind: "article" })));

  return (
    <aside class="knowledge" aria-labelledby="kb-title" data-testid="knowledge">
      <h3 id="kb-title">{t("kb.title")}</h3>
      {scripts.map((s) => (
        <Script script={s} key={s.id} />
      ))}
      <form
        role="search"
        class="kb-search"
        onSubmit={(e) => {
          e.preventDefault();
          void find();
        }}
      >
        <label>
          <span class="visually-hidden">{t("kb.search")}</span>
          <input type="search" value={query} placeholder={t("kb.search")} onInput={(e) => setQuery((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit" disabled={busy}>
          {t("kb.find")}
        </button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {found !== null &&
        (found.length === 0 ? (
          <p class="empty" role="status">
            {t("kb.nothing")}
          </p>
        ) : (
          <div role="status" aria-label={t("kb.results", { count: found.length })}>
            {found.map((a) => (
              <details class="kb-item" data-testid="kb-article" key={a.id}>
                <summary>{a.title}</summary>
                <p class="kb-body">{a.body}</p>
              </details>
            ))}
          </div>
        ))}
    </aside>
  );
}
