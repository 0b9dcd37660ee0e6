import { LiveArea } from "../components/Connection";
import { Header } from "../components/Header";
import { t } from "../i18n";
import { Messages } from "../im/Messages";
import { KnowledgeEditor } from "../knowledge/Editor";
import { AgentTable } from "./AgentTable";
import { LiveCalls } from "./LiveCalls";
import { LiveConversations } from "./LiveConversations";
import { RaisedHands } from "./RaisedHands";
import { RecentCalls } from "./RecentCalls";
import { Today } from "./Today";
import { Wallboard } from "./Wallboard";

export function SupervisorConsole({ onLanguage }: { onLanguage: () => void }) {
  return (
    <>
      <a class="skip" href="#main">
        {t("nav.skip")}
      </a>
      <Header onLanguage={onLanguage} />
      <main id="main" class="console">
        <h1 class="visually-hidden">{t("supervisor.title")}</h1>
        <LiveArea label={t("supervisor.live")}>
          <RaisedHands />
          <Wallboard />
          <Today />
          <AgentTable />
          <LiveCalls />
          <RecentCalls />
          <LiveConversations />
          <Messages />
        </LiveArea>
        <KnowledgeEditor />
      </main>
    </>
  );
}
