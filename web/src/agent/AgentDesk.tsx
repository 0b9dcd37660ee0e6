import "../crm"; // the customer card and panel (slots)
import { useDeskContext } from "../context";
import { LiveArea } from "../components/Connection";
import { Header } from "../components/Header";
import { useDesk } from "../hooks";
import { t } from "../i18n";
import { HandButton } from "../im/Hand";
import { Messages } from "../im/Messages";
import { ContactTabs } from "./ContactTabs";
import { Dashboard } from "./Dashboard";
import { Offers } from "./Offers";
import { Phone } from "./Phone";
import { Evaluations } from "../supervisor/Quality";
import { StatePicker } from "./StatePicker";

export function AgentDesk({ onLanguage }: { onLanguage: () => void }) {
  const { user, store } = useDeskContext();
  useDesk(store);
  const me = store.state?.routing.agents[user.id];
  return (
    <>
      <a class="skip" href="#main">
        {t("nav.skip")}
      </a>
      <Header onLanguage={onLanguage}>
        <StatePicker agent={me} />
        <HandButton />
      </Header>
      <main id="main" class="agent-desk">
        <h1 class="visually-hidden">{t("agent.title")}</h1>
        <LiveArea label={t("agent.workspace")}>
          {store.state === null ? null : !me ? (
            <p class="notice" data-testid="no-profile">{t("agent.noProfile")}</p>
          ) : (
            <div class="desk-grid">
              <div>
                <Phone agent={me} calls={store.state.voice?.calls ?? {}} />
                <Offers agent={me} />
                <ContactTabs agent={me} />
              </div>
              <div>
                <Dashboard />
                <Evaluations own />
                <Messages />
              </div>
            </div>
          )}
          {store.state !== null && !me && <Messages />}
        </LiveArea>
      </main>
    </>
  );
}
