"""The edges of laborbridge: the command line (``api.cli``) and the HTTP service.

Importing this package is cheap: the FastAPI app and the CLI commands import their heavy
dependencies (torch, FAISS, OR-Tools) only when a command or route actually runs.
"""
