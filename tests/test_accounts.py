"""Accounts, sign-in, lockout and the audit log, on both stores (a real Neo4j server in CI), and the
`civicties users` / `civicties audit` commands.

The same scenario runs on SQLite and on Neo4j and must give the same answers: accounts kept apart from the
program's data (reset() keeps them), Argon2id hashes that verify, a lockout after the fifth failure, an audit
log without a password or a typed secret in it.
"""
from __future__ import annotations

import io
import json
import sys
from contextlib import redirect_stderr, redirect_stdout
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from civicties.cli import main as cli_main
from dashboard import accounts
from dashboard.accounts import AccountError, Principal, SignInError
from graph.store import SQLiteStore
from ingest.load import load_package

sys.path.insert(0, str(Path(__file__).parent))
from neo4j_fixtures import neo4j_server, neo4j_store  # noqa: E402,F401

PASSWORD = "correct horse battery staple"
TINY = Path(__file__).parent / "data" / "tiny"


@pytest.fixture(params=["sqlite", "neo4j"])
def store(request, tmp_path):
    if request.param == "sqlite":
        s = SQLiteStore(tmp_path / "store.sqlite")
        yield s
        s.close()
    else:
        yield request.getfixturevalue("neo4j_store")


def _scenario(store) -> dict:
    """Everything the accounts layer does, as data to compare between stores."""
    accounts.add_account(store, "Ada", "admin", password=PASSWORD, actor="tests")
    accounts.add_account(store, "cora", "coordinator", sites=["S2", "S1"], password=PASSWORD, actor="tests",
                         email="Cora@Example.org")
    accounts.add_account(store, "fay", "funder", password=None, actor="tests", email="fay@example.org")
    accounts.update_account(store, "cora", actor="ada", sites=["S1"])
    accounts.update_account(store, "fay", actor="ada", disabled=True)
    ok = accounts.authenticate(store, "ada", PASSWORD, source="10.0.0.1")
    with pytest.raises(SignInError, match="not right"):
        accounts.authenticate(store, "cora", "wrong password!", source="10.0.0.2")
    with pytest.raises(SignInError, match="not right"):
        accounts.authenticate(store, "nobody", "my secret password", source="10.0.0.2")
    with pytest.raises(SignInError):
        accounts.authenticate(store, "fay", "", source="10.0.0.3")
    store.set_meta("data_origin", "demo")
    rows = [{k: v for k, v in a.items() if k not in ("password_hash", "created_at", "updated_at")}
            for a in store.list_accounts()]
    log = [{k: e.get(k) for k in ("actor", "role", "action", "target", "rows", "source", "detail")}
           for e in store.read_audit(limit=100)]
    return {"accounts": rows, "principal": ok, "log": log, "meta": store.get_meta("data_origin"),
            "missing_meta": store.get_meta("nothing")}


def test_accounts_and_audit_on_each_store(store):
    out = _scenario(store)
    assert out["principal"] == Principal(username="ada", role="admin", sites=("*",))
    assert [a["username"] for a in out["accounts"]] == ["ada", "cora", "fay"]
    cora = out["accounts"][1]
    assert cora["sites"] == ["S1"] and cora["email"] == "cora@example.org" and cora["disabled"] is False
    assert out["accounts"][2]["disabled"] is True
    actions = [e["action"] for e in out["log"]]
    # cora's wrong password, an unknown name, fay without a password; then ada's success, newest first
    assert actions[:4] == ["signin_failed", "signin_failed", "signin_failed", "signin"], actions
    failed_unknown = [e for e in out["log"] if e["action"] == "signin_failed" and e["actor"].startswith("unknown:")]
    assert len(failed_unknown) == 1 and "nobody" not in json.dumps(out["log"])
    assert out["meta"] == "demo" and out["missing_meta"] is None


def test_the_stores_give_the_same_answers(tmp_path, neo4j_store):
    sqlite = SQLiteStore(tmp_path / "parity.sqlite")
    try:
        a, b = _scenario(sqlite), _scenario(neo4j_store)
    finally:
        sqlite.close()
    assert a["accounts"] == b["accounts"]
    assert [{k: v for k, v in e.items()} for e in a["log"]] == b["log"]
    assert a["principal"] == b["principal"] and a["meta"] == b["meta"]


def test_passwords_are_argon2id_and_never_stored_or_logged(store):
    accounts.add_account(store, "ada", "admin", password=PASSWORD, actor="tests")
    with pytest.raises(SignInError):
        accounts.authenticate(store, "ada", "a typed secret 123", source="s")
    account = store.get_account("ada")
    assert account["password_hash"].startswith("$argon2id$")
    assert accounts.verify_password(account["password_hash"], PASSWORD)
    assert not accounts.verify_password(account["password_hash"], PASSWORD + " ")
    assert not accounts.verify_password(None, "") and not accounts.verify_password("garbage", "x")
    everything = json.dumps(store.list_accounts()) + json.dumps(store.read_audit(limit=100))
    assert PASSWORD not in everything and "a typed secret 123" not in everything


def test_reset_keeps_accounts_and_the_log(store, tiny_dir):
    accounts.add_account(store, "ada", "admin", password=PASSWORD, actor="tests")
    load_package(tiny_dir, store)
    store.reset()
    assert store.is_empty() and store.get_account("ada") and store.read_audit(limit=5)
    assert "CivicTiesAccount" not in store.counts() and "accounts" not in store.counts()


def test_lockout_after_five_failures(store, monkeypatch):
    monkeypatch.setenv("CIVICTIES_SIGNIN_MAX_FAILURES", "5")
    accounts.add_account(store, "ada", "admin", password=PASSWORD, actor="tests")
    for _ in range(5):
        with pytest.raises(SignInError, match="not right"):
            accounts.authenticate(store, "ada", "wrong password", source="10.1.1.1")
    with pytest.raises(SignInError, match="locked for about 15 more minutes"):
        accounts.authenticate(store, "ada", PASSWORD, source="10.1.1.1")     # even the right password
    # the lock lifts when the failures age out of the window...
    later = datetime.now(timezone.utc) + timedelta(seconds=901)
    assert accounts.lockout(store, "ada", None, now=later) is None
    # ...or when an admin resets the password
    accounts.set_password(store, "ada", PASSWORD + "!", actor="root")
    assert accounts.authenticate(store, "ada", PASSWORD + "!").username == "ada"


def test_one_address_trying_many_accounts_is_locked(store, monkeypatch):
    monkeypatch.setenv("CIVICTIES_SIGNIN_SOURCE_MAX_FAILURES", "6")
    for i in range(6):
        with pytest.raises(SignInError, match="not right"):
            accounts.authenticate(store, f"user{i}", "guess number one", source="10.9.9.9")
    with pytest.raises(SignInError, match="network address"):
        accounts.authenticate(store, "someone-else", "guess", source="10.9.9.9")
    with pytest.raises(SignInError, match="not right"):              # another address is not locked
        accounts.authenticate(store, "someone-else", "guess", source="10.9.9.8")


def test_account_rules(store):
    with pytest.raises(AccountError, match="too short"):
        accounts.add_account(store, "ada", "admin", password="short", actor="t")
    with pytest.raises(AccountError, match="sites"):
        accounts.add_account(store, "cora", "coordinator", password=PASSWORD, actor="t")
    with pytest.raises(AccountError, match="username"):
        accounts.add_account(store, "a b<script>", "funder", password=PASSWORD, actor="t")
    with pytest.raises(AccountError, match="role"):
        accounts.add_account(store, "ada", "superuser", password=PASSWORD, actor="t")
    accounts.add_account(store, "ada", "admin", password=PASSWORD, actor="t")
    with pytest.raises(AccountError, match="already"):
        accounts.add_account(store, "ADA", "admin", password=PASSWORD, actor="t")
    with pytest.raises(AccountError, match="no account"):
        accounts.update_account(store, "bob", actor="t", disabled=True)


def test_refresh_follows_the_account(store):
    accounts.add_account(store, "cora", "coordinator", sites=["S1"], password=PASSWORD, actor="t")
    p = accounts.authenticate(store, "cora", PASSWORD)
    assert p.site_scope == ("S1",) and p.audience == "coordinator"
    accounts.update_account(store, "cora", actor="t", role="evaluator")
    assert accounts.refresh(store, p).role == "evaluator"
    accounts.update_account(store, "cora", actor="t", disabled=True)
    assert accounts.refresh(store, p) is None


def test_demo_accounts_only_while_the_store_holds_the_demo(store, tiny_dir):
    load_package(tiny_dir, store, demo=True)
    accounts.sync_demo_accounts(store)
    assert accounts.is_demo_store(store)
    funder = accounts.demo_principal(store, "funder")
    assert funder.role == "funder" and funder.demo
    with pytest.raises(SignInError):                       # demo accounts have no password
        accounts.authenticate(store, "demo-funder", "")
    load_package(tiny_dir, store)                          # real data arrives
    accounts.sync_demo_accounts(store)
    assert not accounts.is_demo_store(store)
    assert all(a["disabled"] for a in store.list_accounts() if a["demo"])
    with pytest.raises(SignInError, match="Demo sign-in is off"):
        accounts.demo_principal(store, "funder")
    assert accounts.refresh(store, funder) is None         # a demo session still open ends


def test_single_sign_on_maps_a_verified_email_to_an_account(store):
    accounts.add_account(store, "cora", "coordinator", sites=["S1"], actor="t", email="cora@example.org")
    p = accounts.principal_for_email(store, "Cora@Example.org", verified=True)
    assert p.username == "cora" and p.method == "sso" and p.site_scope == ("S1",)
    assert accounts.principal_for_email(store, "cora@example.org", verified=None).username == "cora"
    for email, verified in (("cora@example.org", False), ("stranger@example.org", True), ("", True)):
        with pytest.raises(SignInError):
            accounts.principal_for_email(store, email, verified=verified)


def test_admin_view_as(store):
    admin = Principal(username="ada", role="admin")
    as_coordinator = admin.view_as("coordinator", ("S2",))
    assert as_coordinator.audience == "coordinator" and as_coordinator.site_scope == ("S2",)
    assert admin.view_as("funder").audience == "funder"
    with pytest.raises(PermissionError):
        Principal(username="f", role="funder").view_as("coordinator")


# -- the command line -------------------------------------------------------------------------------------

def _cli(*args, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = cli_main(list(args))
    finally:
        sys.stdin = old
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(params=["sqlite", "neo4j"])
def store_uri(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cli.sqlite'}"
    server = request.getfixturevalue("neo4j_store")
    return server.uri


def test_users_commands(store_uri, tiny_dir):
    s = ("--store", store_uri)
    code, _out, err = _cli("ingest", str(tiny_dir), *s)
    assert code == 0 and "no admin account yet" in err            # no terminal: a note, never a default
    assert _cli("users", "add", "ada", "--role", "admin", "--password-stdin", *s, stdin=PASSWORD + "\n")[0] == 0
    code, out, _ = _cli("users", "add", "cora", "--role", "coordinator", "--sites", "S1,S2", "--generate-password", *s)
    generated = out.strip().rsplit(" ", 1)[-1]
    assert code == 0 and len(generated) >= 20
    assert _cli("users", "add", "bad", "--role", "coordinator", "--password-stdin", *s, stdin=PASSWORD)[0] == 2
    assert _cli("users", "add", "eve", "--role", "funder", *s)[0] == 2        # no terminal, no password given
    assert _cli("users", "set-sites", "cora", "S1", *s)[0] == 0
    assert _cli("users", "set-role", "cora", "evaluator", *s)[0] == 0
    assert _cli("users", "disable", "cora", *s)[0] == 0
    code, out, _ = _cli("users", "list", "--json", *s)
    listed = {a["username"]: a for a in json.loads(out)}
    assert listed["cora"]["role"] == "evaluator" and listed["cora"]["disabled"] is True
    assert "password_hash" not in out and PASSWORD not in out and generated not in out
    assert _cli("users", "enable", "cora", *s)[0] == 0
    assert _cli("users", "reset-password", "cora", "--password-stdin", *s, stdin="another long password\n")[0] == 0
    code, out, _ = _cli("audit", "--json", *s)
    log = json.loads(out)
    assert code == 0 and {"data_load", "account_created", "account_changed"} <= {e["action"] for e in log}
    assert all(e["actor"].startswith("cli:") for e in log if e["action"] == "account_created")
    assert PASSWORD not in out and generated not in out and "another long password" not in out
    code, out, _ = _cli("audit", "--action", "account_changed", "--user", log[0]["actor"], *s)
    assert code == 0 and "account_changed" in out and "account_created" not in out
