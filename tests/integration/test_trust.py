"""Trust decides: only a bundle signed by a key this computer trusts verifies with exit 0.

Each test has a trust store of its own (``AUDITOR_TRUST_DIR``), empty at first, and drives the
``auditor`` command as a user would: ``keys init`` trusts the agent's own keys, ``keys trust`` /
``keys untrust`` manage the store, ``verify`` exits 4 for an intact bundle nobody trusts,
``report`` renders it only under a "signer not trusted" banner (looked at in Chromium), and the
history store refuses it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.signing import PUBLIC_NAME, load_signer
from auditor.smcrypto import SM2_PUBLIC_NAME
from tests.support.browser import browser, load
from tests.support.cli import run_cli
from tests.support.tamper import build_bundle, resign


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_bundle(tmp_path_factory.mktemp("trust"))


@pytest.fixture()
def store(tmp_path: Path) -> dict[str, str]:
    """The environment of a computer whose trust store is empty."""
    return {"AUDITOR_TRUST_DIR": str(tmp_path / "trusted-keys")}


def _keys(bundle: Path) -> Path:
    return bundle.parent / "keys"  # the agent's key directory, outside the bundle


def _fingerprints(bundle: Path) -> tuple[str, str]:
    signing = json.loads((bundle / "report.json").read_bytes())["signing"]
    return signing["key_fingerprint"], signing["sm2"]["key_fingerprint"]


def test_keys_init_trusts_the_agents_own_keys(tmp_path: Path, store: dict[str, str]) -> None:
    first = run_cli("keys", "init", "--sm2", "--key-dir", str(tmp_path / "k"), env=store)
    assert first.returncode == 0, first.stderr
    ed = load_signer(tmp_path / "k").keyid
    assert f"trusted: {ed} in {store['AUDITOR_TRUST_DIR']}" in first.stdout
    assert first.stdout.count("trusted: ") == 2  # Ed25519 and SM2
    listed = run_cli("keys", "list", env=store)
    assert listed.returncode == 0 and f"ed25519  {ed}" in listed.stdout and "sm2 " in listed.stdout
    again = run_cli("keys", "init", "--sm2", "--key-dir", str(tmp_path / "k"), env=store)
    assert again.returncode == 0 and "trusted: " not in again.stdout  # already trusted: nothing added
    empty = run_cli("keys", "list", env={"AUDITOR_TRUST_DIR": str(tmp_path / "none")})
    assert empty.returncode == 0 and "is empty" in empty.stdout


def test_an_intact_bundle_nobody_trusts_exits_4_until_its_keys_are_trusted(
        bundle: Path, store: dict[str, str]) -> None:
    ed, sm2 = _fingerprints(bundle)
    res = run_cli("verify", str(bundle), env=store)
    assert res.returncode == 4, res.stdout + res.stderr
    first = res.stdout.splitlines()[0]
    assert first == (f"UNTRUSTED: {bundle}: intact, but the signer is not trusted: signed by Ed25519 key "
                     f"{ed} and SM2 key {sm2}, which are not in the trust store {store['AUDITOR_TRUST_DIR']}")
    assert "OK" not in res.stdout and "auditor keys trust" in res.stdout
    added = run_cli("keys", "trust", str(_keys(bundle) / PUBLIC_NAME), env=store)
    assert added.returncode == 0 and f"trusted: ed25519 {ed}" in added.stdout
    half = run_cli("verify", str(bundle), env=store)  # every signature must be by a trusted key
    assert half.returncode == 4 and f"signed by SM2 key {sm2}, which is not in" in half.stdout
    assert run_cli("keys", "trust", str(_keys(bundle) / SM2_PUBLIC_NAME), env=store).returncode == 0
    ok = run_cli("verify", str(bundle), env=store)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith(f"OK: {bundle}: signature by {ed}")
    assert f"signer trusted (the trust store {store['AUDITOR_TRUST_DIR']})" in ok.stdout
    gone = run_cli("keys", "untrust", ed.split(":")[1][:12], env=store)
    assert gone.returncode == 0 and f"untrusted: ed25519 {ed}" in gone.stdout
    assert run_cli("verify", str(bundle), env=store).returncode == 4


def test_a_tampered_untrusted_bundle_is_a_failure_not_a_trust_question(
        bundle: Path, tmp_path: Path, store: dict[str, str]) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(bundle, copy)
    (copy / "report.md").write_text("all passed\n", encoding="utf-8")
    res = run_cli("verify", str(copy), env=store)
    assert res.returncode == 1 and "report.md" in res.stderr
    assert "and the signer is not trusted" in res.stderr


def test_bundles_signed_before_a_key_rotation_verify_while_the_old_key_stays_trusted(
        bundle: Path, tmp_path: Path, store: dict[str, str]) -> None:
    for name in (PUBLIC_NAME, SM2_PUBLIC_NAME):
        assert run_cli("keys", "trust", str(_keys(bundle) / name), env=store).returncode == 0
    rotated = tmp_path / "rotated-keys"
    assert run_cli("keys", "init", "--key-dir", str(rotated), env=store).returncode == 0
    after = resign(bundle, tmp_path / "after-rotation", rotated)  # a later run, signed by the new key
    assert run_cli("verify", str(bundle), env=store).returncode == 0
    assert run_cli("verify", str(after), env=store).returncode == 0
    old = _fingerprints(bundle)[0]
    assert run_cli("keys", "untrust", old, env=store).returncode == 0
    assert run_cli("verify", str(bundle), env=store).returncode == 4
    assert run_cli("verify", str(after), env=store).returncode == 0


def test_report_renders_an_untrusted_bundle_only_under_a_banner(
        bundle: Path, tmp_path: Path, store: dict[str, str]) -> None:
    ed, sm2 = _fingerprints(bundle)
    out = tmp_path / "rendered"
    res = run_cli("report", str(bundle), "--format", "html,md,oscal", "--lang", "en", "--out", str(out),
                  env=store)
    assert res.returncode == 4, res.stdout + res.stderr
    assert res.stdout.startswith(f"UNTRUSTED: {bundle}: intact, but the signer is not trusted")
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "**Signer not trusted.**" in md and ed in md
    assert md.index("Signer not trusted") < md.index("## Fix these first")
    oscal = json.loads((out / "assessment-results.json").read_text(encoding="utf-8"))
    assert oscal["assessment-results"]["metadata"]["remarks"].startswith("Signer not trusted")
    zh = tmp_path / "rendered-zh"
    assert run_cli("report", str(bundle), "--format", "html", "--out", str(zh), env=store).returncode == 4
    with browser() as b:
        for page_file, words in ((out / "report.html", "Signer not trusted"),
                                 (out / "evidence-index.html", "Signer not trusted"),
                                 (zh / "report.html", "签名者不受信任")):
            seen, page = load(b, page_file.as_uri(), screenshot=tmp_path / f"{page_file.parent.name}.png")
            banner = page.locator("#signer-not-trusted")
            assert banner.is_visible() and words in banner.inner_text() and ed in banner.inner_text()
            assert sm2 in banner.inner_text()
            box = banner.bounding_box()
            assert box is not None and box["y"] < 100  # the first thing on the first screen
            assert seen.errors == []
            page.close()
    trusted_env = {"AUDITOR_TRUST_DIR": str(tmp_path / "t2")}
    for name in (PUBLIC_NAME, SM2_PUBLIC_NAME):
        assert run_cli("keys", "trust", str(_keys(bundle) / name), env=trusted_env).returncode == 0
    clean = tmp_path / "clean"
    res = run_cli("report", str(bundle), "--format", "html,md", "--out", str(clean), env=trusted_env)
    assert res.returncode == 0, res.stdout + res.stderr
    assert 'id="signer-not-trusted"' not in (clean / "report.html").read_text(encoding="utf-8")
    assert "Signer not trusted" not in (clean / "report.md").read_text(encoding="utf-8")


def test_history_ingest_needs_a_trusted_signer(bundle: Path, tmp_path: Path, store: dict[str, str]) -> None:
    db = f"sqlite:///{tmp_path / 'history.sqlite'}"
    refused = run_cli("history", "ingest", str(bundle), "--db", db, env=store)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "intact, but the signer is not trusted" in refused.stderr
    assert "auditor keys trust" in refused.stderr
    listed = run_cli("history", "--db", db, "--json", env=store)
    assert listed.returncode == 0 and json.loads(listed.stdout)["runs"] == []
    pinned = run_cli("history", "ingest", str(bundle), "--db", db, "--key",
                     str(_keys(bundle) / PUBLIC_NAME), env=store)
    assert pinned.returncode == 0, pinned.stderr


def test_trust_store_inputs_get_clear_errors(bundle: Path, tmp_path: Path, store: dict[str, str]) -> None:
    junk = tmp_path / "junk.pub"
    junk.write_text("not a key\n", encoding="utf-8")
    res = run_cli("keys", "trust", str(junk), env=store)
    assert res.returncode == 2 and f"{junk}: not an Ed25519 or SM2 public key" in res.stderr
    pem = (_keys(bundle) / PUBLIC_NAME).read_text(encoding="utf-8")
    wrapped = tmp_path / "from-mail.txt"  # text around the PEM block is not part of the key
    wrapped.write_text(f"Our agent's key, fingerprint read out by phone:\n{pem}\n-- \n王老师\n",
                       encoding="utf-8")
    res = run_cli("keys", "trust", str(wrapped), env=store)
    assert res.returncode == 0 and _fingerprints(bundle)[0] in res.stdout, res.stderr
    two = tmp_path / "two.pub"
    two.write_text(pem + (_keys(bundle) / SM2_PUBLIC_NAME).read_text(encoding="utf-8"), encoding="utf-8")
    res = run_cli("keys", "trust", str(two), env=store)
    assert res.returncode == 2 and "more than one public key" in res.stderr
    res = run_cli("keys", "untrust", "abc", env=store)
    assert res.returncode == 2 and "at least its first 8 hex digits" in res.stderr
    res = run_cli("keys", "untrust", "sha256:00000000", env=store)
    assert res.returncode == 2 and "no such key in the trust store" in res.stderr
    res = run_cli("verify", str(bundle), "--key", str(_keys(bundle) / PUBLIC_NAME), "--trusted-keys",
                  str(tmp_path), env=store)
    assert res.returncode == 2 and "not both" in res.stderr
    for res in (run_cli("keys", "trust", str(junk), env=store), run_cli("keys", "untrust", "abc", env=store)):
        assert "Traceback" not in res.stderr
