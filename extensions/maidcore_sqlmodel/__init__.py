"""maidcore's default storage layer: SQLite (embedded) or PostgreSQL (by URL) through SQLModel.

``maidcore_sqlmodel.storage.SqlModelStorage`` serves every plugin store (KV,
sandboxed SQL, ephemeral, metrics, secrets) and the platform's own records;
``maidcore_sqlmodel.extension`` registers it under the name ``sqlmodel``.
"""
