"""File names the report makes from stored data (table, figure and experiment names): safe slugs.

A tracking store is data written by whoever can write to it: a table named ``../../x`` or
``javascript:alert(1)`` must neither leave the report's folder nor become a link that runs code.
"""

from __future__ import annotations

import re

#: longest slug (file systems allow 255 bytes; the suffixes and the counter need room)
MAX_LEN = 80


def safe_name(name: str, fallback: str = "item") -> str:
    """``name`` reduced to letters, digits, ``.``, ``_`` and ``-`` (other runs become ``_``), no leading
    dot or dash, at most ``MAX_LEN`` characters; ``fallback`` if nothing is left.

    >>> safe_name("../../etc/passwd"), safe_name("javascript:alert(15)"), safe_name("i_cos")
    ('etc_passwd', 'javascript_alert_15', 'i_cos')
    """
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).strip("._-")[:MAX_LEN].rstrip("._-")
    return slug or fallback
