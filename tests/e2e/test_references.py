"""Every reference in the repository resolves inside it: a cited markdown file exists (next to
the citing file or from the repository's root), a link in a markdown file or its #anchor exists,
a path named in the documentation (README, docs/, man pages) exists, a test named as
`FILE::TEST` is still in FILE (docs/security.md names hundreds), and nothing points at a scratch
file or a directory outside the repository. Needs no daemon; runs with the e2e tests."""
import glob
import os
import re

import pytest

from tessera_harness import REPO

SKIP_DIRS = {".git", "node_modules", "corpus", "img"}
SKIP_FILES = {"package-lock.json"}

# a markdown file's name, not a part of a longer path or word
MD_RE = re.compile(r"(?<![\w./-])((?:\.\./|\./)?[\w][\w./-]*\.md)\b")
# [text](target) in markdown, target without a scheme
LINK_RE = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
# a repository path in the documentation: starts with a top-level directory of the repository
TOP = ("lib", "server", "broker", "tests", "tools", "etc", "docs", "schema", "templates")
PATH_RE = re.compile(r"(?<![\w./$-])((?:%s)/[\w./*+-]*)" % "|".join(TOP))
# FILE::TEST, as pytest and docs/security.md name tests
TEST_RE = re.compile(r"((?:%s)/[\w/.-]+\.(?:py|c|mjs|sh))::(\w+)" % "|".join(TOP))
# places outside the repository that must never be cited
OUTSIDE_RE = re.compile(r"\.\./shared\b|/work/(?:shared|wt|main)\b|/tmp/[\w.-]+\.(?:md|txt)\b")

DOC_EXT = (".md", ".5", ".8")


def repo_files():
    out = []
    for root, dirs, files in os.walk(REPO):
        rel = os.path.relpath(root, REPO)
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not
                   (rel == "." and (d.startswith("build") or d.startswith(".")))]
        for f in files:
            if f in SKIP_FILES or f.startswith("."):
                continue
            path = os.path.join(root, f)
            try:
                with open(path, encoding="utf-8") as fh:
                    text = fh.read()
            except (UnicodeDecodeError, OSError):
                continue   # binary
            out.append((os.path.relpath(path, REPO), text))
    return out


FILES = repo_files()


def exists(rel_from, target):
    """True when target names something next to rel_from or from the repository's root (a
    module named without its extension, `lib/jbuf`, is lib/jbuf.c or .h)."""
    target = target.rstrip("/")
    for base in (os.path.dirname(os.path.join(REPO, rel_from)), REPO):
        p = os.path.normpath(os.path.join(base, target))
        if not p.startswith(REPO):
            continue
        if os.path.exists(p) or glob.glob(p) or glob.glob(p + ".*"):
            return True
        # a placeholder in a pattern such as tests/unit/test_MODULE.c
        pattern = re.sub(r"(?<=[_/])(?:MODULE|NAME|FILE)(?=[._/]|$)", "*", p)
        if pattern != p and glob.glob(pattern):
            return True
    return False


def in_repository(target):
    """False for a path that plainly lies elsewhere (usr/share/doc/... under a DESTDIR): one
    whose first directory is none of the repository's."""
    first = target.split("/")[0]
    return "/" not in target or first in TOP or first in (".", "..")


def without_urls(text):
    """text with every URL blanked out (same length, so line numbers hold)."""
    return re.sub(r"\w+://\S+", lambda m: " " * len(m.group(0)), text)


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    h = re.sub(r"[`*_]", "", heading.strip().lower())
    h = re.sub(r"[^\w\- ]", "", h)
    return h.replace(" ", "-")


def anchors(path):
    with open(path, encoding="utf-8") as f:
        text = re.sub(r"```.*?```", "", f.read(), flags=re.S)
    return {slug(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", text, re.M)}


def test_the_scan_sees_the_repository():
    names = {p for p, _ in FILES}
    assert {"README.md", "docs/security.md", "Makefile", "server/main.c"} <= names, \
        sorted(names)[:20]


def test_the_readme_stays_a_ten_minute_read():
    """The README is the user's document (issue 18): under 600 lines, with its contents listed
    and no diary of runs; measurements' history lives in docs/, dated."""
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
        text = f.read()
    assert len(text.splitlines()) < 600, len(text.splitlines())
    assert "## Contents" in text
    for diary in ("this session", "seventh run", "a seventh", "sixth run"):
        assert diary not in text.lower(), diary


def test_every_cited_markdown_file_exists():
    bad = []
    for rel, text in FILES:
        for m in MD_RE.finditer(without_urls(text)):
            if in_repository(m.group(1)) and not exists(rel, m.group(1)):
                line = text.count("\n", 0, m.start()) + 1
                bad.append("%s:%d: %s" % (rel, line, m.group(1)))
    assert not bad, "cited markdown files that are not in the repository:\n" + "\n".join(bad)


def test_every_markdown_link_and_anchor_resolves():
    bad = []
    for rel, text in FILES:
        if not rel.endswith(".md"):
            continue
        body = re.sub(r"```.*?```", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
        for m in LINK_RE.finditer(body):
            target = m.group(1)
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            full = os.path.normpath(os.path.join(os.path.dirname(os.path.join(REPO, rel)),
                                                 path)) if path else os.path.join(REPO, rel)
            line = body.count("\n", 0, m.start()) + 1
            if not full.startswith(REPO) or not os.path.exists(full):
                bad.append("%s:%d: %s" % (rel, line, target))
            elif anchor and full.endswith(".md") and anchor not in anchors(full):
                bad.append("%s:%d: %s (no such heading)" % (rel, line, target))
    assert not bad, "links that go nowhere:\n" + "\n".join(bad)


def test_every_path_in_the_documentation_exists():
    bad = []
    for rel, text in FILES:
        if not rel.endswith(DOC_EXT):
            continue
        for m in PATH_RE.finditer(text):
            target = m.group(1).rstrip(".,:;")
            if not exists(".", target):
                line = text.count("\n", 0, m.start()) + 1
                bad.append("%s:%d: %s" % (rel, line, target))
    assert not bad, "paths in the documentation that do not exist:\n" + "\n".join(bad)


def test_every_named_test_exists():
    bad = []
    seen = 0
    for rel, text in FILES:
        for m in TEST_RE.finditer(text):
            seen += 1
            path = os.path.join(REPO, m.group(1))
            ok = False
            if os.path.exists(path):
                with open(path, encoding="utf-8") as f:
                    ok = re.search(r"\b%s\b" % re.escape(m.group(2)), f.read()) is not None
            if not ok:
                line = text.count("\n", 0, m.start()) + 1
                bad.append("%s:%d: %s::%s" % (rel, line, m.group(1), m.group(2)))
    assert seen > 100, "docs/security.md should name its tests as FILE::TEST (%d found)" % seen
    assert not bad, "tests named that do not exist:\n" + "\n".join(bad)


def test_nothing_points_outside_the_repository():
    bad = []
    for rel, text in FILES:
        if rel == "tests/e2e/test_references.py":
            continue   # the patterns themselves
        for m in OUTSIDE_RE.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            bad.append("%s:%d: %s" % (rel, line, m.group(0)))
    assert not bad, "references outside the repository:\n" + "\n".join(bad)


@pytest.mark.parametrize("text,rule", [
    ("see SECURITY" + ".md row 3", MD_RE),
    ("(contract: /tmp/broker-contract" + ".md)", OUTSIDE_RE),
    ("../shared" + "/bench/compare.sh", OUTSIDE_RE),
])
def test_the_rules_catch_what_they_are_for(text, rule):
    """The checks above would see the citations this file was written to remove."""
    m = rule.search(text)
    assert m, text
    if rule is MD_RE:
        assert not exists("tests/e2e/x.py", m.group(1))
