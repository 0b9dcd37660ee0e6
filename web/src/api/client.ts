// The one way into the server: typed by the generated schema (npm run api-types), with the CSRF
// header on unsafe requests and an expired session sent back to the login page.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
const CSRF_COOKIE = "omnidesk_csrf";
const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | null,
    detail: string,
    /** The whole problem body (RFC 9457): `field`, `errors`, `line`, `version`, … */
    readonly problem: Record<string, unknown> = {},
  ) {
    super(detail);
  }
}

function cookie(name: string): string | null {
  for (const part of document.cookie.split(";")) {
    const [key, ...value] = part.trim().split("=");
    if (key === name) return decodeURIComponent(value.join("="));
  }
  return null;
}

type ExpiredHandler = () => void;
let onExpired: ExpiredHandler = () => {};

/** What to do when the server says the session is gone (401 on anything but the login). */
export function whenSessionExpires(handler: ExpiredHandler): void {
  onExpired = handler;
}

const session: Middleware = {
  onRequest({ request }) {
    if (!SAFE.has(request.method)) {
      const token = cookie(CSRF_COOKIE);
      if (token) request.headers.set("X-CSRF-Token", token);
    }
    return request;
  },
  onResponse({ request, response }) {
    if (response.status === 401 && !new URL(request.url).pathname.endsWith("/auth/login")) onExpired();
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: location.origin });
api.use(session);

/** The body of a successful answer, or an ApiError with the problem's detail. */
export async function ok<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await call;
  if (response.ok) return data as T;
  const problem = (error ?? {}) as { detail?: unknown; code?: string };
  const detail = typeof problem.detail === "string" ? problem.detail : response.statusText;
  throw new ApiError(response.status, problem.code ?? null, detail, (error ?? {}) as Record<string, unknown>);
}
