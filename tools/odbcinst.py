"""Write a project-local odbcinst.ini registering the SQL Server ODBC drivers we can find.

Microsoft ODBC Driver 18 comes from PyPI (the ``mssql-python-odbc`` wheel that mssql-python
depends on); FreeTDS from Debian's ``tdsodbc``. Point ODBCSYSINI at the folder to use it.
Nothing is copied: the ini names the installed files.
"""

from __future__ import annotations

import glob
import os
import sys
from pathlib import Path

FREETDS_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/odbc/libtdsodbc.so",
    "/usr/lib/aarch64-linux-gnu/odbc/libtdsodbc.so",
    "/usr/lib/odbc/libtdsodbc.so",
)


def find_msodbc18() -> str | None:
    try:
        import mssql_python_odbc  # type: ignore[import-not-found]
    except ImportError:
        return None
    root = Path(mssql_python_odbc.__file__).parent
    hits = sorted(glob.glob(str(root / "libs/linux/debian_ubuntu/*/lib/libmsodbcsql-18*.so*")))
    import platform

    arch = platform.machine()
    for hit in hits:
        if f"/{arch}/" in hit:
            return hit
    return hits[0] if hits else None


def render() -> str:
    parts = []
    ms = find_msodbc18()
    if ms:
        parts.append(f"[ODBC Driver 18 for SQL Server]\nDescription=Microsoft ODBC Driver 18 for SQL Server (PyPI)\nDriver={ms}\nUsageCount=1\n")
    for cand in FREETDS_CANDIDATES:
        if os.path.exists(cand):
            parts.append(f"[FreeTDS]\nDescription=FreeTDS (Debian tdsodbc)\nDriver={cand}\nUsageCount=1\n")
            break
    return "\n".join(parts)


def main(argv: list[str]) -> int:
    target = Path(argv[1] if len(argv) > 1 else ".odbc")
    target.mkdir(parents=True, exist_ok=True)
    (target / "odbcinst.ini").write_text(render())
    (target / "odbc.ini").touch()
    print(f"wrote {target / 'odbcinst.ini'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
