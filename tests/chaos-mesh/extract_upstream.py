"""Writes Chaos Mesh's documented manifests of the kinds faultline imports into OUT_DIR.

Usage: extract_upstream.py WEBSITE_GIT_DIR WEBSITE_COMMIT REPO_GIT_DIR REPO_COMMIT OUT_DIR

Docs: every ```yaml block (fences may be indented, as in numbered lists) of docs/*.md that
is a whole chaos-mesh.org document, named <page>--<n>.yaml, n counting such blocks on the
page. Examples: every examples/**.yaml, named with '/' as '--'. Only kinds faultline
imports are kept (IMPORTED), so the count is comparable with the corpus.
"""

import re
import subprocess
import sys
from pathlib import Path

IMPORTED = {"StressChaos", "NetworkChaos", "PodChaos", "DNSChaos", "Workflow", "Schedule", "StatusCheck"}


def git(repo: str, *args: str) -> str:
    return subprocess.check_output(["git", "-C", repo, *args], text=True)


def kind_of(text: str) -> str | None:
    m = re.search(r"^kind:\s*(\w+)", text, re.M)
    return m.group(1) if m and "chaos-mesh.org" in text else None


def docs(repo: str, commit: str, out: Path) -> None:
    for path in git(repo, "ls-tree", "--name-only", commit, "docs/").split():
        if not path.endswith(".md"):
            continue
        lines = git(repo, "show", f"{commit}:{path}").split("\n")
        n, i = 0, 0
        while i < len(lines):
            m = re.match(r"^(\s*)```(yaml|yml)\b", lines[i])
            i += 1
            if not m:
                continue
            indent, body = len(m.group(1)), []
            while i < len(lines) and not re.match(r"^\s*```", lines[i]):
                line = lines[i]
                body.append(line[indent:] if not line[:indent].strip() else line)
                i += 1
            text = "\n".join(body) + "\n"
            if kind_of(text):
                n += 1
                if kind_of(text) in IMPORTED:
                    (out / f"{Path(path).stem}--{n}.yaml").write_text(text)


def examples(repo: str, commit: str, out: Path) -> None:
    for path in git(repo, "ls-tree", "-r", "--name-only", commit, "examples/").split():
        if not path.endswith((".yaml", ".yml")):
            continue
        text = git(repo, "show", f"{commit}:{path}")
        if kind_of(text) in IMPORTED:
            name = path.removeprefix("examples/").replace("/", "--")
            (out / name).write_text(text)


if __name__ == "__main__":
    website, wc, repo, rc, out = sys.argv[1:6]
    docs(website, wc, Path(out))
    examples(repo, rc, Path(out))
