"""The import contracts in pyproject.toml catch what they are written for.

``make test`` runs ``lint-imports`` over the real tree. Here each contract is run on a copy
of the tree into which one forbidden import has been written, and must break on exactly
that import: a contract that cannot fail would guard nothing.
"""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

# contract id -> (module written into the copy, its source, the import the report must name)
VIOLATIONS = {
    "layers": (
        "broadcastops/inventory/bad.py",
        "from streaming import selectors\n",
        "broadcastops.inventory.bad -> streaming.selectors",
    ),
    "independent-apps": (
        "failover/bad.py",
        "import scheduling.urls\n",
        "failover.bad -> scheduling.urls",
    ),
    "sdk-only-in-cloud": (
        "failover/bad.py",
        "import boto3\n",
        "failover.bad -> boto3",
    ),
    "cloud-imports-no-model": (
        "broadcastops/cloud/bad.py",
        "from broadcastops.inventory.models import LiveChannel\n",
        "broadcastops.cloud.bad -> broadcastops.inventory.models",
    ),
    # The cycle this layout removed: a read that reaches back up into the hub.
    "streaming-tree": (
        "streaming/selectors.py",
        "from streaming.hub import hub_get\n",
        "streaming.selectors -> streaming.hub",
    ),
    "streaming-reads-without-opencv": (
        "streaming/types.py",
        "from streaming.media import rendition_width\n",
        "streaming.types -> streaming.media",
    ),
}


def _tree_copy(target: Path) -> None:
    """The root packages' Python files and the configuration, nothing else."""
    for package in CONFIG["root_packages"]:
        shutil.copytree(
            ROOT / package,
            target / package,
            ignore=lambda folder, names: [
                n for n in names if not n.endswith(".py") and not (Path(folder) / n).is_dir()
            ],
        )
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")


def _lint(tree: Path, contract: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--contract", contract],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=120,
        # The copy, not the project, must be what grimp finds first on the path.
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
    )


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("tree")
    _tree_copy(target)
    return target


def test_every_contract_is_covered_here():
    assert {c["id"] for c in CONFIG["contracts"]} == set(VIOLATIONS)


@pytest.mark.parametrize("contract", sorted(VIOLATIONS))
def test_contract_breaks_on_a_forbidden_import(tree, contract):
    module, source, expected = VIOLATIONS[contract]
    path = tree / module
    original = path.read_text() if path.exists() else None
    kept = _lint(tree, contract)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    try:
        path.write_text((original or "") + source)
        broken = _lint(tree, contract)
    finally:
        if original is None:
            path.unlink()
        else:
            path.write_text(original)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "BROKEN" in broken.stdout
    assert expected in broken.stdout, broken.stdout
