import { useEffect, useMemo, useState } from "preact/hooks";
import { AdminConsole } from "./admin/AdminConsole";
import { AgentDesk } from "./agent/AgentDesk";
import { whenSessionExpires } from "./api/client";
import { DeskContext, type Desk } from "./context";
import { setTimeZone, t } from "./i18n";
import { Login } from "./Login";
import { expose } from "./probe";
import { RealtimeLink } from "./realtime/connection";
import { DeskStore } from "./realtime/store";
import { canAdminister, canSupervise, currentUser, homeOf, type User } from "./session";
import { Quality } from "./supervisor/Quality";
import { Reports } from "./supervisor/Reports";
import { SupervisorConsole } from "./supervisor/SupervisorConsole";

/** Back to the login page, and from there to this very page. */
function toLogin(expired: boolean): void {
  const here = location.pathname + location.search;
  const query = new URLSearchParams({ next: here });
  if (expired) query.set("expired", "1");
  location.assign(`/login?${query}`);
}

export function App() {
  const [user, setUser] = useState<User | null | undefined>(undefined);
  // Bumped when the language changes: every string is read again.
  const [, setRevision] = useState(0);
  const rerender = () => setRevision((r) => r + 1);
  const onLogin = location.pathname === "/login";

  useEffect(() => {
    if (onLogin) return;
    currentUser().then((found) => {
      if (found === null) toLogin(false);
      else {
        // Only a session that was there can expire: the first /auth/me's 401 is "not logged
        // in" (sent to the login page once, without the "expired" notice; two navigations
        // raced here before).
        whenSessionExpires(() => toLogin(true));
        setTimeZone(found.timezone);
        setUser(found);
      }
    });
  }, []);

  if (onLogin) return <Login onLanguage={rerender} />;
  if (!user) return <p class="loading" role="status">{t("loading")}</p>;
  return <Authenticated user={user} onLanguage={rerender} />;
}

function Authenticated({ user, onLanguage }: { user: User; onLanguage: () => void }) {
  const desk = useMemo<Desk>(() => {
    const store = new DeskStore(user.id);
    const link = new RealtimeLink(store, { onSessionEnded: () => toLogin(true) });
    return { user, store, link };
  }, [user]);
  useEffect(() => {
    desk.link.start();
    expose(desk);
    return () => desk.link.stop();
  }, [desk]);

  const path = location.pathname;
  let screen;
  if (path === "/agent") screen = <AgentDesk onLanguage={onLanguage} />;
  else if (path === "/supervisor" && canSupervise(user)) screen = <SupervisorConsole onLanguage={onLanguage} />;
  else if (path === "/reports" && canSupervise(user)) screen = <Reports onLanguage={onLanguage} />;
  else if (path === "/quality" && canSupervise(user)) screen = <Quality onLanguage={onLanguage} />;
  else if (path === "/admin" && canAdminister(user)) screen = <AdminConsole onLanguage={onLanguage} />;
  else {
    location.replace(homeOf(user));
    return null;
  }
  return <DeskContext.Provider value={desk}>{screen}</DeskContext.Provider>;
}
