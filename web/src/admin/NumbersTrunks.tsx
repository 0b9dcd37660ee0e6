import type { JSX } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, ok, type Schemas } from "../api/client";
import { t } from "../i18n";
import { errorsOf, Field, FormError, OtherErrors, type Errors } from "./Problem";
import { withoutErrors } from "./queueSettings";
import { trunkDraft, trunkJson, type SecretDraft, type TrunkDraft } from "./trunkForm";
import { VoiceSettings } from "./VoiceSettings";

type Trunk = Schemas["TrunkOut"];
type PhoneNumber = Schemas["NumberOut"];
type Flow = Schemas["FlowSummary"];

interface NumberDraft {
  id: string | null;
  number: string;
  flowId: string;
  trunkId: string;
}

const TRUNK_FIELDS = ["name", "allowed_addresses", "inbound_username", "inbound_password", "outbound", "caller_id"];
const NUMBER_FIELDS = ["number", "flow_id", "trunk_id"];

function Secret({ id, field, label, value, onChange, errors }: { id: string; field: string; label: string; value: SecretDraft; onChange: (v: SecretDraft) => void; errors: Errors }) {
  return (
    <>
      <Field id={id} field={field} label={label} errors={errors}>
        {(attrs) => (
          <input
            {...attrs}
            type="password"
            autocomplete="new-password"
            value={value.value}
            placeholder={value.isSet ? t("admin.voice.passwordKept") : ""}
            onInput={(e) => onChange({ ...value, value: (e.target as HTMLInputElement).value })}
          />
        )}
      </Field>
      {value.isSet && (
        <label class="inline">
          <input type="checkbox" checked={value.clear} disabled={value.value !== ""} onChange={(e) => onChange({ ...value, clear: (e.target as HTMLInputElement).checked })} />
          {t("admin.voice.clearPassword", { what: label })}
        </label>
      )}
    </>
  );
}

/** Numbers and trunks: SIP trunks (who may send calls, how to reach the carrier; passwords
 * write-only) and the phone numbers with the IVR flow each number's calls go to. */
export function NumbersTrunks() {
  const [trunks, setTrunks] = useState<Trunk[]>([]);
  const [numbers, setNumbers] = useState<PhoneNumber[]>([]);
  const [flows, setFlows] = useState<Flow[]>([]);
  const [trunk, setTrunk] = useState<TrunkDraft | null>(null);
  const [number, setNumber] = useState<NumberDraft | null>(null);
  const [errors, setErrors] = useState<Errors>({});
  const [status, setStatus] = useState("");
  const [busy, setBusy] = useState(false);

  const reload = async () => {
    const [tr, nu, fl] = await Promise.all([ok(api.GET("/api/v1/voice/trunks")), ok(api.GET("/api/v1/voice/numbers")), ok(api.GET("/api/v1/voice/flows"))]);
    setTrunks(tr);
    setNumbers(nu);
    setFlows(fl);
  };
  useEffect(() => void reload().catch((e) => setErrors(errorsOf(e))), []);

  async function run(action: () => Promise<unknown>, done: string) {
    setBusy(true);
    setErrors({});
    setStatus("");
    try {
      await action();
      setStatus(done);
      await reload();
      return true;
    } catch (e) {
      setErrors(errorsOf(e));
      return false;
    } finally {
      setBusy(false);
    }
  }

  async function saveTrunk(d: TrunkDraft) {
    const body = trunkJson(d);
    const saved = await run(
      () => (d.id ? ok(api.PUT("/api/v1/voice/trunks/{trunk_id}", { params: { path: { trunk_id: d.id } }, body })) : ok(api.POST("/api/v1/voice/trunks", { body }))),
      t("admin.voice.trunkSaved", { name: body.name }),
    );
    if (saved) setTrunk(null);
  }

  async function saveNumber(d: NumberDraft) {
    const body = { number: d.number.trim(), flow_id: d.flowId, trunk_id: d.trunkId || null };
    const saved = await run(
      () => (d.id ? ok(api.PUT("/api/v1/voice/numbers/{number_id}", { params: { path: { number_id: d.id } }, body })) : ok(api.POST("/api/v1/voice/numbers", { body }))),
      t("admin.voice.numberSaved", { number: body.number }),
    );
    if (saved) setNumber(null);
  }

  const openTrunk = (d: TrunkDraft | null) => {
    setErrors({});
    setNumber(null);
    setTrunk(d);
  };
  const openNumber = (d: NumberDraft | null) => {
    setErrors({});
    setTrunk(null);
    setNumber(d);
  };
  const flowName = (id: string) => flows.find((f) => f.id === id)?.name ?? id;
  const trunkName = (id: string | null) => (id ? (trunks.find((x) => x.id === id)?.name ?? id) : t("admin.voice.anyTrunk"));
  const setT = (change: Partial<TrunkDraft>) => trunk && setTrunk({ ...trunk, ...change });
  const text = (name: "name" | "allowed" | "inboundUser" | "host" | "port" | "outboundUser" | "callerId", field: string, label: string, type: "text" | "number" = "text") => (
    <Field id={`trunk-${name}`} field={field} label={label} errors={errors}>
      {(attrs) => <input {...({ ...attrs, type, value: trunk?.[name] as string, onInput: (e: Event) => setT({ [name]: (e.target as HTMLInputElement).value }) } as JSX.IntrinsicElements["input"])} />}
    </Field>
  );

  return (
    <section aria-labelledby="admin-voice-title" data-testid="admin-numbers">
      <h2 id="admin-voice-title">{t("admin.voice.title")}</h2>
      <VoiceSettings />
      <h3 id="admin-trunks-title">{t("admin.voice.trunks")}</h3>
      {trunks.length === 0 ? (
        <p class="muted">{t("admin.voice.noTrunks")}</p>
      ) : (
        <table aria-labelledby="admin-trunks-title">
          <thead>
            <tr>
              <th scope="col">{t("admin.voice.name")}</th>
              <th scope="col">{t("admin.voice.allowed")}</th>
              <th scope="col">{t("admin.voice.inbound")}</th>
              <th scope="col">{t("admin.voice.outbound")}</th>
              <th scope="col">{t("admin.voice.callerId")}</th>
              <th scope="col">{t("admin.actions")}</th>
            </tr>
          </thead>
          <tbody>
            {trunks.map((x) => (
              <tr key={x.id} data-trunk={x.name}>
                <td>{x.name}</td>
                <td>{x.allowed_addresses.join(", ")}</td>
                <td>{x.inbound.username ? `${x.inbound.username} (${x.inbound.password_set ? t("admin.voice.passwordSet") : t("admin.voice.noPassword")})` : "—"}</td>
                <td>{x.outbound ? `${x.outbound.transport}:${x.outbound.host}:${x.outbound.port}` : "—"}</td>
                <td>{x.caller_id ?? "—"}</td>
                <td>
                  <button type="button" onClick={() => openTrunk(trunkDraft(x))}>
                    {t("admin.edit", { name: x.name })}
                  </button>{" "}
                  <button type="button" disabled={busy} onClick={() => void run(() => ok(api.DELETE("/api/v1/voice/trunks/{trunk_id}", { params: { path: { trunk_id: x.id } } })), t("admin.voice.deleted", { name: x.name }))}>
                    {t("admin.voice.delete", { name: x.name })}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {trunk === null ? (
        <button type="button" onClick={() => openTrunk(trunkDraft(null))}>
          {t("admin.voice.newTrunk")}
        </button>
      ) : (
        <form
          class="admin-form"
          aria-labelledby="admin-trunk-form-title"
          data-testid="trunk-form"
          onInput={(e) => setErrors((now) => withoutErrors(now, (e.target as HTMLElement).dataset?.field))}
          onSubmit={(e) => {
            e.preventDefault();
            void saveTrunk(trunk);
          }}
        >
          <h4 id="admin-trunk-form-title">{trunk.id ? t("admin.edit", { name: trunk.name }) : t("admin.voice.newTrunk")}</h4>
          {text("name", "name", t("admin.voice.name"))}
          {text("allowed", "allowed_addresses", t("admin.voice.allowedHelp"))}
          {text("inboundUser", "inbound_username", t("admin.voice.inboundUser"))}
          <Secret id="trunk-inbound-password" field="inbound_password" label={t("admin.voice.inboundPassword")} value={trunk.inboundPassword} onChange={(inboundPassword) => setT({ inboundPassword })} errors={errors} />
          {text("callerId", "caller_id", t("admin.voice.callerId"))}
          <label class="inline">
            <input type="checkbox" checked={trunk.outbound} onChange={(e) => setT({ outbound: (e.target as HTMLInputElement).checked })} />
            {t("admin.voice.outboundOn")}
          </label>
          {trunk.outbound && (
            <fieldset>
              <legend>{t("admin.voice.outbound")}</legend>
              {text("host", "outbound.host", t("admin.voice.host"))}
              {text("port", "outbound.port", t("admin.voice.port"), "number")}
              <Field id="trunk-transport" field="outbound.transport" label={t("admin.voice.transport")} errors={errors}>
                {(attrs) => (
                  <select {...attrs} value={trunk.transport} onChange={(e) => setT({ transport: (e.target as HTMLSelectElement).value as "udp" | "tcp" })}>
                    <option value="udp">UDP</option>
                    <option value="tcp">TCP</option>
                  </select>
                )}
              </Field>
              {text("outboundUser", "outbound.username", t("admin.voice.outboundUser"))}
              <Secret id="trunk-outbound-password" field="outbound.password" label={t("admin.voice.outboundPassword")} value={trunk.outboundPassword} onChange={(outboundPassword) => setT({ outboundPassword })} errors={errors} />
            </fieldset>
          )}
          <OtherErrors errors={errors} shown={(n) => TRUNK_FIELDS.some((f) => n === f || n.startsWith(`${f}.`))} />
          <div class="inline">
            <button type="submit" class="primary" disabled={busy}>
              {t("admin.save")}
            </button>
            <button type="button" onClick={() => openTrunk(null)}>
              {t("admin.cancel")}
            </button>
          </div>
        </form>
      )}

      <h3 id="admin-numbers-title">{t("admin.voice.numbers")}</h3>
      {numbers.length === 0 ? (
        <p class="muted">{t("admin.voice.noNumbers")}</p>
      ) : (
        <table aria-labelledby="admin-numbers-title">
          <thead>
            <tr>
              <th scope="col">{t("admin.voice.number")}</th>
              <th scope="col">{t("admin.voice.flow")}</th>
              <th scope="col">{t("admin.voice.trunk")}</th>
              <th scope="col">{t("admin.actions")}</th>
            </tr>
          </thead>
          <tbody>
            {numbers.map((n) => (
              <tr key={n.id} data-number={n.number}>
                <td>{n.number}</td>
                <td>{flowName(n.flow_id)}</td>
                <td>{trunkName(n.trunk_id)}</td>
                <td>
                  <button type="button" onClick={() => openNumber({ id: n.id, number: n.number, flowId: n.flow_id, trunkId: n.trunk_id ?? "" })}>
                    {t("admin.edit", { name: n.number })}
                  </button>{" "}
                  <button type="button" disabled={busy} onClick={() => void run(() => ok(api.DELETE("/api/v1/voice/numbers/{number_id}", { params: { path: { number_id: n.id } } })), t("admin.voice.deleted", { name: n.number }))}>
                    {t("admin.voice.delete", { name: n.number })}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {number === null ? (
        <button type="button" onClick={() => openNumber({ id: null, number: "", flowId: flows[0]?.id ?? "", trunkId: "" })}>
          {t("admin.voice.newNumber")}
        </button>
      ) : (
        <form
          class="admin-form"
          aria-labelledby="admin-number-form-title"
          data-testid="number-form"
          onInput={(e) => setErrors((now) => withoutErrors(now, (e.target as HTMLElement).dataset?.field))}
          onSubmit={(e) => {
            e.preventDefault();
            void saveNumber(number);
          }}
        >
          <h4 id="admin-number-form-title">{number.id ? t("admin.edit", { name: number.number }) : t("admin.voice.newNumber")}</h4>
          <Field id="number-number" field="number" label={t("admin.voice.numberHelp")} errors={errors}>
            {(attrs) => <input {...attrs} type="tel" value={number.number} onInput={(e) => setNumber({ ...number, number: (e.target as HTMLInputElement).value })} />}
          </Field>
          <Field id="number-flow" field="flow_id" label={t("admin.voice.flow")} errors={errors}>
            {(attrs) => (
              <select {...attrs} value={number.flowId} onChange={(e) => setNumber({ ...number, flowId: (e.target as HTMLSelectElement).value })}>
                <option value="">{t("admin.voice.pickFlow")}</option>
                {flows.map((f) => (
                  <option key={f.id} value={f.id}>
                    {f.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          {flows.length === 0 && <p class="muted">{t("admin.voice.noFlows")}</p>}
          <Field id="number-trunk" field="trunk_id" label={t("admin.voice.trunk")} errors={errors}>
            {(attrs) => (
              <select {...attrs} value={number.trunkId} onChange={(e) => setNumber({ ...number, trunkId: (e.target as HTMLSelectElement).value })}>
                <option value="">{t("admin.voice.anyTrunk")}</option>
                {trunks.map((x) => (
                  <option key={x.id} value={x.id}>
                    {x.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <OtherErrors errors={errors} shown={(n) => NUMBER_FIELDS.some((f) => n === f || n.startsWith(`${f}.`))} />
          <div class="inline">
            <button type="submit" class="primary" disabled={busy}>
              {t("admin.save")}
            </button>
            <button type="button" onClick={() => openNumber(null)}>
              {t("admin.cancel")}
            </button>
          </div>
        </form>
      )}
      {status && (
        <p role="status" data-testid="voice-status">
          {status}
        </p>
      )}
      <FormError errors={errors} />
    </section>
  );
}
