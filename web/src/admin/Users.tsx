import { useEffect, useState } from "preact/hooks";
import { api, ok, type Schemas } from "../api/client";
import { t } from "../i18n";
import { errorsOf, FieldError, FormError, OtherErrors, type Errors } from "./Problem";

type User = Schemas["UserOut"];
type Team = Schemas["TeamOut"];
type Role = User["role"];
const ROLES: Role[] = ["agent", "supervisor", "admin"];

interface Draft {
  id: string | null;
  username: string;
  display_name: string;
  role: Role;
  email: string;
  timezone: string;
  password: string;
  teams: string[];
}

const EMPTY: Draft = { id: null, username: "", display_name: "", role: "agent", email: "", timezone: "UTC", password: "", teams: [] };
const SHOWN = new Set(["username", "display_name", "role", "email", "timezone", "password"]);

async function load(): Promise<[User[], Team[]]> {
  return Promise.all([ok(api.GET("/api/v1/users")), ok(api.GET("/api/v1/teams"))]);
}

/** Users (create, edit role and teams, deactivate) and teams (create). */
export function Users() {
  const [users, setUsers] = useState<User[]>([]);
  const [teams, setTeams] = useState<Team[]>([]);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  const [teamName, setTeamName] = useState("");

  async function attempt(fn: () => Promise<unknown>): Promise<boolean> {
    setBusy(true);
    setErrors({});
    try {
      await fn();
      const [u, tm] = await load();
      setUsers(u);
      setTeams(tm);
      return true;
    } catch (e) {
      setErrors(errorsOf(e));
      return false;
    } finally {
      setBusy(false);
    }
  }
  useEffect(() => void attempt(async () => {}), []);
  const teamName_ = (id: string) => teams.find((tm) => tm.id === id)?.name ?? id;
  const set = (name: keyof Draft) => (e: Event) => setDraft({ ...(draft as Draft), [name]: (e.target as HTMLInputElement).value });

  async function save(d: Draft) {
    const email = d.email.trim() || null;
    let id = d.id;
    if (id === null) {
      const created = await ok(
        api.POST("/api/v1/users", {
          body: { username: d.username.trim(), display_name: d.display_name.trim(), role: d.role, email, timezone: d.timezone, password: d.password || null },
        }),
      );
      id = created.id;
    } else {
      await ok(
        api.PATCH("/api/v1/users/{user_id}", {
          params: { path: { user_id: id } },
          body: { display_name: d.display_name.trim(), role: d.role, email, timezone: d.timezone },
        }),
      );
    }
    const had = new Set(users.find((u) => u.id === id)?.teams.map((m) => m.team_id) ?? []);
    for (const team of teams) {
      const path = { team_id: team.id, user_id: id };
      if (d.teams.includes(team.id) && !had.has(team.id))
        await ok(api.PUT("/api/v1/teams/{team_id}/members/{user_id}", { params: { path }, body: { role: "member" } }));
      else if (!d.teams.includes(team.id) && had.has(team.id))
        await ok(api.DELETE("/api/v1/teams/{team_id}/members/{user_id}", { params: { path } }));
    }
  }

  return (
    <section aria-labelledby="admin-users-title" data-testid="admin-users">
      <h2 id="admin-users-title">{t("admin.users.title")}</h2>
      <table>
        <caption class="visually-hidden">{t("admin.users.title")}</caption>
        <thead>
          <tr>
            <th scope="col">{t("admin.users.displayName")}</th>
            <th scope="col">{t("admin.users.username")}</th>
            <th scope="col">{t("admin.users.role")}</th>
            <th scope="col">{t("admin.users.teams")}</th>
            <th scope="col">{t("admin.users.status")}</th>
            <th scope="col">{t("admin.actions")}</th>
          </tr>
        </thead>
        <tbody>
          {users.map((u) => (
            <tr key={u.id} data-user={u.username}>
              <td>{u.display_name}</td>
              <td>{u.username}</td>
              <td>{t(`admin.role.${u.role}`)}</td>
              <td>{u.teams.map((m) => teamName_(m.team_id)).join(", ")}</td>
              <td>{u.active ? t("admin.users.active") : t("admin.users.inactive")}</td>
              <td class="inline">
                <button
                  type="button"
                  onClick={() => {
                    setErrors({});
                    setDraft({ id: u.id, username: u.username, display_name: u.display_name, role: u.role, email: u.email ?? "", timezone: u.timezone, password: "", teams: u.teams.map((m) => m.team_id) });
                  }}
                >
                  {t("admin.edit", { name: u.display_name })}
                </button>
                <button
                  type="button"
                  class={u.active ? "danger" : undefined}
                  disabled={busy}
                  onClick={() =>
                    attempt(() => ok(api.PATCH("/api/v1/users/{user_id}", { params: { path: { user_id: u.id } }, body: { active: !u.active } })))
                  }
                >
                  {u.active ? t("admin.users.deactivate", { name: u.display_name }) : t("admin.users.reactivate", { name: u.display_name })}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {draft === null ? (
        <button type="button" onClick={() => { setErrors({}); setDraft({ ...EMPTY }); }}>
          {t("admin.users.new")}
        </button>
      ) : (
        <form
          class="admin-form"
          aria-labelledby="admin-user-form-title"
          onSubmit={(e) => {
            e.preventDefault();
            void attempt(() => save(draft)).then((done) => done && setDraft(null));
          }}
        >
          <h3 id="admin-user-form-title">{draft.id ? t("admin.users.editTitle", { name: draft.display_name }) : t("admin.users.new")}</h3>
          <label>
            {t("admin.users.username")}
            <input type="text" required disabled={draft.id !== null} value={draft.username} onInput={set("username")} aria-invalid={!!errors.username} aria-describedby="user-username-error" />
            <FieldError id="user-username-error" errors={errors} name="username" />
          </label>
          <label>
            {t("admin.users.displayName")}
            <input type="text" required value={draft.display_name} onInput={set("display_name")} aria-invalid={!!errors.display_name} aria-describedby="user-display-error" />
            <FieldError id="user-display-error" errors={errors} name="display_name" />
          </label>
          <label>
            {t("admin.users.role")}
            <select value={draft.role} onChange={set("role")}>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {t(`admin.role.${r}`)}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t("admin.users.email")}
            <input type="email" value={draft.email} onInput={set("email")} aria-invalid={!!errors.email} aria-describedby="user-email-error" />
            <FieldError id="user-email-error" errors={errors} name="email" />
          </label>
          <label>
            {t("admin.users.timezone")}
            <input type="text" value={draft.timezone} onInput={set("timezone")} aria-invalid={!!errors.timezone} aria-describedby="user-tz-error" />
            <FieldError id="user-tz-error" errors={errors} name="timezone" />
          </label>
          {draft.id === null && (
            <label>
              {t("admin.users.password")}
              <input type="password" autoComplete="new-password" value={draft.password} onInput={set("password")} aria-invalid={!!errors.password} aria-describedby="user-password-error" />
              <FieldError id="user-password-error" errors={errors} name="password" />
            </label>
          )}
          <fieldset>
            <legend>{t("admin.users.teams")}</legend>
            {teams.length === 0 && <p class="muted">{t("admin.teams.none")}</p>}
            {teams.map((team) => (
              <label key={team.id} class="inline">
                <input
                  type="checkbox"
                  checked={draft.teams.includes(team.id)}
                  onChange={(e) => {
                    const on = (e.target as HTMLInputElement).checked;
                    setDraft({ ...draft, teams: on ? [...draft.teams, team.id] : draft.teams.filter((x) => x !== team.id) });
                  }}
                />
                {team.name}
              </label>
            ))}
          </fieldset>
          <OtherErrors errors={errors} shown={(n) => SHOWN.has(n)} />
          <div class="inline">
            <button type="submit" class="primary" disabled={busy}>
              {t("admin.save")}
            </button>
            <button type="button" onClick={() => setDraft(null)}>
              {t("admin.cancel")}
            </button>
          </div>
        </form>
      )}
      <FormError errors={errors} />
      <h2 id="admin-teams-title">{t("admin.teams.title")}</h2>
      <ul aria-labelledby="admin-teams-title" data-testid="admin-teams">
        {teams.map((team) => (
          <li key={team.id}>
            <strong>{team.name}</strong> <span class="muted">{t("admin.teams.members", { count: team.members.length })}</span>
          </li>
        ))}
      </ul>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          void attempt(() => ok(api.POST("/api/v1/teams", { body: { name: teamName.trim() } }))).then((done) => done && setTeamName(""));
        }}
      >
        <label class="inline">
          {t("admin.teams.name")}
          <input type="text" required value={teamName} onInput={(e) => setTeamName((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit" disabled={busy}>
          {t("admin.teams.create")}
        </button>
      </form>
    </section>
  );
}
