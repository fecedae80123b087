"""Self-contained HTML: inline images and styles, no network, readable on a phone, printable."""

from __future__ import annotations

import base64
import html

STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0 auto;
max-width:1100px;padding:12px;color:#111;line-height:1.4}
h1{font-size:1.5em;margin:.3em 0}h2{font-size:1.2em;margin-top:1.4em;border-bottom:1px solid #ccc}
.cards{display:flex;flex-wrap:wrap;gap:8px}
.card{border:1px solid #999;border-radius:6px;padding:8px 10px;flex:1 1 150px;min-width:140px}
.card .v{font-size:1.5em;font-weight:600}.card .t{font-size:.85em;color:#333}
.flag{font-weight:700}.alert{border:3px solid #000}
img{max-width:100%;height:auto;display:block;margin:6px 0}
table{border-collapse:collapse;font-size:.9em;display:block;overflow-x:auto}
th,td{border:1px solid #bbb;padding:3px 6px;text-align:left}
ul.caveats li{margin-bottom:.3em}
pre{white-space:pre-wrap;font-size:.8em;background:#f4f4f4;padding:6px}
@media print{body{max-width:none}.card{break-inside:avoid}img{break-inside:avoid}}
"""


def escape(value: object) -> str:
    return html.escape("" if value is None else str(value))


def image(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def table(headers: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def card(title: str, value: str, note: str, flagged: bool = False) -> str:
    """A headline figure; a flagged one gets a heavy border and says so in words (grey print)."""
    kind = "card alert" if flagged else "card"
    mark = '<div class="t flag">above the threshold</div>' if flagged else ""
    return (
        f'<div class="{kind}"><div class="t">{escape(title)}</div><div class="v">{escape(value)}'
        f'</div>{mark}<div class="t">{escape(note)}</div></div>'
    )


def page(title: str, sections: list[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        + "\n".join(sections)
        + "</body></html>\n"
    )
