// Who is logged in: the directory's user (GET /auth/me), kept for the page's life.
import { api, ok, type Schemas } from "./api/client";

export type User = Schemas["UserOut"];
const TENANT_KEY = "omnidesk.tenant";

export async function currentUser(): Promise<User | null> {
  const { data, response } = await api.GET("/api/v1/auth/me");
  if (response.status === 401) return null;
  if (!response.ok || !data) throw new Error(`GET /auth/me: ${response.status}`);
  return data;
}

export async function logIn(tenant: string, username: string, password: string): Promise<User> {
  const body = await ok(api.POST("/api/v1/auth/login", { body: { tenant, username, password } }));
  localStorage.setItem(TENANT_KEY, tenant);
  return body.user;
}

export async function logOut(): Promise<void> {
  await api.POST("/api/v1/auth/logout");
}

export function lastTenant(): string {
  return localStorage.getItem(TENANT_KEY) ?? "";
}

/** The screen this user lands on. */
export function homeOf(user: User): string {
  return user.role === "agent" ? "/agent" : "/supervisor";
}

export function canSupervise(user: User): boolean {
  return user.role === "admin" || user.role === "supervisor";
}

export function canAdminister(user: User): boolean {
  return user.role === "admin";
}
