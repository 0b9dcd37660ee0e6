import { useEffect, useState } from "preact/hooks";
import { Header } from "../components/Header";
import { t } from "../i18n";
import { Agents } from "./Agents";
import { ApiTokens } from "./ApiTokens";
import { AuditLog } from "./AuditLog";
import { BrandingSection } from "./Branding";
import { IvrFlows } from "./IvrFlows";
import { CannedResponses } from "./CannedResponses";
import { Channels } from "./Channels";
import { NumbersTrunks } from "./NumbersTrunks";
import { Queues } from "./Queues";
import { Scorecards } from "./Scorecards";
import { Users } from "./Users";
import { WrapUpCodes } from "./WrapUpCodes";

const SECTIONS = ["users", "agents", "queues", "ivr", "numbers", "channels", "canned", "wrapup", "scorecards", "branding", "tokens", "audit"] as const;
type Section = (typeof SECTIONS)[number];

function fromHash(): Section {
  const wanted = location.hash.slice(1);
  return (SECTIONS as readonly string[]).includes(wanted) ? (wanted as Section) : "users";
}

/** Admins set the center up here: users and teams, agents' routing profiles, queues, IVR flows
 * and numbers, trunks, channels (widgets, mailboxes, webhooks), canned responses, wrap-up codes, quality scorecards, the
 * tenant's branding, API tokens, and the audit log of what admins did. Each
 * section reads what the API says now when it opens and after each save. */
export function AdminConsole({ onLanguage }: { onLanguage: () => void }) {
  const [section, setSection] = useState<Section>(fromHash());
  useEffect(() => {
    const follow = () => setSection(fromHash());
    addEventListener("hashchange", follow);
    return () => removeEventListener("hashchange", follow);
  }, []);
  return (
    <>
      <a class="skip" href="#main">
        {t("nav.skip")}
      </a>
      <Header onLanguage={onLanguage} />
      <main id="main" class="console admin" tabIndex={-1}>
        <h1>{t("admin.title")}</h1>
        <nav aria-label={t("admin.sections")} class="admin-tabs">
          {SECTIONS.map((s) => (
            <a key={s} href={`#${s}`} aria-current={s === section ? "page" : undefined}>
              {t(`admin.section.${s}`)}
            </a>
          ))}
        </nav>
        {section === "users" && <Users />}
        {section === "agents" && <Agents />}
        {section === "queues" && <Queues />}
        {section === "ivr" && <IvrFlows />}
        {section === "channels" && <Channels />}
        {section === "canned" && <CannedResponses />}
        {section === "wrapup" && <WrapUpCodes />}
        {section === "scorecards" && <Scorecards />}
        {section === "numbers" && <NumbersTrunks />}
        {section === "branding" && <BrandingSection />}
        {section === "tokens" && <ApiTokens />}
        {section === "audit" && <AuditLog />}
      </main>
    </>
  );
}
