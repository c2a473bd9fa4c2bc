"""Who is signed in, and what they may see: accounts, roles, site scope, sign-in with lockout, the audit log.

No Streamlit here: the dashboard (dashboard/session.py) and the CLI (`civicties users`, `civicties audit`) use
the same functions, and the accounts live in the program's own store (graph/store.py), so a deployment has one
database to back up.

Roles (``ROLES``), from the account, never from the page:

- **admin**: everything with names, every site; manages accounts, loads data, reads the audit log; may *view
  as* a lower role to check what others see.
- **coordinator**: names and contact details, for the sites of their account only: a coordinator of S1 never
  receives a family, person, tie or contact of S2 (queries.privacy.restrict_to_sites, applied where data
  is fetched).
- **evaluator**: every site (unless the account names sites), pseudonyms only.
- **funder**: aggregates only, small counts suppressed.

Passwords are hashed with Argon2id (argon2-cffi, RFC 9106 parameters); nothing reversible is kept, and the
audit log never holds a password, a name of a family or a contact detail. A username that does not exist is
logged as a keyed hash of what was typed (someone may type a password into the username box).
"""
from __future__ import annotations

import getpass
import hashlib
import hmac
import os
import re
import secrets
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from civicties import settings
from graph.store import Store

__all__ = [
    "ROLES", "ALL_SITES", "ROLE_HELP", "Principal", "AccountError", "SignInError", "hash_password",
    "verify_password", "add_account", "update_account", "set_password", "authenticate", "principal_for",
    "principal_for_email", "refresh", "audit", "read_audit", "lockout", "is_demo_store", "mark_origin",
    "sync_demo_accounts", "demo_principal", "DEMO_ACCOUNTS", "cli_actor", "has_admin", "now_iso", "new_password",
]

ROLES = ("admin", "coordinator", "evaluator", "funder")
ALL_SITES = "*"
ROLE_HELP = {
    "admin": "Admin: every page with names, accounts, data loading and the audit log.",
    "coordinator": "Coordinator: names and contact details of the families at your sites.",
    "evaluator": "Evaluator: the analyses with pseudonyms instead of names.",
    "funder": "Funder: totals and shares only; counts under the privacy threshold are hidden.",
}
# One-click accounts offered while the store holds only the generated demo network (invented people).
DEMO_ACCOUNTS = {"demo-admin": ("admin", [ALL_SITES]), "demo-coordinator": ("coordinator", ["S1"]),
                 "demo-evaluator": ("evaluator", [ALL_SITES]), "demo-funder": ("funder", [ALL_SITES])}
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._@+-]{1,63}")
_HASHER = PasswordHasher()            # Argon2id, RFC 9106 low-memory profile (argon2-cffi's default)
_DUMMY_HASH = _HASHER.hash("not a password: equal timing for unknown usernames")


class AccountError(ValueError):
    """An account operation that cannot be done (unknown user, bad role, short password...)."""


class SignInError(Exception):
    """A refused sign-in, with the message to show (never says whether the username exists)."""


@dataclass(frozen=True)
class Principal:
    """The signed-in user as the data layer sees them: a role and the sites they may see.

    ``sites`` is empty or ``("*",)`` for every site. ``viewing_as`` is set when an admin looks through a
    lower role's eyes; the data is then shaped for that role.
    """

    username: str
    role: str
    sites: tuple[str, ...] = (ALL_SITES,)
    demo: bool = False
    method: str = "password"
    viewing_as: str | None = field(default=None)

    def __post_init__(self):
        if self.role not in ROLES:
            raise AccountError(f"unknown role {self.role!r}; use one of {', '.join(ROLES)}")

    @property
    def audience(self) -> str:
        """How data is shaped: coordinator (names), evaluator (pseudonyms) or funder (aggregates)."""
        return "coordinator" if self.role == "admin" else self.role

    @property
    def site_scope(self) -> tuple[str, ...] | None:
        """The sites whose people this principal may receive; None for every site."""
        if self.role == "admin" or not self.sites or ALL_SITES in self.sites:
            return None
        return tuple(sorted(self.sites))

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def may(self, permission: str) -> bool:
        """Whether this principal may do something beyond reading its pages."""
        allowed = {"manage_accounts": ("admin",), "load_data": ("admin",), "read_audit": ("admin",),
                   "record_contact": ("admin", "coordinator"), "download_people": ("admin", "coordinator", "evaluator")}
        if permission not in allowed:
            raise KeyError(permission)
        return self.role in allowed[permission]

    def view_as(self, role: str, sites: tuple[str, ...] = (ALL_SITES,)) -> "Principal":
        """What an admin sees as a lower role (only admins may, and never as an admin of other sites)."""
        if self.role != "admin":
            raise PermissionError("only an admin may view the dashboard as another role")
        if role == "admin":
            return self
        return replace(self, role=role, sites=tuple(sites) or (ALL_SITES,), viewing_as=role)


# -- passwords ---------------------------------------------------------------------------------------------

def hash_password(password: str) -> str:
    """An Argon2id hash (salted, with its parameters), e.g. '$argon2id$v=19$m=65536,t=3,p=4$...'."""
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; a missing or malformed hash never matches (and takes the same time)."""
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _check_password(password: str) -> None:
    shortest = settings.get_int("CIVICTIES_MIN_PASSWORD_LENGTH")
    if len(password) < shortest:
        raise AccountError(f"the password is too short: use at least {shortest} characters "
                           "(a few unrelated words make a good one)")
    if password.strip() != password or not password.strip():
        raise AccountError("the password must not start or end with spaces")


# -- accounts ----------------------------------------------------------------------------------------------

def now_iso(now: datetime | None = None) -> str:
    """UTC time as ISO text with microseconds: sortable as text, the audit log's clock."""
    return (now or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(timespec="microseconds")


def _norm_username(username: str) -> str:
    name = (username or "").strip().lower()
    if not _USERNAME.fullmatch(name):
        raise AccountError(f"{username!r} cannot be a username: use 2 to 64 letters, digits and . _ @ + - "
                           "(an email address works)")
    return name


def _norm_sites(role: str, sites) -> list[str]:
    sites = [s.strip() for s in (sites or []) if s and s.strip()]
    if role == "coordinator" and not sites:
        raise AccountError("a coordinator needs one or more sites (--sites S1,S2), or '*' for every site")
    if role == "admin":
        return [ALL_SITES]
    return sorted(set(sites)) or [ALL_SITES]


def add_account(store: Store, username: str, role: str, *, sites=(), password: str | None = None,
                email: str | None = None, actor: str, demo: bool = False) -> dict:
    """Create an account (password hashed; None for single sign-on only). Raises AccountError."""
    name = _norm_username(username)
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    if store.get_account(name) is not None:
        raise AccountError(f"there is already an account {name!r}")
    if password is not None:
        _check_password(password)
    now = now_iso()
    account = {"username": name, "role": role, "sites": _norm_sites(role, sites),
               "email": (email or "").strip().lower() or None,
               "password_hash": None if password is None else hash_password(password),
               "disabled": False, "demo": demo, "created_at": now, "updated_at": now}
    store.save_account(account)
    audit(store, actor, "account_created", target=name, detail=f"role {role}, sites {','.join(account['sites'])}")
    return account


def _get(store: Store, username: str) -> dict:
    account = store.get_account(_norm_username(username))
    if account is None:
        raise AccountError(f"there is no account {username!r} (civicties users list)")
    return account


def update_account(store: Store, username: str, *, actor: str, role: str | None = None, sites=None,
                   disabled: bool | None = None, email: str | None = None) -> dict:
    """Change an account's role, sites, email or disabled flag; every change goes to the audit log."""
    account = _get(store, username)
    changes = []
    if role is not None:
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
        account["role"] = role
        changes.append(f"role {role}")
    if sites is not None or role is not None:
        account["sites"] = _norm_sites(account["role"], account.get("sites") if sites is None else sites)
        changes.append(f"sites {','.join(account['sites'])}")
    if email is not None:
        account["email"] = email.strip().lower() or None
        changes.append("email")
    if disabled is not None:
        account["disabled"] = bool(disabled)
        changes.append("disabled" if disabled else "enabled")
    account["updated_at"] = now_iso()
    store.save_account(account)
    audit(store, actor, "account_changed", target=account["username"], detail="; ".join(changes))
    return account


def set_password(store: Store, username: str, password: str, *, actor: str) -> None:
    """A new password (hashed); it also lifts a lockout of the account."""
    account = _get(store, username)
    _check_password(password)
    account["password_hash"] = hash_password(password)
    account["updated_at"] = now_iso()
    store.save_account(account)
    audit(store, actor, "account_changed", target=account["username"], detail="password reset")


def has_admin(store: Store) -> bool:
    return any(a["role"] == "admin" and not a.get("disabled") and not a.get("demo") for a in store.list_accounts())


def cli_actor() -> str:
    """Who runs the CLI, for the audit log: whoever can open the store from a shell is trusted as an admin."""
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in this environment
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return f"cli:{user}"


# -- signing in --------------------------------------------------------------------------------------------

def principal_for(account: dict, *, method: str = "password") -> Principal:
    return Principal(username=account["username"], role=account["role"],
                     sites=tuple(account.get("sites") or (ALL_SITES,)), demo=bool(account.get("demo")),
                     method=method)


def _failed_actor(store: Store, typed: str) -> str:
    """The audit log's name for a sign-in to `typed`: the account's username, or a keyed hash of the text."""
    try:
        name = _norm_username(typed)
    except AccountError:
        name = None
    if name and store.get_account(name) is not None:
        return name
    digest = hmac.new(settings.pseudonym_secret().encode(), (typed or "").encode("utf-8"), hashlib.sha256)
    return "unknown:" + digest.hexdigest()[:12]


def lockout(store: Store, actor: str, source: str | None, *, now: datetime | None = None) -> tuple[str, int] | None:
    """('account' | 'address', seconds left) while sign-in to `actor` or from `source` is locked, else None.

    An account is locked once CIVICTIES_SIGNIN_MAX_FAILURES failures stand within the last
    CIVICTIES_SIGNIN_LOCKOUT_SECONDS since its last successful sign-in or password reset; an address
    once CIVICTIES_SIGNIN_SOURCE_MAX_FAILURES do (any account). The lock lifts when enough failures age out.
    """
    now = now or datetime.now(timezone.utc)
    window = settings.get_int("CIVICTIES_SIGNIN_LOCKOUT_SECONDS")
    since = now_iso(now - timedelta(seconds=window))
    checks = [("account", settings.get_int("CIVICTIES_SIGNIN_MAX_FAILURES"),
               store.read_audit(since=since, action="signin_failed", actor=actor, limit=1000))]
    if source:
        checks.append(("address", settings.get_int("CIVICTIES_SIGNIN_SOURCE_MAX_FAILURES"),
                       store.read_audit(since=since, action="signin_failed", source=source, limit=1000)))
    # a successful sign-in or a reset by an admin starts the account's count again
    resets = [e["at"] for e in store.read_audit(since=since, action="signin", actor=actor, limit=1)]
    resets += [e["at"] for e in store.read_audit(since=since, action="account_changed", limit=1000)
               if e.get("target") == actor]
    cleared = max(resets, default="")
    for kind, most, failures in checks:
        if kind == "account":
            failures = [f for f in failures if f["at"] > cleared]
        if len(failures) >= most > 0:
            oldest_counted = datetime.fromisoformat(failures[most - 1]["at"])
            left = int((oldest_counted + timedelta(seconds=window) - now).total_seconds()) + 1
            if left > 0:
                return kind, left
    return None


def authenticate(store: Store, username: str, password: str, *, source: str | None = None) -> Principal:
    """Check a username and password; the Principal, or SignInError with a message to show.

    Every outcome goes to the audit log. Wrong username and wrong password get the same message and take the
    same time (the hash is verified either way).
    """
    actor = _failed_actor(store, username)
    locked = lockout(store, actor, source)
    if locked:
        kind, seconds = locked
        audit(store, actor, "signin_refused", source=source, detail=f"{kind} locked")
        minutes = max(1, round(seconds / 60))
        who = "this account" if kind == "account" else "this network address"
        raise SignInError(f"Too many failed sign-ins for {who}: sign-in is locked for about {minutes} more "
                          f"minute{'s' if minutes != 1 else ''}. An admin can lift it by resetting the password.")
    account = store.get_account(actor) if not actor.startswith("unknown:") else None
    ok = verify_password(account.get("password_hash") if account else None, password or "")
    if not ok or account is None:
        audit(store, actor, "signin_failed", source=source)
        raise SignInError("The username or password is not right. Check both and try again.")
    if account.get("disabled"):
        audit(store, actor, "signin_refused", source=source, detail="account disabled")
        raise SignInError("This account is disabled. Ask an admin to enable it.")
    principal = principal_for(account)
    audit(store, principal.username, "signin", role=principal.role, source=source, detail="password")
    return principal


def principal_for_email(store: Store, email: str | None, *, verified: bool | None,
                        source: str | None = None) -> Principal:
    """The account a single-sign-on identity maps to (by its email), or SignInError (no data for strangers).

    An identity provider that says the email is not verified (email_verified false) is refused; one that
    does not say (Microsoft Entra ID) is trusted for the addresses of its own tenant.
    """
    address = (email or "").strip().lower()
    if not address or verified is False:
        audit(store, "unknown:sso", "signin_failed", source=source, detail="single sign-on without a verified email")
        raise SignInError("Your sign-in did not come with a verified email address, so it cannot be matched to "
                          "an account here.")
    matches = [a for a in store.list_accounts() if (a.get("email") or "").lower() == address or a["username"] == address]
    if len(matches) != 1 or matches[0].get("disabled") or matches[0].get("demo"):
        audit(store, _failed_actor(store, address), "signin_failed", source=source, detail="single sign-on")
        raise SignInError("You are signed in with your organisation, but there is no enabled account here for "
                          "your email address. Ask an admin to add one (civicties users add --email ...).")
    principal = principal_for(matches[0], method="sso")
    audit(store, principal.username, "signin", role=principal.role, source=source, detail="single sign-on")
    return principal


def refresh(store: Store, principal: Principal) -> Principal | None:
    """The principal as the account stands now (role and sites changed, disabled, demo ended), or None.

    Called on every page run, so an admin's change takes effect at once.
    """
    account = store.get_account(principal.username)
    if account is None or account.get("disabled"):
        return None
    if account.get("demo") and not is_demo_store(store):
        return None
    current = principal_for(account, method=principal.method)
    return current


# -- the audit log -----------------------------------------------------------------------------------------

def audit(store: Store, actor: str, action: str, *, role: str | None = None, target: str | None = None,
          rows: int | None = None, source: str | None = None, detail: str | None = None) -> dict:
    """Append to the audit log: who (username or cli:user), when, what, how many rows. Never names of
    families or people, contact details or secrets: callers pass kinds and counts, not values."""
    entry = {"id": uuid.uuid4().hex, "at": now_iso(), "actor": actor, "role": role, "action": action,
             "target": target, "rows": None if rows is None else int(rows), "source": source, "detail": detail}
    store.add_audit(entry)
    return entry


def read_audit(store: Store, *, since: str | None = None, action: str | None = None, actor: str | None = None,
               limit: int = 200) -> list[dict]:
    return store.read_audit(since=since, action=action, actor=actor, limit=limit)


# -- the demo ----------------------------------------------------------------------------------------------

def is_demo_store(store: Store) -> bool:
    """True only while the store holds nothing but the generated demo network."""
    return store.get_meta("data_origin") == "demo"


def mark_origin(store: Store, origin: str) -> None:
    """Record where the store's data came from: 'demo' (the generator) or 'package' (real data)."""
    store.set_meta("data_origin", origin)


def sync_demo_accounts(store: Store) -> None:
    """While the store holds only the demo: one enabled demo account per role (no password: one click on the
    sign-in page). Otherwise: every demo account disabled."""
    demo = is_demo_store(store)
    existing = {a["username"]: a for a in store.list_accounts() if a.get("demo")}
    for name, (role, sites) in DEMO_ACCOUNTS.items():
        account = existing.get(name)
        if account is None and demo:
            try:
                add_account(store, name, role, sites=sites, actor="system", demo=True)
            except AccountError:        # another app process made it a moment ago
                pass
        elif account is not None and bool(account.get("disabled")) == demo:
            update_account(store, name, actor="system", disabled=not demo)


def demo_principal(store: Store, role: str, *, source: str | None = None) -> Principal:
    """Sign in to the demo account of a role; refused unless the store holds only the demo network."""
    name = next((n for n, (r, _s) in DEMO_ACCOUNTS.items() if r == role), None)
    account = store.get_account(name) if name else None
    if not is_demo_store(store) or account is None or account.get("disabled"):
        raise SignInError("Demo sign-in is off: this store holds real data.")
    principal = principal_for(account, method="demo")
    audit(store, principal.username, "signin", role=role, source=source, detail="demo")
    return principal


def new_password() -> str:
    """A strong random password (for `civicties users add --generate-password`)."""
    return secrets.token_urlsafe(18)
