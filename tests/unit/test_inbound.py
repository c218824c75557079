"""Files a user names that are copied into a signed bundle (auditor.inbound), and the survey
record's raw scan name: only what they are meant to be."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from auditor.errors import InputError, ProbeError
from auditor.inbound import document_kind, read_document, read_text
from auditor.probes.wifi_capture import SCHEMA, VERSION, read_survey


def _zip(*names: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name in names:
            z.writestr(name, "<x/>")
    return buf.getvalue()


@pytest.mark.parametrize(("data", "kind"), [
    (b"%PDF-1.7\n...", "PDF"),
    (b"\x89PNG\r\n\x1a\n....", "PNG"),
    (b"\xff\xd8\xff\xe0JFIF", "JPEG"),
    (b"II*\x00....", "TIFF"),
    (_zip("OFD.xml", "Doc_0/Document.xml"), "OFD"),
    (_zip("[Content_Types].xml", "word/document.xml"), "DOCX"),
])
def test_allowed_documents_are_known_by_their_content(data: bytes, kind: str) -> None:
    found = document_kind(data)
    assert found is not None and found[0] == kind


@pytest.mark.parametrize("data", [b"", b"plain text", b"snmp-ro: campus\n", _zip("xl/workbook.xml"),
                                  b"PK\x03\x04 not really a zip", b"<html>%PDF-</html>"])
def test_anything_else_is_not_a_document(data: bytes) -> None:
    assert document_kind(data) is None


def test_the_name_does_not_decide(tmp_path: Path) -> None:
    fake = tmp_path / "letter.pdf"
    fake.write_text("a letter\n", encoding="utf-8")
    with pytest.raises(InputError, match="not a PDF, PNG, JPEG, TIFF, OFD or DOCX file by its content"):
        read_document(fake, "authorisation.document")
    real = tmp_path / "letter.bin"
    real.write_bytes(_zip("[Content_Types].xml", "word/document.xml"))
    assert read_document(real, "authorisation.document")[1].endswith("wordprocessingml.document")


def test_the_secrets_file_is_refused_even_through_a_link(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.yaml"
    secrets.write_bytes(b"%PDF-1.4 pretending")
    link = tmp_path / "letter.pdf"
    link.symlink_to(secrets)
    with pytest.raises(InputError, match="is the inventory's secrets file"):
        read_document(link, "authorisation.document", secrets)


@pytest.mark.parametrize("body", [b"-----BEGIN RSA PRIVATE KEY-----\nMIIE\n",
                                  b"-----BEGIN PRIVATE KEY-----\nMC4C\n",
                                  b"|1|abc=|def= ssh-ed25519 AAAAC3Nza\n"])
def test_raw_scans_holding_keys_or_host_lists_are_refused(tmp_path: Path, body: bytes) -> None:
    path = tmp_path / "scan.txt"
    path.write_bytes(b"BSS 00:11:22:33:44:55(on wlan0)\n" + body)
    with pytest.raises(InputError, match=r"private key|known_hosts"):
        read_text(path, "raw_file")


def _record(tmp_path: Path, raw_file: str) -> Path:
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"schema": SCHEMA, "version": VERSION, "area": "gym", "taken_at":
                                "2026-12-01T08:00:00+08:00", "tool": "iw", "raw_file": raw_file,
                                "bss": []}), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["../../secrets.yaml", "/etc/shadow", "sub/scan.txt", ".hidden"])
def test_a_survey_record_names_its_raw_scan_beside_it_only(tmp_path: Path, name: str) -> None:
    with pytest.raises(ProbeError, match="is not a file name beside the record"):
        read_survey(_record(tmp_path, name))
    assert read_survey(_record(tmp_path, "scan.txt")).raw_file == "scan.txt"


def test_a_wide_scope_validates_when_said_so(tmp_path: Path) -> None:
    from auditor.inventory import load_inventory
    from tests.support.inventories import GOOD

    path = tmp_path / "site.yaml"
    path.write_text(GOOD.replace("  allow: [10.200.0.0/16]", "  allow: [0.0.0.0/0]"), encoding="utf-8")
    with pytest.raises(InputError, match="wider than a /8"):
        load_inventory(path)
    path.write_text(GOOD.replace("  allow: [10.200.0.0/16]", "  allow: [0.0.0.0/0]\n  allow_wide: true"),
                    encoding="utf-8")
    assert load_inventory(path).inventory.scope.allow_wide
