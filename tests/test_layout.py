"""The shape of the code: no import cycle among project modules, no module over 600 lines."""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("crawler", "spiders", "schedules")
MAX_LINES = 600


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _tree(path: Path) -> ast.Module:
    """``path`` parsed, once for all the checks of this module while its text is the same."""
    return _parse(path.read_text("utf-8"))


@functools.cache
def _parse(source: str) -> ast.Module:
    return ast.parse(source)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Project modules ``name`` imports, at the top or inside functions (not for typing only)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                targets.add(full if full in modules else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(_tree(path))
    return {t for t in targets if t in modules and t != name}


def test_no_import_cycle_among_project_modules() -> None:
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []

    def walk(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycles.append([*trail[trail.index(target) :], target])
            elif target not in state:
                walk(target, [*trail, target])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name, [name])
    assert cycles == []


def test_no_module_over_600_lines() -> None:
    sizes = {name: len(p.read_text("utf-8").splitlines()) for name, p in _modules().items()}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_sql_stays_in_the_store() -> None:
    """The command line, the scheduler and the failure digest run no SQL of their own, and
    the read/ part writes nothing: statements live in crawler/store/."""
    import re

    no_sql = [
        *sorted((ROOT / "crawler" / "cli").glob("*.py")),
        *sorted((ROOT / "schedules").glob("*.py")),
        ROOT / "crawler" / "read" / "failures.py",
    ]
    for path in no_sql:
        assert ".execute(" not in path.read_text("utf-8"), path
    writes = re.compile(
        r"INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|write_transaction"
    )
    for path in sorted((ROOT / "crawler" / "read").glob("*.py")):
        assert not writes.search(path.read_text("utf-8")), path


# Modules outside crawler/store/ allowed a `.execute()` call: Redis pipelines, not SQL.
REDIS_PIPELINES = {
    "crawler.distributed.queue",
    "crawler.distributed.scrapy",
    "crawler.topics.offtopic",
}
_STATEMENT = re.compile(
    r"\b(?:SELECT\s+(?:\S|$)|INSERT\s+(?:OR\s+\w+\s+)?INTO\b|REPLACE\s+INTO\b"
    r"|UPDATE\s+(?:OR\s+\w+\s+)?[\w.\"]+\s+SET\b|DELETE\s+FROM\b"
    r"|CREATE\s+(?:TEMP\w*\s+|UNIQUE\s+|VIRTUAL\s+)*(?:TABLE|INDEX|VIEW|TRIGGER)\b"
    r"|(?:DROP|ALTER)\s+(?:TABLE|INDEX|VIEW|TRIGGER)\b|PRAGMA\s+\w|VACUUM\b)"
)
# sqlite3 and sqlite-utils calls that run statements or reach a table
_DATABASE_CALLS = {"execute", "executemany", "executescript", "query", "table", "rows_where"}
_DATABASE_CALLS |= {"count_where", "delete_where", "insert_all", "upsert", "upsert_all"}
_DATABASE_NAMES = {"db", "database", "conn", "connection"}


def _database_access(path: Path, module: str) -> list[str]:
    """Where ``path`` runs SQL or reaches a table itself: ``line: what``."""
    found = []
    tree = _tree(path)
    # a bare string (a docstring) runs nothing: its words may name a statement; the parts of
    # an f-string are read as the whole
    bare = {
        id(n.value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)
    }
    bare |= {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    for node in ast.walk(tree):
        if id(node) in bare:
            continue
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr
            if name in _DATABASE_CALLS and not (name == "execute" and module in REDIS_PIPELINES):
                found.append(f"{node.lineno}: .{name}(")
        elif isinstance(node, ast.Subscript):
            value = node.value
            named = value.id if isinstance(value, ast.Name) else getattr(value, "attr", "")
            if named in _DATABASE_NAMES or named.endswith("_db"):
                found.append(f"{node.lineno}: {named}[...]")
        elif isinstance(node, ast.JoinedStr | ast.Constant):
            text = (
                "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
                if isinstance(node, ast.JoinedStr)
                else node.value
            )
            if isinstance(text, str) and _STATEMENT.search(text):
                found.append(f"{node.lineno}: {text.strip()[:40]!r}")
    return found


def test_every_statement_lives_in_the_store() -> None:
    """No module of crawler/ (but crawler/store/), spiders/ or schedules/ runs SQL or reaches
    a table of its own: the statements are named functions of crawler/store/."""
    outside = {
        name: path for name, path in _modules().items() if not name.startswith("crawler.store")
    }
    found = {name: hits for name, path in outside.items() if (hits := _database_access(path, name))}
    assert found == {}


def test_the_statement_check_sees_each_kind_of_access(tmp_path: Path) -> None:
    """What the check above must catch, and what it must let pass."""
    caught = [
        ('db.execute("x")', "crawler.ingest.x"),
        ('conn.executemany("x", [])', "crawler.ingest.x"),
        ('db.query("x")', "crawler.read.x"),
        ('db["articles"].insert({})', "crawler.read.x"),
        ('db.table("articles").rows_where()', "crawler.read.x"),
        ("pipe.execute()", "crawler.read.x"),  # only the modules of REDIS_PIPELINES may
        ('q = "SELECT id FROM articles"', "crawler.cli.x"),
        ('q = f"UPDATE articles SET t = {v} WHERE id = ?"', "spiders.x"),
        ('q = "DELETE FROM flags"', "schedules.x"),
        ('q = "INSERT OR IGNORE INTO flags (id) VALUES (1)"', "crawler.stories.x"),
        ('q = "CREATE TABLE IF NOT EXISTS t (x)"', "crawler.cli.x"),
    ]
    passed = [
        ("pipe.execute()", "crawler.distributed.queue"),
        ("pipe.execute()", "crawler.topics.offtopic"),
        ('q = "Select the sources to update"', "crawler.cli.x"),
        ('"""Run DELETE FROM flags to drop them."""', "crawler.cli.x"),  # a docstring
        ("rows[0]", "crawler.read.x"),
        ("request.meta.get('x')", "crawler.scraping.x"),
    ]
    for code, module in caught:
        (tmp_path / "m.py").write_text(code + "\n", "utf-8")
        assert _database_access(tmp_path / "m.py", module), code
    for code, module in passed:
        (tmp_path / "m.py").write_text(code + "\n", "utf-8")
        assert not _database_access(tmp_path / "m.py", module), code


def test_webhook_formats_each_have_a_batch_size() -> None:
    from crawler.config.settings import WEBHOOK_FORMATS
    from crawler.read.notify import BATCH_SIZE

    assert set(BATCH_SIZE) == set(WEBHOOK_FORMATS)


def test_every_flag_kind_has_one_label() -> None:
    from crawler.core.models import FLAG_LABELS
    from crawler.read import atom, notify

    assert set(FLAG_LABELS) == {"new_story", "new_coverage", "updated", "new_related", "official"}
    assert not hasattr(atom, "KIND_LABELS") and not hasattr(notify, "KIND_LABELS")
    # The brief's word for a report and the demo's explanation cover the same kinds.
    from crawler.cli.demo import KIND_MEANINGS
    from crawler.read.digest import KIND_WORDS

    assert set(KIND_WORDS) == set(KIND_MEANINGS) == set(FLAG_LABELS)


def test_the_module_map_has_one_line_per_module() -> None:
    """docs/architecture.md's module map names every module and package of crawler/,
    spiders/ and schedules/ once, and nothing that is not there: a new module needs its
    line."""
    import re

    text = (ROOT / "docs" / "architecture.md").read_text("utf-8")
    section = text.split("## Module map", 1)[1]
    named = re.findall(r"^- `([^`]+)`:", section, re.MULTILINE)
    assert len(named) == len(set(named)), [n for n in named if named.count(n) > 1]
    # a package by its folder ("crawler/core/"), the library itself by crawler/__init__.py
    expected = {
        path.relative_to(ROOT).as_posix().removesuffix("__init__.py")
        for path in _modules().values()
    } - {"crawler/"} | {"crawler/__init__.py"}
    assert set(named) == expected, (sorted(expected - set(named)), sorted(set(named) - expected))


def test_the_readme_and_the_architecture_name_every_part() -> None:
    """Each part (a package of crawler/, and spiders/, schedules/) has its paragraph in
    docs/architecture.md, and the layer order names it."""
    text = (ROOT / "docs" / "architecture.md").read_text("utf-8")
    overview = text.split("## Module map", 1)[0]
    parts = [p.name for p in sorted((ROOT / "crawler").iterdir()) if (p / "__init__.py").exists()]
    for part in [*parts, "spiders", "schedules"]:
        if part == "sample_site":  # bundled data and its server, no layer of the library
            continue
        assert f"**{part}**" in overview, part


def test_benchmarks_import_no_test_module() -> None:
    """Benchmarks share code through benchmarks/harness.py, never a test module's helpers
    (the shared test servers of tests/support/ aside)."""
    import re

    pattern = re.compile(r"^\s*(from|import)\s+tests\.test_", re.MULTILINE)
    found = [
        path.name
        for path in sorted((ROOT / "benchmarks").glob("*.py"))
        if pattern.search(path.read_text("utf-8"))
    ]
    assert found == []
