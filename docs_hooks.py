"""mkdocs hooks for pages written on other branches (ising.md, certification.md, results.md,
conventions.md): add them to the nav when they exist, and turn links to them into plain text when
they do not, so that ``mkdocs build --strict`` still validates every other link and nav entry."""
import re
from pathlib import Path

OPTIONAL = [("Ising machines", "ising.md"), ("Certification", "certification.md"),
            ("Results", "results.md"), ("Conventions", "conventions.md")]


def _missing(config):
    docs = Path(config["docs_dir"])
    return [page for _, page in OPTIONAL if not (docs / page).exists()]


def on_config(config, **kwargs):
    docs = Path(config["docs_dir"])
    nav = config["nav"]
    listed = {next(iter(e.values())) if isinstance(e, dict) else e for e in nav}
    for title, page in OPTIONAL:
        if (docs / page).exists() and page not in listed:
            nav.append({title: page})
    return config


def on_page_markdown(markdown, page, config, files, **kwargs):
    for name in _missing(config):
        markdown = re.sub(r"\[([^\]]*)\]\(" + re.escape(name) + r"(#[^)]*)?\)",
                          lambda m: f"{m.group(1)} (`docs/{name}`, not in this build)", markdown)
    return markdown
