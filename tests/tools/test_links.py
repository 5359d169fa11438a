"""Where task and project links in answers point: the Asana the data was synced from (tools/links.py)."""

from __future__ import annotations

from io import StringIO

from rich.console import Console

from agent.cli.chat_view import print_answer
from tools.links import asana_web_root, markdown_links, rebase_links, task_link

SANDBOX = "http://127.0.0.1:8765/api/1.0"
ANSWER = (
    "- \u201cFix login\u201d (https://app.asana.com/0/45/3059): 9.3h\n"
    "- \u201cWebsite Redesign\u201d (https://app.asana.com/0/45/list): at risk"
)


def test_links_follow_the_configured_asana() -> None:
    root = asana_web_root(SANDBOX)
    assert root == "http://127.0.0.1:8765"
    rebased = rebase_links(ANSWER, root)
    assert "app.asana.com" not in rebased
    assert "http://127.0.0.1:8765/0/45/3059" in rebased and "http://127.0.0.1:8765/0/45/list" in rebased
    assert rebase_links(ANSWER, asana_web_root("https://app.asana.com/api/1.0")) == ANSWER
    assert task_link(root, "9", "https://app.asana.com/0/45/9") == "http://127.0.0.1:8765/0/45/9"


def test_a_terminal_answer_shows_names_not_urls() -> None:
    assert markdown_links(ANSWER).startswith("- [Fix login](https://app.asana.com/0/45/3059)")
    out = StringIO()
    print_answer(Console(file=out, width=120), ANSWER, asana_web_root(SANDBOX))
    text = out.getvalue()
    assert "Fix login" in text and "Website Redesign" in text
    assert "app.asana.com" not in text and "127.0.0.1" not in text  # the URL is the link, not the text
