"""The layer contract in ``pyproject.toml`` holds, and it would catch an import that breaks it.

The graph is the real one (grimp); the violating cases add one import edge to it and check the
same contracts, so a new upward import or a new circle fails this test as it fails ``lint-imports``.
"""

from __future__ import annotations

from collections.abc import Iterator

import grimp
import pytest
from importlinter import configuration
from importlinter.application import use_cases
from importlinter.application.app_config import settings

from tests.support.paths import ROOT


class _GraphWith:
    """Builds the real import graph, plus ``extra`` (importer, imported) edges."""

    def __init__(self, *extra: tuple[str, str]) -> None:
        self.extra = extra

    def build(self, root_package_names: list[str], cache_dir: str | None,
              include_external_packages: bool = False,
              exclude_type_checking_imports: bool = False) -> grimp.ImportGraph:
        graph = grimp.build_graph(*root_package_names,
                                  include_external_packages=bool(include_external_packages),
                                  exclude_type_checking_imports=exclude_type_checking_imports,
                                  cache_dir=None)
        for importer, imported in self.extra:
            graph.add_import(importer=importer, imported=imported)
        return graph


@pytest.fixture(autouse=True)
def _configured() -> Iterator[None]:
    configuration.configure()
    yield
    configuration.configure()


def broken(*extra: tuple[str, str]) -> list[str]:
    """Names of the contracts that fail on the real graph plus ``extra``."""
    settings.configure(GRAPH_BUILDER=_GraphWith(*extra))
    use_cases._register_built_in_contract_types()  # as `lint-imports` does before it reports
    options = use_cases.read_user_options(str(ROOT / "pyproject.toml"))
    report = use_cases.create_report(options, cache_dir=None)
    assert not report.could_not_run, report.invalid_contract_options
    return [contract.name for contract, check in report.get_contracts_and_checks() if not check.kept]


def test_the_code_keeps_every_contract() -> None:
    assert broken() == []


@pytest.mark.parametrize(("importer", "imported"), [
    ("auditor.inventory", "auditor.cli"),  # a lower layer imports a higher one
    ("auditor.checks.wifi", "auditor.probes.iperf3"),  # a check imports a probe's implementation
    ("auditor.reports.html", "auditor.bundle"),  # a renderer imports the bundle writer
    ("auditor.agent.loop", "auditor.district.app"),  # agent and district import each other
    ("auditor.wire.client", "auditor.history.store"),  # the shared wire protocol reaches into history
    ("auditor.model", "auditor.lab.school"),  # the product imports the demo school
])
def test_an_upward_import_breaks_the_layers(importer: str, imported: str) -> None:
    assert "Layers: lower layers never import higher ones" in broken((importer, imported))


def test_a_new_circle_breaks_the_contract() -> None:
    # history.diff imports history.store; the reverse edge closes a circle inside one layer
    assert "No import circles between the modules of any package" in broken(
        ("auditor.history.store", "auditor.history.diff"))
