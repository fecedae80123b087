"""Self-contained HTML: inline images and styles, no network, readable on a phone, printable."""

from __future__ import annotations

import base64
import html

STYLE = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0 auto;
max-width:1124px;padding:12px;color:#111;line-height:1.4;overflow-wrap:break-word}
h1{font-size:1.5em;margin:.3em 0}h2{font-size:1.2em;margin-top:1.4em;border-bottom:1px solid #ccc}
.cards{display:flex;flex-wrap:wrap;gap:8px}
.card{border:1px solid #999;border-radius:6px;padding:8px 10px;flex:1 1 150px;min-width:140px}
.card .v{font-size:1.5em;font-weight:600}.card .t{font-size:.85em;color:#333}
.lead{font-size:1.1em;margin:.5em 0}.flag{font-weight:700}.alert{border:3px solid #000}
.warn{border:3px solid #000;border-radius:6px;padding:2px 10px;margin:.6em 0}
img{max-width:100%;height:auto;display:block;margin:6px 0}
figure{margin:0}figcaption{font-size:.9em;color:#333}
table{border-collapse:collapse;font-size:.9em;max-width:100%}
th,td{border:1px solid #bbb;padding:3px 6px;text-align:left;vertical-align:top}
td.n,th.n{text-align:right}
ul.caveats li{margin-bottom:.3em}
a.term{color:inherit;text-decoration:underline dotted}
dl.glossary dt{font-weight:600;margin-top:.5em}dl.glossary dd{margin-left:1em}
details{margin:.6em 0}summary{cursor:pointer;font-weight:600}
.glance{margin:.4em 0}.glance .row{display:grid;grid-template-columns:17em 1fr;gap:8px;
align-items:center;margin:3px 0}
.glance .track{position:relative;height:16px;background:#f2f2f2;border-radius:2px;overflow:hidden}
.glance .track i{position:absolute;top:0;bottom:0;min-width:2px;
box-shadow:inset 0 0 0 1px rgba(0,0,0,.55)}
.glance .axis{position:relative;height:1.4em;font-size:.85em;color:#333}
.glance .axis span{position:absolute;transform:translateX(-50%);white-space:nowrap}
.glance .axis span:first-child{transform:none}
i.bed{background:#999}i.sure{background:#0072B2}i.unsure{background:#9ECAE9}
i.series{background:#E69F00}i.jerks{background:#D55E00}
i.gap{background:repeating-linear-gradient(45deg,#555 0 2px,#fff 2px 5px)}
.key i{display:inline-block;width:1.6em;height:.8em;margin:0 .3em 0 .8em;vertical-align:middle}
@media screen and (max-width:820px){.glance .row{display:block}.glance .row .lab{font-size:.9em}
table.stack thead{display:none}table.stack,table.stack tbody,table.stack tr,table.stack td{
display:block}table.stack tr{border:1px solid #bbb;margin-bottom:6px}table.stack td{border:0;
text-align:left}table.stack td::before{content:attr(data-label) ": ";font-weight:600}}
@media print{body{max-width:none}.card{break-inside:avoid}img{break-inside:avoid}}
"""


def escape(value: object) -> str:
    return html.escape("" if value is None else str(value))


def image(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


PHONE = "screen and (max-width:820px)"  # the phone-shaped figures up to this width


def picture(variants: dict[str, tuple[bytes, float]], alt: str, caption: str = "") -> str:
    """A figure drawn for the page's width: {"phone"|"wide": (png, text px in the png)}.

    No script chooses: the browser takes the <source> whose media query holds. Each carries
    the size its smallest text has in the PNG, so a test can tell the size on the screen."""
    wide, wide_px = variants["wide"]
    source = ""
    if "phone" in variants:
        phone, phone_px = variants["phone"]
        source = (
            f'<source media="{PHONE}" data-text-px="{phone_px:.1f}" srcset="data:image/png;'
            f'base64,{base64.b64encode(phone).decode("ascii")}">'
        )
    data = base64.b64encode(wide).decode("ascii")
    img = (
        f'<img alt="{escape(alt)}" data-text-px="{wide_px:.1f}" src="data:image/png;base64,{data}">'
    )
    note = f"<figcaption>{caption}</figcaption>" if caption else ""
    return f"<figure><picture>{source}{img}</picture>{note}</figure>"


def table(
    headers: list[str],
    rows: list[list[object]],
    stack: bool = False,
    raw: bool = False,
    numeric: set[int] | None = None,
) -> str:
    """`stack`: on a phone each row becomes a block of "header: value" lines; `raw`: cells
    and headers are HTML already; `numeric`: column indices aligned right."""
    text = (lambda v: "" if v is None else str(v)) if raw else escape
    numeric = numeric or set()

    def cls(i: int) -> str:
        return ' class="n"' if i in numeric else ""

    head = "".join(f"<th{cls(i)}>{text(h)}</th>" for i, h in enumerate(headers))
    labels = [escape(html.unescape(_strip_tags(str(h)))) for h in headers]
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{cls(i)}{f' data-label={chr(34)}{labels[i]}{chr(34)}' if stack else ''}>"
            f"{text(c)}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    kind = ' class="stack"' if stack else ""
    return f"<table{kind}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _strip_tags(text: str) -> str:
    import re

    return re.sub(r"<[^>]+>", "", text)


def card(
    title: str, value: str, note: str, flagged: bool | str = False, raw_title: bool = False
) -> str:
    """A headline figure; a flagged one gets a heavy border and says so in words (grey print):
    "above the threshold", or the words given."""
    kind = "card alert" if flagged else "card"
    said = flagged if isinstance(flagged, str) else "above the threshold"
    mark = f'<div class="t flag">{escape(said)}</div>' if flagged else ""
    title = title if raw_title else escape(title)
    return (
        f'<div class="{kind}"><div class="t">{title}</div><div class="v">{escape(value)}'
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
