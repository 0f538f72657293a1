"""The weekly report's Markdown is safe to post in a GitHub issue, its HTML opens in a real browser
under a CSP that runs no script, and its JSON carries every section."""
from __future__ import annotations

import json
import re
import subprocess

import pytest

from weeklykit import CHROMIUM, FIXTURES, SECTIONS, copy_fixtures, weekly

HOSTILE = "api-tls`</td><script>alert(1)</script> @platform-team | [x](https://evil.example) \x1b[31m"


@pytest.fixture()
def hostile_fixtures(tmp_path):
    """A certificate name and a stack output carrying markup, a mention, a table break, an ANSI
    escape and a credential in a URL."""
    fixtures = copy_fixtures(tmp_path)
    path = fixtures / "prometheus" / "query.certificates.json"
    doc = json.loads(path.read_text())
    doc["response"]["data"]["result"][0]["metric"]["name"] = HOSTILE
    path.write_text(json.dumps(doc))
    return fixtures


def test_markdown_has_no_markup_mention_or_secret_from_the_sources(tmp_path, hostile_fixtures):
    done = weekly(tmp_path, "--stack", "production", "--fixtures", str(hostile_fixtures))
    text = done.stdout
    assert done.returncode == 2 and text.startswith("<!-- leadgen-weekly:production -->\n# Weekly review: production")
    assert "<script" not in text and "</td>" not in text and "@platform-team" not in text and "\x1b" not in text
    assert "&lt;script&gt;" in text and "&#64;platform-team" in text and "\\x1b" in text
    row = next(line for line in text.splitlines() if "envoy-gateway-system/api" in line)
    # the name's `|` and `[` are escaped, so the row keeps its three cells
    assert len(re.findall(r"(?<!\\)\|", row)) == 4, row
    assert sum(1 for line in text.splitlines() if line.startswith("## ")) == len(SECTIONS) + 1


def test_markdown_lists_the_runbook_checklist_eleven_items(tmp_path):
    done = weekly(tmp_path, "--stack", "production", "--fixtures", str(FIXTURES))
    items = [line for line in done.stdout.splitlines() if line.startswith("- [")]
    assert len(items) == 11
    assert items[1] == "- [x] Check backup completion status: Backups, 🟢 ok"
    assert items[6] == "- [ ] Check for Kubernetes version updates: Kubernetes versions, 🟡 attention"


def _chromium(tmp_path, page, *extra):
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,1600",
         *extra, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)


def test_html_renders_in_headless_chromium_with_every_section(tmp_path, hostile_fixtures):
    page = tmp_path / "weekly.html"
    done = weekly(tmp_path, "--stack", "production", "--fixtures", str(hostile_fixtures), "--format", "html",
                  "--out", str(page))
    assert done.returncode == 2 and done.stdout == ""
    text = page.read_text()
    assert "http://" not in text and "<script" not in text.split("<body>")[-1].replace("&lt;script", "")
    shot = tmp_path / "shot.png"
    result = _chromium(tmp_path, page, f"--screenshot={shot}")
    dom = result.stdout
    assert "<body" in dom, result.stderr[-2000:]
    status = lambda key: re.search(rf'id="status-{key}"[^>]*>([^<]*)<', dom).group(1)
    # The renamed certificate leaves the declared `api-tls` unreported: action needed.
    assert [status(k) for k in ("backups", "certificates", "kubernetes", "slos", "changes")] == [
        "ok", "action needed", "attention", "attention", "action needed"]
    assert re.search(r'id="figure-slos">([^<]*)<', dom).group(1) == (
        "4 SLOs; lowest budget 45.0 % (backend-latency, matrix: optimize)")
    assert re.search(r'id="overall"[^>]*>([^<]*)<', dom).group(1) == "action needed"
    assert "alert(1)" in dom and "<script>alert" not in dom  # shown as text, never markup
    assert dom.count("<li>") == 11
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000


def test_html_csp_runs_no_script_even_one_planted_in_the_file(tmp_path):
    from platformctl.weekly import render
    page = tmp_path / "weekly.html"
    weekly(tmp_path, "--stack", "production", "--fixtures", str(FIXTURES), "--format", "html", "--out", str(page))
    text = page.read_text()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', text).group(1)
    assert csp == render.CSP and "script-src 'none'" in csp and "unsafe-inline" not in csp
    planted = tmp_path / "planted.html"
    planted.write_text(text.replace("</body>", "<script>document.body.setAttribute('data-planted','1')</script>"
                                               "</body>"))
    result = _chromium(tmp_path, planted)
    assert "<body" in result.stdout, result.stderr[-2000:]
    assert 'data-planted="1"' not in result.stdout


def test_json_is_the_whole_report(tmp_path):
    done = weekly(tmp_path, "--stack", "production", "--fixtures", str(FIXTURES), "--format", "json")
    doc = json.loads(done.stdout)
    assert doc["exit_code"] == done.returncode == 2
    assert [c["item"] for c in doc["checklist"]][0] == "Review error logs for patterns"
    assert sum(doc["counts"].values()) == len(SECTIONS)
