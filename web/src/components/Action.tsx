import { useState } from "preact/hooks";
import { ApiError } from "../api/client";
import { t } from "../i18n";

/** Run a request on a click: busy while it runs, the server's refusal shown if it fails. The
 * screen itself changes only when the event of the change arrives on the socket. */
export function useAction(): [(fn: () => Promise<unknown>) => Promise<void>, boolean, string | null] {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function run(fn: () => Promise<unknown>) {
    setBusy(true);
    setError(null);
    try {
      await fn();
    } catch (e) {
      setError(e instanceof ApiError ? t("error.refused", { detail: e.message }) : t("error.network"));
    } finally {
      setBusy(false);
    }
  }
  return [run, busy, error];
}
