"""The architecture is a rule, not a hope: services import nothing from one another,
each has the same layers, domains do no I/O, and the contract depends on nothing."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_import_contracts_hold():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def imports_of(pattern):
    """(file, imported module) for every absolute import in the files of `pattern`."""
    for path in sorted(ROOT.glob(pattern)):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield path.relative_to(ROOT), alias.name
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                yield path.relative_to(ROOT), node.module


def test_domains_use_only_the_domain_part_of_eventsourcing():
    offenders = [
        f"{path}: {name}"
        for path, name in imports_of("services/*/domain/**/*.py")
        if name.startswith("eventsourcing") and name != "eventsourcing.domain"
    ]
    assert offenders == []


def test_the_contract_and_the_domains_type_check_strictly():
    result = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_shared_kernel_imports_only_the_standard_library():
    offenders = [
        f"{path}: {name}"
        for path, name in imports_of("kernel/**/*.py")
        if name.split(".")[0] not in {*sys.stdlib_module_names, "__future__", "kernel"}
    ]
    assert offenders == []
