"""sleepmove: sleep movements from wearable accelerometers.

Installed, the layers are subpackages: `sleepmove.sensor`, `sleepmove.detection`,
`sleepmove.reports` (pyproject's package-dir maps the root folders there). Run from a
checkout (`python -m pytest`, `python -m sleepmove`), this folder shadows the installed
package and its layers sit beside it rather than inside it, so the checkout root joins
the package's search path. The check looks for the layer folders and pyproject.toml, which
an installed copy (in site-packages) never has beside it.
"""

import os as _os

__version__ = "0.3.0"

_checkout = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if _os.path.isfile(_os.path.join(_checkout, "pyproject.toml")) and all(
    _os.path.isfile(_os.path.join(_checkout, layer, "__init__.py"))
    for layer in ("sensor", "detection", "reports")
):
    __path__.append(_checkout)  # noqa: F821 (the package's own search path)
