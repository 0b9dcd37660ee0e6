import { useEffect, useState } from "preact/hooks";
import { api, ok, type Schemas } from "../api/client";
import { language, t, timeZone } from "../i18n";
import { IvrFlowEditor } from "./IvrFlowEditor";
import { IvrFlowHistory } from "./IvrFlowHistory";
import { errorsOf, FieldError, FormError, type Errors } from "./Problem";

type FlowSummary = Schemas["FlowSummary"];
type FlowOut = Schemas["FlowOut"];
type NumberOut = Schemas["NumberOut"];

function when(value: string): string {
  return new Intl.DateTimeFormat(language(), { dateStyle: "short", timeStyle: "short", timeZone: timeZone() }).format(new Date(value));
}

/** IVR flows: the list, a flow's tree editor, its History, and the numbers that start calls
 * on a flow. Each part reads what the API says now when it opens and after each save. */
export function IvrFlows() {
  const [flows, setFlows] = useState<FlowSummary[]>([]);
  const [numbers, setNumbers] = useState<NumberOut[]>([]);
  const [queues, setQueues] = useState<string[]>([]);
  const [audio, setAudio] = useState<string[]>([]);
  // The flow being edited: "new", a flow as read, or nothing.
  const [editing, setEditing] = useState<FlowOut | "new" | null>(null);
  const [history, setHistory] = useState<string | null>(null);
  const [status, setStatus] = useState("");
  const [errors, setErrors] = useState<Errors>({});

  const reload = async () => {
    const [f, n] = await Promise.all([ok(api.GET("/api/v1/voice/flows")), ok(api.GET("/api/v1/voice/numbers"))]);
    setFlows(f);
    setNumbers(n);
  };
  const loadAudio = async () => setAudio((await ok(api.GET("/api/v1/voice/audio"))).map((a) => a.name));
  useEffect(() => {
    void reload().catch((e) => setErrors(errorsOf(e)));
    void loadAudio().catch((e) => setErrors(errorsOf(e)));
    void ok(api.GET("/api/v1/routing/queues"))
      .then((qs) => setQueues(qs.map((q) => q.definition.id)))
      .catch((e) => setErrors(errorsOf(e)));
  }, []);

  async function open(id: string) {
    setStatus("");
    setEditing(null); // a fresh editor: its state starts from what the API says now
    setEditing(await ok(api.GET("/api/v1/voice/flows/{flow_id}", { params: { path: { flow_id: id } } })));
  }

  const flowName = (id: string) => flows.find((f) => f.id === id)?.name ?? id;

  return (
    <section aria-labelledby="admin-ivr-title" data-testid="admin-ivr">
      <h2 id="admin-ivr-title">{t("admin.ivr.title")}</h2>
      <p class="muted">{t("admin.ivr.help")}</p>
      {flows.length === 0 ? (
        <p class="muted">{t("admin.ivr.none")}</p>
      ) : (
        <table>
          <caption class="visually-hidden">{t("admin.ivr.title")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("admin.ivr.name")}</th>
              <th scope="col">{t("admin.queues.version")}</th>
              <th scope="col">{t("admin.ivr.updated")}</th>
              <th scope="col">{t("admin.ivr.numbers")}</th>
              <th scope="col">{t("admin.actions")}</th>
            </tr>
          </thead>
          <tbody>
            {flows.map((f) => (
              <tr key={f.id} data-flow={f.name}>
                <td>{f.name}</td>
                <td>{f.version}</td>
                <td>
                  <time dateTime={f.updated_at}>{when(f.updated_at)}</time>
                </td>
                <td>{numbers.filter((n) => n.flow_id === f.id).map((n) => n.number).join(", ")}</td>
                <td>
                  <button type="button" onClick={() => void open(f.id).catch((e) => setErrors(errorsOf(e)))}>
                    {t("admin.edit", { name: f.name })}
                  </button>{" "}
                  <button type="button" aria-pressed={history === f.id} onClick={() => setHistory(history === f.id ? null : f.id)}>
                    {t("admin.history.open", { name: f.name })}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {status && (
        <p role="status" data-testid="ivr-saved">
          {status}
        </p>
      )}
      <FormError errors={errors} />
      {history && (
        <IvrFlowHistory
          key={history}
          flowId={history}
          current={flows.find((f) => f.id === history)?.version ?? null}
          onClose={() => setHistory(null)}
          onRestored={(from, saved) => {
            setStatus(t("admin.ivr.restored", { name: saved.name, from, version: saved.version }));
            void reload().catch((e) => setErrors(errorsOf(e)));
            // An editor open on this flow continues from the restored version.
            if (editing !== null && editing !== "new" && editing.id === saved.id) setEditing(saved);
          }}
        />
      )}
      {editing === null ? (
        <button type="button" onClick={() => setEditing("new")}>
          {t("admin.ivr.new")}
        </button>
      ) : (
        <IvrFlowEditor
          key={editing === "new" ? "new" : `${editing.id}-${editing.version}`}
          saved={editing === "new" ? null : editing}
          queues={queues}
          audio={audio}
          onAudio={() => void loadAudio().catch((e) => setErrors(errorsOf(e)))}
          onSaved={(view) => {
            setStatus(t("admin.ivr.saved", { name: view.name, version: view.version }));
            setEditing(null);
            void reload().catch((e) => setErrors(errorsOf(e)));
          }}
          onCancel={() => setEditing(null)}
        />
      )}
      <Numbers numbers={numbers} flows={flows} flowName={flowName} onChanged={() => void reload().catch((e) => setErrors(errorsOf(e)))} />
    </section>
  );
}

/** Phone numbers and the flow each starts calls on. */
function Numbers({ numbers, flows, flowName, onChanged }: { numbers: NumberOut[]; flows: FlowSummary[]; flowName: (id: string) => string; onChanged: () => void }) {
  const [number, setNumber] = useState("");
  const [flowId, setFlowId] = useState("");
  const [errors, setErrors] = useState<Errors>({});
  const [done, setDone] = useState("");

  async function run(call: () => Promise<unknown>, message: string) {
    setErrors({});
    setDone("");
    try {
      await call();
      setDone(message);
      onChanged();
    } catch (e) {
      setErrors(errorsOf(e));
    }
  }
  const assign = (n: NumberOut, flow: string) =>
    run(
      () => ok(api.PUT("/api/v1/voice/numbers/{number_id}", { params: { path: { number_id: n.id } }, body: { number: n.number, flow_id: flow, trunk_id: n.trunk_id } })),
      t("admin.ivr.assigned", { number: n.number, flow: flowName(flow) }),
    );
  const chosen = flowId || flows[0]?.id || "";

  return (
    <section aria-labelledby="admin-numbers-title" data-testid="admin-numbers">
      <h3 id="admin-numbers-title">{t("admin.ivr.numbersTitle")}</h3>
      {numbers.length === 0 ? (
        <p class="muted">{t("admin.ivr.noNumbers")}</p>
      ) : (
        <table>
          <caption class="visually-hidden">{t("admin.ivr.numbersTitle")}</caption>
          <thead>
            <tr>
              <th scope="col">{t("admin.ivr.number")}</th>
              <th scope="col">{t("admin.ivr.flow")}</th>
              <th scope="col">{t("admin.actions")}</th>
            </tr>
          </thead>
          <tbody>
            {numbers.map((n) => (
              <tr key={n.id} data-number={n.number}>
                <td>{n.number}</td>
                <td>
                  <select aria-label={t("admin.ivr.flowOf", { number: n.number })} value={n.flow_id} onChange={(e) => void assign(n, (e.target as HTMLSelectElement).value)}>
                    {flows.map((f) => (
                      <option key={f.id} value={f.id}>
                        {f.name}
                      </option>
                    ))}
                  </select>
                </td>
                <td>
                  <button type="button" onClick={() => void run(() => ok(api.DELETE("/api/v1/voice/numbers/{number_id}", { params: { path: { number_id: n.id } } })), t("admin.ivr.numberRemoved", { number: n.number }))}>
                    {t("admin.ivr.removeNumber", { number: n.number })}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {flows.length > 0 && (
        <form
          class="admin-form"
          aria-labelledby="admin-number-new"
          onSubmit={(e) => {
            e.preventDefault();
            void run(() => ok(api.POST("/api/v1/voice/numbers", { body: { number: number.trim(), flow_id: chosen } })), t("admin.ivr.numberAdded", { number: number.trim() }));
          }}
        >
          <h4 id="admin-number-new">{t("admin.ivr.addNumber")}</h4>
          <label>
            {t("admin.ivr.numberE164")}
            <input type="tel" required value={number} aria-invalid={!!errors.number} aria-describedby="ivr-number-error" onInput={(e) => setNumber((e.target as HTMLInputElement).value)} />
            <FieldError id="ivr-number-error" errors={errors} name="number" />
          </label>
          <label>
            {t("admin.ivr.flow")}
            <select id="ivr-number-flow" value={chosen} onChange={(e) => setFlowId((e.target as HTMLSelectElement).value)} aria-describedby="ivr-number-flow-error">
              {flows.map((f) => (
                <option key={f.id} value={f.id}>
                  {f.name}
                </option>
              ))}
            </select>
            <FieldError id="ivr-number-flow-error" errors={errors} name="flow_id" />
          </label>
          <button type="submit">{t("admin.ivr.addNumberButton")}</button>
        </form>
      )}
      {done && <p role="status">{done}</p>}
      <FormError errors={errors} />
    </section>
  );
}
