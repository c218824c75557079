"""OSCAL assessment results: valid OSCAL 1.1.3, complete against the report, deterministic.

Validation has three layers, each of which must reject a malformed document:

1. compliance-trestle's OSCAL 1.1.3 models (generated from NIST's JSON Schema): structure,
   required members, unknown members, UUID / token / date-time / enumerated values;
2. the JSON Schema rules those pydantic-v1 models leave out: no empty arrays (``minItems: 1``
   throughout), date-times with a time zone, single-line titles, SHA-256 digests of 64 hex digits;
3. the OSCAL metaschema's reference constraints: UUIDs unique, every UUID reference and every
   ``#uuid`` link resolves, every finding targets a reviewed control.

Report data: the recorded demo audit (``tests/data/reports/demo-report.json``, all three
profiles, 125 findings) and a small real report with attestations, waivers and tailoring
(``tests/data/oscal/attested-report.json``, recorded from the CLI as in
``test_attest_waive_tailor``).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic.v1 import ValidationError
from trestle.oscal import OSCAL_VERSION_REGEX
from trestle.oscal.assessment_results import Model

from auditor.plugins import Renderer
from auditor.reports.oscal import NS, OSCAL_VERSION, OscalRenderer, control_id
from tests.support.paths import DATA as TEST_DATA

try:
    from auditor.plugins import RenderOptions
except ImportError:  # until the renderer options land

    @dataclass(frozen=True)
    class RenderOptions:  # type: ignore[no-redef]
        lang: str = "zh"
        bundle_href: str = ""


DATA = TEST_DATA
DEMO = DATA / "reports" / "demo-report.json"
ATTESTED = DATA / "oscal" / "attested-report.json"

Doc = dict[str, Any]

# Our statuses as OSCAL objective states, written out independently of the renderer.
EXPECTED_STATE = {"pass": ("satisfied", "pass"), "fail": ("not-satisfied", "fail"),
                  "waived": ("not-satisfied", "other"), "error": ("not-satisfied", "other"),
                  "skipped": ("not-satisfied", "other"), "manual": ("not-satisfied", "other"),
                  "not_applicable": ("satisfied", "other")}


# --- validation ----------------------------------------------------------------------------

class InvalidOscal(ValueError):
    """A rule of the OSCAL JSON Schema or metaschema that the document breaks."""


def validate(doc: Doc) -> None:
    """Raise ``ValueError`` unless ``doc`` is valid OSCAL 1.1.3 assessment results."""
    Model.parse_obj(doc)  # pydantic.v1 ValidationError is a ValueError
    _schema_rules(doc)
    _references(doc["assessment-results"])


_DATE_TIME_KEYS = {"last-modified", "published", "start", "end", "collected", "expires", "date"}
_WITH_ZONE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, key, value
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}/{i}")


def _schema_rules(doc: Doc) -> None:
    for path, key, value in _walk(doc):
        where = f"{path}/{key}"
        if value == []:
            raise InvalidOscal(f"{where}: empty array (minItems 1)")
        if key in _DATE_TIME_KEYS and isinstance(value, str):
            if not _WITH_ZONE.fullmatch(value):
                raise InvalidOscal(f"{where}: {value!r} is not a date-time with a time zone")
            datetime.fromisoformat(value)
        if key == "title" and isinstance(value, str) and ("\n" in value or not value.strip()):
            raise InvalidOscal(f"{where}: a markup-line title is one non-empty line")
        if key == "hashes":
            for h in value:
                if h["algorithm"] == "SHA-256" and not re.fullmatch(r"[0-9a-fA-F]{64}", h["value"]):
                    raise InvalidOscal(f"{where}: {h['value']!r} is not a SHA-256 digest")


def _uuids(node: Any) -> list[str]:
    return [v for _p, k, v in _walk(node) if k == "uuid"]


def _check_refs(what: str, refs: list[str], known: set[str]) -> None:
    missing = sorted(set(refs) - known)
    if missing:
        raise InvalidOscal(f"{what} that resolve to nothing: {missing[:5]}")


def _references(ar: Doc) -> None:
    every = _uuids(ar)
    if len(every) != len(set(every)):
        raise InvalidOscal("duplicate uuids")
    meta, resources = ar["metadata"], ar.get("back-matter", {}).get("resources", [])
    parties = {p["uuid"] for p in meta.get("parties", [])}
    roles = {r["id"] for r in meta.get("roles", [])}
    values = list(_walk(ar))
    _check_refs("#links", [v[1:] for _p, k, v in values if k == "href" and v.startswith("#")],
                {r["uuid"] for r in resources})
    _check_refs("role ids", [v for _p, k, v in values if k == "role-id"], roles)
    _check_refs("party uuids", [u for _p, k, v in values if k in {"party-uuids", "member-of-organizations"}
                                for u in v], parties)
    for result in ar["results"]:
        _result_references(result, parties)


def _result_references(result: Doc, parties: set[str]) -> None:
    local = result.get("local-definitions", {})
    assets = local.get("assessment-assets", {})
    components = {c["uuid"] for c in assets.get("components", [])}
    platforms = {p["uuid"] for p in assets.get("assessment-platforms", [])}
    observations = {o["uuid"] for o in result.get("observations", [])}
    values = list(_walk(result))
    _check_refs("observation uuids", [v for _p, k, v in values if k == "observation-uuid"], observations)
    _check_refs("subject uuids", [v for _p, k, v in values if k == "subject-uuid"],
                {i["uuid"] for i in local.get("inventory-items", [])} | components)
    _check_refs("component uuids", [v for _p, k, v in values if k == "component-uuid"], components)
    actors = [a for o in result.get("observations", []) for og in o.get("origins", [])
              for a in og["actors"]]
    by_type = {"tool": components, "assessment-platform": platforms, "party": parties}
    for actor in actors:
        _check_refs(f"{actor['type']} actors", [actor["actor-uuid"]], by_type[actor["type"]])
    reviewed = {c["control-id"] for s in result["reviewed-controls"]["control-selections"]
                for c in s.get("include-controls", [])}
    _check_refs("finding targets", [f["target"]["target-id"] for f in result.get("findings", [])],
                reviewed)


# --- fixtures and helpers ------------------------------------------------------------------

def _load(path: Path) -> Doc:
    if not path.is_file():
        pytest.skip(f"{path.relative_to(DATA.parent)} is missing: record a demo audit "
                    "(./scripts/demo.sh) and copy audits/demo/latest/report.json there")
    data: Doc = json.loads(path.read_bytes())
    return data


@pytest.fixture(scope="module")
def demo() -> Doc:
    return _load(DEMO)


@pytest.fixture(scope="module")
def attested() -> Doc:
    return _load(ATTESTED)


def render(report: Doc, **options: str) -> Doc:
    data: Doc = json.loads(OscalRenderer().render(report, RenderOptions(**options)))
    return data


@pytest.fixture(scope="module")
def demo_doc(demo: Doc) -> Doc:
    return render(demo)


@pytest.fixture(scope="module")
def attested_doc(attested: Doc) -> Doc:
    return render(attested)


def result_of(doc: Doc) -> Doc:
    results: list[Doc] = doc["assessment-results"]["results"]
    assert len(results) == 1
    return results[0]


def props(obj: Doc, name: str) -> list[str]:
    return [p["value"] for p in obj.get("props", []) if p["name"] == name and p["ns"] == NS]


def prop(obj: Doc, name: str) -> str | None:
    values = props(obj, name)
    assert len(values) <= 1, (name, values)
    return values[0] if values else None


def resources(doc: Doc) -> dict[str, Doc]:
    return {r["uuid"]: r for r in doc["assessment-results"]["back-matter"]["resources"]}


def evidence_hashes(doc: Doc, observation: Doc) -> dict[str, dict[str, str]]:
    """The evidence of an observation: href → {algorithm: digest} of its back-matter resource."""
    by_uuid = resources(doc)
    out = {}
    for ev in observation.get("relevant-evidence", []):
        [link] = ev["links"]
        assert link["rel"] == "reference"
        [rlink] = by_uuid[link["href"].removeprefix("#")]["rlinks"]
        assert rlink["href"] == ev["href"]
        out[ev["href"]] = {h["algorithm"]: h["value"] for h in rlink["hashes"]}
    return out


def finding_observations(doc: Doc) -> dict[tuple[str, str], list[Doc]]:
    out: dict[tuple[str, str], list[Doc]] = {}
    for obs in result_of(doc)["observations"]:
        if prop(obs, "check") is not None:
            out.setdefault((prop(obs, "check") or "", prop(obs, "target") or ""), []).append(obs)
    return out


def findings_by_target(doc: Doc) -> dict[str, Doc]:
    return {f["target"]["target-id"]: f for f in result_of(doc)["findings"]}


# --- validity ------------------------------------------------------------------------------

def test_the_demo_report_renders_valid_oscal(demo_doc: Doc) -> None:
    validate(demo_doc)
    meta = demo_doc["assessment-results"]["metadata"]
    assert meta["oscal-version"] == OSCAL_VERSION
    assert re.fullmatch(OSCAL_VERSION_REGEX, OSCAL_VERSION), "not the version the models validate"


def test_the_attested_report_renders_valid_oscal_in_both_languages(attested: Doc) -> None:
    for lang in ("zh", "en"):
        validate(render(attested, lang=lang, bundle_href="../bundles/2026-12-02/"))


def test_a_report_without_optional_sections_still_renders_valid_oscal(attested: Doc) -> None:
    bare = {k: v for k, v in attested.items()
            if k not in {"attestations", "waivers", "checks", "artifacts", "warnings", "summary"}}
    validate(render(bare))


def test_the_renderer_follows_the_renderer_protocol() -> None:
    renderer = OscalRenderer()
    assert isinstance(renderer, Renderer)
    assert (renderer.name, renderer.filename, renderer.media_type) == (
        "oscal", "assessment-results.json", "application/oscal+json")


# --- completeness --------------------------------------------------------------------------

def test_every_finding_is_an_observation_with_its_evidence_and_hashes(demo: Doc, demo_doc: Doc) -> None:
    artifacts = {a["path"]: a for a in demo["artifacts"]}
    observed = finding_observations(demo_doc)
    assert sum(map(len, observed.values())) == len(demo["findings"])
    for finding in demo["findings"]:
        [obs] = observed[(finding["check"], finding["target"])]
        assert prop(obs, "status") == finding["status"]
        assert ("finding" in obs["types"]) == (finding["status"] == "fail")
        assert obs["collected"] == demo["run"]["finished_at"]
        assert finding["message"] in obs["description"]
        if finding["measured"] is not None:
            assert prop(obs, "measured") is not None
            assert float(prop(obs, "measured") or "nan") == pytest.approx(finding["measured"])
        if finding["threshold"] is not None:
            assert float(prop(obs, "threshold") or "nan") == pytest.approx(finding["threshold"])
        hashes = evidence_hashes(demo_doc, obs)
        assert set(hashes) == set(finding["artifacts"])
        for path in finding["artifacts"]:
            want = {"SHA-256": artifacts[path]["sha256"]}
            if artifacts[path].get("sm3"):
                want["SM3"] = artifacts[path]["sm3"]
            assert hashes[path] == want


def test_methods_say_how_each_observation_was_made(demo_doc: Doc) -> None:
    observed = finding_observations(demo_doc)
    methods = {check: obs[0]["methods"] for (check, _t), obs in observed.items()}
    assert methods["bandwidth.uplink_goodput"] == ["TEST"]
    assert methods["services.risky_exposed"] == ["TEST"]
    assert methods["device.ssh_v2_only"] == ["EXAMINE"]
    assert methods["device.telnet_disabled"] == ["EXAMINE", "TEST"]  # configuration and TCP 23
    assert methods["firewall.default_drop"] == ["EXAMINE"]
    assert methods["backup.fresh"] == ["EXAMINE"]


def test_configuration_lines_are_in_the_description(demo: Doc, demo_doc: Doc) -> None:
    observed = finding_observations(demo_doc)
    with_lines = [f for f in demo["findings"] if f["lines"]]
    assert with_lines
    for finding in with_lines:
        [obs] = observed[(finding["check"], finding["target"])]
        assert all(line in obs["description"] for line in finding["lines"])


def test_every_indicator_is_a_finding_with_the_mapped_state(demo: Doc, demo_doc: Doc) -> None:
    by_target = findings_by_target(demo_doc)
    assert len(by_target) == len(demo["indicators"]) == len(result_of(demo_doc)["findings"])
    for ind in demo["indicators"]:
        finding = by_target[f"{ind['profile']}_{ind['indicator']}"]
        target = finding["target"]
        assert target["type"] == "objective-id"
        assert (target["status"]["state"], target["status"]["reason"]) == EXPECTED_STATE[ind["status"]]
        assert prop(finding, "status") == ind["status"]
        assert prop(finding, "verdict") == ind["verdict"]
        assert (prop(target, "profile"), prop(target, "item")) == (ind["profile"], ind["indicator"])
        assert ind["title"] in finding["title"]
        if ind["status"] in {"error", "manual", "skipped"}:
            assert target["status"]["remarks"]  # says "not determined" / "needs attestation"


@pytest.mark.parametrize("status", sorted(EXPECTED_STATE))
def test_each_status_maps_to_an_oscal_state(attested: Doc, status: str) -> None:
    report = copy.deepcopy(attested)
    ind = next(i for i in report["indicators"] if i["indicator"] == "env.net.3")
    ind["status"] = status
    del ind["verdict"]  # reports before schema 1.1 had none: derived from the status
    doc = render(report, lang="en")
    validate(doc)
    finding = findings_by_target(doc)["mini-scored_env.net.3"]
    state = finding["target"]["status"]
    assert (state["state"], state["reason"]) == EXPECTED_STATE[status]
    assert prop(finding, "status") == status
    assert bool(state.get("remarks")) == (status != "pass")
    if status == "not_applicable":
        assert finding["target"]["implementation-status"] == {"state": "not-applicable"}


def test_states_that_are_not_a_pass_say_why(demo_doc: Doc) -> None:
    remarks = {f["target"]["target-id"]: f["target"]["status"].get("remarks", "")
               for f in result_of(demo_doc)["findings"]}
    assert remarks["beijing-smart-campus-2023_smart-env.facilities.2"].startswith("无法判定")
    assert remarks["beijing-smart-campus-2023_smart-env.facilities.3"].startswith("需要证明材料")
    en = {f["target"]["target-id"]: f["target"]["status"].get("remarks", "")
          for f in result_of(render(_load(DEMO), lang="en"))["findings"]}
    assert en["beijing-smart-campus-2023_smart-env.facilities.2"].startswith("not determined")
    assert en["beijing-smart-campus-2023_smart-env.facilities.3"].startswith("needs attestation")


def test_failed_checks_are_linked_from_the_items_they_fail(demo: Doc, demo_doc: Doc) -> None:
    observations = {o["uuid"]: o for o in result_of(demo_doc)["observations"]}
    by_target = findings_by_target(demo_doc)
    failed = {f["check"] for f in demo["findings"] if f["status"] == "fail"}
    assert {"bandwidth.classroom_goodput", "device.telnet_disabled", "services.risky_exposed",
            "discovery.rogue_dhcp"} <= failed
    linked_failures: set[str] = set()
    for ind in demo["indicators"]:
        related = [observations[r["observation-uuid"]]
                   for r in by_target[f"{ind['profile']}_{ind['indicator']}"].get("related-observations", [])]
        assert {prop(o, "check") for o in related} - {None} <= set(ind["checks"])
        if ind["status"] == "fail" and not ind["reason"].startswith("threshold weakened"):
            assert any(prop(o, "status") == "fail" for o in related), ind["indicator"]
        linked_failures |= {prop(o, "check") or "" for o in related if prop(o, "status") == "fail"}
    cited = {c for ind in demo["indicators"] for c in ind["checks"]}
    assert linked_failures == failed & cited


def test_reviewed_controls_list_every_evaluated_item(demo: Doc, demo_doc: Doc) -> None:
    selections = result_of(demo_doc)["reviewed-controls"]["control-selections"]
    by_profile = {prop(s, "profile"): [c["control-id"] for c in s["include-controls"]] for s in selections}
    assert set(by_profile) == {p["id"] for p in demo["profiles"]}
    for profile in demo["profiles"]:
        items = [i["indicator"] for i in demo["indicators"] if i["profile"] == profile["id"]]
        assert by_profile[profile["id"]] == [f"{profile['id']}_{i}" for i in items]
    assert "gbt22239-2019-level3_8.1.4.1.a" in by_profile["gbt22239-2019-level3"]


def test_metadata_names_the_school_the_run_and_the_signing_key(demo: Doc, demo_doc: Doc) -> None:
    ar = demo_doc["assessment-results"]
    meta, school = ar["metadata"], demo["site"]["school"]
    assert school["name"] in meta["title"]
    assert meta["last-modified"] == demo["run"]["finished_at"]
    assert prop(meta, "signing-key-fingerprint") == demo["signing"]["key_fingerprint"]
    [org] = [p for p in meta["parties"] if p["type"] == "organization"]
    assert (org["name"], org["short-name"]) == (school["name"], school["code"])
    result = result_of(demo_doc)
    assert (result["start"], result["end"]) == (demo["run"]["started_at"], demo["run"]["finished_at"])
    [tool] = result["local-definitions"]["assessment-assets"]["components"]
    assert prop(tool, "signing-key-fingerprint") == demo["signing"]["key_fingerprint"]


def test_import_ap_points_at_the_inventory_and_its_hash(demo: Doc, demo_doc: Doc) -> None:
    ar = demo_doc["assessment-results"]
    resource = resources(demo_doc)[ar["import-ap"]["href"].removeprefix("#")]
    [rlink] = resource["rlinks"]
    assert rlink["href"] == "evidence/inventory/site.yaml"
    assert rlink["hashes"][0] == {"algorithm": "SHA-256", "value": demo["site"]["inventory_sha256"]}
    assert ar["import-ap"]["remarks"]


def test_every_artifact_is_a_back_matter_resource(demo: Doc, demo_doc: Doc) -> None:
    rlinks = {r["rlinks"][0]["href"]: r["rlinks"][0] for r in resources(demo_doc).values()}
    for art in demo["artifacts"]:
        want = [{"algorithm": "SHA-256", "value": art["sha256"]}]
        if art.get("sm3"):
            want.append({"algorithm": "SM3", "value": art["sm3"]})
        assert rlinks[art["path"]]["hashes"] == want
        assert rlinks[art["path"]]["media-type"] == art["media_type"]
    assert "report.json" in rlinks


# --- upcoming report fields and the attested report ----------------------------------------

def test_finding_ids_decide_the_related_observations(attested: Doc, attested_doc: Doc) -> None:
    obs_by_id = {prop(o, "finding-id"): o["uuid"] for o in result_of(attested_doc)["observations"]}
    assert {f["id"] for f in attested["findings"]} <= set(obs_by_id)
    by_target = findings_by_target(attested_doc)
    for ind in attested["indicators"]:
        related = {r["observation-uuid"]
                   for r in by_target[f"{ind['profile']}_{ind['indicator']}"].get("related-observations", [])}
        assert {obs_by_id[i] for i in ind["findings"]} <= related
        assert len(related - {obs_by_id[i] for i in ind["findings"]}) == len(
            [a for a in attested["attestations"] if not a["expired"]
             and a["target"] in {ind["indicator"], f"{ind['profile']}:{ind['indicator']}"}])


def test_indicator_findings_narrow_the_link_to_the_deciding_findings(demo: Doc) -> None:
    report = copy.deepcopy(demo)
    for i, finding in enumerate(report["findings"]):
        finding["id"] = f"F{i + 1:04d}"
    ind = next(i for i in report["indicators"] if i["indicator"] == "smart-env.facilities.1")
    deciding = [f["id"] for f in report["findings"]
                if f["check"] == "bandwidth.classroom_goodput" and f["status"] == "fail"]
    ind["findings"] = deciding
    doc = render(report)
    validate(doc)
    obs = {o["uuid"]: prop(o, "finding-id") for o in result_of(doc)["observations"]}
    finding = findings_by_target(doc)["beijing-smart-campus-2023_smart-env.facilities.1"]
    assert [obs[r["observation-uuid"]] for r in finding["related-observations"]] == deciding


def test_sm3_digests_are_carried_beside_sha256(demo: Doc) -> None:
    report = copy.deepcopy(demo)
    for art in report["artifacts"]:  # stand-in values: the renderer only carries them over
        art["sm3"] = hashlib.sha256(b"sm3:" + art["path"].encode()).hexdigest()
    doc = render(report)
    validate(doc)
    sm3 = {a["path"]: a["sm3"] for a in report["artifacts"]}
    for observations in finding_observations(doc).values():
        for href, hashes in evidence_hashes(doc, observations[0]).items():
            assert hashes["SM3"] == sm3[href]


def test_attestations_are_observations_by_the_attester(attested: Doc, attested_doc: Doc) -> None:
    meta, result = attested_doc["assessment-results"]["metadata"], result_of(attested_doc)
    parties = {p["uuid"]: p for p in meta["parties"]}
    artifacts = {a["path"]: a["sha256"] for a in attested["artifacts"]}
    atts = [o for o in result["observations"] if prop(o, "attestation-target")]
    assert len(atts) == len(attested["attestations"])
    for att in attested["attestations"]:
        [obs] = [o for o in atts if prop(o, "attestation-target") == att["target"]]
        assert obs["methods"] == ["EXAMINE", "INTERVIEW"]
        [actor] = obs["origins"][0]["actors"]
        assert actor["type"] == "party" and parties[actor["actor-uuid"]]["name"] == att["by"]
        assert prop(obs, "expired") == ("true" if att["expired"] else "false")
        paths = [att["record"], *(e["artifact"] for e in att["evidence"])]
        assert evidence_hashes(attested_doc, obs) == {p: {"SHA-256": artifacts[p]} for p in paths}
    attested_item = findings_by_target(attested_doc)["mini-scored_env.net.2"]
    assert attested_item["target"]["status"]["state"] == "satisfied"
    [related] = attested_item["related-observations"]
    assert prop(next(o for o in atts if o["uuid"] == related["observation-uuid"]),
                "attestation-target") == "mini-scored:env.net.2"
    expired_item = findings_by_target(attested_doc)["mini-scored_env.safe.1"]
    assert "related-observations" not in expired_item  # an expired attestation decides nothing


def test_waived_findings_keep_their_real_status(attested: Doc, attested_doc: Doc) -> None:
    waived = [f for f in attested["findings"] if f["status"] == "waived"]
    assert waived
    observed = finding_observations(attested_doc)
    for finding in waived:
        [obs] = observed[(finding["check"], finding["target"])]
        assert prop(obs, "original-status") == finding["original_status"]
        assert finding["waiver"]["approver"] in obs["remarks"]
        assert ("finding" in obs["types"]) == (finding["original_status"] == "fail")
    weakened = findings_by_target(attested_doc)["mini-scored_env.net.1"]["target"]["status"]
    assert (weakened["state"], weakened["reason"]) == ("not-satisfied", "fail")


# --- determinism, encoding, hrefs ----------------------------------------------------------

def test_rendering_twice_gives_identical_bytes(demo: Doc) -> None:
    first = OscalRenderer().render(demo, RenderOptions())
    again = OscalRenderer().render(json.loads(json.dumps(demo)), RenderOptions())
    assert first == again


def test_uuids_are_per_subject_and_the_document_uuid_per_rendering(demo: Doc, demo_doc: Doc) -> None:
    en = render(demo, lang="en")
    assert en["assessment-results"]["uuid"] != demo_doc["assessment-results"]["uuid"]
    assert [o["uuid"] for o in result_of(en)["observations"]] == [
        o["uuid"] for o in result_of(demo_doc)["observations"]]
    other_run = copy.deepcopy(demo)
    other_run["run"]["id"] = "00000000-0000-4000-8000-000000000000"
    assert not set(_uuids(render(other_run))) & set(_uuids(demo_doc))


def test_output_is_utf8_with_chinese_kept(demo: Doc) -> None:
    data = OscalRenderer().render(demo, RenderOptions())
    text = data.decode("utf-8")
    assert demo["site"]["school"]["name"] in text and "\\u" not in text
    assert text.endswith("}\n")


def test_hrefs_into_the_bundle_take_the_prefix(demo: Doc) -> None:
    doc = render(demo, bundle_href="../2026-12-02T164145Z/")
    hrefs = [v for _p, k, v in _walk(doc) if k == "href"]
    assert all(h.startswith(("#", "../2026-12-02T164145Z/")) for h in hrefs)
    assert "../2026-12-02T164145Z/evidence/inventory/site.yaml" in hrefs


@pytest.mark.parametrize(("profile", "item", "expected"), [
    ("gbt22239-2019-level3", "8.1.4.1.a", "gbt22239-2019-level3_8.1.4.1.a"),
    ("beijing-smart-campus-2023", "smart-env.facilities.1",
     "beijing-smart-campus-2023_smart-env.facilities.1"),
    ("2019.level3", "a:b c", "_2019.level3_a-b-c"),
    ("mini", "机房 1", "mini_---1"),
])
def test_control_ids_are_oscal_tokens(profile: str, item: str, expected: str) -> None:
    assert control_id(profile, item) == expected
    assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9._-]*", expected)


# --- the validator rejects malformed documents ---------------------------------------------

def _obs(doc: Doc) -> Doc:
    observation: Doc = result_of(doc)["observations"][0]
    return observation


def _first_finding(doc: Doc) -> Doc:
    finding: Doc = result_of(doc)["findings"][0]
    return finding


Mutation = Callable[[Doc], None]
REJECTED_BY_THE_MODELS: dict[str, Mutation] = {
    "objective state outside satisfied/not-satisfied":
        lambda d: _first_finding(d)["target"]["status"].update(state="not-determined"),
    "reason that is not a token":
        lambda d: _first_finding(d)["target"]["status"].update(reason="not determined"),
    "observation without a uuid": lambda d: _obs(d).pop("uuid"),
    "uuid that is not version 4 or 5": lambda d: _obs(d).update(uuid="c232ab00-9414-11ec-b3c8-9f6bdeced846"),
    "control id with a colon": lambda d: _first_finding(d)["target"].update(
        **{"target-id": "gbt22239-2019-level3:8.1.1.1.a"}),
    "unknown target type": lambda d: _first_finding(d)["target"].update(type="control-id"),
    "unknown member": lambda d: _obs(d).update(verdict="fail"),
    "observation without collected": lambda d: _obs(d).pop("collected"),
    "document without import-ap": lambda d: d["assessment-results"].pop("import-ap"),
    "prop value over two lines": lambda d: _obs(d)["props"][0].update(value="a\nb"),
    "actor type outside tool/assessment-platform/party":
        lambda d: _obs(d)["origins"][0]["actors"][0].update(type="agent"),
}
REJECTED_BY_THE_SCHEMA_RULES: dict[str, Mutation] = {
    "empty methods": lambda d: _obs(d).update(methods=[]),
    "date-time without a zone": lambda d: d["assessment-results"]["metadata"].update(
        **{"last-modified": "2026-12-02T16:44:11"}),
    "title over two lines": lambda d: _obs(d).update(title="a\nb"),
    "SHA-256 that is not one": lambda d: next(iter(resources(d).values()))["rlinks"][0]["hashes"][0].update(
        value="abc"),
    "empty results": lambda d: d["assessment-results"].update(results=[]),
}
REJECTED_BY_THE_REFERENCE_RULES: dict[str, Mutation] = {
    "related observation that does not exist": lambda d: _first_finding(d)["related-observations"][0].update(
        **{"observation-uuid": "00000000-0000-4000-8000-000000000000"}),
    "link to a missing back-matter resource": lambda d: d["assessment-results"]["import-ap"].update(
        href="#00000000-0000-4000-8000-000000000000"),
    "duplicate uuid": lambda d: result_of(d)["observations"][1].update(uuid=_obs(d)["uuid"]),
    "finding target not among the reviewed controls": lambda d: _first_finding(d)["target"].update(
        **{"target-id": "gbt22239-2019-level3_9.9.9"}),
    "tool actor that is not a component": lambda d: _obs(d)["origins"][0]["actors"][0].update(
        **{"actor-uuid": d["assessment-results"]["metadata"]["parties"][0]["uuid"]}),
}


def _mutated(doc: Doc, mutate: Mutation) -> Doc:
    bad = copy.deepcopy(doc)
    mutate(bad)
    return bad


@pytest.fixture(scope="module")
def small_doc(attested_doc: Doc) -> Doc:
    validate(attested_doc)
    doc: Doc = copy.deepcopy(attested_doc)
    result_of(doc)["findings"][0]["related-observations"] = [
        {"observation-uuid": _obs(doc)["uuid"]}]
    validate(doc)
    return doc


@pytest.mark.parametrize("case", sorted(REJECTED_BY_THE_MODELS))
def test_the_oscal_models_reject(small_doc: Doc, case: str) -> None:
    with pytest.raises(ValidationError):
        Model.parse_obj(_mutated(small_doc, REJECTED_BY_THE_MODELS[case]))


@pytest.mark.parametrize("case", sorted(REJECTED_BY_THE_SCHEMA_RULES))
def test_the_schema_rules_reject(small_doc: Doc, case: str) -> None:
    with pytest.raises(InvalidOscal):
        validate(_mutated(small_doc, REJECTED_BY_THE_SCHEMA_RULES[case]))


@pytest.mark.parametrize("case", sorted(REJECTED_BY_THE_REFERENCE_RULES))
def test_the_reference_rules_reject(small_doc: Doc, case: str) -> None:
    with pytest.raises(InvalidOscal):
        validate(_mutated(small_doc, REJECTED_BY_THE_REFERENCE_RULES[case]))
