import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import {
  branding,
  loadBranding,
  onBranding,
  reloadBranding,
  showBranding,
  type Branding,
} from "../branding";
import { useDeskContext } from "../context";
import { reloadOnResync } from "../realtime/resync";
import { useDesk } from "../hooks";
import { unreadTotal } from "../im/apply";
import { t } from "../i18n";
import { canAdminister, canSupervise, logOut } from "../session";
import { ConnectionBadge } from "./Connection";
import { LanguagePicker } from "./LanguagePicker";

export function Header({ children, onLanguage }: { children?: ComponentChildren; onLanguage: () => void }) {
  const { user, store } = useDeskContext();
  useDesk(store);
  const path = location.pathname;
  const unread = unreadTotal(store.state?.im);
  const brand = useBranding();
  useEffect(
    () =>
      store.onEvent((message) => {
        if (message.event === "branding.updated") showBranding((message.data as { branding: Branding }).branding);
      }),
    [store],
  );
  useEffect(() => reloadOnResync(store, () => void reloadBranding()), [store]);
  const name = brand?.display_name ?? "Omnidesk";
  return (
    <header class="topbar">
      <span class="brand" data-testid="brand">
        {brand?.logo && <img class="brand-logo" src={brand.logo.url} alt={name} />}
        {/* With a logo its alt text names the tenant: the visible name is not read twice. */}
        <span aria-hidden={brand?.logo ? "true" : undefined}>{name}</span>
      </span>
      <nav aria-label={t("nav.label")}>
        <a href="/agent" aria-current={path === "/agent" ? "page" : undefined}>
          {t("nav.agent")}
        </a>
        {canSupervise(user) && (
          <a href="/supervisor" aria-current={path === "/supervisor" ? "page" : undefined}>
            {t("nav.supervisor")}
          </a>
        )}
        {canSupervise(user) && (
          <a href="/reports" aria-current={path === "/reports" ? "page" : undefined}>
            {t("nav.reports")}
          </a>
        )}
        {canSupervise(user) && (
          <a href="/quality" aria-current={path === "/quality" ? "page" : undefined}>
            {t("nav.quality")}
          </a>
        )}
        {canAdminister(user) && (
          <a href="/admin" aria-current={path === "/admin" ? "page" : undefined}>
            {t("nav.admin")}
          </a>
        )}
        <a href="#messages" class="im-link" data-testid="im-link">
          {t("im.title")}
          {unread > 0 && (
            <span class="badge" aria-label={t("im.unread", { count: unread })}>
              {unread}
            </span>
          )}
        </a>
      </nav>
      <div class="topbar-middle">{children}</div>
      <ConnectionBadge />
      <LanguagePicker onChange={onLanguage} hideLabel />
      <span class="user" title={user.timezone}>
        {user.display_name}
      </span>
      <button
        type="button"
        onClick={async () => {
          await logOut();
          location.assign("/login");
        }}
      >
        {t("session.logout")}
      </button>
    </header>
  );
}

/** The tenant's branding, read once per page and kept current (see ../branding.ts). */
function useBranding(): Branding | null {
  const [brand, setBrand] = useState<Branding | null>(branding());
  useEffect(() => {
    const stop = onBranding(setBrand);
    void loadBranding();
    return stop;
  }, []);
  return brand;
}
