"""Finding customers: by name (typos and accents forgiven), phone in any format, email, case
number or custom field value. The design and its measurements: docs/adr/0011-crm-search.md.

Names, in two steps, each on the backend's own index:
1. every word of the query is matched against the tenant's name vocabulary by trigrams
   (pg_trgm on PostgreSQL, an FTS5 trigram table on SQLite): "smiht" -> smith, smit;
2. customers whose names hold, for every word, one of its matches (or, for the last word, a
   word it begins: type-ahead) are found by the full-text index (GIN tsvector / FTS5), then
   ranked here by how close each word came.
Phones, emails, case numbers and field values are exact lookups on B-tree indexes.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from difflib import SequenceMatcher

from sqlalchemy import delete, insert, literal, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from omnidesk.crm import normalize, views
from omnidesk.crm import repository as repo
from omnidesk.crm.models import Case, Customer, FieldValue, Identity, SearchDoc, SearchTerm
from omnidesk.crm.schemas import CustomerHit
from omnidesk.platform.database import SCOPE_KEY
from omnidesk.platform.errors import Invalid

CANDIDATES = 200  # customers ranked per name query
EXPANSIONS = 12  # vocabulary words kept per query word
SIMILAR = 0.72  # SequenceMatcher ratio a vocabulary word needs (smiht/smith: 0.8)
PHONE_LIKE = re.compile(r"^\+?[\d\s().\-/]{6,}$")
CASE_NUMBER = re.compile(r"^([A-Za-z]{1,6})-?(\d{1,12})$")


@dataclass(frozen=True)
class Hit:
    customer_id: uuid.UUID
    matched: str
    score: float


# --- keeping the indexes -------------------------------------------------------------------


async def index_name(
    session: AsyncSession, tenant_id: uuid.UUID, customer_id: uuid.UUID, name: str | None
) -> None:
    """Make the customer findable by `name` (None: by no name)."""
    words = normalize.terms(name or "")
    folded = " ".join(words)
    if not folded:
        await session.execute(delete(SearchDoc).where(SearchDoc.customer_id == customer_id))
        return
    changed = await session.execute(
        update(SearchDoc).where(SearchDoc.customer_id == customer_id).values(name=folded)
    )
    if changed.rowcount == 0:  # type: ignore[attr-defined]
        await session.execute(
            insert(SearchDoc).values(tenant_id=tenant_id, customer_id=customer_id, name=folded)
        )
    await add_terms(session, tenant_id, words)


async def add_terms(session: AsyncSession, tenant_id: uuid.UUID, words: list[str]) -> None:
    unique = sorted(set(words))
    if unique:
        await session.execute(
            repo.insert_ignoring(session, SearchTerm, ["tenant_id", "term"]),
            [{"tenant_id": tenant_id, "term": word} for word in unique],
        )


async def index_fields(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    customer_id: uuid.UUID,
    values: dict[str, object],
) -> None:
    await session.execute(delete(FieldValue).where(FieldValue.customer_id == customer_id))
    rows = [
        {"tenant_id": tenant_id, "customer_id": customer_id, "key": key, "value": folded}
        for key, value in values.items()
        if value is not None and (folded := normalize.fold_value(value))
    ]
    if rows:
        await session.execute(insert(FieldValue), rows)


async def forget(session: AsyncSession, customer_id: uuid.UUID) -> None:
    """Take a customer out of every search index (merged away, erased)."""
    await session.execute(delete(SearchDoc).where(SearchDoc.customer_id == customer_id))
    await session.execute(delete(FieldValue).where(FieldValue.customer_id == customer_id))


async def forget_words(session: AsyncSession, names: list[str]) -> int:
    """Take the words of these (erased) names out of the vocabulary where no remaining
    customer's name has them: an erased person's unusual surname must not stay behind as a
    term. Called after their own search documents are gone; how many words went."""
    gone = 0
    for word in sorted({w for name in names for w in normalize.terms(name)}):
        padded = literal(" ") + SearchDoc.name + " "
        still = await session.scalar(
            select(SearchDoc.customer_id)
            .where(padded.contains(f" {word} ", autoescape=True))
            .limit(1)
        )
        if still is None:
            result = await session.execute(delete(SearchTerm).where(SearchTerm.term == word))
            gone += result.rowcount  # type: ignore[attr-defined]
    return gone


# --- searching -----------------------------------------------------------------------------


async def by_query(session: AsyncSession, q: str, *, region: str | None, limit: int) -> list[Hit]:
    """One search box: what `q` looks like decides where it is looked for."""
    text_q = q.strip()
    if "@" in text_q:
        return await by_email(session, text_q)
    hits: list[Hit] = []
    case = CASE_NUMBER.match(text_q)
    if case or text_q.isdigit():
        hits += await by_case_number(session, text_q)
    if PHONE_LIKE.match(text_q):
        phone = normalize.maybe_phone(text_q, region)
        if phone is not None:
            hits += await _identity(session, normalize.IdentityKind.PHONE, phone, "phone")
    if hits:
        return hits
    # Not a known number: perhaps a custom field value (a contract number) or a name.
    hits = await by_field(session, None, text_q, limit=limit)
    return _best([*hits, *await by_name(session, text_q, limit=limit)], limit)


async def by_phone(session: AsyncSession, raw: str, region: str | None) -> list[Hit]:
    value = normalize.phone(raw, region, field="phone")
    return await _identity(session, normalize.IdentityKind.PHONE, value, "phone")


async def by_email(session: AsyncSession, raw: str) -> list[Hit]:
    try:
        value = normalize.email(raw, field="email")
    except Invalid:
        return []
    return await _identity(session, normalize.IdentityKind.EMAIL, value, "email")


async def _identity(
    session: AsyncSession, kind: normalize.IdentityKind, value: str, matched: str
) -> list[Hit]:
    rows = await session.scalars(
        select(Identity.customer_id).where(
            Identity.kind == kind.value, Identity.provider == "", Identity.value == value
        )
    )
    return [Hit(customer_id, matched, 1.0) for customer_id in rows]


async def by_case_number(session: AsyncSession, raw: str) -> list[Hit]:
    found = CASE_NUMBER.match(raw.strip())
    digits = found.group(2) if found else raw.strip()
    if not digits.isdigit():
        return []
    rows = await session.scalars(select(Case.customer_id).where(Case.number == int(digits)))
    return [Hit(customer_id, "case", 1.0) for customer_id in rows]


async def by_field(session: AsyncSession, key: str | None, raw: str, *, limit: int) -> list[Hit]:
    value = normalize.fold_value(raw)
    if not value:
        return []
    stmt = select(FieldValue.customer_id).where(FieldValue.value == value)
    if key is not None:
        stmt = stmt.where(FieldValue.key == key)
    rows = await session.scalars(stmt.limit(limit))
    return [Hit(customer_id, "field", 0.95) for customer_id in rows]


async def by_name(session: AsyncSession, raw: str, *, limit: int) -> list[Hit]:
    words = normalize.terms(raw)
    if not words:
        return []
    tenant_id = _tenant(session)
    backend = _Postgres() if repo.dialect(session) == "postgresql" else _Sqlite()
    # The one-edit candidates of every word in one lookup (a statement per word was the
    # larger part of a search's time on PostgreSQL).
    near = {w: {w, *_one_edit(w)} for w in words if len(w) >= 3}
    known = set(await _existing(session, set().union(*near.values()))) if near else set()
    groups: list[list[str]] = []
    for position, word in enumerate(words):
        options = await _expand(session, backend, tenant_id, word, near.get(word, set()) & known)
        last = position == len(words) - 1
        if options or (last and len(word) >= 2):
            groups.append(options)
    if not groups:
        return []
    query = backend.match_expression(groups, prefix=words[-1] if len(words[-1]) >= 2 else None)
    docs = await backend.documents(session, tenant_id, query)
    ranked = sorted(
        (Hit(customer_id, "name", _score(words, name)) for customer_id, name in docs),
        key=lambda hit: -hit.score,
    )
    return ranked[:limit]


def _best(hits: list[Hit], limit: int) -> list[Hit]:
    """One hit per customer (its best), best first."""
    best: dict[uuid.UUID, Hit] = {}
    for hit in hits:
        if hit.customer_id not in best or best[hit.customer_id].score < hit.score:
            best[hit.customer_id] = hit
    return sorted(best.values(), key=lambda hit: -hit.score)[:limit]


def similarity(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def _score(words: list[str], name: str) -> float:
    have = name.split()
    total = 0.0
    for position, word in enumerate(words):
        best = max((similarity(word, other) for other in have), default=0.0)
        if position == len(words) - 1 and any(o.startswith(word) for o in have):
            best = max(best, 0.9)
        total += best
    return round(total / len(words), 4)


async def _expand(
    session: AsyncSession, backend: _Backend, tenant_id: uuid.UUID, word: str, near: set[str]
) -> list[str]:
    """Vocabulary words close to `word` (itself included when a customer has it).

    First `near`: the existing words at most one edit away (looked up by the caller as an
    indexed IN of ~50 candidates per letter: the typo people make, and cheap at any vocabulary
    size); only when there is none, the trigram index (further typos; slower, as common
    trigrams are shared by many words, and weak for short words with a letter swapped
    mid-word: whaner/wahner share one).
    """
    found = set(near)
    if not found:
        found.update(await backend.similar_terms(session, tenant_id, word))
    close = sorted(
        ((similarity(word, term), term) for term in found if similarity(word, term) >= SIMILAR),
        reverse=True,
    )
    return [term for _, term in close[:EXPANSIONS]]


def _tenant(session: AsyncSession) -> uuid.UUID:
    scope = session.info.get(SCOPE_KEY)
    if not isinstance(scope, uuid.UUID):
        raise RuntimeError("search runs on a tenant session")
    return scope


# --- the two backends ----------------------------------------------------------------------


class _Backend:
    async def similar_terms(
        self, session: AsyncSession, tenant_id: uuid.UUID, word: str
    ) -> list[str]:
        raise NotImplementedError

    def match_expression(self, groups: list[list[str]], prefix: str | None) -> str:
        raise NotImplementedError

    async def documents(
        self, session: AsyncSession, tenant_id: uuid.UUID, query: str
    ) -> list[tuple[uuid.UUID, str]]:
        raise NotImplementedError


class _Sqlite(_Backend):
    """Raw SQL for the FTS5 tables (no ORM mapping); Uuid columns hold 32 hex digits here.
    CROSS JOIN makes SQLite walk the full-text matches first: with a plain JOIN its planner
    may scan the tenant's rows and probe the index for each (seconds instead of milliseconds).
    """

    async def similar_terms(
        self, session: AsyncSession, tenant_id: uuid.UUID, word: str
    ) -> list[str]:
        grams = sorted({word[i : i + 3] for i in range(len(word) - 2)})
        if not grams:
            return await _exact_term(session, word)
        # Any shared trigram makes a candidate; FTS5's rank (bm25) puts the words sharing the
        # most (and the rarest) first, and SIMILAR decides in _expand.
        rows = await session.execute(
            text(
                "SELECT t.term FROM crm_search_terms_fts f "
                "CROSS JOIN crm_search_terms t ON t.num = f.rowid "
                "WHERE crm_search_terms_fts MATCH :expr AND t.tenant_id = :tenant "
                "AND length(t.term) BETWEEN :shortest AND :longest "
                "ORDER BY f.rank LIMIT 40"
            ),
            {
                "expr": " OR ".join(f'"{g}"' for g in grams),
                "tenant": tenant_id.hex,
                "shortest": max(1, len(word) - 2),
                "longest": len(word) + 2,
            },
        )
        return [row[0] for row in rows]

    def match_expression(self, groups: list[list[str]], prefix: str | None) -> str:
        return _expression(
            groups, prefix, word='"{}"', starts='"{}"*', any_of=" OR ", every=" AND "
        )

    async def documents(
        self, session: AsyncSession, tenant_id: uuid.UUID, query: str
    ) -> list[tuple[uuid.UUID, str]]:
        rows = await session.execute(
            text(
                "SELECT d.customer_id, d.name FROM crm_search_docs_fts f "
                "CROSS JOIN crm_search_docs d ON d.num = f.rowid "
                "WHERE crm_search_docs_fts MATCH :expr AND d.tenant_id = :tenant "
                f"LIMIT {CANDIDATES}"
            ),
            {"expr": query, "tenant": tenant_id.hex},
        )
        return [(uuid.UUID(str(row[0])), row[1]) for row in rows]


class _Postgres(_Backend):
    async def similar_terms(
        self, session: AsyncSession, tenant_id: uuid.UUID, word: str
    ) -> list[str]:
        if len(word) < 3 or not await _has_trigrams(session):
            return await _exact_term(session, word)
        rows = await session.execute(
            text(
                # The expression of the trigram index (see migration 0007 for why not `term`).
                "SELECT term FROM crm_search_terms WHERE tenant_id = :tenant "
                "AND (' ' || term) % :word ORDER BY similarity(' ' || term, :word) DESC LIMIT 40"
            ),
            {"tenant": tenant_id, "word": word},
        )
        return [row[0] for row in rows]

    def match_expression(self, groups: list[list[str]], prefix: str | None) -> str:
        return _expression(groups, prefix, word="{}", starts="{}:*", any_of=" | ", every=" & ")

    async def documents(
        self, session: AsyncSession, tenant_id: uuid.UUID, query: str
    ) -> list[tuple[uuid.UUID, str]]:
        rows = await session.execute(
            text(
                "SELECT customer_id, name FROM crm_search_docs "
                "WHERE to_tsvector('simple', name) @@ to_tsquery('simple', :query) "
                f"AND tenant_id = :tenant LIMIT {CANDIDATES}"
            ),
            {"query": query, "tenant": tenant_id},
        )
        return [(row[0], row[1]) for row in rows]


_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _one_edit(word: str) -> set[str]:
    """Words one deletion, transposition, replacement or insertion away (Norvig's edits1)."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {a + b[1:] for a, b in splits if b}
    swaps = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    replaces = {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
    inserts = {a + c + b for a, b in splits for c in _LETTERS}
    return (deletes | swaps | replaces | inserts) - {word}


async def _existing(session: AsyncSession, words: set[str]) -> list[str]:
    if repo.dialect(session) == "postgresql":
        # One array parameter rather than an IN list of hundreds (which costs more to render,
        # send and plan than the lookup itself).
        rows = await session.execute(
            text(
                "SELECT term FROM crm_search_terms WHERE tenant_id = :tenant AND term = ANY(:words)"
            ),
            {"tenant": _tenant(session), "words": sorted(words)},
        )
        return [row[0] for row in rows]
    found = await session.scalars(select(SearchTerm.term).where(SearchTerm.term.in_(sorted(words))))
    return list(found)


def _expression(
    groups: list[list[str]], prefix: str | None, *, word: str, starts: str, any_of: str, every: str
) -> str:
    """(a OR b) AND (c OR d OR e*): one group of words per query word, in the backend's
    full-text syntax (words are [a-z0-9] only, so nothing needs escaping)."""
    parts = []
    for position, options in enumerate(groups):
        alternatives = [word.format(w) for w in options]
        if prefix is not None and position == len(groups) - 1:
            alternatives.append(starts.format(prefix))
        parts.append("(" + any_of.join(alternatives) + ")")
    return every.join(parts)


async def _exact_term(session: AsyncSession, word: str) -> list[str]:
    found = await session.scalar(select(SearchTerm.term).where(SearchTerm.term == word))
    return [found] if found else []


_TRIGRAMS: dict[str, bool] = {}


async def _has_trigrams(session: AsyncSession) -> bool:
    """Whether pg_trgm is installed (the migration creates it when the role may)."""
    url = str(session.get_bind().engine.url)
    if url not in _TRIGRAMS:
        found = await session.scalar(text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'"))
        _TRIGRAMS[url] = found is not None
    return _TRIGRAMS[url]


# --- the search endpoint's use case --------------------------------------------------------


@dataclass(frozen=True)
class Query:
    q: str | None = None
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    case: str | None = None
    field: str | None = None
    value: str | None = None


async def find(
    session: AsyncSession, query: Query, *, region: str | None, limit: int
) -> list[CustomerHit]:
    """Active customers matching the first criterion given (q, phone, email, case, field
    value, name), best first; with none, the newest customers."""
    hits = await _hits(session, query, region=region, limit=limit)
    hits = _best(hits, limit)
    if not hits:
        return []
    rows = {
        row.id: row
        for row in await session.scalars(
            select(Customer).where(
                Customer.id.in_([h.customer_id for h in hits]), Customer.status == "active"
            )
        )
    }
    ids = await repo.identities_of(session, rows)
    return [
        CustomerHit(
            id=hit.customer_id,
            display_name=rows[hit.customer_id].display_name,
            identities=[views.identity_out(i) for i in ids.get(hit.customer_id, [])],
            matched=hit.matched,
            score=hit.score,
        )
        for hit in hits
        if hit.customer_id in rows
    ]


async def _hits(
    session: AsyncSession, query: Query, *, region: str | None, limit: int
) -> list[Hit]:
    if query.q:
        return await by_query(session, query.q, region=region, limit=limit)
    if query.phone:
        return await by_phone(session, query.phone, region)
    if query.email:
        return await by_email(session, query.email)
    if query.case:
        return await by_case_number(session, query.case)
    if query.value is not None:
        return await by_field(session, query.field, query.value, limit=limit)
    if query.name:
        return await by_name(session, query.name, limit=limit)
    rows = await session.scalars(
        select(Customer.id)
        .where(Customer.status == "active")
        .order_by(Customer.created_at.desc())
        .limit(limit)
    )
    return [Hit(customer_id, "recent", 0.0) for customer_id in rows]
