"""Write result files so that an interrupted run never leaves a file that looks complete."""

from __future__ import annotations

import os
import tempfile


def write_files(out_dir: str, files: dict[str, str | bytes]) -> None:
    """Write every file to a temporary name in `out_dir`, then rename each into place."""
    os.makedirs(out_dir, exist_ok=True)
    umask = os.umask(0)
    os.umask(umask)
    staged: list[tuple[str, str]] = []
    try:
        for name, text in files.items():
            target = os.path.join(out_dir, name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".partial-")
            staged.append((temporary, target))
            data = text.encode("utf-8") if isinstance(text, str) else text
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes private files; results are not
    except BaseException:
        for temporary, _ in staged:
            os.unlink(temporary)
        raise
    # summary.json goes last: its presence means every other file is complete.
    staged.sort(key=lambda pair: pair[1].endswith("summary.json"))
    for temporary, target in staged:
        os.replace(temporary, target)
