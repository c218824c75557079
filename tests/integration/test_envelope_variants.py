"""Envelope and key-file variants (issue 19): what ``auditor verify`` says of a bundle whose
report.dsse.json or agent-*.pub is not exactly what the agent wrote.

Each case edits a copy of one real signed bundle (Ed25519 + SM2, from ``build_bundle``) and runs
the real CLI. A refused variant exits 1 with a one-line message naming report.dsse.json or the
key file; an accepted one exits 0 (the bundle's keys are in this session's trust store). No
case may end in a traceback. The decisions and their reasons are the table in the docstring of
``auditor/auditor/signing.py``.
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auditor.model import ENVELOPE_NAME, REPORT_NAME
from auditor.signing import PAYLOAD_TYPE, PUBLIC_NAME, Ed25519Signer, pae
from auditor.smcrypto import SM2_PUBLIC_NAME
from tests.support.cli import run_cli
from tests.support.tamper import build_bundle

Env = dict[str, Any]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = build_bundle(tmp_path_factory.mktemp("variants"))
    env = json.loads((out / ENVELOPE_NAME).read_bytes())
    assert [s["keyid"][:4] for s in env["signatures"]] == ["sha2", "sm3:"]  # Ed25519, then SM2
    return out


def _edit_envelope(change: Callable[[Env], Any]) -> Callable[[Path], None]:
    """A variant that rewrites report.dsse.json: ``change`` edits the parsed envelope in place, or
    returns what to write instead."""

    def apply(bundle: Path) -> None:
        path = bundle / ENVELOPE_NAME
        env = json.loads(path.read_bytes())
        replaced = change(env)
        path.write_text(json.dumps(env if replaced is None else replaced, indent=2) + "\n",
                        encoding="utf-8")

    return apply


def _edit_file(name: str, change: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def apply(bundle: Path) -> None:
        (bundle / name).write_bytes(change((bundle / name).read_bytes()))

    return apply


def _other_key_signature(bundle: Path) -> None:
    """A valid signature of the same report by a key the report does not name."""
    path = bundle / ENVELOPE_NAME
    env = json.loads(path.read_bytes())
    other = Ed25519Signer(Ed25519PrivateKey.generate())
    sig = other.sign(pae(PAYLOAD_TYPE, (bundle / REPORT_NAME).read_bytes()))
    env["signatures"].append({"keyid": other.keyid, "sig": base64.b64encode(sig).decode()})
    path.write_text(json.dumps(env, indent=2), encoding="utf-8")


def _forged_first(env: Env) -> None:
    """A second signature by the agent's own keyid, placed first, that does not verify."""
    good = env["signatures"][0]
    forged = bytearray(base64.b64decode(good["sig"]))
    forged[0] ^= 0x01
    env["signatures"].insert(0, {"keyid": good["keyid"], "sig": base64.b64encode(bytes(forged)).decode()})


def _urlsafe(text: str) -> str:
    assert "+" in text or "/" in text, "nothing to re-encode"  # else the case tests nothing
    return text.replace("+", "-").replace("/", "_")


def _urlsafe_everywhere(env: Env) -> None:
    env["payload"] = _urlsafe(env["payload"])
    for sig in env["signatures"]:
        if "+" in sig["sig"] or "/" in sig["sig"]:
            sig["sig"] = _urlsafe(sig["sig"])


def _set(key: str, value: Any) -> Callable[[Env], None]:
    return lambda env: env.__setitem__(key, value)


def _set_sig(index: int, key: str, value: Any) -> Callable[[Env], None]:
    return lambda env: env["signatures"][index].__setitem__(key, value)


def _drop(key: str) -> Callable[[Env], None]:
    def change(env: Env) -> None:
        del env[key]

    return change


def _drop_sig(index: int, key: str) -> Callable[[Env], None]:
    def change(env: Env) -> None:
        del env["signatures"][index][key]

    return change


def _header_in_pem(pem: bytes) -> bytes:
    begin = b"-----BEGIN PUBLIC KEY-----\n"
    assert pem.startswith(begin)
    return begin + b"Comment: the school's agent key\n\n" + pem[len(begin):]


def _second_key(pem: bytes) -> bytes:
    return pem + Ed25519Signer(Ed25519PrivateKey.generate()).public_key_pem()


# case -> (variant, what the message must say); every one exits 1 and names report.dsse.json
def _duplicate_payload(data: bytes) -> bytes:
    """A second "payload" key after the first: a JSON reader would silently keep the last one."""
    return data.replace(b'"payload":', b'"payload": "e30=", "payload":', 1)


REFUSED: dict[str, tuple[Callable[[Path], None], str]] = {
    "duplicate-payload-key": (_edit_file(ENVELOPE_NAME, _duplicate_payload),
                              "the key 'payload' appears twice in one object"),
    "unknown-top-level-field": (_edit_envelope(_set("x", 1)),
                                "unknown field 'x' (not part of a DSSE envelope"),
    "unknown-field-in-a-signature": (_edit_envelope(_set_sig(0, "note", "approved")),
                                     "signature 1: unknown field 'note'"),
    "signature-without-keyid": (_edit_envelope(_drop_sig(0, "keyid")), "signature 1: keyid is null"),
    "keyid-not-a-string": (_edit_envelope(_set_sig(0, "keyid", 7)), "signature 1: keyid is 7"),
    "extra-signature-by-another-key": (_other_key_signature, "signature 3 is by key 'sha256:"),
    "two-signatures-same-keyid": (_edit_envelope(lambda e: e["signatures"].append(dict(e["signatures"][0]))),
                                  "signatures 1 and 3 are both by key 'sha256:"),
    "forged-duplicate-before-the-valid-one": (_edit_envelope(_forged_first),
                                              "signatures 1 and 2 are both by key 'sha256:"),
    "empty-signatures": (_edit_envelope(_set("signatures", [])), "signatures is empty"),
    "signatures-not-a-list": (_edit_envelope(lambda e: e.__setitem__("signatures", e["signatures"][0])),
                              "signatures is an object, not a list"),
    "signature-not-an-object": (_edit_envelope(_set("signatures", ["c2ln"])), "signature 1: 'c2ln', where"),
    "no-payload": (_edit_envelope(_drop("payload")), "no payload field"),
    "payload-a-number": (_edit_envelope(_set("payload", 5)), "payload is 5, not base64 text"),
    "payload-null": (_edit_envelope(_set("payload", None)), "payload is null, not base64 text"),
    "payload-not-base64": (_edit_envelope(lambda e: e.__setitem__("payload", e["payload"][:-4] + "*!*=")),
                           "payload is not base64 text"),
    "payload-bad-padding": (_edit_envelope(lambda e: e.__setitem__("payload", e["payload"] + "A")),
                            "payload is not base64 text"),
    "payload-mixed-alphabets": (_edit_envelope(lambda e: e.__setitem__("payload", "-+" + e["payload"][2:])),
                                "payload is not base64 text"),
    "sig-a-number": (_edit_envelope(_set_sig(0, "sig", 12)), "signature 1: sig is 12, not base64 text"),
    "sig-a-list": (_edit_envelope(_set_sig(0, "sig", ["x"])), "signature 1: sig is a list"),
    "sig-not-base64": (_edit_envelope(_set_sig(0, "sig", "%%%")), "signature 1: sig is not base64 text"),
    "sm2-sig-not-base64": (_edit_envelope(_set_sig(1, "sig", "abc")), "signature 2: sig is not base64 text"),
    "no-sig": (_edit_envelope(_drop_sig(0, "sig")), "signature 1: no sig field"),
    "sig-wrong-length": (_edit_envelope(_set_sig(0, "sig", "AAAA")), "does not match the report"),
    "other-payload-type": (_edit_envelope(_set("payloadType", "application/vnd.in-toto+json")),
                           "payloadType is 'application/vnd.in-toto+json', not"),
    "payload-type-a-number": (_edit_envelope(_set("payloadType", 1)), "payloadType is 1, not"),
    "no-payload-type": (_edit_envelope(_drop("payloadType")), "no payloadType field"),
    "envelope-a-list": (_edit_envelope(lambda e: [e]), "not a DSSE envelope: a list"),
    "control-characters-in-a-field-name": (_edit_envelope(_set("\x1b[2J\x1b[32mOK", 1)),
                                           "unknown field '\\x1b[2J\\x1b[32mOK'"),
}

# key-file variants refused: exit 1, the message names the key file
REFUSED_KEYS: dict[str, tuple[Callable[[Path], None], str]] = {
    "second-key-in-agent-ed25519.pub": (_edit_file(PUBLIC_NAME, _second_key),
                                        f"{PUBLIC_NAME}: more than one PEM block"),
    "header-inside-the-pem-block": (_edit_file(PUBLIC_NAME, _header_in_pem),
                                    f"{PUBLIC_NAME}: text inside the PEM block"),
}

# accepted: exit 0, "OK:"
ACCEPTED: dict[str, Callable[[Path], None]] = {
    "comment-before-the-ed25519-key": _edit_file(PUBLIC_NAME, lambda pem: b"# agent key 1101\n" + pem),
    "text-after-the-ed25519-key": _edit_file(PUBLIC_NAME, lambda pem: pem + b"-- \nsent from the office\n"),
    "crlf-ed25519-key": _edit_file(PUBLIC_NAME, lambda pem: pem.replace(b"\n", b"\r\n")),
    "comment-around-the-sm2-key": _edit_file(SM2_PUBLIC_NAME, lambda pem: b"# SM2 key\n" + pem + b"end\n"),
    "signatures-in-another-order": _edit_envelope(lambda e: e["signatures"].reverse()),
    "fields-in-another-order": _edit_envelope(lambda e: dict(reversed(list(e.items())))),
    "url-safe-base64": _edit_envelope(_urlsafe_everywhere),
}


def _variant(bundle: Path, tmp_path: Path, change: Callable[[Path], None]) -> Path:
    copy = tmp_path / "bundle"
    shutil.copytree(bundle, copy)
    change(copy)
    return copy


def test_the_intact_bundle_verifies(bundle: Path) -> None:
    res = run_cli("verify", str(bundle))
    assert res.returncode == 0 and res.stdout.startswith("OK: "), res.stdout + res.stderr


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_envelope_variant_is_a_named_problem(bundle: Path, tmp_path: Path, case: str) -> None:
    change, said = REFUSED[case]
    copy = _variant(bundle, tmp_path, change)
    res = run_cli("verify", str(copy))
    out = res.stdout + res.stderr
    assert res.returncode == 1, out
    assert "Traceback" not in out and "\x1b" not in out, out
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"FAILED: {copy}: {ENVELOPE_NAME}: "), out
    assert said in lines[0], out


@pytest.mark.parametrize("case", sorted(REFUSED_KEYS))
def test_key_file_variant_is_a_named_problem(bundle: Path, tmp_path: Path, case: str) -> None:
    change, said = REFUSED_KEYS[case]
    copy = _variant(bundle, tmp_path, change)
    res = run_cli("verify", str(copy))
    out = res.stdout + res.stderr
    assert res.returncode == 1 and "Traceback" not in out, out
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"FAILED: {copy}: "), out
    assert said in lines[0], out


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_accepted_variant_verifies(bundle: Path, tmp_path: Path, case: str) -> None:
    copy = _variant(bundle, tmp_path, ACCEPTED[case])
    res = run_cli("verify", str(copy))
    out = res.stdout + res.stderr
    assert res.returncode == 0 and res.stdout.startswith(f"OK: {copy}: "), out
    assert "verified ed25519, sm2-sm3 signatures" in res.stdout and "Traceback" not in out, out
