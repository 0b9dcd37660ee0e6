import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiError, clientId, type ChatMessage, type SurveyForm, type WidgetApi, type WidgetConfig } from "./api";
import { Connection, type Incoming } from "./connection";
import { type Key, pickLanguage, text } from "./i18n";
import { surveyAnswers, surveyChoices, surveyPrompt, surveyToken, Transcript } from "./transcript";

type Stage = "loading" | "prechat" | "chat" | "offline" | "offline-sent" | "refused";
type QueueState = Extract<Incoming, { type: "queue" }>;
const TOKEN_KEY = (key: string) => `omnidesk-chat:${key}:visitor`;

export interface WidgetProps {
  api: WidgetApi;
  startOpen?: boolean;
}

function waitText(language: string, queue: QueueState | null): string | null {
  if (!queue || queue.state !== "waiting") return null;
  const minutes =
    queue.estimated_wait_seconds == null ? null : Math.max(1, Math.round(queue.estimated_wait_seconds / 60));
  const position = queue.position ?? "?";
  return minutes === null ? text(language, "place", { position }) : text(language, "placeWait", { position, minutes });
}

// The post-contact survey's invitation: its words, then the survey itself (its questions from
// the server, answered here), or a button that opens the survey page when it cannot be shown.
type SurveyStage = "loading" | "form" | "sending" | "done" | "answered" | "expired" | "link";

type Say = (key: Key, vars?: Record<string, string | number>) => string;

function SurveyCard({ api, message, say }: { api: WidgetApi; message: string | null; say: Say }) {
  const { words, url } = surveyPrompt(message);
  const token = url ? surveyToken(url) : null;
  const [form, setForm] = useState<SurveyForm | null>(null);
  const [stage, setStage] = useState<SurveyStage>(token ? "loading" : "link");
  const [values, setValues] = useState<Record<string, string>>({});
  const [problem, setProblem] = useState<string | null>(null);
  const refused = (e: unknown): SurveyStage =>
    e instanceof ApiError && e.status === 409 ? "answered" : e instanceof ApiError && e.status === 410 ? "expired" : "link";

  useEffect(() => {
    if (!token) return;
    api
      .survey<SurveyForm>(token)
      .then((found) => {
        setForm(found);
        setStage("form");
      })
      .catch((e) => setStage(refused(e)));
  }, [token]);

  async function submit(event: Event) {
    event.preventDefault();
    if (!form || !token) return;
    setStage("sending");
    try {
      await api.survey(token, surveyAnswers(form, values));
      setStage("done");
    } catch (e) {
      if (e instanceof ApiError && e.status === 422) {
        setProblem(say("surveyCheck"));
        setStage("form");
      } else {
        setStage(refused(e));
      }
    }
  }

  const choose = (id: string, value: string) => setValues((v) => ({ ...v, [id]: value }));
  return (
    <>
      {words}
      {(stage === "form" || stage === "sending") && form && (
        <form class="fields survey" onSubmit={(e) => void submit(e)} data-testid="survey-form">
          {form.questions.map((q) =>
            q.kind === "text" ? (
              <label key={q.id}>
                {q.text}
                <textarea
                  name={q.id}
                  maxLength={5000}
                  required={q.required}
                  value={values[q.id] ?? ""}
                  onInput={(e) => choose(q.id, (e.target as HTMLTextAreaElement).value)}
                />
              </label>
            ) : (
              <fieldset key={q.id}>
                <legend>{q.text}</legend>
                <div class="scale">
                  {surveyChoices(q).map(({ value: n, word }) => (
                    <label key={n}>
                      <input
                        type="radio"
                        name={q.id}
                        value={n}
                        required={q.required}
                        checked={values[q.id] === n}
                        onChange={() => choose(q.id, n)}
                      />
                      {word ? say(word) : n}
                    </label>
                  ))}
                </div>
              </fieldset>
            ),
          )}
          {problem && <p role="alert">{problem}</p>}
          <button type="submit" disabled={stage === "sending"}>
            {say("send")}
          </button>
        </form>
      )}
      {stage === "done" && <p role="status">{say("surveyThanks")}</p>}
      {stage === "answered" && <p role="status">{say("surveyAnswered")}</p>}
      {stage === "expired" && <p role="status">{say("surveyExpired")}</p>}
      {(stage === "link" || stage === "loading") && url && (
        <a class="survey-link" href={url} target="_blank" rel="noopener noreferrer" data-testid="survey-link">
          {say("surveyOpen")}
        </a>
      )}
    </>
  );
}

export function Widget({ api, startOpen = false }: WidgetProps) {
  const [open, setOpen] = useState(startOpen);
  const [config, setConfig] = useState<WidgetConfig | null>(null);
  const [stage, setStage] = useState<Stage>("loading");
  const [error, setError] = useState<string | null>(null);
  const [, setVersion] = useState(0);
  const [typing, setTyping] = useState(false);
  const [queue, setQueue] = useState<QueueState | null>(null);
  const [live, setLive] = useState<"connecting" | "live" | "offline">("offline");
  const [draft, setDraft] = useState("");
  const [mailing, setMailing] = useState<"closed" | "asking" | "sending" | "sent">("closed");
  const transcript = useMemo(() => new Transcript(), []);
  const connection = useRef<Connection | null>(null);
  const reported = useRef(new Set<string>());
  const lastTyping = useRef(0);
  const typingTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const bottom = useRef<HTMLDivElement>(null);
  const refresh = () => setVersion((v) => v + 1);
  // The visitor's language (a choice in the pre-chat form wins over the browser's).
  const [chosen, setChosen] = useState<string | null>(null);
  const language = pickLanguage(chosen ? [chosen] : navigator.languages ?? [], config?.languages ?? ["en"]);
  const say = (key: Key, vars?: Record<string, string | number>) => text(language, key, vars);

  // An anonymous visitor's token lives in this browser only; a signed user needs none.
  async function ensureIdentity(): Promise<void> {
    if (api.identity.userId || api.identity.visitorToken) return;
    const stored = localStorage.getItem(TOKEN_KEY(api.key));
    if (stored) {
      api.identity.visitorToken = stored;
      return;
    }
    const token = await api.newVisitor();
    localStorage.setItem(TOKEN_KEY(api.key), token);
    api.identity.visitorToken = token;
  }

  function connect(): void {
    if (connection.current) return;
    const c = new Connection(
      api.socketUrl(),
      () => ({
        visitor_token: api.identity.userId ? undefined : api.identity.visitorToken,
        user_id: api.identity.userId,
        user_hash: api.identity.userHash,
      }),
      {
        onSnapshot: (messages) => {
          transcript.replace(messages);
          refresh();
        },
        onMessage: (message) => {
          transcript.merge(message);
          if (message.from === "agent") setTyping(false);
          refresh();
        },
        onClosed: refresh,
        onTyping: (active) => {
          setTyping(active);
          if (typingTimer.current) clearTimeout(typingTimer.current);
          if (active) typingTimer.current = setTimeout(() => setTyping(false), 6000);
        },
        onQueue: setQueue,
        onState: setLive,
      },
    );
    connection.current = c;
    c.start();
  }

  async function load(): Promise<void> {
    try {
      const widget = await api.config();
      setConfig(widget);
      const known = api.identity.userId || localStorage.getItem(TOKEN_KEY(api.key));
      if (known) {
        await ensureIdentity();
        const history = await api.history();
        if (history.conversation) {
          transcript.replace(history.messages);
          setStage("chat");
          connect();
          return;
        }
      }
      setStage(widget.online ? (widget.prechat_fields.length ? "prechat" : "chat") : "offline");
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      setStage("refused");
    }
  }

  useEffect(() => {
    void load();
    return () => connection.current?.stop();
  }, []);

  // Read receipts: agents' messages are read once the open panel shows them.
  useEffect(() => {
    if (!open || stage !== "chat" || live !== "live" || document.visibilityState !== "visible") return;
    const unread = transcript.unreadFromAgent(reported.current);
    if (unread.length) {
      unread.forEach((id) => reported.current.add(id));
      connection.current?.send({ type: "read", message_ids: unread });
    }
    bottom.current?.scrollIntoView({ block: "end" });
  });

  async function startChat(event: Event): Promise<void> {
    event.preventDefault();
    const data = new FormData(event.target as HTMLFormElement);
    const prechat: Record<string, string> = {};
    data.forEach((value, key) => {
      if (typeof value === "string" && value.trim()) prechat[key] = value.trim();
    });
    try {
      await ensureIdentity();
      const history = await api.start(prechat);
      transcript.replace(history.messages);
      setError(null);
      setStage("chat");
      connect();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }

  async function deliver(send: (id: string) => Promise<{ message: ChatMessage }>, text: string) {
    const id = clientId();
    transcript.pending.push({ clientId: id, text });
    refresh();
    try {
      await ensureIdentity();
      const sent = await send(id);
      transcript.merge(sent.message);
      setError(null);
      connect();
    } catch (e) {
      const reason = e instanceof ApiError ? e.message : say("notSent");
      transcript.pending = transcript.pending.map((p) => (p.clientId === id ? { ...p, failed: reason } : p));
    }
    refresh();
  }

  async function sendMessage(event: Event): Promise<void> {
    event.preventDefault();
    const text = draft.trim();
    if (!text) return;
    setDraft("");
    connection.current?.send({ type: "typing", active: false });
    await deliver((id) => api.send(id, text), text);
  }

  async function sendFile(event: Event): Promise<void> {
    const input = event.target as HTMLInputElement;
    const file = input.files?.[0];
    input.value = "";
    if (!file || !config) return;
    if (file.size > config.attachment_max_bytes) {
      setError(say("fileLimit", { kb: Math.floor(config.attachment_max_bytes / 1000) }));
      return;
    }
    await deliver((id) => api.upload(id, file), file.name);
  }

  async function sendOffline(event: Event): Promise<void> {
    event.preventDefault();
    const data = new FormData(event.target as HTMLFormElement);
    const field = (name: string) => String(data.get(name) ?? "").trim();
    try {
      await ensureIdentity();
      await api.offline(clientId(), field("name"), field("email"), field("message"));
      setError(null);
      setStage("offline-sent");
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }

  async function mailTranscript(event: Event): Promise<void> {
    event.preventDefault();
    const data = new FormData(event.target as HTMLFormElement);
    setMailing("sending");
    try {
      await api.transcript(String(data.get("email") ?? "").trim());
      setError(null);
      setMailing("sent");
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      setMailing("asking");
    }
  }

  function onDraft(value: string): void {
    setDraft(value);
    const now = Date.now();
    if (now - lastTyping.current > 3000) {
      lastTyping.current = now;
      connection.current?.send({ type: "typing", active: true });
    }
  }

  async function openFile(id: string, name: string): Promise<void> {
    const blob = await api.download(id);
    const url = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = url;
    link.download = name;
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  const colours = config
    ? { "--odw-colour": config.colour, "--odw-text": config.text_colour }
    : { "--odw-colour": "#1f6feb", "--odw-text": "#ffffff" };
  const title = config?.title ?? say("chat");

  return (
    <div style={colours} data-testid="omnidesk-widget" data-stage={stage} data-live={live}>
      <button type="button" class="launcher" aria-expanded={open} onClick={() => setOpen(!open)}>
        {open ? say("closeChat") : title}
      </button>
      {open && (
        <section class="panel" role="dialog" aria-label={title} lang={language}>
          <header>
            <h2>{title}</h2>
            <button type="button" aria-label={say("closeChat")} onClick={() => setOpen(false)}>
              ×
            </button>
          </header>
          <div class="body">
            {config?.greeting && <p class="greeting">{config.greeting}</p>}
            {stage === "prechat" && config && (
              <form class="fields" onSubmit={startChat} aria-label={say("beforeStart")}>
                {config.prechat_fields.map((f) => (
                  <label key={f.key}>
                    {f.label}
                    {f.required ? " *" : ""}
                    {f.type === "textarea" ? (
                      <textarea name={f.key} required={f.required} />
                    ) : f.type === "language" ? (
                      <select
                        name={f.key}
                        required={f.required}
                        value={config.languages.includes(chosen ?? language) ? (chosen ?? language) : undefined}
                        onChange={(e) => setChosen((e.target as HTMLSelectElement).value)}
                      >
                        {config.languages.map((l) => (
                          <option key={l} value={l}>
                            {new Intl.DisplayNames([l], { type: "language" }).of(l) ?? l}
                          </option>
                        ))}
                      </select>
                    ) : f.type === "email" ? (
                      <input name={f.key} type="email" required={f.required} />
                    ) : (
                      <input name={f.key} type="text" required={f.required} />
                    )}
                  </label>
                ))}
                <button type="submit" class="primary">
                  {say("startChat")}
                </button>
              </form>
            )}
            {stage === "offline" && config && (
              <form class="fields" onSubmit={sendOffline} aria-label={say("leaveMessage")}>
                <p>{config.offline_message}</p>
                <label>
                  {say("name")}
                  <input name="name" required />
                </label>
                <label>
                  {say("email")}
                  <input name="email" type="email" required />
                </label>
                <label>
                  {say("message")}
                  <textarea name="message" required />
                </label>
                <button type="submit" class="primary">
                  {say("send")}
                </button>
              </form>
            )}
            {stage === "offline-sent" && <p role="status">{say("offlineSent")}</p>}
            {stage === "chat" && (
              <div role="log" aria-live="polite" aria-label={say("messages")}>
              <ol class="log" data-testid="transcript">
                {transcript.messages.map((m) => (
                  <li
                    key={m.id}
                    class={`msg ${m.from}${m.form ? " form" : ""}`}
                    data-message-id={m.id}
                    data-from={m.from}
                  >
                    <span class="sr-only">{m.from === "agent" ? say("fromAgent") : say("fromYou")}</span>
                    {m.form === "survey" ? <SurveyCard api={api} message={m.text} say={say} /> : m.text}
                    {m.attachments.map((a) => (
                      <button type="button" class="file" key={a.id} onClick={() => void openFile(a.id, a.filename)}>
                        {a.filename}
                      </button>
                    ))}
                  </li>
                ))}
                {transcript.pending.map((p) => (
                  <li key={p.clientId} class="msg visitor" data-pending="yes">
                    {p.text}
                    <span class="meta">{p.failed ?? say("sending")}</span>
                  </li>
                ))}
              </ol>
              </div>
            )}
            {stage === "chat" && config?.transcript_by_email && transcript.messages.length > 0 && (
              <div class="transcript-mail">
                {mailing === "closed" && (
                  <button type="button" class="link" onClick={() => setMailing("asking")}>
                    {say("mailTranscript")}
                  </button>
                )}
                {(mailing === "asking" || mailing === "sending") && (
                  <form class="fields" onSubmit={mailTranscript} aria-label={say("mailTranscriptForm")}>
                    <label>
                      {say("yourEmail")}
                      <input name="email" type="email" required />
                    </label>
                    <button type="submit" class="primary" disabled={mailing === "sending"}>
                      {say("sendTranscript")}
                    </button>
                  </form>
                )}
                {mailing === "sent" && (
                  <p role="status">
                    {say("transcriptSent")}{" "}
                    <button type="button" class="link" onClick={() => setMailing("asking")}>
                      {say("sendAgain")}
                    </button>
                  </p>
                )}
              </div>
            )}
            {typing && <p class="status">{say("typing")}</p>}
            {stage === "chat" && waitText(language, queue) && (
              <p class="status" data-testid="queue">
                {waitText(language, queue)}
              </p>
            )}
            {error && (
              <p class="error" role="alert">
                {error}
              </p>
            )}
            <div ref={bottom} />
          </div>
          {stage === "chat" && (
            <form class="composer" onSubmit={sendMessage}>
              <label class="sr-only" for="odw-draft">
                {say("message")}
              </label>
              <input
                id="odw-draft"
                type="text"
                placeholder={say("writeMessage")}
                value={draft}
                maxLength={4096}
                onInput={(e) => onDraft((e.target as HTMLInputElement).value)}
              />
              <label class="attach" title={say("attach")}>
                <svg aria-hidden="true" width="16" height="16" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2">
                  <path d="M21 12.5l-8.5 8.5a5.5 5.5 0 01-7.8-7.8l9-9a3.7 3.7 0 015.2 5.2l-9 9a1.8 1.8 0 01-2.6-2.6l8.3-8.3" />
                </svg>
                <span class="sr-only">{say("attach")}</span>
                <input type="file" onChange={sendFile} />
              </label>
              <button type="submit" class="primary">
                {say("send")}
              </button>
            </form>
          )}
        </section>
      )}
    </div>
  );
}
